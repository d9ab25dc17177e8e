"""The WhatsApp transport layer: one interface, a real (neonize) and a simulated session.

Only this package knows which one runs; the session services see `Transport`.
"""

from leadflow.whatsapp.transport import (
    InboundMessage,
    Receipt,
    SessionState,
    Transport,
    TransportListener,
    phone_jid,
)

__all__ = [
    "InboundMessage",
    "Receipt",
    "SessionState",
    "Transport",
    "TransportListener",
    "phone_jid",
]
