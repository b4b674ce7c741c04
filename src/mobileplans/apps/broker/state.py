"""Process state of a broker replica: sessions, clock, the registry snapshot it serves,
and the writers that store launch records and GetBalance calls in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.launch_store import (
    EngineLaunchStore,
    SqliteLaunchStore,
    make_launch_store,
)
from mobileplans.config import Settings
from mobileplans.db.driver_tx import Tx, driver_steps
from mobileplans.db.outage_log import OutageLog
from mobileplans.db.session import session_scope
from mobileplans.db.transactions import Steps
from mobileplans.domains.balance.service import BalanceProxy
from mobileplans.domains.catalog.launch import DeviceContext
from mobileplans.domains.catalog.launch_log import LaunchLog
from mobileplans.domains.catalog.service import ProviderCatalog
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.snapshot import (
    RegistrySnapshot,
    build_snapshot,
    load_snapshot,
)
from mobileplans.kit.clock import Clock

log = logging.getLogger(__name__)

# How often the GetBalance call records are written (D291): at 1,000 calls a second a
# flush of a second's records held the loop long enough to add ~3 ms to the proxy's
# p99. A tenth of that each time, written on the launch writer's connection with no
# session around it (D299), holds the loop ~1 ms.
LOOKUP_FLUSH_SECONDS = 0.1


@dataclass
class BrokerState:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    admin_token: str
    balances: BalanceProxy
    snapshot: RegistrySnapshot = field(default_factory=lambda: build_snapshot(-1, []))
    catalog: ProviderCatalog = field(default_factory=ProviderCatalog)
    launches: LaunchLog = field(init=False)
    launch_store: EngineLaunchStore | SqliteLaunchStore = field(init=False)
    steps: Steps[Tx] = field(init=False)  # transactions on the driver where it can (D297)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.launch_store = make_launch_store(self.sessions)
        self.steps = driver_steps(self.sessions)
        self.launches = LaunchLog(self.launch_store, writers=self.launch_store.writers)

    async def providers(self, device: DeviceContext, environment: str) -> bytes:
        """The ``GET /v1/providers`` body, once its launch records are stored."""
        body, rows = self.catalog.answer(
            self.snapshot, device, environment=environment, now=self.clock.now()
        )
        await self.launches.record(rows)
        return orjson.dumps(body)

    async def balance(self, iccid: str, *, location: str | None, environment: str) -> bytes:
        """The ``GET /v1/balances`` body (schema ``BalanceAnswer``, ``None`` fields dropped).
        The fast path makes the same bytes with one frame less (``DeviceFastPath``)."""
        answer = await self.balances.lookup(
            self.snapshot, iccid, location=location, environment=environment
        )
        return orjson.dumps(answer)

    async def refresh(self) -> bool:
        """Reload the snapshot if the configuration version moved; True if reloaded."""
        async with self._lock:
            async with session_scope(self.sessions) as session:
                version = await registry_service.config_version(session)
                if version == self.snapshot.version:
                    return False
                self.snapshot = await load_snapshot(session)
            log.info("registry snapshot reloaded at version %s", self.snapshot.version)
            return True

    async def close_launches(self) -> None:
        """Store every launch record still waiting, then let the writer go (shutdown)."""
        await self.launches.close()
        await self.launch_store.close()

    async def flush_lookups(self) -> int:
        """Write the GetBalance calls recorded since the last flush, in one transaction;
        if it fails they stay queued (bounded) and the error propagates."""
        records = self.balances.drain_records()
        if records:
            try:
                await self.launch_store.lookups(records)  # no session on the way (D299)
            except Exception:
                dropped = self.balances.requeue(records)  # kept for the next flush (D288)
                if dropped:
                    log.warning("dropped %d unwritten GetBalance call records", dropped)
                raise
        return len(records)

    async def flush_forever(self, interval: float = LOOKUP_FLUSH_SECONDS) -> None:
        outages = OutageLog("writing GetBalance lookups", log)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush_lookups()
                outages.succeeded()
            except Exception as exc:
                outages.failed(exc)

    async def poll_forever(self) -> None:
        """Every replica polls the configuration version (architecture decision 4)."""
        while True:
            await asyncio.sleep(self.settings.config_poll_seconds)
            with contextlib.suppress(Exception):
                await self.refresh()
