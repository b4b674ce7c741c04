"""Request dependencies: state, a transaction per writing request, a plain session for
reads, admin and API-credential authentication. Every dependency is ``async``: FastAPI
runs a plain ``def`` dependency in its thread pool (a thread hand-off per request)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.apps.broker.state import BrokerState
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.domains.access.service import Party
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


async def require_admin(
    state: State,
    authorization: Annotated[str | None, Header()] = None,
    x_mp_actor: Annotated[str | None, Header()] = None,
) -> str:
    """Check ``Authorization: Bearer <MP_ADMIN_TOKEN>``; return the actor name for the audit log."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("admin API needs 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(token.strip().encode(), state.admin_token.encode()):
        raise Unauthorized("admin token is not valid")
    actor = (x_mp_actor or "").strip()[:100]
    return f"admin:{actor}" if actor else "admin"


Admin = Annotated[str, Depends(require_admin)]


async def require_party(
    state: State,
    authorization: Annotated[str | None, Header()] = None,
    x_mp_actor: Annotated[str | None, Header()] = None,
) -> Party:
    """The operations API's caller: the admin token (platform) or an API credential
    (platform or one operator; ``mobileplans credentials create``)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the operations API needs 'Authorization: Bearer <token>'")
    if hmac.compare_digest(token.encode(), state.admin_token.encode()):
        actor = (x_mp_actor or "").strip()[:100]
        return Party("platform", None, f"admin:{actor}" if actor else "admin")
    async with state.sessions() as session:  # a read: nothing to commit
        party = await access_service.authenticate(session, token)
    if party is None:
        raise Unauthorized("token is not valid (unknown or revoked)")
    return party


Caller = Annotated[Party, Depends(require_party)]
