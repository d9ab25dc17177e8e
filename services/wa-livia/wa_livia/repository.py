"""Every statement wa-livia runs on its tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from leadflow.events import LiviaStage
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wa_livia.models import Conversation, ConversationMessage

DUE_BATCH = 50


async def get_conversation(
    session: AsyncSession, *, lead_id: str, for_update: bool = False
) -> Conversation | None:
    query = select(Conversation).where(Conversation.lead_id == lead_id)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def leads_with_a_conversation(session: AsyncSession) -> set[str]:
    """The id of every lead Lívia has a conversation with."""
    return set((await session.exec(select(Conversation.lead_id))).all())


async def count_conversations(
    session: AsyncSession, *, consultant_id: str | None, since: datetime | None
) -> tuple[int, int]:
    """Conversations started since `since` (with `consultant_id`'s leads only, when given),
    and how many of them she handed off."""
    handed_off = func.count().filter(col(Conversation.stage) == LiviaStage.TRANSFERRED.value)
    query = select(func.count(), handed_off).select_from(Conversation)
    if consultant_id is not None:
        query = query.where(Conversation.consultant_id == consultant_id)
    if since is not None:
        query = query.where(Conversation.created_at >= since)
    started, completed = (await session.exec(query)).one()
    return int(started), int(completed)


async def get_conversation_of_chat(
    session: AsyncSession, *, chat_jid: str, for_update: bool = False
) -> Conversation | None:
    query = (
        select(Conversation)
        .where(Conversation.chat_jid == chat_jid)
        .order_by(col(Conversation.created_at).desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def messages_of(
    session: AsyncSession, *, conversation_id: str
) -> Sequence[ConversationMessage]:
    """The transcript, in WhatsApp's own order."""
    return (
        await session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation_id)
            .order_by(col(ConversationMessage.sent_at), col(ConversationMessage.id))
        )
    ).all()


async def due_conversations(session: AsyncSession, *, cutoff: datetime) -> Sequence[Conversation]:
    """Conversations with messages unanswered since before `cutoff`, locked (skipping those
    another replica holds)."""
    return (
        await session.exec(
            select(Conversation)
            .where(col(Conversation.pending_since).is_not(None))
            .where(col(Conversation.pending_since) <= cutoff)
            .where(col(Conversation.paused).is_(False))
            .limit(DUE_BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
