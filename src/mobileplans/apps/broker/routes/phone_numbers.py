"""Phone-number lookup (spec 1.11 and 2.10; seed 004 step 1): the first step of the
first-run eSIM experience asks which operator serves the user's number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mobileplans.apps.broker.deps import State
from mobileplans.config import Environment
from mobileplans.domains.operator_registry.schemas import PhoneNumberRead
from mobileplans.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["devices"], responses=PROBLEM_RESPONSES)


@router.get("/phone-numbers/{e164}", response_model=PhoneNumberRead)
async def lookup_phone_number(
    e164: str,
    state: State,
    environment: Annotated[
        Environment | None, Query(description="Defaults to the broker's MP_ENVIRONMENT")
    ] = None,
) -> PhoneNumberRead:
    """The operator whose configured E.164 prefixes hold the number (longest prefix wins;
    in-memory snapshot). 400 naming ``phoneNumber`` for a malformed or invalid number, 404
    when no operator enabled in this environment serves it.

    Served by the broker's fast path in front of FastAPI (same bytes, tested)."""
    return state.snapshot.phone_number(e164, environment or state.settings.environment)
