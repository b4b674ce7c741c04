"""Onboarding projects of the demo (``mobileplans up``, issue #9): Contoso live and
accepted, Fabrikam in Integration (its staging GetBalance run filed, the staging E2E
checkpoint slipping, production promoted with its *test* range), Tailspin in Feasibility.

Fabrikam's demo SIMs and SM-DP+ profiles lie in its production test range, so the
legacy-callback scenarios still buy through it in production; a new eSIM PC, with no SIM
of that range, meets it in the staging catalog (decision D167). Tailspin is a placeholder:
its endpoints are ``.example`` hosts, kept disabled, so nothing probes it and no catalog
offers it. Seeded once, on a database with no onboarding project yet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.conformance.reports import seal
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import evidence as intake
from mobileplans.domains.onboarding import gates, schedule, service
from mobileplans.domains.onboarding.schemas import Plan, PromoteIn, RangeChoice, RecordIn, StartIn
from mobileplans.domains.onboarding.templates import PLANS
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.errors import NotFound
from mobileplans.kit.identifiers import iccid_check_digit

PLATFORM = Party("platform", None, "up")
DONE_IN_INTEGRATION = (
    ("assess-scenarios", ("platform", "operator")),
    ("commit", ("platform", "operator")),
    ("cosa-update", ("operator",)),
    ("code-complete", ("operator",)),
)


def _iccid(body18: str) -> str:
    return body18 + iccid_check_digit(body18)


def _placeholder(operator_id: str, brand: str, countries: list[str], prefix: str) -> dict[str, Any]:
    def urls(env: str) -> dict[str, Any]:
        return {
            "portalUrl": f"https://portal.{env}.{operator_id}.example/mobileplans",
            "moBaseUrl": f"https://mo.{env}.{operator_id}.example/v1",
            "enabled": False,
        }

    return {
        "id": operator_id,
        "brandName": brand,
        "countries": countries,
        "logo": {"uri": f"https://cdn.{operator_id}.example/logo.png", "width": 300, "height": 300},
        "monitoringIccid": _iccid(f"{prefix}90000000001"),
        "timezone": "Europe/Berlin",
        "environments": {"staging": urls("staging"), "production": urls("production")},
        "contacts": [{"name": f"{brand} NOC", "email": f"noc@{operator_id}.example"}],
        "iccidRanges": [
            {
                "environment": "staging",
                "start": f"{prefix}900000000000",
                "end": f"{prefix}999999999999",
                "kind": "full",
            },
            {
                "environment": "production",
                "start": f"{prefix}000000000000",
                "end": f"{prefix}009999999999",
                "kind": "test",
            },
            {
                "environment": "production",
                "start": f"{prefix}010000000000",
                "end": f"{prefix}899999999999",
                "kind": "full",
            },
        ],
    }


INTEGRATION = "fabrikam"
TAILSPIN = _placeholder("tailspin", "Tailspin Mobile", ["AT"], "8943002")


def _staging_run(now: datetime) -> dict[str, Any]:
    """A sealed staging run as the kit writes it: GetBalance passes, the first-run eSIM
    journey does not yet."""
    cases = {f"MOAPI-GB-{n:03d}": "pass" for n in range(1, 9)} | {"DEVICE-001": "fail"}
    return seal(
        {
            "kind": "conformance-run",
            "kitVersion": "demo",
            "target": {"operator": INTEGRATION},
            "options": {"source": "target-file"},
            "evidence": {
                "operator": INTEGRATION,
                "environment": "staging",
                "source": "target-file",
            },
            "startedAt": (now - timedelta(minutes=4)).isoformat(),
            "finishedAt": now.isoformat(),
            "verdict": "fail",
            "counts": {"pass": 8, "fail": 1, "skip": 0},
            "mandatoryFailures": ["DEVICE-001"],
            "cases": [{"id": k, "outcome": v} for k, v in cases.items()],
        }
    )


async def _start_with_one_slip(session: AsyncSession, now: datetime) -> None:
    """Fabrikam's start date such that the staging E2E checkpoint is past due and the
    production one is not yet."""
    calendar = await service.calendar_of(session, INTEGRATION)
    keys = [a.key for a in PLANS[Plan.MOBILE_PLANS]]
    today = schedule.today(calendar, now)
    for back in range(40, 200):
        start = today - timedelta(days=back)
        dues = dict(zip(keys, schedule.lay_out(calendar, start, _days()), strict=True))
        if dues["e2e-staging"] < today <= dues["e2e-production"]:
            break
    await service.start(session, PLATFORM, INTEGRATION, StartIn(start=start), now=now)


def _days() -> list[int]:
    return [a.days for a in PLANS[Plan.MOBILE_PLANS]]


async def _add(session: AsyncSession, data: dict[str, Any], now: datetime) -> None:
    try:
        await registry_service.get_operator(session, data["id"])
    except NotFound:
        spec = OperatorSpec.model_validate(data, context={"url_policy": "local"})
        await registry_service.put_operator(session, spec, actor="up", now=now)


async def ensure_onboarding_demo(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    async with session_scope(sessions) as session:
        try:
            await service.load(session, PLATFORM, "contoso")
            return
        except NotFound:
            pass
        try:
            await registry_service.get_operator(session, "contoso")
        except NotFound:
            return  # the user removed the demo operators
        start = (now - timedelta(days=180)).date()
        await service.adopt_live(session, PLATFORM, "contoso", StartIn(start=start), now=now)
        try:
            await registry_service.get_operator(session, INTEGRATION)
        except NotFound:
            pass
        else:
            await _integration(session, now)
        await _add(session, TAILSPIN, now)
        await service.start(
            session, PLATFORM, "tailspin", StartIn(start=_next_monday(now)), now=now
        )


async def _integration(session: AsyncSession, now: datetime) -> None:
    """Fabrikam: Feasibility and Development done, its staging GetBalance run filed, and
    production enabled with its test range (spec 4.3/4.5, D150)."""
    await _start_with_one_slip(session, now)
    for key, sides in DONE_IN_INTEGRATION:
        for side in sides:
            party = (
                PLATFORM if side == "platform" else Party("operator", INTEGRATION, "fabrikam:pm")
            )
            await service.record(session, party, INTEGRATION, key, RecordIn(note="demo"), now=now)
    await intake.file_evidence(session, PLATFORM, INTEGRATION, _staging_run(now), now=now)
    await gates.promote(session, PLATFORM, INTEGRATION, PromoteIn(range=RangeChoice.TEST), now=now)


def _next_monday(now: datetime) -> date:
    day = now.date() + timedelta(days=1)
    return day + timedelta(days=(7 - day.weekday()) % 7)
