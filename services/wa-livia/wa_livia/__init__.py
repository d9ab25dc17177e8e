"""The wa-livia service: the WhatsApp session `livia`."""
