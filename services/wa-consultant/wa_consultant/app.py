"""Composition root of the wa-consultant service: the WhatsApp session `consultant`."""

from __future__ import annotations

import asyncio
import contextlib

from leadflow.bus import Bus, QueueSpec
from leadflow.bus.topology import LEADS_RPC
from leadflow.events import SessionName
from leadflow.rpc import RpcClient
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.whatsapp.session import make_transport, session_service

from wa_consultant.chats import ChatIndex
from wa_consultant.config import ConsultantSessionSettings
from wa_consultant.handlers import ConsultantSession

LEAD_EVENTS = QueueSpec(
    "wa.consultant.leads", ("lead.created", "lead.updated", "lead.assigned"), per_replica=True
)


def build(settings: Settings, bus: Bus) -> Service:
    config = ConsultantSessionSettings.of(settings)
    transport = make_transport(
        SessionName.CONSULTANT,
        config.whatsapp_transport,
        session_dir=config.whatsapp_session_dir,
        simulated_phone=config.simulated_phone,
        pair_phone=config.pair_phone,
    )
    session = ConsultantSession(
        transport, bus, max_attempts=config.max_deliveries, chats=ChatIndex(config.chat_index_max)
    )
    bus.consume(LEAD_EVENTS, session.on_lead)
    leads = RpcClient(bus, LEADS_RPC, timeout=config.rpc_timeout_s)
    rebuild: asyncio.Task[None] | None = None

    async def rebuild_chats() -> None:
        nonlocal rebuild
        rebuild = asyncio.create_task(session.rebuild_chat_index(leads))

    async def stop_rebuilding() -> None:
        if rebuild is not None:
            rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rebuild

    return session_service(session, bus, after_start=[rebuild_chats], before_stop=[stop_rebuilding])
