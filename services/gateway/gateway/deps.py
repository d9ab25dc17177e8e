"""FastAPI dependencies as `Annotated` aliases, in one place."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from leadflow.auth import AccessClaims, SessionRevocations, TokenError, verify_access_token
from leadflow.events import Role, SessionName
from leadflow.rpc import Forbidden, RpcClient, Unauthorized, Unavailable
from leadflow.settings import Settings

from gateway.limits import VERIFIED_CLAIMS


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_leads(request: Request) -> RpcClient:
    client: RpcClient = request.app.state.leads
    return client


async def get_assignment(request: Request) -> RpcClient:
    client: RpcClient = request.app.state.assignment
    return client


async def get_livia(request: Request) -> RpcClient:
    """wa-livia: the Lívia session and her conversations."""
    client: RpcClient = request.app.state.whatsapp[SessionName.LIVIA]
    return client


# Declares the bearer scheme in the OpenAPI document (the Authorize button of /docs);
# the token itself is checked below, to the contract's 401.
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An access token from POST /api/auth/login (valid `expires_in` seconds).",
    auto_error=False,
)


async def current_claims(
    request: Request, _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> AccessClaims:
    claims: AccessClaims | None = getattr(request.state, VERIFIED_CLAIMS, None)
    if claims is None:  # else the rate limiter checked this very header already
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token")
        try:
            claims = verify_access_token(request.app.state.settings.jwt_secret, token.strip())
        except TokenError:
            raise Unauthorized("invalid or expired token") from None
    revocations: SessionRevocations = request.app.state.revocations
    # Fail closed: a replica that cannot tell a revoked token yet refuses to guess. A
    # request that arrives while it starts waits for one failed load and a retry.
    if not await revocations.wait_loaded(2 * request.app.state.settings.rpc_timeout_s):
        raise Unavailable("sessions are being loaded; retry in a moment")
    if revocations.refuses(claims):
        raise Unauthorized("this session has ended")
    return claims


def require_roles(*roles: Role) -> Any:
    async def check(claims: Annotated[AccessClaims, Depends(current_claims)]) -> AccessClaims:
        if claims.role not in roles:
            raise Forbidden("your role does not allow this")
        return claims

    return Depends(check)


# wa-livia answers from one indexed read, in milliseconds; when it is away (restarting,
# re-pairing) a page that can do without her part must not wait the full RPC deadline.
LIVIA_DEADLINE_S = 2.0

SettingsDep = Annotated[Settings, Depends(get_settings)]
LeadsDep = Annotated[RpcClient, Depends(get_leads)]
AssignmentDep = Annotated[RpcClient, Depends(get_assignment)]
LiviaDep = Annotated[RpcClient, Depends(get_livia)]
Caller = Annotated[AccessClaims, Depends(current_claims)]
AdminOnly = Annotated[AccessClaims, require_roles(Role.ADMIN)]
Staff = Annotated[AccessClaims, require_roles(Role.ADMIN, Role.MANAGER)]


def actor(claims: AccessClaims) -> dict[str, str]:
    """How the gateway tells a service who is calling."""
    return {"id": claims.consultant_id, "role": claims.role.value}


def json_page(content: Any) -> Response:
    """A list the services already built in the contract's shape, encoded once: FastAPI's
    own path re-walks every item (jsonable_encoder), which costs more than the call."""
    return Response(orjson.dumps(content), media_type="application/json")
