"""The shortcuts GetBalance's hot path takes (issue #8, bench/getbalance_instructions.py)
give what the general rules give: the ``iccid:<digits>`` form of ``simId``, query
parameters read once per distinct query string, the rate limiter's inline refill, and
SQLite's stored UTC datetimes read by ``fromisoformat`` with an offset appended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mobileplans.apps.operator.mo_request import Query, parse_sim_id, parsed
from mobileplans.apps.operator.ratelimit import RateLimiter, TooManyRequests
from mobileplans.apps.operator.routes.moapi import balance_parameters
from mobileplans.db.reads import _utc_from_sqlite
from mobileplans.errors import BadRequest
from mobileplans.kit import identifiers as ids

DIGITS = "8901999088800000013"


def by_the_rules(value: str) -> str:
    """What ``parse_sim_id`` gives an ``iccid:`` value without its shortcut."""
    return ids.parse_iccid(value.partition(":")[2].strip(), field="simId", lenient=True)


@pytest.mark.parametrize(
    "value",
    [
        f"iccid:{DIGITS}",
        f"iccid:{DIGITS[:18]}",  # shortest
        f"iccid:{DIGITS}0",  # longest
        f"iccid:{DIGITS}F",  # filler: the rules strip it
        f"iccid: {DIGITS}",
        f"iccid:{DIGITS} ",
    ],
)
def test_the_iccid_shortcut_gives_what_the_rules_give(value: str) -> None:
    assert parse_sim_id(value, field="simId") == by_the_rules(value)


@pytest.mark.parametrize(
    "value",
    [
        f"iccid:{DIGITS[:17]}",  # too short
        f"iccid:{DIGITS}01",  # too long
        "iccid:" + "٨٩٠١٩٩٩٠٨٨٨٠٠٠٠٠٠١٣",  # Arabic-Indic digits: isdigit(), not [0-9]
        "iccid:" + "²" * 19,  # superscripts: isdigit() too
        "iccid:",
    ],
)
def test_what_the_shortcut_does_not_take_fails_as_the_rules_say(value: str) -> None:
    with pytest.raises(ids.IdentifierError) as expected:
        by_the_rules(value)
    with pytest.raises(ids.IdentifierError) as found:
        parse_sim_id(value, field="simId")
    assert str(found.value) == str(expected.value)


def test_query_parameters_are_read_once_per_query_and_failures_every_time() -> None:
    calls: list[str] = []

    def counting(query: Query) -> tuple[str | None, int | None, bool]:
        calls.append("read")
        return balance_parameters(query)

    query = Query(b"location=uk&limit=2&fieldsTemplate=full")
    assert parsed(query, counting) == ("GB", 2, True)
    assert parsed(query, counting) == ("GB", 2, True)
    assert calls == ["read"]
    bad = Query(b"limit=-1")
    for _ in range(2):
        with pytest.raises(BadRequest, match="limit must not be negative"):
            parsed(bad, counting)
    assert calls == ["read", "read", "read"]  # a failure is not kept


def test_the_inline_refill_keeps_the_bucket_rules() -> None:
    limiter, key, start = RateLimiter(), ("contoso", "10.0.0.7"), datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(3):
        limiter.check(key, rate=1.0, burst=3, now=start)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check(key, rate=1.0, burst=3, now=start)
    assert refused.value.retry_after == 1
    assert limiter.take(key, rate=1.0, burst=3, now=start - timedelta(seconds=5)) == 1  # back
    # five seconds on from there: full again (3), not five tokens
    assert [limiter.take(key, rate=1.0, burst=3, now=start) for _ in range(4)] == [None] * 3 + [1]
    assert limiter.take(key, rate=0.5, burst=3, now=start) == 2  # a new rate applies at once
    other = ("contoso", "10.0.0.8")  # burst 0 holds one token
    assert [limiter.take(other, rate=2.0, burst=0, now=start) for _ in range(2)] == [None, 1]


@pytest.mark.parametrize(
    ("stored", "moment"),
    [
        ("2026-12-05 20:00:00.123456", datetime(2026, 12, 5, 20, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-05 20:00:00", datetime(2026, 12, 5, 20, tzinfo=UTC)),
        ("2026-12-05 20:00:00.000000+02:00", datetime(2026, 12, 5, 18, tzinfo=UTC)),
        ("2026-12-05T20:00:00-05:00", datetime(2026, 12, 6, 1, tzinfo=UTC)),
        ("2026-12-05 20:00:00Z", datetime(2026, 12, 5, 20, tzinfo=UTC)),
    ],
)
def test_stored_datetimes_read_as_utc_with_or_without_an_offset(
    stored: str, moment: datetime
) -> None:
    found = _utc_from_sqlite(stored)
    assert found == moment
    assert found is not None
    assert found.tzinfo is UTC


def test_what_is_no_datetime_still_fails() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        _utc_from_sqlite("yesterday")
