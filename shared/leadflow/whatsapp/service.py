"""Composition of one WhatsApp session service (wa-consultant and wa-livia use it as is)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from fastapi import FastAPI

from leadflow.bus import Bus, Delivery, QueueSpec
from leadflow.bus.topology import LEADS_RPC, session_endpoint, session_send_queue
from leadflow.events import LeadAssigned, LeadCreated, LeadUpdated, SessionName, SessionStatus
from leadflow.http import ops_router
from leadflow.rpc import RpcClient, rpc_dispatcher
from leadflow.service import Service
from leadflow.settings import Settings, WhatsAppTransport
from leadflow.whatsapp.chats import ChatIndex
from leadflow.whatsapp.session import SessionService
from leadflow.whatsapp.simulator import SimulatorTransport
from leadflow.whatsapp.transport import Transport

log = logging.getLogger(__name__)
SIMULATED_NUMBERS = {SessionName.CONSULTANT: "+5511900000001", SessionName.LIVIA: "+5511900000002"}


def make_transport(name: SessionName, settings: Settings) -> Transport:
    """The only place that knows which WhatsApp implementation runs."""
    if settings.whatsapp_transport is WhatsAppTransport.SIMULATOR:
        return SimulatorTransport(SIMULATED_NUMBERS[name])
    from leadflow.whatsapp.neonize_transport import NeonizeTransport

    return NeonizeTransport(settings.whatsapp_session_dir, name.value)


def build_session(name: SessionName, settings: Settings, bus: Bus) -> Service:
    transport = make_transport(name, settings)
    chats = ChatIndex(settings.whatsapp_chat_index_max) if name is SessionName.CONSULTANT else None
    session = SessionService(
        name, transport, bus, max_attempts=settings.max_deliveries, chats=chats
    )
    chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def send_in_chat_order(delivery: Delivery) -> None:
        # One chat's messages go out in order; different chats go out concurrently.
        chat = str(delivery.event().chat_jid)  # type: ignore[attr-defined]
        lock = chat_locks.get(chat)
        if lock is None:
            lock = asyncio.Lock()
            chat_locks[chat] = lock
        async with lock:
            await session.on_send(delivery)

    bus.consume(session_send_queue(name), send_in_chat_order)
    bus.serve(session_endpoint(name), rpc_dispatcher(session.methods()))
    leads = RpcClient(bus, LEADS_RPC, timeout=settings.rpc_timeout_s)
    rebuild: asyncio.Task[None] | None = None

    if chats is not None:

        async def link_lead(delivery: Delivery) -> None:
            event = delivery.event()
            assert isinstance(event, LeadCreated | LeadUpdated | LeadAssigned)
            chats.link_lead(event.lead.phone, event.lead.id, event.lead.consultant_id)

        bus.consume(
            QueueSpec(
                f"wa.{name.value}.leads",
                ("lead.created", "lead.updated", "lead.assigned"),
                per_replica=True,
            ),
            link_lead,
        )

    async def rebuild_chat_index() -> None:
        assert chats is not None
        for attempt in range(60):
            try:
                for row in await leads.call(
                    "chat_summaries", session=name.value, limit=chats.capacity
                ):
                    chats.restore(row)
                log.info("chat index rebuilt with %d chats", len(chats.chats))
                return
            except Exception:
                await asyncio.sleep(min(5.0, 0.5 * (attempt + 1)))
        log.warning("could not rebuild the chat index from stored messages")

    async def started() -> None:
        nonlocal rebuild
        await transport.start(session)
        if chats is not None:
            rebuild = asyncio.create_task(rebuild_chat_index())

    async def stopping() -> None:
        if rebuild is not None:
            rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rebuild
        await transport.stop()

    async def session_ready() -> bool:
        # Ready once the session can take commands; pairing needs a person, not a restart.
        return transport.state.status is not SessionStatus.LOGGED_OUT

    service_name = f"wa-{name.value}"
    app = FastAPI(title=f"leadflow {service_name}", openapi_url=None)
    app.include_router(ops_router(service_name, {"broker": bus.ping, "session": session_ready}))
    return Service(name=service_name, app=app, after_bus=[started], before_stop=[stopping])
