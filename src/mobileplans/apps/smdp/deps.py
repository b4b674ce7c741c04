"""Request dependencies of the SM-DP+ app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mobileplans.apps.smdp.state import SmdpState


async def get_state(request: Request) -> SmdpState:
    state: SmdpState = request.app.state.smdp
    return state


State = Annotated[SmdpState, Depends(get_state)]
