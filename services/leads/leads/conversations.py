"""Lívia's conversations, as the system of record sees them.

The leads service keeps each conversation (stage, collected data, transcript) and decides
*when* Lívia speaks; the ai service decides *what* she says. A message to Lívia's number
from an unknown phone starts a lead and a conversation; a burst of messages becomes one
turn after a short debounce; a person typing on Lívia's own phone pauses her at once, and
a reply that arrives after that is dropped, so bot and person never talk over each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from leadflow.bus import Delivery
from leadflow.db import OutboxRelay, already_handled
from leadflow.events import (
    ConversationLine as Line,
)
from leadflow.events import (
    Event,
    LeadCreated,
    LeadSource,
    LeadStatus,
    LeadUpdated,
    LiviaStage,
    LiviaStageChanged,
    LiviaTurnDecided,
    LiviaTurnRequested,
    Role,
    SendLiviaMessage,
    SessionName,
    WhatsAppMessageReceived,
    utcnow,
)
from leadflow.rpc import Forbidden, NotFound, parse
from leadflow.whatsapp import phone_jid
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from leads import repository as repo
from leads.domain import new_id
from leads.livia import handoff_message, turn_is_due, typing_delay_ms
from leads.models import OUTBOX, Consultant, Conversation, ConversationLine, Interaction, Lead
from leads.unit_of_work import Actor, commit_with_events

log = logging.getLogger(__name__)

HISTORY_LINES = 30


@dataclass
class ConversationHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    debounce_ms: int
    typing_override_ms: int | None
    poll_interval_s: float = 0.25
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    # --- inbound messages -------------------------------------------------------------

    async def on_whatsapp_message(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, WhatsAppMessageReceived)
        if event.session is not SessionName.LIVIA:
            return
        async with self.sessions() as session:
            # The WhatsApp id, not the event id: WhatsApp itself redelivers messages.
            if await already_handled(session, OUTBOX, f"livia:{event.wa_message_id}"):
                return
            events: list[Event] = []
            conversation = await self._conversation_for(session, event, events)
            if event.from_me:
                self._add_line(session, conversation, "out", "human", event)
                if not conversation.paused:
                    conversation.paused = True
                    self._audit(session, conversation, "livia_paused", None, {"by": "human reply"})
            else:
                self._add_line(session, conversation, "in", "lead", event)
                conversation.pending_since = conversation.pending_since or utcnow()
            conversation.updated_at = utcnow()
            session.add(conversation)
            await session.flush()
            if self.debounce_ms == 0 and self._may_speak(conversation):
                events += await self._turn(session, conversation)
            await commit_with_events(session, self.relay, *events)
        if self.debounce_ms:
            asyncio.get_running_loop().call_later(self.debounce_ms / 1000, self._wake.set)

    async def _conversation_for(
        self, session: AsyncSession, event: WhatsAppMessageReceived, events: list[Event]
    ) -> Conversation:
        lead = await repo.get_lead_by_phone(session, phone=event.phone)
        if lead is None:
            lead = Lead(
                id=new_id(),
                name=(event.push_name or event.phone).strip()[:255] or event.phone,
                phone=event.phone,
                source=LeadSource.WHATSAPP.value,
                status=LeadStatus.QUALIFYING.value,
            )
            session.add(lead)
            await session.flush()
            self._audit_lead(session, lead.id, "created", {"source": "whatsapp", "by": "livia"})
            events.append(LeadCreated(lead=await repo.lead_view(session, lead)))
        conversation = await self._get_conversation(session, lead_id=lead.id, for_update=True)
        if conversation is None:
            conversation = Conversation(
                id=new_id(),
                lead_id=lead.id,
                chat_jid=phone_jid(event.phone),
                stage=LiviaStage.INTRO.value,
            )
            session.add(conversation)
            await session.flush()
        return conversation

    # --- turns ------------------------------------------------------------------------

    def _may_speak(self, conversation: Conversation) -> bool:
        return not conversation.paused and conversation.stage != LiviaStage.TRANSFERRED.value

    async def _turn(self, session: AsyncSession, conversation: Conversation) -> list[Event]:
        """Everything the lead said since Lívia last spoke, as one turn request."""
        lines = (
            await session.exec(
                select(ConversationLine)
                .where(ConversationLine.conversation_id == conversation.id)
                .order_by(col(ConversationLine.sent_at), col(ConversationLine.id))
            )
        ).all()
        unanswered = [line for line in lines if not line.answered]
        conversation.pending_since = None
        session.add(conversation)
        if not unanswered:
            return []
        for line in unanswered:
            line.answered = True
            session.add(line)
        history = [line for line in lines if line.answered and line not in unanswered]
        return [
            LiviaTurnRequested(
                lead_id=conversation.lead_id,
                conversation_id=conversation.id,
                chat_jid=conversation.chat_jid,
                stage=LiviaStage(conversation.stage),
                collected=dict(conversation.collected or {}),
                history=[
                    Line(direction=line.direction, text=line.text)
                    for line in history[-HISTORY_LINES:]
                ],
                new_messages=[line.text for line in unanswered],
            )
        ]

    async def run_due_turns(self) -> int:
        """Ask for the turns whose debounce window has passed; returns how many."""
        cutoff = utcnow() - timedelta(milliseconds=self.debounce_ms)
        query = (
            select(Conversation)
            .where(col(Conversation.pending_since).is_not(None))
            .where(col(Conversation.pending_since) <= cutoff)
            .where(col(Conversation.paused).is_(False))
            .where(Conversation.stage != LiviaStage.TRANSFERRED.value)
            .limit(50)
            .with_for_update(skip_locked=True)
        )
        async with self.sessions() as session:
            due = (await session.exec(query)).all()
            events: list[Event] = []
            for conversation in due:
                if turn_is_due(conversation.pending_since, utcnow(), self.debounce_ms):
                    events += await self._turn(session, conversation)
            await commit_with_events(session, self.relay, *events)
        return len(events)

    async def start(self) -> None:
        if self.debounce_ms:
            self._task = asyncio.create_task(self._schedule(), name="livia-turns")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _schedule(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            self._wake.clear()
            try:
                await self.run_due_turns()
            except Exception:
                log.warning("could not run due Lívia turns; retrying", exc_info=True)

    # --- decisions --------------------------------------------------------------------

    async def on_turn_decided(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, LiviaTurnDecided)
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            conversation = await self._get_conversation(
                session, lead_id=event.lead_id, for_update=True
            )
            if conversation is None or not self._may_speak(conversation):
                await session.commit()  # a person took over, or she already handed off
                return
            lead = await repo.get_lead_or_raise(session, lead_id=event.lead_id, for_update=True)
            previous = conversation.stage
            conversation.stage = event.stage.value
            conversation.collected = dict(event.collected)
            conversation.updated_at = utcnow()
            session.add(conversation)
            events: list[Event] = []
            if event.reply:
                self._add_line(session, conversation, "out", "livia", None, text=event.reply)
                events.append(
                    SendLiviaMessage(
                        message_id=new_id(),
                        chat_jid=conversation.chat_jid,
                        text=event.reply,
                        typing_ms=typing_delay_ms(event.reply, self.typing_override_ms),
                        lead_id=lead.id,
                        sender="livia",
                    )
                )
            if previous != conversation.stage:
                events.append(
                    LiviaStageChanged(
                        lead_id=lead.id,
                        conversation_id=conversation.id,
                        previous_stage=LiviaStage(previous),
                        stage=event.stage,
                        consultant_id=lead.consultant_id,
                    )
                )
            if event.stage is LiviaStage.TRANSFERRED and previous != event.stage:
                events.append(await self._qualify(session, lead, dict(event.collected)))
            await commit_with_events(session, self.relay, *events)

    async def _qualify(self, session: AsyncSession, lead: Lead, collected: dict[str, Any]) -> Event:
        """Lívia is done: the lead becomes QUALIFIED, to be classified and assigned."""
        before = {"status": lead.status, "name": lead.name}
        lead.status = LeadStatus.QUALIFIED.value
        full_name = str(collected.get("full_name") or "").strip()
        if full_name:
            lead.name = full_name[:255]
        lead.extra = {**(lead.extra or {}), "collected": collected}
        lead.version += 1
        lead.updated_at = utcnow()
        session.add(lead)
        after = {"status": lead.status, "name": lead.name}
        self._audit_lead(
            session,
            lead.id,
            "qualified",
            {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]},
        )
        await session.flush()
        view = await repo.lead_view(session, lead)
        return LeadUpdated(lead=view, changed=["status", "name", "metadata"])

    async def handoff(
        self, session: AsyncSession, lead: Lead, consultant: Consultant
    ) -> list[Event]:
        """Once a transferred lead has a consultant, Lívia tells the lead who it is."""
        conversation = await self._get_conversation(session, lead_id=lead.id, for_update=True)
        if (
            conversation is None
            or conversation.stage != LiviaStage.TRANSFERRED.value
            or conversation.handoff_sent
            or conversation.paused
        ):
            return []
        text = handoff_message(lead.name, consultant.name)
        conversation.handoff_sent = True
        session.add(conversation)
        self._add_line(session, conversation, "out", "livia", None, text=text)
        return [
            SendLiviaMessage(
                message_id=new_id(),
                chat_jid=conversation.chat_jid,
                text=text,
                typing_ms=typing_delay_ms(text, self.typing_override_ms),
                lead_id=lead.id,
                sender="livia",
            )
        ]

    # --- operators --------------------------------------------------------------------

    async def resume(self, params: dict[str, Any]) -> dict[str, Any]:
        """An admin or manager lets Lívia continue a conversation a person took over."""
        actor = parse(Actor, params["actor"])
        if actor.role is Role.CONSULTANT:
            raise Forbidden("only admins and managers resume Lívia")
        async with self.sessions() as session:
            conversation = await self._get_conversation(
                session, lead_id=str(params["id"]), for_update=True
            )
            if conversation is None:
                raise NotFound("this lead has no Lívia conversation")
            events: list[Event] = []
            if conversation.paused:
                conversation.paused = False
                session.add(conversation)
                self._audit(session, conversation, "livia_resumed", actor.id, {})
                await session.flush()
                if self._may_speak(conversation):
                    events += await self._turn(session, conversation)
            await commit_with_events(session, self.relay, *events)
            view = await self.view(session, conversation.lead_id)
        assert view is not None
        return view

    async def view(self, session: AsyncSession, lead_id: str) -> dict[str, Any] | None:
        """The conversation as GET /api/leads/{id} shows it."""
        conversation = await self._get_conversation(session, lead_id=lead_id)
        if conversation is None:
            return None
        lines = (
            await session.exec(
                select(ConversationLine)
                .where(ConversationLine.conversation_id == conversation.id)
                .order_by(col(ConversationLine.sent_at), col(ConversationLine.id))
            )
        ).all()
        return {
            "id": conversation.id,
            "stage": conversation.stage,
            "collected": conversation.collected,
            "paused": conversation.paused,
            "chat_jid": conversation.chat_jid,
            "messages": [
                {
                    "direction": line.direction,
                    "author": line.author,
                    "text": line.text,
                    "timestamp": line.sent_at.isoformat(),
                }
                for line in lines
            ],
        }

    # --- helpers ----------------------------------------------------------------------

    async def _get_conversation(
        self, session: AsyncSession, *, lead_id: str, for_update: bool = False
    ) -> Conversation | None:
        query = select(Conversation).where(Conversation.lead_id == lead_id)
        if for_update:
            query = query.with_for_update()
        return (await session.exec(query)).first()

    def _add_line(
        self,
        session: AsyncSession,
        conversation: Conversation,
        direction: str,
        author: str,
        event: WhatsAppMessageReceived | None,
        *,
        text: str | None = None,
    ) -> None:
        session.add(
            ConversationLine(
                id=new_id(),
                conversation_id=conversation.id,
                direction=direction,
                author=author,
                text=event.text if event else (text or ""),
                wa_message_id=event.wa_message_id if event else None,
                answered=direction == "out",
                sent_at=event.sent_at if event else utcnow(),
            )
        )

    def _audit(
        self,
        session: AsyncSession,
        conversation: Conversation,
        kind: str,
        actor_id: str | None,
        changes: dict[str, Any],
    ) -> None:
        session.add(
            Interaction(
                id=new_id(),
                lead_id=conversation.lead_id,
                actor_id=actor_id,
                kind=kind,
                changes=changes,
            )
        )

    def _audit_lead(
        self, session: AsyncSession, lead_id: str, kind: str, changes: dict[str, Any]
    ) -> None:
        session.add(Interaction(id=new_id(), lead_id=lead_id, kind=kind, changes=changes))
