"""The GetBalance proxy: resolve the SIM, call its operator, answer the flyout.

- The ICCID is resolved from the in-memory registry snapshot (no database on the path).
- A short per-(ICCID, location) cache (``MP_BALANCE_CACHE_SECONDS``, spec 7.2 #45) absorbs
  flyout openings; only successful answers are cached.
- A 429 from an operator starts a hold-off of ``Retry-After`` seconds for that operator:
  until it ends the proxy serves from cache or answers 503 with ``retryAfter`` rather
  than calling again (spec 2.3, 5.7: the MO may rate-limit; we honour it).
- MO errors become problem+json: unknown SIM 404; MO 4xx/5xx, bad body, TLS or connect
  failure 502; timeout 504.
- Every upstream call is recorded (outcome, status, latency) for failure percentages.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mobileplans.domains.balance import repository
from mobileplans.domains.balance.flyout import flyout_wire
from mobileplans.domains.balance.mo_client import MoApiClient, MoCall
from mobileplans.domains.balance.schemas import LookupRecord
from mobileplans.domains.catalog.service import resolve_range
from mobileplans.domains.operator_registry.snapshot import RegistrySnapshot
from mobileplans.errors import AppError, BadGateway, GatewayTimeout, NotFound, ServiceUnavailable
from mobileplans.kit.clock import Clock
from mobileplans.kit.ids import new_ms_dm_transaction_id

CACHE_ENTRIES = 100_000
UNWRITTEN_RECORDS = 120_000
"""Call records kept while the database cannot take them: two minutes at 1,000 calls a
second. Past that the oldest go first (bounded memory), counted in ``dropped_records``."""


@dataclass
class BalanceProxy:
    client: MoApiClient
    clock: Clock
    cache_seconds: float
    _cache: OrderedDict[tuple[str, str | None], tuple[datetime, dict[str, Any]]] = field(
        default_factory=OrderedDict
    )
    _hold_until: dict[str, datetime] = field(default_factory=dict)
    _records: list[LookupRecord] = field(default_factory=list)
    max_unwritten: int = UNWRITTEN_RECORDS
    dropped_records: int = 0

    async def lookup(
        self, snapshot: RegistrySnapshot, raw_iccid: str, *, location: str | None, environment: str
    ) -> dict[str, Any]:
        """The answer (schema ``BalanceAnswer`` in its wire form, ``None`` left out)."""
        iccid, owner = resolve_range(snapshot, raw_iccid, environment)
        now = self.clock.now()
        cached = self._cached(iccid, location, now)
        if cached is not None:
            return cached
        settings = snapshot.operators[owner.operator_id].environments.get(environment)  # type: ignore[call-overload]
        if settings is None or not settings.mo_base_url:
            raise NotFound(f"operator {owner.operator_id!r} offers no GetBalance in {environment}")
        held = self._hold_until.get(owner.operator_id)
        if held is not None and held > now:
            seconds = max(1, int((held - now).total_seconds() + 0.999))
            raise ServiceUnavailable(
                f"operator {owner.operator_id!r} asked us to wait", retryAfter=seconds
            )
        transaction_id = new_ms_dm_transaction_id()
        call = await self.client.get_balances(
            settings.mo_base_url, iccid, transaction_id=transaction_id, location=location
        )
        self._record(owner.operator_id, environment, iccid, transaction_id, call, now)
        answer = self._answer(call, iccid, owner.operator_id, environment, transaction_id, now)
        self._store(iccid, location, answer, now)
        return answer

    def _answer(
        self, call: MoCall, iccid: str, operator_id: str, environment: str, tx: str, now: datetime
    ) -> dict[str, Any]:
        if call.outcome == "ok":  # BalanceAnswer's wire form, built directly (D304)
            return {
                "iccid": iccid,
                "operatorId": operator_id,
                "environment": environment,
                "balances": call.balances,
                "flyout": flyout_wire(call.balances),
                "cached": False,
                "msTransactionId": tx,
            }
        raise self._error(call, iccid, operator_id, now)

    def _error(self, call: MoCall, iccid: str, operator_id: str, now: datetime) -> AppError:
        context = {
            "operatorId": operator_id,
            "upstreamOutcome": call.outcome,
            "upstreamStatus": call.status,
        }
        if call.status == 404:
            return NotFound(f"operator {operator_id!r} does not know SIM {iccid}", iccid=iccid)
        if call.status == 429:
            wait = call.retry_after if call.retry_after is not None else 1.0
            self._hold_until[operator_id] = now + timedelta(seconds=wait)
            return ServiceUnavailable(
                f"operator {operator_id!r} is rate-limiting GetBalance",
                retryAfter=max(1, int(wait + 0.999)),
                **context,
            )
        if call.outcome == "timeout":
            return GatewayTimeout(
                f"operator {operator_id!r} did not answer GetBalance in time", **context
            )
        return BadGateway(
            f"operator {operator_id!r} GetBalance failed: {call.outcome} {call.detail}".strip(),
            **context,
        )

    def _cached(self, iccid: str, location: str | None, now: datetime) -> dict[str, Any] | None:
        entry = self._cache.get((iccid, location))
        if entry is None or entry[0] <= now:
            return None
        return {**entry[1], "cached": True}

    def _store(
        self, iccid: str, location: str | None, answer: dict[str, Any], now: datetime
    ) -> None:
        """Keep ``answer`` for ``cache_seconds``; drop the entries that have expired.

        Entries are in the order they were stored, each kept for the same time, so the
        expired ones are at the front. Dropped at once rather than when the LRU bound is
        reached: a cached answer is ~10 objects the cyclic garbage collector scans on every
        full collection, and 100,000 of them made one take ~450-700 ms (decision D272)."""
        if self.cache_seconds <= 0:
            return
        key = (iccid, location)
        self._cache[key] = (now + timedelta(seconds=self.cache_seconds), answer)
        self._cache.move_to_end(key)
        cache = self._cache
        while cache and (len(cache) > CACHE_ENTRIES or next(iter(cache.values()))[0] <= now):
            cache.popitem(last=False)

    def _record(
        self, operator_id: str, environment: str, iccid: str, tx: str, call: MoCall, now: datetime
    ) -> None:
        latency = round(call.latency_ms, 3)
        self._records.append(
            (now, operator_id, environment, iccid, tx, call.outcome, call.status, latency)
        )

    def drain_records(self) -> list[LookupRecord]:
        """The ``balance_lookups`` rows (column values in order) recorded since the last
        drain."""
        records, self._records = self._records, []
        return records

    def requeue(self, records: list[LookupRecord]) -> int:
        """Give back a drained batch that could not be written: it goes before the calls
        recorded meanwhile, and the next flush tries again. Past ``max_unwritten`` the
        oldest are let go; returns how many (also added to ``dropped_records``)."""
        self._records[:0] = records
        excess = len(self._records) - self.max_unwritten
        if excess <= 0:
            return 0
        del self._records[:excess]
        self.dropped_records += excess
        return excess


async def save_lookups(session: AsyncSession, records: list[LookupRecord]) -> None:
    """Write a batch of recorded upstream calls (the broker flushes them several times a
    second)."""
    await repository.insert_lookups(session, records)


async def save_lookups_on(connection: AsyncConnection, records: list[LookupRecord]) -> None:
    """The same on a connection the broker's batch writer keeps (PostgreSQL)."""
    await repository.insert_lookups_on(connection, records)


def save_lookups_sqlite(connection: sqlite3.Connection, records: list[LookupRecord]) -> None:
    """The same on a plain ``sqlite3`` connection: the broker's batch writer on SQLite."""
    repository.insert_lookups_sqlite(connection, records)
