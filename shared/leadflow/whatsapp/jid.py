"""The one conversion between a `+E.164` phone and its WhatsApp chat (JID).

A contact's chat is the digits of its phone at `s.whatsapp.net`; a device of it adds
`:<device>` to the user part. Every service converts through these two functions.
"""

from __future__ import annotations

USER_SERVER = "s.whatsapp.net"


def phone_jid(phone: str) -> str:
    """The chat of a phone (`+5511…` or its bare digits): `5511…@s.whatsapp.net`."""
    return f"{phone.lstrip('+')}@{USER_SERVER}"


def jid_phone(jid: str) -> str:
    """The `+E.164` phone of a chat, or of one device of it (`5511…:3@s.whatsapp.net`)."""
    return "+" + jid.split("@", 1)[0].split(":", 1)[0]
