"""Process state of the operator app."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.operator.ratelimit import RateLimiter
from mobileplans.config import OperatorAppConfig, OperatorSite
from mobileplans.db.driver_tx import Tx, driver_steps
from mobileplans.db.reads import DriverReads, reads_for
from mobileplans.db.transactions import Steps
from mobileplans.domains.purchase.es2plus_client import Es2PlusPool
from mobileplans.errors import NotFound
from mobileplans.kit.clock import Clock


@dataclass
class OperatorState:
    config: OperatorAppConfig
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)  # MO API, spec 2.3 429
    es2plus: Es2PlusPool = field(init=False)  # ES2+ client per site (portal orders)
    reads: DriverReads = field(init=False)  # the MO API's reads on the raw driver (db.reads)
    steps: Steps[Tx] = field(init=False)  # the portal's transactions, on the driver (D297)

    def __post_init__(self) -> None:
        self.es2plus = Es2PlusPool(self.config.sites)
        self.reads = reads_for(self.sessions.kw["bind"], name="mobileplans-operator-reads")
        self.steps = driver_steps(self.sessions)

    def site(self, operator_id: str) -> OperatorSite:
        site = self.config.site(operator_id)
        if site is None:
            raise NotFound(f"no operator {operator_id!r} here")
        return site
