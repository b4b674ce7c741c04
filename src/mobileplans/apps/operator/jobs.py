"""Background work of the operator app: releasing delayed eSIM profiles when due."""

from __future__ import annotations

import asyncio
import logging

from mobileplans.apps.operator.state import OperatorState
from mobileplans.db.session import session_scope
from mobileplans.domains.purchase.release import release_due_orders

log = logging.getLogger(__name__)

RELEASE_INTERVAL_SECONDS = 2.0


async def release_forever(state: OperatorState, interval: float = RELEASE_INTERVAL_SECONDS) -> None:
    """Every ``interval`` seconds, release the delayed profiles that are due (spec 1.6)."""
    while True:
        try:
            async with session_scope(state.sessions) as session:
                released = await release_due_orders(session, state.es2plus, state.clock.now())
            if released:
                log.info("released %s delayed eSIM profile(s)", released)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("releasing delayed profiles failed")
        await asyncio.sleep(interval)
