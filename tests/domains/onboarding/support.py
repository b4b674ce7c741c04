"""Builders shared by the onboarding tests (domain, API, CLI): a candidate operator with
staging and (disabled) production settings, sealed conformance reports, green probes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.conformance.reports import seal
from mobileplans.db.models import Probe
from mobileplans.domains.access.service import Party
from mobileplans.domains.probe import service as probe_service
from tests.support import operator_data, valid_iccid

PLATFORM = Party("platform", None, "admin")
NORTHWIND = Party("operator", "northwind", "northwind:pm")
STAGING_PREFIX, PRODUCTION_PREFIX = "8933111", "8933222"
TEST_DEVICE_ICCID = valid_iccid(PRODUCTION_PREFIX + "00000000001")
LIVE_DEVICE_ICCID = valid_iccid(PRODUCTION_PREFIX + "90000000001")
LOGO = {"uri": "https://cdn.northwind.example/logo.png", "width": 300, "height": 300}


def northwind(**extra: Any) -> dict[str, Any]:
    """Staging live; production configured but disabled; a test and a full production range."""
    data = operator_data(
        "northwind",
        brand="Northwind Mobile",
        countries=["FR"],
        environments=("staging", "production"),
        timezone="Europe/Paris",
        logo=LOGO,
        monitoringIccid=valid_iccid(STAGING_PREFIX + "00000000009"),
        contacts=[
            {"name": "Northwind NOC", "email": "noc@northwind.example"},
        ],
        iccidRanges=[
            {
                "environment": "staging",
                "start": f"{STAGING_PREFIX}000000000000",
                "end": f"{STAGING_PREFIX}999999999999",
                "kind": "full",
            },
            {
                "environment": "production",
                "start": f"{PRODUCTION_PREFIX}000000000000",
                "end": f"{PRODUCTION_PREFIX}099999999999",
                "kind": "test",
            },
            {
                "environment": "production",
                "start": f"{PRODUCTION_PREFIX}100000000000",
                "end": f"{PRODUCTION_PREFIX}999999999999",
                "kind": "full",
            },
        ],
    )
    data["environments"]["production"]["enabled"] = False
    data.update(extra)
    return data


def report(
    environment: str,
    cases: dict[str, str],
    *,
    finished: datetime,
    kind: str = "conformance-run",
    operator: str = "northwind",
) -> dict[str, Any]:
    """A sealed report as ``conformance run|load --json`` writes it (the parts we read)."""
    verdict = "fail" if "fail" in cases.values() else "pass"
    document = {
        "kind": kind,
        "kitVersion": "test",
        "target": {"operator": operator, "environment": environment},
        "options": {"source": "registry"},
        "evidence": {"operator": operator, "environment": environment, "source": "registry"},
        "startedAt": finished.isoformat(),
        "finishedAt": finished.isoformat(),
        "verdict": verdict,
        "counts": {},
        "mandatoryFailures": [k for k, v in cases.items() if v == "fail"],
        "cases": [{"id": k, "outcome": v} for k, v in cases.items()],
    }
    return seal(document)


GETBALANCE_OK = {"MOAPI-GB-001": "pass", "MOAPI-GB-002": "pass"}
DEVICES_OK = {"DEVICE-001": "pass", "DEVICE-002": "skip"}


async def green_probes(session: AsyncSession, operator_id: str, *, now: datetime) -> None:
    """Sync probes from the registry and mark the operator's production ones green."""
    await probe_service.sync_from_registry(session, now=now)
    await session.execute(
        update(Probe)
        .where(Probe.operator_id == operator_id, Probe.environment == "production")
        .values(last_outcome="ok", last_run_at=now)
    )
