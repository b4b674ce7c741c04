"""Who the generated requests act as: an operator's API credential, issued by the same
service ``mobileplans credentials create --operator ID`` calls, and records of another
operator for the isolation checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.kit.clock import SystemClock

T = TypeVar("T")


async def _in_transaction(database_url: str, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = make_engine(database_url, process_name="api-fuzz-setup")
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            return await job(session)
    finally:
        await engine.dispose()


def in_transaction(database_url: str, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``job`` in one transaction on the stack's database, from the test's thread (an
    engine of its own: the stack's belongs to the stack's loop)."""
    return asyncio.run(_in_transaction(database_url, job))


def issue_credential(database_url: str, operator_id: str, name: str = "fuzz") -> str:
    """A bearer token acting for ``operator_id`` only."""

    async def issue(session: AsyncSession) -> str:
        now = SystemClock().now()
        issued = await access_service.create_credential(
            session, operator_id=operator_id, name=name, now=now
        )
        return issued.token

    return in_transaction(database_url, issue)


@dataclass(frozen=True)
class Records:
    """Ids of one operator's records, by the broker path listing them."""

    incidents: list[int]
    maintenance: list[int]
    bugs: list[int]

    def item_paths(self) -> Iterator[str]:
        for kind in ("incidents", "maintenance", "bugs"):
            for record_id in getattr(self, kind):
                yield f"/v1/{kind}/{record_id}"


def create_records(broker: str, admin: dict[str, str], operator_id: str) -> Records:
    """An incident, a maintenance window and a bug of ``operator_id`` (platform-made, as
    the demo may hold none), then every id of its records the platform can list."""
    starts = SystemClock().now() + timedelta(days=3)
    with httpx.Client(base_url=broker, headers=admin, timeout=10) as client:
        made = [
            client.post(
                "/v1/incidents",
                json={
                    "operatorId": operator_id,
                    "environment": "production",
                    "category": "endpoint_failure",
                    "title": f"fuzz isolation {operator_id}",
                    "severity": "sev3",
                },
            ),
            client.post(
                "/v1/maintenance",
                json={
                    "operatorId": operator_id,
                    "startsAt": starts.isoformat(),
                    "endsAt": (starts + timedelta(hours=1)).isoformat(),
                    "impact": f"fuzz isolation {operator_id}",
                },
            ),
            client.post(
                "/v1/bugs",
                json={
                    "operatorId": operator_id,
                    "title": f"fuzz isolation {operator_id}",
                    "description": "made by tests/api_fuzz",
                },
            ),
        ]
        ids: dict[str, set[int]] = {}
        for kind, response in zip(("incidents", "maintenance", "bugs"), made, strict=True):
            assert response.status_code == 201, response.text
            listed = client.get(f"/v1/{kind}", params={"operatorId": operator_id}).json()
            ids[kind] = {response.json()["id"]} | {row["id"] for row in listed}
    return Records(**{kind: sorted(found) for kind, found in ids.items()})


def operator_ids(body: Any) -> Iterator[Any]:
    """Every ``operatorId`` value anywhere in a JSON body (the broker's one spelling)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "operatorId":
                yield value
            yield from operator_ids(value)
    elif isinstance(body, list):
        for item in body:
            yield from operator_ids(item)
