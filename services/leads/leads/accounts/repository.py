"""Every statement of the accounts: consultants, refresh tokens, revoked sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadflow.events import ConsultantView, Role, utcnow
from leadflow.rpc import NotFound
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.accounts.models import Consultant, RefreshToken, RevokedAccessToken, TokenFamily


def consultant_view(row: Consultant) -> ConsultantView:
    """The row as clients see it (ConsultantView takes its fields; never the hash)."""
    return ConsultantView.model_validate(row, from_attributes=True)


async def get_consultant(session: AsyncSession, *, consultant_id: str) -> Consultant | None:
    return await session.get(Consultant, consultant_id)


async def get_consultant_or_raise(session: AsyncSession, *, consultant_id: str) -> Consultant:
    row = await get_consultant(session, consultant_id=consultant_id)
    if row is None:
        raise NotFound("consultant not found")
    return row


async def get_consultant_by_email(session: AsyncSession, *, email: str) -> Consultant | None:
    result = await session.exec(select(Consultant).where(Consultant.email == email.lower()))
    return result.first()


async def has_admin(session: AsyncSession) -> bool:
    result = await session.exec(select(Consultant.id).where(Consultant.role == Role.ADMIN.value))
    return result.first() is not None


async def list_consultants(session: AsyncSession) -> list[Consultant]:
    result = await session.exec(select(Consultant).order_by(col(Consultant.created_at)))
    return list(result.all())


def add_refresh_token(
    session: AsyncSession, *, token_hash: str, family_id: str, ttl_s: int
) -> None:
    session.add(
        RefreshToken(
            token_hash=token_hash,
            family_id=family_id,
            expires_at=utcnow() + timedelta(seconds=ttl_s),
        )
    )


async def spend_refresh_token(session: AsyncSession, *, token_hash: str) -> str | None:
    """Mark an unspent, unexpired token spent in one conditional statement; its family
    id, or None if no such token was there to spend. Of two concurrent refreshes with
    the same token, the second waits on the row and then finds it spent."""
    now = utcnow()
    result = await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.token_hash) == token_hash)
        .where(col(RefreshToken.used_at).is_(None))
        .where(col(RefreshToken.expires_at) > now)
        .values(used_at=now)
        .returning(col(RefreshToken.family_id))
    )
    family_id: str | None = result.scalar_one_or_none()
    return family_id


async def get_refresh_token(session: AsyncSession, *, token_hash: str) -> RefreshToken | None:
    return await session.get(RefreshToken, token_hash)


async def get_family(session: AsyncSession, *, family_id: str) -> TokenFamily | None:
    return await session.get(TokenFamily, family_id)


async def revoke_families(
    session: AsyncSession,
    *,
    reason: str,
    family_id: str | None = None,
    consultant_id: str | None = None,
) -> None:
    """Revoke the family `family_id`, or every family of `consultant_id`."""
    whose = (
        col(TokenFamily.id) == family_id
        if family_id is not None
        else col(TokenFamily.consultant_id) == consultant_id
    )
    await session.exec(
        update(TokenFamily)
        .where(whose, col(TokenFamily.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def add_revoked_access_token(
    session: AsyncSession, *, jti: str, consultant_id: str, expires_at: datetime
) -> None:
    session.add(RevokedAccessToken(jti=jti, consultant_id=consultant_id, expires_at=expires_at))


async def session_state(session: AsyncSession) -> dict[str, Any]:
    """What the gateway and realtime need to refuse ended sessions: each consultant's
    session generation (when above 0) and the revoked access tokens not yet expired."""
    now = utcnow()
    await session.exec(delete(RevokedAccessToken).where(col(RevokedAccessToken.expires_at) < now))
    generations = await session.exec(
        select(Consultant.id, Consultant.session_generation).where(
            col(Consultant.session_generation) > 0
        )
    )
    revoked = await session.exec(select(RevokedAccessToken.jti, RevokedAccessToken.expires_at))
    state = {
        "generations": dict(generations.all()),
        "revoked": [
            {"jti": jti, "expires_at": int(expires.timestamp())} for jti, expires in revoked.all()
        ],
    }
    await session.commit()
    return state
