"""Lívia's conversations: wa-livia keeps them and decides *when* she speaks.

A message to Lívia's number from an unknown phone starts a conversation (the leads service
finds or creates its lead); a burst of messages becomes one turn after a short debounce,
and the ai service decides *what* she says. A person typing on Lívia's own phone pauses her
at once, and a reply that arrives after that is dropped, so bot and person never talk over
each other. When she is done the lead is handed off: the leads service qualifies it, and
once it has a consultant she tells the lead who, and from which number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from leadflow.bus.base import Handler
from leadflow.bus.topology import on
from leadflow.contracts import DashboardQuery
from leadflow.db import OutboxRelay, already_handled
from leadflow.events import (
    ConversationLine,
    Event,
    LeadAssigned,
    LiviaLeadQualified,
    LiviaLeadWaiting,
    LiviaPaused,
    LiviaResumed,
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
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from wa_livia import domain
from wa_livia import repository as repo
from wa_livia.models import OUTBOX, Conversation, ConversationMessage

log = logging.getLogger(__name__)

HISTORY_LINES = 30
STAFF = (Role.ADMIN.value, Role.MANAGER.value)


@dataclass(frozen=True)
class LeadRef:
    """The lead a conversation belongs to, as the leads service answered."""

    id: str
    name: str
    consultant_id: str | None = None
    consultant_name: str | None = None


class LeadDirectory(Protocol):
    async def lead_for_phone(self, phone: str, push_name: str | None) -> LeadRef:
        """The lead of this phone; the leads service creates it if there is none."""


def new_id() -> str:
    return uuid.uuid4().hex


def as_rule_line(message: ConversationMessage) -> domain.Line:
    return domain.Line(
        message.direction, message.author, message.text, message.media_type, message.transcript
    )


@dataclass
class ConversationHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    leads: LeadDirectory
    # The consultant session's number (consultants write from it, not from Lívia's).
    consultant_number: Callable[[], Awaitable[str | None]]
    debounce_ms: int
    typing_override_ms: int | None
    poll_interval_s: float = 0.25
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    # The leads she has a conversation with, known in memory so that the assignment of
    # any other lead (most of them) costs no transaction. Loaded before the bus starts,
    # grown as conversations start; one process knows them all because wa-livia is one
    # process (its WhatsApp session is a singleton, DESIGN.md). A lead's source cannot
    # stand in for it: a phone that already had a lead keeps that lead, whatever its source.
    _leads_with_a_conversation: set[str] = field(default_factory=set)

    def routes(self) -> list[tuple[str, Handler]]:
        """Her queue's events, each to its handler (registered by type, parsed for it)."""
        return [
            on(WhatsAppMessageReceived, self.on_whatsapp_message),
            on(LiviaTurnDecided, self.on_turn_decided),
            on(LeadAssigned, self.on_lead_assigned),
        ]

    async def load(self) -> None:
        """Before the bus starts: learn which leads she has a conversation with."""
        async with self.sessions() as session:
            self._leads_with_a_conversation = await repo.leads_with_a_conversation(session)

    # --- inbound messages -------------------------------------------------------------

    async def on_whatsapp_message(self, event: WhatsAppMessageReceived) -> None:
        if event.session is not SessionName.LIVIA:
            return
        async with self.sessions() as session:
            known = await repo.get_conversation_of_chat(session, chat_jid=event.chat_jid)
        # Asked outside the transaction: a lead for a new phone comes from the leads service.
        lead = None if known else await self.leads.lead_for_phone(event.phone, event.push_name)
        number = await self.consultant_number() if self.debounce_ms == 0 else None
        async with self.sessions() as session:
            # The WhatsApp id, not the event id: WhatsApp itself redelivers messages.
            if await already_handled(session, OUTBOX, f"livia:{event.wa_message_id}"):
                return
            conversation = await self._conversation_for(session, event, lead)
            events: list[Event] = []
            if event.from_me:
                self._add_message(session, conversation, "out", "human", event)
                if not conversation.paused:  # the lead's timeline shows the pause
                    events.append(
                        LiviaPaused(lead_id=conversation.lead_id, conversation_id=conversation.id)
                    )
                conversation.paused = True
            else:
                self._add_message(session, conversation, "in", "lead", event)
                if not conversation.paused:
                    conversation.pending_since = conversation.pending_since or utcnow()
            conversation.updated_at = utcnow()
            session.add(conversation)
            await session.flush()
            if self.debounce_ms == 0 and conversation.pending_since is not None:
                events += await self._turn(session, conversation, number)
            await self.relay.commit(session, *events)
        if self.debounce_ms:
            asyncio.get_running_loop().call_later(self.debounce_ms / 1000, self._wake.set)

    async def _conversation_for(
        self, session: AsyncSession, event: WhatsAppMessageReceived, lead: LeadRef | None
    ) -> Conversation:
        conversation = await repo.get_conversation_of_chat(
            session, chat_jid=event.chat_jid, for_update=True
        )
        if conversation is not None:
            return conversation
        assert lead is not None, "a new chat comes with its lead"
        conversation = await repo.get_conversation(session, lead_id=lead.id, for_update=True)
        if conversation is None:
            conversation = Conversation(
                id=new_id(),
                lead_id=lead.id,
                lead_name=lead.name,
                chat_jid=event.chat_jid,
                stage=LiviaStage.INTRO.value,
                consultant_id=lead.consultant_id,
                consultant_name=lead.consultant_name,
            )
            session.add(conversation)
            await session.flush()
            # Noted before it commits: a lead noted in vain costs one transaction later,
            # one missing would lose its assignment.
            self._leads_with_a_conversation.add(lead.id)
        return conversation

    # --- turns ------------------------------------------------------------------------

    async def _turn(
        self, session: AsyncSession, conversation: Conversation, consultant_number: str | None
    ) -> list[Event]:
        """Everything the lead said since Lívia last spoke, as one turn request."""
        conversation.pending_since = None
        session.add(conversation)
        messages = await repo.messages_of(session, conversation_id=conversation.id)
        unanswered = [message for message in messages if not message.answered]
        said = domain.turn_input([as_rule_line(m) for m in unanswered])
        for message in unanswered:
            message.answered = True
            session.add(message)
        if said.empty:
            return []
        history = [as_rule_line(m) for m in messages if m.answered and m not in unanswered]
        return [self._turn_request(conversation, history, said, consultant_number)]

    def _turn_request(
        self,
        conversation: Conversation,
        history: list[domain.Line],
        said: domain.TurnInput,
        consultant_number: str | None,
        *,
        announce_consultant: bool = False,
    ) -> LiviaTurnRequested:
        return LiviaTurnRequested(
            lead_id=conversation.lead_id,
            conversation_id=conversation.id,
            chat_jid=conversation.chat_jid,
            stage=LiviaStage(conversation.stage),
            collected=dict(conversation.collected or {}),
            history=[
                ConversationLine(direction=line.direction, text=domain.history_text(line))
                for line in history[-HISTORY_LINES:]
            ],
            new_messages=said.new_messages,
            consultant_name=conversation.consultant_name,
            consultant_phone=consultant_number,
            audio_not_transcribed=said.unheard_audio,
            announce_consultant=announce_consultant,
        )

    async def run_due_turns(self) -> int:
        """Ask for the turns whose debounce window has passed; returns how many."""
        cutoff = utcnow() - timedelta(milliseconds=self.debounce_ms)
        number = await self.consultant_number()
        async with self.sessions() as session:
            events: list[Event] = []
            for conversation in await repo.due_conversations(session, cutoff=cutoff):
                if domain.turn_is_due(conversation.pending_since, utcnow(), self.debounce_ms):
                    events += await self._turn(session, conversation, number)
            await self.relay.commit(session, *events)
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

    # --- decisions and the hand-off ---------------------------------------------------

    async def on_turn_decided(self, event: LiviaTurnDecided) -> None:
        handing_off = event.stage is LiviaStage.TRANSFERRED
        number = await self.consultant_number() if handing_off else None
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            conversation = await repo.get_conversation(
                session, lead_id=event.lead_id, for_update=True
            )
            if conversation is None or not domain.takes_decision(
                LiviaStage(conversation.stage), event.stage, conversation.paused
            ):
                await session.commit()  # a person took over, or it would undo the hand-off
                return
            previous = LiviaStage(conversation.stage)
            conversation.stage = event.stage.value
            conversation.collected = dict(event.collected)
            conversation.updated_at = utcnow()
            events: list[Event] = []
            if event.reply:
                events.append(self._say(session, conversation, event.reply))
            if previous is not event.stage:
                events.append(
                    LiviaStageChanged(
                        lead_id=conversation.lead_id,
                        conversation_id=conversation.id,
                        previous_stage=previous,
                        stage=event.stage,
                        consultant_id=conversation.consultant_id,
                    )
                )
            if handing_off and previous is not event.stage:
                full_name = str(event.collected.get("full_name") or "").strip()
                conversation.lead_name = full_name[:255] or conversation.lead_name
                events.append(
                    LiviaLeadQualified(
                        lead_id=conversation.lead_id,
                        conversation_id=conversation.id,
                        collected=dict(event.collected),
                    )
                )
                # A lead that already had a consultant gets no new assignment: name them now.
                events += await self._handoff(session, conversation, number)
            elif event.kind == "after_handoff":
                events += await self._remind_consultant(session, conversation)
            session.add(conversation)
            await self.relay.commit(session, *events)

    async def _remind_consultant(
        self, session: AsyncSession, conversation: Conversation
    ) -> list[Event]:
        """The lead wrote after the hand-off: their consultant hears of it (not every time)."""
        now = utcnow()
        if not domain.reminds_consultant(conversation.consultant_reminded_at, now):
            return []
        conversation.consultant_reminded_at = now
        messages = await repo.messages_of(session, conversation_id=conversation.id)
        wrote = [as_rule_line(m) for m in messages if m.direction == "in"][-1:]
        return [
            LiviaLeadWaiting(
                lead_id=conversation.lead_id,
                conversation_id=conversation.id,
                consultant_id=conversation.consultant_id,
                lead_name=conversation.lead_name,
                text=domain.history_text(wrote[0]) if wrote else "",
            )
        ]

    async def on_lead_assigned(self, event: LeadAssigned) -> None:
        """The lead has a consultant: remember who, and hand off if she is done."""
        if event.lead.consultant is None or event.lead.id not in self._leads_with_a_conversation:
            return
        number = await self.consultant_number()
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            conversation = await repo.get_conversation(
                session, lead_id=event.lead.id, for_update=True
            )
            if conversation is None:
                await session.commit()
                return
            conversation.consultant_id = event.lead.consultant.id
            conversation.consultant_name = event.lead.consultant.name
            conversation.lead_name = event.lead.name
            session.add(conversation)
            await self.relay.commit(session, *await self._handoff(session, conversation, number))

    async def _handoff(
        self, session: AsyncSession, conversation: Conversation, consultant_number: str | None
    ) -> list[Event]:
        """Once a transferred lead has a consultant, Lívia introduces them, once: a turn
        for the brain to word, with who it is and the number they write from."""
        if (
            conversation.stage != LiviaStage.TRANSFERRED.value
            or conversation.consultant_name is None
            or conversation.handoff_sent
            or conversation.paused
        ):
            return []
        conversation.handoff_sent = True
        messages = await repo.messages_of(session, conversation_id=conversation.id)
        return [
            self._turn_request(
                conversation,
                [as_rule_line(m) for m in messages if m.answered],
                domain.TurnInput([], 0),
                consultant_number,
                announce_consultant=True,
            )
        ]

    # --- operators --------------------------------------------------------------------

    async def resume(self, params: dict[str, Any]) -> dict[str, Any]:
        """An admin or manager lets Lívia continue a conversation a person took over."""
        actor = params.get("actor") or {}
        if actor.get("role") not in STAFF:
            raise Forbidden("only admins and managers resume Lívia")
        number = await self.consultant_number()
        async with self.sessions() as session:
            conversation = await repo.get_conversation(
                session, lead_id=str(params["id"]), for_update=True
            )
            if conversation is None:
                raise NotFound("this lead has no Lívia conversation")
            events: list[Event] = []
            if conversation.paused:
                conversation.paused = False
                session.add(conversation)
                events.append(
                    LiviaResumed(
                        lead_id=conversation.lead_id,
                        conversation_id=conversation.id,
                        actor_id=str(actor.get("id")),
                    )
                )
                events += await self._turn(session, conversation, number)
            await self.relay.commit(session, *events)
        view = await self.conversation({"lead_id": conversation.lead_id})
        assert view is not None
        return view

    async def conversation(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The conversation as GET /api/leads/{id} shows it (the gateway checked who asks)."""
        async with self.sessions() as session:
            conversation = await repo.get_conversation(session, lead_id=str(params["lead_id"]))
            if conversation is None:
                return None
            messages = await repo.messages_of(session, conversation_id=conversation.id)
        return conversation_view(conversation, messages)

    async def figures(self, params: dict[str, Any]) -> dict[str, Any]:
        """The dashboard's Lívia figures: every conversation for admins and managers, those
        with a consultant's own leads for them."""
        query = parse(DashboardQuery, params)
        async with self.sessions() as session:
            counts = await repo.count_conversations(
                session, consultant_id=query.only_consultant, since=query.since
            )
        return domain.completion_figures(*counts)

    # --- helpers ----------------------------------------------------------------------

    def _say(self, session: AsyncSession, conversation: Conversation, text: str) -> Event:
        """A line from Lívia in the transcript, and the command that sends it."""
        self._add_message(session, conversation, "out", "livia", None, text=text)
        return SendLiviaMessage(
            message_id=new_id(),
            chat_jid=conversation.chat_jid,
            text=text,
            typing_ms=domain.typing_delay_ms(text, self.typing_override_ms),
            lead_id=conversation.lead_id,
            sender="livia",
        )

    def _add_message(
        self,
        session: AsyncSession,
        conversation: Conversation,
        direction: str,
        author: str,
        event: WhatsAppMessageReceived | None,
        *,
        text: str = "",
    ) -> ConversationMessage:
        message = ConversationMessage(
            id=new_id(),
            conversation_id=conversation.id,
            direction=direction,
            author=author,
            text=event.text if event else text,
            media_type=event.media_type if event else None,
            transcript=event.transcript if event else None,
            wa_message_id=event.wa_message_id if event else None,
            answered=direction == "out",
            sent_at=event.sent_at if event else utcnow(),
        )
        session.add(message)
        return message


def conversation_view(
    conversation: Conversation, messages: Sequence[ConversationMessage]
) -> dict[str, Any]:
    """The `conversation` of GET /api/leads/{id}: an audio shows what it said."""
    return {
        "id": conversation.id,
        "stage": conversation.stage,
        "collected": conversation.collected,
        "paused": conversation.paused,
        "chat_jid": conversation.chat_jid,
        "messages": [
            {
                "direction": message.direction,
                "author": message.author,
                "text": as_rule_line(message).heard or message.text,
                "media_type": message.media_type,
                "transcript": message.transcript,
                "timestamp": message.sent_at.isoformat(),
            }
            for message in messages
        ],
    }
