"""The wa-consultant service: the WhatsApp session `consultant`."""
