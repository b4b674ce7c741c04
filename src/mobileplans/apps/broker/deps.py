"""Request dependencies: state, a transaction per writing request, a plain session for
reads, admin and API-credential authentication. Every dependency is ``async``: FastAPI
runs a plain ``def`` dependency in its thread pool (a thread hand-off per request)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated, NoReturn

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.apps.broker.ratelimit import TokenFailureLimiter, TooManyTokenFailures
from mobileplans.apps.broker.state import BrokerState
from mobileplans.db.driver_tx import Tx
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.domains.access.service import Party
from mobileplans.domains.audit import service as audit_service
from mobileplans.errors import Unauthorized


async def get_state(request: Request) -> BrokerState:
    """Async, like every dependency here: a plain ``def`` would run in the thread pool."""
    state: BrokerState = request.app.state.broker
    return state


State = Annotated[BrokerState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns (before the response)."""
    async with session_scope(state.sessions) as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_step(state: State) -> AsyncIterator[Tx]:
    """One transaction per request, on the driver where the engine has a driver kind
    (D297): for a route whose repository functions take ``Tx``."""
    async with state.steps.step() as tx:
        yield tx


Step = Annotated[Tx, Depends(get_step, scope="function")]


async def get_read_session(state: State) -> AsyncIterator[AsyncSession]:
    """A session for a request that only reads: nothing to commit; closing it ends
    whatever the driver began (architecture: reads need no transaction of their own)."""
    async with state.sessions() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


async def get_config_session(state: State) -> AsyncIterator[AsyncSession]:
    """A transaction for a configuration change: commit, then reload this replica's snapshot."""
    async with session_scope(state.sessions) as session:
        yield session
    await state.refresh()


ConfigSession = Annotated[AsyncSession, Depends(get_config_session, scope="function")]


def token_failures(request: Request) -> TokenFailureLimiter:
    """This app's limiter (one per app, made on first use)."""
    limiter: TokenFailureLimiter | None = getattr(request.app.state, "token_failures", None)
    if limiter is None:
        limiter = request.app.state.token_failures = TokenFailureLimiter()
    return limiter


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check_not_limited(state: BrokerState, request: Request) -> None:
    """429 while this client IP's bucket of token failures is empty (D249)."""
    wait = token_failures(request).retry_after(client_ip(request), state.clock.now().timestamp())
    if wait is not None:
        raise TooManyTokenFailures(
            f"too many wrong tokens from this address; retry in {wait} s", retry_after=wait
        )


async def _reject(state: BrokerState, request: Request, token: str, detail: str) -> NoReturn:
    """Count a wrong token against the client IP, audit it (D250), answer 401.

    The audit row holds the first 12 hex digits of the token's SHA-256, never the token."""
    ip, now = client_ip(request), state.clock.now()
    token_failures(request).failed(ip, now.timestamp())
    async with session_scope(state.sessions) as session:
        audit_service.record(
            session,
            actor=f"broker:{ip}"[:120],
            action="broker.token_rejected",
            entity_type="broker_token",
            entity_id=ip[:128],
            before=None,
            after={
                "path": request.url.path[:200],
                "method": request.method,
                "tokenSha256Prefix": hashlib.sha256(token.encode()).hexdigest()[:12],
            },
            now=now,
        )
    raise Unauthorized(detail)


async def require_admin(
    state: State,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_mp_actor: Annotated[str | None, Header()] = None,
) -> str:
    """Check ``Authorization: Bearer <MP_ADMIN_TOKEN>``; return the actor name for the audit log."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("admin API needs 'Authorization: Bearer <admin token>'")
    _check_not_limited(state, request)
    if not hmac.compare_digest(token.strip().encode(), state.admin_token.encode()):
        await _reject(state, request, token.strip(), "admin token is not valid")
    actor = (x_mp_actor or "").strip()[:100]
    return f"admin:{actor}" if actor else "admin"


Admin = Annotated[str, Depends(require_admin)]


async def require_party(
    state: State,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_mp_actor: Annotated[str | None, Header()] = None,
) -> Party:
    """The operations API's caller: the admin token (platform) or an API credential
    (platform or one operator; ``mobileplans credentials create``)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the operations API needs 'Authorization: Bearer <token>'")
    _check_not_limited(state, request)
    if hmac.compare_digest(token.encode(), state.admin_token.encode()):
        actor = (x_mp_actor or "").strip()[:100]
        return Party("platform", None, f"admin:{actor}" if actor else "admin")
    async with state.sessions() as session:  # a read: nothing to commit
        party = await access_service.authenticate(session, token)
    if party is None:
        await _reject(state, request, token, "token is not valid (unknown or revoked)")
    return party


Caller = Annotated[Party, Depends(require_party)]
