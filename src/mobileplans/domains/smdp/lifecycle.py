"""The profile state machine (esim-rsp 1.5) and the one way to move a profile through it.

Every change of a profile goes through :func:`change`: a compare-and-set on the row's
``version`` (so two transactions never both win) plus an ``smdp_profile_events`` row
(from, to, function, detail). Self-transitions are recorded too where something
happened without a state change (an EID bound at download, a re-download, enable/disable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import SmdpProfile, SmdpProfileEvent
from mobileplans.domains.smdp import repository
from mobileplans.domains.smdp.codes import ConcurrentUpdate
from mobileplans.domains.smdp.repository import ProfileRow
from mobileplans.domains.smdp.schemas import ProfileState

P = ProfileState

TRANSITIONS: Final[dict[ProfileState, frozenset[ProfileState]]] = {
    P.AVAILABLE: frozenset({P.ALLOCATED, P.LINKED}),
    P.ALLOCATED: frozenset({P.CONFIRMED, P.RELEASED, P.AVAILABLE, P.UNAVAILABLE}),
    P.LINKED: frozenset({P.CONFIRMED, P.RELEASED, P.AVAILABLE, P.UNAVAILABLE}),
    P.CONFIRMED: frozenset({P.RELEASED, P.AVAILABLE, P.UNAVAILABLE}),
    P.RELEASED: frozenset({P.RELEASED, P.DOWNLOADED, P.ERROR, P.AVAILABLE, P.UNAVAILABLE}),
    P.DOWNLOADED: frozenset({P.DOWNLOADED, P.INSTALLED, P.ERROR}),
    P.ERROR: frozenset({P.DOWNLOADED, P.AVAILABLE, P.UNAVAILABLE}),
    P.INSTALLED: frozenset({P.INSTALLED, P.UNAVAILABLE}),
    P.UNAVAILABLE: frozenset(),
}

# Fields cleared when an order is cancelled (cancelOrder) so the profile starts afresh.
CLEARED_ORDER: Final[dict[str, Any]] = {
    "eid": None,
    "matching_id": None,
    "confirmation_code_hash": None,
    "cc_attempts": 0,
    "download_attempts": 0,
    "requester_id": None,
}


class InvalidTransition(ValueError):
    """A use case asked for a move the table forbids (a bug: use cases check states first)."""


def allowed(current: ProfileState, target: ProfileState) -> bool:
    return target in TRANSITIONS[current]


async def change(
    tx: Tx,
    profile: ProfileRow,
    to: ProfileState,
    *,
    function: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """Move ``profile`` to ``to`` (with column ``changes``), record the event; ``profile``
    then holds the new values.

    Raises :class:`ConcurrentUpdate` when another transaction changed the row since it
    was read; the caller's transaction must then be rolled back and run again.
    """
    current = ProfileState(profile.state)
    if not allowed(current, to):
        raise InvalidTransition(f"{profile.iccid}: {current} → {to} is not allowed")
    await update_counters(tx, profile, **changes, state=to.value, updated_at=now)
    await repository.add_event(
        tx, iccid=profile.iccid, at=now, from_state=current.value, to_state=to.value,
        function=function, detail=detail or {},
    )  # fmt: skip


async def update_counters(tx: Tx, profile: ProfileRow, **changes: Any) -> None:
    """Compare-and-set columns of ``profile`` (attempt counters: no state change, no event)."""
    ok = await repository.compare_and_set(
        tx, profile.iccid, state=profile.state, version=profile.version, changes=changes
    )
    if not ok:
        raise ConcurrentUpdate(profile.iccid)
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.version += 1


def record_created(profile: SmdpProfile, now: datetime, detail: dict[str, Any]) -> SmdpProfileEvent:
    """The first event of a profile: created ``Available`` by the inventory."""
    return SmdpProfileEvent(
        iccid=profile.iccid,
        at=now,
        from_state=None,
        to_state=ProfileState.AVAILABLE.value,
        function="generate",
        detail=detail,
    )
