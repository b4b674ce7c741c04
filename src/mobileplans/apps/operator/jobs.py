"""Background work of the operator app: releasing delayed eSIM profiles when due, and giving
back profiles a lost ``downloadOrder`` answer linked (D245)."""

from __future__ import annotations

import asyncio
import logging

from mobileplans.apps.operator.state import OperatorState
from mobileplans.db.outage_log import OutageLog
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase.reconcile import reconcile_lost_orders
from mobileplans.domains.purchase.release import release_due_orders

log = logging.getLogger(__name__)

RELEASE_INTERVAL_SECONDS = 2.0


async def release_forever(state: OperatorState, interval: float = RELEASE_INTERVAL_SECONDS) -> None:
    """Every ``interval`` seconds, release the delayed profiles that are due (spec 1.6),
    then replay the lost ``downloadOrder`` answers that are due (D245).

    The job is the edge: it hands the round a ``Transactions`` (short steps, no session
    held across the ES2+ calls) and the driver's reads, so that a round with nothing due
    is one read and no transaction."""
    tx = Transactions(state.sessions)
    releasing = OutageLog("releasing delayed profiles", log)
    reconciling = OutageLog("giving back profiles of lost downloadOrder answers", log)
    while True:
        try:
            released = await release_due_orders(tx, state.es2plus, state.clock.now(),
                                                reads=state.reads)  # fmt: skip
            releasing.succeeded()
            if released:
                log.info("released %s delayed eSIM profile(s)", released)
        except Exception as exc:  # keep the loop alive; the next round retries
            releasing.failed(exc)
        try:
            settled = await reconcile_lost_orders(tx, state.es2plus, state.clock.now(),
                                                  reads=state.reads)  # fmt: skip
            reconciling.succeeded()
            if settled:
                log.info("settled %s order(s) whose downloadOrder answer was lost", settled)
        except Exception as exc:  # keep the loop alive; the next round retries
            reconciling.failed(exc)
        await asyncio.sleep(interval)
