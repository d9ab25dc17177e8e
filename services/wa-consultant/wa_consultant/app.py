"""Composition root of the wa-consultant service: the WhatsApp session `consultant`."""

from __future__ import annotations

from leadflow.bus import Bus
from leadflow.events import SessionName
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.whatsapp.service import build_session


def build(settings: Settings, bus: Bus) -> Service:
    return build_session(SessionName.CONSULTANT, settings, bus)
