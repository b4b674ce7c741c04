"""Request dependencies of the operator app.

All ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool, a thread
hand-off per dependency per request. ``Session`` is one transaction (begin … commit)
for work that writes; ``Step`` the same on the driver (D297), for work whose services
take ``Tx``; ``DbReads`` is for pure reads: the driver-level reads of
``db.reads``, with no session and no explicit transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.apps.operator.state import OperatorState
from mobileplans.config import OperatorSite
from mobileplans.db.driver_tx import Tx
from mobileplans.db.reads import Reads
from mobileplans.db.session import session_scope


async def get_state(request: Request) -> OperatorState:
    state: OperatorState = request.app.state.operator
    return state


State = Annotated[OperatorState, Depends(get_state)]


async def get_site(operator_id: str, state: State) -> OperatorSite:
    return state.site(operator_id)


Site = Annotated[OperatorSite, Depends(get_site)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    async with session_scope(state.sessions) as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_step(state: State) -> AsyncIterator[Tx]:
    """One transaction per request, on the driver where the engine has a driver kind
    (D297): for a portal step whose services take ``Tx``."""
    async with state.steps.step() as tx:
        yield tx


Step = Annotated[Tx, Depends(get_step, scope="function")]


async def get_reads(state: State) -> AsyncIterator[Reads]:
    async with state.reads.hold() as reads:
        yield reads


DbReads = Annotated[Reads, Depends(get_reads, scope="function")]
