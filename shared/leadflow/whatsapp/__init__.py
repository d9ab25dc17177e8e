"""The WhatsApp transport layer: one interface, a real (neonize) and a simulated session,
the plumbing a session service runs them with, and the phone <-> chat conversion.

Only this package knows which transport runs; the session services see `Transport`.
What a session does with its messages (an inbox, a conversation) is its service's own.
"""

from leadflow.whatsapp.jid import jid_phone, phone_jid
from leadflow.whatsapp.transport import (
    InboundMessage,
    Receipt,
    SessionState,
    Transport,
    TransportListener,
)

__all__ = [
    "InboundMessage",
    "Receipt",
    "SessionState",
    "Transport",
    "TransportListener",
    "jid_phone",
    "phone_jid",
]
