"""Profile inventory and ES2+ requesters: what an SM-DP+ operator sets up before orders.

``generate_profiles`` fills an operator's ICCID range (from the operator registry) with
``Available`` profiles whose ICCIDs carry a valid Luhn digit; ``register_requester``
admits an ES2+ client (``functionRequesterIdentifier``) for one operator with the URL
of its ``handleDownloadProgressInfo`` endpoint. ``mobileplans up`` seeds both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.db.models import SmdpProfile, SmdpRequester
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import IccidRangeIn
from mobileplans.domains.smdp import lifecycle, repository
from mobileplans.domains.smdp.schemas import (
    ProfileCount,
    ProfileEventRead,
    ProfileRead,
    ProfileState,
    RequesterRead,
)
from mobileplans.errors import BadRequest, Conflict, NotFound
from mobileplans.kit.identifiers import iccid_check_digit

MAX_COUNT: Final = 100_000
BATCH: Final = 500
SPN_MAX: Final = 32  # smdp_profiles.spn
NAME_MAX: Final = 64  # smdp_profiles.profile_name, profile_type, requester ids


async def ranges_for(
    session: AsyncSession, operator_id: str, environment: Environment
) -> list[IccidRangeIn]:
    """The operator's ICCID ranges of one environment (NotFound for an unknown operator)."""
    return [
        r for r in await registry_service.list_ranges(session, operator_id)
        if r.environment == environment
    ]  # fmt: skip


def _iccids_in(start: str, end: str) -> Iterator[str]:
    """Every Luhn-valid ICCID from ``start`` to ``end`` inclusive, in order."""
    low, high = int(start), int(end)
    width = len(start) - 1
    for body in range(low // 10, high // 10 + 1):
        iccid = f"{body:0{width}d}"
        iccid += iccid_check_digit(iccid)
        if low <= int(iccid) <= high:
            yield iccid


def _check_text(field: str, value: str, limit: int) -> str:
    text = value.strip()
    if not 0 < len(text) <= limit or not text.isprintable():
        raise BadRequest(f"{field} must be 1-{limit} printable characters", field=field)
    return text


async def generate_profiles(
    session: AsyncSession,
    *,
    operator_id: str,
    ranges: Sequence[IccidRangeIn],
    profile_type: str,
    count: int,
    now: datetime,
    spn: str,
    profile_name: str,
    on_progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Create ``count`` Available profiles with new Luhn-valid ICCIDs inside ``ranges``
    (first free ICCIDs, in range order), skipping ICCIDs the SM-DP+ already holds.

    Raises ``BadRequest`` without ranges or with a bad count/text, ``Conflict`` when the
    ranges have fewer free ICCIDs than ``count`` (nothing is created then).
    """
    if not 0 < count <= MAX_COUNT:
        raise BadRequest(f"count must be 1-{MAX_COUNT}", field="count")
    profile_type = _check_text("profileType", profile_type, NAME_MAX)
    spn, profile_name = (
        _check_text("spn", spn, SPN_MAX),
        _check_text("profileName", profile_name, NAME_MAX),
    )
    if not ranges:
        raise BadRequest(f"operator {operator_id!r} has no ICCID range here", field="ranges")
    chosen = await _free_iccids(session, ranges, count)
    if len(chosen) < count:
        raise Conflict(
            f"the ICCID ranges of {operator_id!r} have only {len(chosen)} free ICCIDs, "
            f"{count} asked (range full)"
        )
    template = SmdpProfile(
        operator_id=operator_id, profile_type=profile_type, spn=spn, profile_name=profile_name
    )
    for first in range(0, count, BATCH):
        batch = chosen[first : first + BATCH]
        await _insert(session, template, batch, now)
        if on_progress is not None:
            on_progress(len(batch))
    return chosen


async def _insert(
    session: AsyncSession, template: SmdpProfile, iccids: Sequence[str], now: datetime
) -> None:
    """Add Available profiles shaped like ``template`` and their first events; flush."""
    rows = [
        SmdpProfile(
            iccid=iccid, operator_id=template.operator_id, profile_type=template.profile_type,
            state=ProfileState.AVAILABLE.value, spn=template.spn,
            profile_name=template.profile_name, cc_attempts=0, download_attempts=0, version=0,
            created_at=now, updated_at=now,
        )
        for iccid in iccids
    ]  # fmt: skip
    detail = {"profileType": template.profile_type}
    repository.add_all(session, rows)
    repository.add_all(session, [lifecycle.record_created(r, now, detail) for r in rows])
    await session.flush()


async def top_up_profiles(
    session: AsyncSession,
    *,
    operator_id: str,
    ranges: Sequence[IccidRangeIn],
    profile_type: str,
    available: int,
    now: datetime,
    spn: str,
    profile_name: str,
) -> list[str]:
    """Generate just enough profiles that ``available`` of this type are Available (for
    ``mobileplans up``, run on every start); the ICCIDs created, often none."""
    have = await repository.count_in_state(
        session, operator_id, profile_type, ProfileState.AVAILABLE.value
    )
    if have >= available:
        return []
    return await generate_profiles(
        session, operator_id=operator_id, ranges=ranges, profile_type=profile_type,
        count=available - have, now=now, spn=spn, profile_name=profile_name,
    )  # fmt: skip


async def _free_iccids(
    session: AsyncSession, ranges: Sequence[IccidRangeIn], count: int
) -> list[str]:
    chosen: list[str] = []
    for iccid_range in ranges:
        taken = await repository.existing_iccids(session, iccid_range.start, iccid_range.end)
        for iccid in _iccids_in(iccid_range.start, iccid_range.end):
            if len(chosen) == count:
                return chosen
            if iccid not in taken:
                chosen.append(iccid)
    return chosen


def _check_callback_url(url: str) -> str:
    parts = urlsplit(url)
    if (
        any(ch <= " " for ch in url)
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.fragment
    ):
        raise BadRequest("callbackUrl must be an absolute http(s) URL", field="callbackUrl")
    return url


async def register_requester(
    session: AsyncSession,
    *,
    requester_id: str,
    operator_id: str,
    callback_url: str | None,
    now: datetime,
) -> RequesterRead:
    """Create or update an ES2+ requester of a registered operator."""
    requester_id = _check_text("requesterId", requester_id, NAME_MAX)
    await registry_service.get_operator(session, operator_id)  # NotFound if unknown
    url = _check_callback_url(callback_url) if callback_url else None
    row = await repository.requester(session, requester_id)
    if row is None:
        row = SmdpRequester(requester_id=requester_id, operator_id=operator_id, created_at=now)
        repository.add(session, row)
    row.operator_id, row.callback_url = operator_id, url
    await session.flush()
    return _requester(row)


def _requester(row: SmdpRequester) -> RequesterRead:
    return RequesterRead(
        requester_id=row.requester_id, operator_id=row.operator_id, callback_url=row.callback_url
    )


async def list_requesters(
    session: AsyncSession, operator_id: str | None = None
) -> list[RequesterRead]:
    return [_requester(r) for r in await repository.requesters(session, operator_id)]


async def profile_counts(
    session: AsyncSession, operator_id: str | None = None
) -> list[ProfileCount]:
    """Profiles by operator, profile type and state."""
    return [
        ProfileCount(operator_id=o, profile_type=t, state=ProfileState(s), count=n)
        for o, t, s, n in await repository.counts(session, operator_id)
    ]


async def get_profile(session: AsyncSession, iccid: str) -> ProfileRead:
    row = await repository.profile(session, iccid)
    if row is None:
        raise NotFound(f"no profile {iccid}", field="iccid")
    return ProfileRead(
        iccid=row.iccid,
        operator_id=row.operator_id,
        profile_type=row.profile_type,
        state=ProfileState(row.state),
        eid=row.eid,
        matching_id=row.matching_id,
        cc_required=row.confirmation_code_hash is not None,
        spn=row.spn,
        profile_name=row.profile_name,
        requester_id=row.requester_id,
        download_attempts=row.download_attempts,
        cc_attempts=row.cc_attempts,
        updated_at=row.updated_at,
    )


async def profile_events(session: AsyncSession, iccid: str) -> list[ProfileEventRead]:
    """The profile's history, oldest first."""
    return [
        ProfileEventRead(
            iccid=e.iccid,
            at=e.at,
            from_state=ProfileState(e.from_state) if e.from_state else None,
            to_state=ProfileState(e.to_state),
            function=e.function,
            detail=dict(e.detail),
        )
        for e in await repository.events(session, iccid)
    ]
