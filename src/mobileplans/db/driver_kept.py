"""Connections that driver steps hand from one step to the next (decision D298).

A driver step (``db.driver_tx.DriverTransactions``) that ends with no transaction open
leaves its connection here for the next step, instead of giving it back to the pool:
the pool's checkout, its reset (a rollback) on return and the check-in cost more than
a short step itself (about 45 µs of an empty step's 63 on SQLite). At most ``KEEP`` per
engine stay checked out, far from the pool's size, so sessions never wait for them;
disposing of the engine closes them.

On PostgreSQL the pool pings a connection at checkout, which is how a connection a
server restart broke is healed (D225). A connection taken from here is not pinged: its
step's ``BEGIN`` finds it lost before anything ran, and the step continues on a
connection from the pool (``DriverTransaction._begin``).
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

KEEP = 3
"""Connections an engine's driver steps keep between steps."""


def _idle(raw: PoolProxiedConnection) -> bool:
    """Whether the connection is usable and outside any transaction."""
    if not raw.is_valid:
        return False
    driver: Any = raw.driver_connection
    if hasattr(driver, "is_in_transaction"):  # asyncpg
        return not driver.is_closed() and not driver.is_in_transaction()
    return not getattr(driver, "in_transaction", True)  # the on-loop SQLite connection


class KeptConnections:
    """One engine's kept connections (see the module's doc)."""

    __slots__ = ("idle",)

    def __init__(self, engine: AsyncEngine) -> None:
        self.idle: list[PoolProxiedConnection] = []
        event.listen(engine.sync_engine, "engine_disposed", self._close)

    def _close(self, _engine: Any) -> None:  # in ``dispose``'s greenlet
        idle, self.idle = self.idle, []
        for raw in idle:
            raw.invalidate()  # closes the driver connection; the record leaves the pool

    def take(self) -> PoolProxiedConnection | None:
        """A kept connection, the one kept last; ``None`` when there is none."""
        while self.idle:
            raw = self.idle.pop()
            if _idle(raw):
                return raw
            raw.invalidate()  # closed meanwhile (asyncpg notices a lost server)
        return None

    def keep(self, raw: PoolProxiedConnection) -> bool:
        """Keep ``raw`` for the next step if it is idle and there is room."""
        if len(self.idle) < KEEP and _idle(raw):
            self.idle.append(raw)
            return True
        return False


_KEPT: weakref.WeakKeyDictionary[Any, KeptConnections] = weakref.WeakKeyDictionary()


def kept_connections(engine: AsyncEngine) -> KeptConnections:
    """The engine's kept connections (one set per engine, shared by its steps)."""
    found = _KEPT.get(engine.sync_engine)
    if found is None:
        found = _KEPT[engine.sync_engine] = KeptConnections(engine)
    return found
