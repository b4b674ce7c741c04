"""Phone-number lookup (spec 1.11 and 2.10; seed 004 step 1): the first step of the
first-run eSIM experience asks which operator serves the user's number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mobileplans.apps.broker.deps import State
from mobileplans.config import Environment
from mobileplans.domains.operator_registry.schemas import PhoneNumberRead
from mobileplans.errors import NotFound
from mobileplans.kit.identifiers import parse_phone_number
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
    when no operator enabled in this environment serves it."""
    env = environment or state.settings.environment
    number = parse_phone_number(e164, field="phoneNumber")
    owner = state.snapshot.phones.resolve(number)
    operator = state.snapshot.operators.get(owner) if owner else None
    settings = operator.environments.get(env) if operator else None
    if operator is None or settings is None or not settings.enabled:
        raise NotFound(
            f"phone number {number} is served by no operator in {env.value}", phoneNumber=number
        )
    return PhoneNumberRead(
        phone_number=number,
        operator_id=operator.id,
        brand_name=operator.brand_name,
        environment=env,
    )
