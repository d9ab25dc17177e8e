"""Consultants and their sessions: accounts, login, refresh-token families.

The gateway signs access tokens; this service owns who may get one. A refresh token is
random, stored only as its SHA-256, and spent by one use; presenting a spent token
revokes its whole family (it was stolen, or the client is confused — either way, stop).
Revocation lives in the database, so it holds across gateway replicas and restarts.

Access tokens end early too: deactivation, a role or password change bump the
consultant's session generation, and logout revokes the calling access token. Both are
published (`consultant.sessions_revoked`) to the gateway and realtime, which refuse
those tokens at once; `session_state` gives a starting replica the current picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from leadflow.contracts import Actor, ConsultantCreate, ConsultantPatch
from leadflow.db import OutboxRelay
from leadflow.events import ConsultantSaved, ConsultantSessionsRevoked, Role, utcnow
from leadflow.rpc import Conflict, Forbidden, Unauthorized, parse
from leadflow.settings import DEV_ADMIN_PASSWORD
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.accounts import repository as repo
from leads.accounts.models import Consultant, TokenFamily
from leads.domain import new_id

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
    # Verified against for unknown emails, at the same cost as a real one.
    dummy_hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

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
                await self.relay.commit(session, ConsultantSaved(consultant=view))
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
            ended: list[ConsultantSessionsRevoked] = []
            if {"active", "role", "password"} & changes.keys():
                await repo.revoke_families(session, consultant_id=row.id, reason="account changed")
                row.session_generation += 1
                ended.append(
                    ConsultantSessionsRevoked(
                        consultant_id=row.id, generation=row.session_generation
                    )
                )
            session.add(row)
            view = repo.consultant_view(row)
            await self.relay.commit(session, ConsultantSaved(consultant=view), *ended)
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
        stored = row.password_hash if row is not None else self.dummy_hash
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
        return _session(row, token)

    async def refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        """Spend a refresh token for a new one; a spent token revokes its family."""
        presented = token_hash(str(params.get("refresh_token", "")))
        async with self.sessions() as session:
            family_id = await repo.spend_refresh_token(session, token_hash=presented)
            if family_id is None:
                stored = await repo.get_refresh_token(session, token_hash=presented)
                if stored is not None and stored.used_at is not None:  # reuse: stop them all
                    await repo.revoke_families(
                        session, family_id=stored.family_id, reason="refresh token reused"
                    )
                    await session.commit()
                raise Unauthorized(BAD_REFRESH)
            family = await repo.get_family(session, family_id=family_id)
            if family is None or family.revoked_at is not None:
                raise Unauthorized(BAD_REFRESH)  # rolled back: nothing spent
            consultant = await repo.get_consultant(session, consultant_id=family.consultant_id)
            if consultant is None or not consultant.active:
                raise Unauthorized(BAD_REFRESH)
            token = self._issue(session, family.id)
            await session.commit()
        return _session(consultant, token)

    async def logout(self, params: dict[str, Any]) -> None:
        """Revoke the refresh token's family, and the access token of the call if given."""
        presented = str(params.get("refresh_token", ""))
        access = params.get("access_token") or {}
        async with self.sessions() as session:
            stored = await repo.get_refresh_token(session, token_hash=token_hash(presented))
            if stored is None:
                raise Unauthorized(BAD_REFRESH)
            family = await repo.get_family(session, family_id=stored.family_id)
            await repo.revoke_families(session, family_id=stored.family_id, reason="logout")
            events = []
            if family is not None and access.get("jti") and access.get("expires_at"):
                expires_at = int(access["expires_at"])
                repo.add_revoked_access_token(
                    session,
                    jti=str(access["jti"])[:64],
                    consultant_id=family.consultant_id,
                    expires_at=datetime.fromtimestamp(expires_at, UTC),
                )
                events.append(
                    ConsultantSessionsRevoked(
                        consultant_id=family.consultant_id,
                        jti=str(access["jti"])[:64],
                        expires_at=expires_at,
                    )
                )
            await self.relay.commit(session, *events)

    async def session_state(self, params: dict[str, Any]) -> dict[str, Any]:
        """Session generations and revoked access tokens, for a starting gateway or
        realtime replica (events keep it current afterwards)."""
        async with self.sessions() as session:
            return await repo.session_state(session)

    def _issue(self, session: AsyncSession, family_id: str) -> str:
        token = secrets.token_urlsafe(32)
        repo.add_refresh_token(
            session, token_hash=token_hash(token), family_id=family_id, ttl_s=self.refresh_ttl_s
        )
        return token


def _session(row: Consultant, refresh_token: str) -> dict[str, Any]:
    """What the gateway signs an access token from."""
    return {
        "consultant": repo.consultant_view(row).model_dump(mode="json"),
        "refresh_token": refresh_token,
        "session_generation": row.session_generation,
    }
