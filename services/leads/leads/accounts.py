"""Consultants and their sessions: accounts, login, refresh-token families.

The gateway signs access tokens; this service owns who may get one. A refresh token is
random, stored only as its SHA-256, and spent by one use; presenting a spent token
revokes its whole family (it was stolen, or the client is confused — either way, stop).
Revocation lives in the database, so it holds across gateway replicas and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from leadflow.contracts import ConsultantCreate, ConsultantPatch
from leadflow.db import OutboxRelay
from leadflow.events import ConsultantSaved, Role, utcnow
from leadflow.rpc import Conflict, Forbidden, Unauthorized, parse
from leadflow.settings import DEV_ADMIN_PASSWORD
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from leads import repository as repo
from leads.domain import new_id
from leads.models import Consultant, RefreshToken, TokenFamily
from leads.unit_of_work import Actor, commit_with_events

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "invalid email or password"
BAD_REFRESH = "invalid or expired refresh token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class AccountsHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    hasher: PasswordHasher
    refresh_ttl_s: int

    async def ensure_admin(self, email: str | None, password: str | None) -> None:
        """First start: create the admin from ADMIN_EMAIL / ADMIN_PASSWORD if none exists."""
        if not email or not password:
            return
        async with self.sessions() as session:
            if await repo.has_admin(session):
                return
        with contextlib.suppress(Conflict):  # another replica created it first
            await self._create(
                ConsultantCreate(
                    name="Administrator", email=email, password=password, role=Role.ADMIN
                )
            )
            source = (
                f"the development default {DEV_ADMIN_PASSWORD!r}; set ADMIN_PASSWORD"
                if password == DEV_ADMIN_PASSWORD
                else "ADMIN_PASSWORD"
            )
            log.info("first start: created the admin %s (password: %s)", email, source)

    async def _create(self, data: ConsultantCreate) -> dict[str, Any]:
        password_hash = await asyncio.to_thread(self.hasher.hash, data.password)
        async with self.sessions() as session:
            if await repo.get_consultant_by_email(session, email=data.email):
                raise Conflict("a consultant with this email already exists")
            row = Consultant(
                id=new_id(),
                name=data.name,
                email=data.email,
                password_hash=password_hash,
                role=data.role.value,
                phone=data.phone,
                active=data.active,
                max_open_leads=data.max_open_leads,
            )
            session.add(row)
            view = repo.consultant_view(row)
            try:
                await commit_with_events(session, self.relay, ConsultantSaved(consultant=view))
            except IntegrityError as exc:
                raise Conflict("a consultant with this email already exists") from exc
        return view.model_dump(mode="json")

    async def create_consultant(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = parse(Actor, params["actor"])
        if actor.role is not Role.ADMIN:
            raise Forbidden("only an admin can create consultants")
        return await self._create(parse(ConsultantCreate, params["data"]))

    async def update_consultant(self, params: dict[str, Any]) -> dict[str, Any]:
        """Admin changes a consultant; deactivation, role or password change ends sessions."""
        actor = parse(Actor, params["actor"])
        if actor.role is not Role.ADMIN:
            raise Forbidden("only an admin can change consultants")
        patch = parse(ConsultantPatch, params["data"])
        changes = patch.model_dump(exclude_unset=True)
        password_hash = None
        if patch.password:
            password_hash = await asyncio.to_thread(self.hasher.hash, patch.password)
        async with self.sessions() as session:
            row = await repo.get_consultant_or_raise(session, consultant_id=str(params["id"]))
            if row.id == actor.id and (
                changes.get("active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN
            ):
                raise Conflict("an admin cannot deactivate or demote themselves")
            for name in ("name", "phone", "active", "max_open_leads"):
                if name in changes:
                    setattr(row, name, changes[name])
            if changes.get("role"):
                row.role = Role(changes["role"]).value
            if password_hash:
                row.password_hash = password_hash
            row.updated_at = utcnow()
            session.add(row)
            if {"active", "role", "password"} & changes.keys():
                await self._revoke_all(session, row.id, "account changed")
            view = repo.consultant_view(row)
            await commit_with_events(session, self.relay, ConsultantSaved(consultant=view))
        return view.model_dump(mode="json")

    async def list_consultants(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        actor = parse(Actor, params["actor"])
        if actor.role is Role.CONSULTANT:
            raise Forbidden("only admins and managers list consultants")
        async with self.sessions() as session:
            rows = await repo.list_consultants(session)
        return [repo.consultant_view(row).model_dump(mode="json") for row in rows]

    async def get_consultant(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.sessions() as session:
            row = await repo.get_consultant_or_raise(session, consultant_id=str(params["id"]))
        return repo.consultant_view(row).model_dump(mode="json")

    async def login(self, params: dict[str, Any]) -> dict[str, Any]:
        """`{consultant, refresh_token}`; the same error whatever was wrong."""
        email = str(params.get("email", "")).strip().lower()
        password = str(params.get("password", ""))
        async with self.sessions() as session:
            row = await repo.get_consultant_by_email(session, email=email)
        # Verify against a real hash even for unknown emails, so timing tells nothing.
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            await asyncio.to_thread(self.hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            raise Unauthorized(BAD_CREDENTIALS) from None
        if row is None or not row.active:
            raise Unauthorized(BAD_CREDENTIALS)
        async with self.sessions() as session:
            family = TokenFamily(id=new_id(), consultant_id=row.id)
            session.add(family)
            await session.flush()
            token = self._issue(session, family.id)
            await session.commit()
        return {
            "consultant": repo.consultant_view(row).model_dump(mode="json"),
            "refresh_token": token,
        }

    async def refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        """Spend a refresh token for a new one; a spent token revokes its family."""
        presented = str(params.get("refresh_token", ""))
        async with self.sessions() as session:
            stored = (
                await session.exec(
                    repo.select_for_update(RefreshToken).where(
                        RefreshToken.token_hash == token_hash(presented)
                    )
                )
            ).first()
            if stored is None:
                raise Unauthorized(BAD_REFRESH)
            family = await session.get(TokenFamily, stored.family_id)
            if family is None or family.revoked_at is not None:
                raise Unauthorized(BAD_REFRESH)
            if stored.used_at is not None:
                family.revoked_at, family.revoked_reason = utcnow(), "refresh token reused"
                session.add(family)
                await session.commit()
                raise Unauthorized(BAD_REFRESH)
            if stored.expires_at <= utcnow():
                raise Unauthorized(BAD_REFRESH)
            consultant = await repo.get_consultant(session, consultant_id=family.consultant_id)
            if consultant is None or not consultant.active:
                raise Unauthorized(BAD_REFRESH)
            stored.used_at = utcnow()
            session.add(stored)
            token = self._issue(session, family.id)
            await session.commit()
        return {
            "consultant": repo.consultant_view(consultant).model_dump(mode="json"),
            "refresh_token": token,
        }

    async def logout(self, params: dict[str, Any]) -> None:
        presented = str(params.get("refresh_token", ""))
        async with self.sessions() as session:
            stored = await session.get(RefreshToken, token_hash(presented))
            if stored is None:
                raise Unauthorized(BAD_REFRESH)
            family = await session.get(TokenFamily, stored.family_id)
            if family is not None and family.revoked_at is None:
                family.revoked_at, family.revoked_reason = utcnow(), "logout"
                session.add(family)
            await session.commit()

    def _issue(self, session: AsyncSession, family_id: str) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                token_hash=token_hash(token),
                family_id=family_id,
                expires_at=utcnow() + timedelta(seconds=self.refresh_ttl_s),
            )
        )
        return token

    async def _revoke_all(self, session: AsyncSession, consultant_id: str, reason: str) -> None:
        await session.exec(
            update(TokenFamily)
            .where(col(TokenFamily.consultant_id) == consultant_id)
            .where(col(TokenFamily.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )


def _public(row: Consultant) -> dict[str, Any]:
    return repo.consultant_view(row).model_dump(mode="json")


_DUMMY_HASH = PasswordHasher().hash(secrets.token_urlsafe(16))
