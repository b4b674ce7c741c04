"""GetBalance cases (spec 2.3, 4.1.1 positive and negative tables, 7.1 #1 #2 #7 #8).

Each case judges one property only, so a fault shows up in the case meant for it: the
shape checks read keys case-insensitively (7.1 #1 "accept either casing on input"),
casing is judged by MOAPI-GB-013 alone, the transaction header by MOAPI-TX-*.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from mobileplans.conformance.case import Case, CaseContext, CaseSkipped
from mobileplans.conformance.moapi import (
    BALANCE_TYPES,
    BASIC_KEYS,
    CONSUMABLE,
    INT_MAX,
    balance,
    ci,
    expect_balances,
    expect_status,
    served,
)
from mobileplans.conformance.target import Target
from mobileplans.conformance.wire import Exchange


async def gb_active(ctx: CaseContext) -> None:
    t = ctx.target
    params = [("fieldsTemplate", "basic"), ("limit", "1"), ("location", served(t))]
    exchange = await balance(ctx, t.iccids.active, params)
    items = expect_balances(ctx, exchange, "2.3: an active SIM's balance")
    content_type = exchange.response_headers.get("content-type", "")
    ctx.require(
        content_type.split(";")[0].strip() == "application/json",
        exchange,
        "Content-Type: application/json (2.3)",
    )
    kinds = [str(ci(i, "type")).upper() for i in items]
    ctx.require(
        bool(kinds) and kinds[0] in CONSUMABLE,
        exchange,
        f"a consumable balance ({', '.join(CONSUMABLE)}) for the 'active' ICCID",
    )
    ctx.note(f"{kinds[0]}, {ci(items[0], 'dataRemaininginMB')} MB")


async def gb_full(ctx: CaseContext) -> None:
    t = ctx.target
    exchange = await balance(ctx, t.iccids.active, [("fieldsTemplate", "full")])
    items = expect_balances(ctx, exchange, "2.3: fieldsTemplate=full")
    for item in items:
        where = ci(item, "locations")
        if where is not None and not (
            isinstance(where, list) and all(isinstance(c, str) for c in where)
        ):
            ctx.fail(exchange, "locations, when sent, a list of ISO alpha-2 strings (2.3)")


async def gb_unknown_sim(ctx: CaseContext) -> None:
    exchange = await balance(ctx, ctx.target.iccids.unknown, [("location", served(ctx.target))])
    expect_status(ctx, exchange, 404, "4.1.1: invalid SIM")


async def gb_bad_location(ctx: CaseContext) -> None:
    for value in ("U1", "USA", "1"):
        exchange = await balance(ctx, ctx.target.iccids.active, [("location", value)])
        expect_status(ctx, exchange, 400, "4.1.1: bad location")


async def gb_unknown_location(ctx: CaseContext) -> None:
    exchange = await balance(ctx, ctx.target.iccids.active, [("location", "ZZ")])
    expect_status(ctx, exchange, 400, "4.1.1: unknown location (ZZ is no ISO 3166 country)")


async def gb_negative_limit(ctx: CaseContext) -> None:
    exchange = await balance(ctx, ctx.target.iccids.active, [("limit", "-1")])
    expect_status(ctx, exchange, 400, "4.1.1: limit negative")


async def gb_limit_overflow(ctx: CaseContext) -> None:
    for value in (str(INT_MAX + 1), "99999999999999999999"):
        exchange = await balance(ctx, ctx.target.iccids.active, [("limit", value)])
        expect_status(ctx, exchange, 400, "4.1.1: limit above int range")


async def gb_valid_limit(ctx: CaseContext) -> None:
    for value in ("1", str(INT_MAX)):
        exchange = await balance(ctx, ctx.target.iccids.active, [("limit", value)])
        items = expect_balances(ctx, exchange, "4.1.1: limit a valid integer")
        if len(items) > int(value):
            ctx.fail(exchange, f"at most {value} balance(s) (2.3 limit)")


def combinations(target: Target) -> list[list[tuple[str, str]]]:
    choices = {
        "location": (None, "", served(target)),
        "fieldsTemplate": (None, "", "basic"),
        "limit": (None, "", "1"),
    }
    out = []
    for values in itertools.product(*choices.values()):
        out.append([(k, v) for k, v in zip(choices, values, strict=True) if v is not None])
    return out


async def gb_combinations(ctx: CaseContext) -> None:
    for params in combinations(ctx.target):
        exchange = await balance(ctx, ctx.target.iccids.active, params)
        if exchange.status != 200:
            ctx.fail(
                exchange, "HTTP 200: missing or empty parameters are not bad values (4.1.1, 7.1 #7)"
            )
    ctx.note(f"{len(ctx.result.exchanges)} combinations")


async def gb_bad_template(ctx: CaseContext) -> None:
    exchange = await balance(ctx, ctx.target.iccids.active, [("fieldsTemplate", "nope")])
    expect_status(ctx, exchange, 400, "2.3: an invalid fieldsTemplate")
    if exchange.status == 400 and "fieldsTemplate" not in exchange.body:
        ctx.note("the body does not name fieldsTemplate (2.3: it should)")


def _zero_problem(item: dict[str, Any]) -> str | None:
    if str(ci(item, "type")).upper() != "NONE":
        return f"type {ci(item, 'type')!r}"
    if ci(item, "dataRemaininginMB") not in (0, 0.0):
        return f"dataRemaininginMB {ci(item, 'dataRemaininginMB')!r}"
    if not re.fullmatch(r"P(T0+S|0+D|T0+M|T0+H)", str(ci(item, "timeRemaining"))):
        return f"timeRemaining {ci(item, 'timeRemaining')!r}"
    return None


async def gb_zero(ctx: CaseContext) -> None:
    iccid = ctx.target.iccids.zero_balance
    assert iccid is not None
    exchange = await balance(ctx, iccid, [("location", served(ctx.target))])
    items = expect_balances(ctx, exchange, "2.3: zero balance is 200, never 404")
    ctx.require(bool(items), exchange, "one NONE balance, not an empty list (2.3, 7.1 #8)")
    problem = next((p for p in map(_zero_problem, items) if p), None)
    ctx.require(
        problem is None,
        exchange,
        f"type NONE, dataRemaininginMB 0, timeRemaining PT0S (2.3, 7.1 #8); got {problem}",
    )


async def gb_not_supported(ctx: CaseContext) -> None:
    iccid = ctx.target.iccids.not_supported
    assert iccid is not None
    exchange = await balance(ctx, iccid)
    items = expect_balances(ctx, exchange, "2.3: a SIM excluded from Mobile Plans")
    kinds = [str(ci(i, "type")).upper() for i in items]
    ctx.require(
        kinds == ["NOTSUPPORTED"] or (bool(kinds) and set(kinds) == {"NOTSUPPORTED"}),
        exchange,
        "type NOTSUPPORTED (2.3)",
    )


def _casing_problems(exchange: Exchange) -> list[str]:
    body = exchange.json_body
    if not isinstance(body, dict):
        return ["no JSON object"]
    problems = [f"top-level key {k!r}" for k in body if k.lower() == "balances" and k != "balances"]
    for item in body.get("balances") or []:
        if not isinstance(item, dict):
            continue
        for key in item:
            documented = [*BASIC_KEYS, "dataRemainingInMB", "locations", "ms-provisioningDataSet"]
            match = next((d for d in documented if d.lower() == key.lower()), None)
            if match is not None and key != match:
                problems.append(f"key {key!r} (documented {match!r})")
        kind = ci(item, "type")
        if isinstance(kind, str) and kind.upper() in BALANCE_TYPES and kind != kind.upper():
            problems.append(f"type value {kind!r}")
    return problems


async def gb_casing(ctx: CaseContext) -> None:
    """Judges the keys of the 200 answers only: a wrong status is another case's finding."""
    t = ctx.target
    roles = [t.iccids.active, *([t.iccids.zero_balance] if t.iccids.zero_balance else [])]
    judged = 0
    for iccid in roles:
        exchange = await balance(ctx, iccid, [("fieldsTemplate", "full")])
        if exchange.status != 200:
            continue
        judged += 1
        problems = _casing_problems(exchange)
        if problems:
            ctx.fail(
                exchange,
                "the documented casing: balances, id, type, dataRemaininginMB (or "
                "dataRemainingInMB), timeRemaining, upper-case type values (2.3, 7.1 #1); "
                f"found {', '.join(problems)}",
            )
    if not judged:
        raise CaseSkipped("no HTTP 200 answer to judge (see MOAPI-GB-001 / GB-011)")


async def gb_not_served(ctx: CaseContext) -> None:
    where = ctx.target.locations.not_served
    assert where is not None
    exchange = await balance(ctx, ctx.target.iccids.active, [("location", where)])
    items = expect_balances(
        ctx, exchange, f"4.1.1: a valid country the operator does not serve ({where})"
    )
    usable = [
        i
        for i in items
        if str(ci(i, "type")).upper() in CONSUMABLE and where in (ci(i, "locations") or [where])
    ]
    ctx.note(f"{len(items)} balance(s), {len(usable)} consumable there")


async def gb_bare_iccid(ctx: CaseContext) -> None:
    exchange = await balance(ctx, ctx.target.iccids.active, prefix="")
    expect_balances(ctx, exchange, "7.1 #2: a bare ICCID as the SIM id")


def _needs(role: str) -> Any:
    def check(target: Target) -> str | None:
        return None if getattr(target.iccids, role) else f"iccids.{role} is not set"

    return check


def _needs_not_served(target: Target) -> str | None:
    return None if target.locations.not_served else "locations.not_served is not set"


def _c(
    id_: str, title: str, spec: str, mandatory: bool, sends: str, expects: str, run: Any, **kw: Any
) -> Case:
    return Case(id_, title, spec, mandatory, sends, expects, run, **kw)


CASES = [
    _c(
        "MOAPI-GB-001",
        "active SIM: balance (basic)",
        "2.3, 4.1.1",
        True,
        "GET {mo}/sims/iccid:{active}/balances?fieldsTemplate=basic&limit=1&location={served}",
        "200, application/json, balances[] with id, type, dataRemaininginMB, timeRemaining; "
        "the first consumable",
        gb_active,
    ),
    _c(
        "MOAPI-GB-002",
        "fieldsTemplate=full",
        "2.3",
        False,
        "GET .../balances?fieldsTemplate=full",
        "200; locations (when sent) a list of countries",
        gb_full,
    ),
    _c(
        "MOAPI-GB-003",
        "invalid SIM is 404",
        "4.1.1",
        True,
        "GET .../sims/iccid:{unknown}/balances",
        "404",
        gb_unknown_sim,
    ),
    _c(
        "MOAPI-GB-004",
        "bad location is 400",
        "4.1.1",
        True,
        "location=U1, USA, 1",
        "400 each",
        gb_bad_location,
    ),
    _c(
        "MOAPI-GB-005",
        "unknown location is 400",
        "4.1.1",
        True,
        "location=ZZ",
        "400",
        gb_unknown_location,
    ),
    _c(
        "MOAPI-GB-006", "negative limit is 400", "4.1.1", True, "limit=-1", "400", gb_negative_limit
    ),
    _c(
        "MOAPI-GB-007",
        "limit above int range is 400",
        "4.1.1",
        True,
        "limit=2147483648, limit=99999999999999999999",
        "400 each",
        gb_limit_overflow,
    ),
    _c(
        "MOAPI-GB-008",
        "valid limit is 200",
        "4.1.1",
        True,
        "limit=1, limit=2147483647",
        "200, at most limit balances",
        gb_valid_limit,
    ),
    _c(
        "MOAPI-GB-009",
        "missing/empty parameter combinations",
        "4.1.1, 7.1 #7",
        True,
        "27 requests: location, fieldsTemplate, limit each absent, empty or valid",
        "200 each",
        gb_combinations,
    ),
    _c(
        "MOAPI-GB-010",
        "bad fieldsTemplate is 400",
        "2.3",
        True,
        "fieldsTemplate=nope",
        "400 (the body should name fieldsTemplate)",
        gb_bad_template,
    ),
    _c(
        "MOAPI-GB-011",
        "zero balance is 200 NONE",
        "2.3, 4.1.1, 7.1 #8",
        True,
        "GET .../sims/iccid:{zero_balance}/balances?location={served}",
        "200, type NONE, dataRemaininginMB 0, timeRemaining PT0S",
        gb_zero,
        needs=_needs("zero_balance"),
    ),
    _c(
        "MOAPI-GB-012",
        "excluded SIM is NOTSUPPORTED",
        "2.3",
        True,
        "GET .../sims/iccid:{not_supported}/balances",
        "200, type NOTSUPPORTED",
        gb_not_supported,
        needs=_needs("not_supported"),
    ),
    _c(
        "MOAPI-GB-013",
        "casing of the documented keys",
        "2.3, 7.1 #1",
        True,
        "fieldsTemplate=full for the active and zero-balance SIMs",
        "keys balances, id, type, dataRemaininginMB, timeRemaining as documented; "
        "upper-case type values",
        gb_casing,
    ),
    _c(
        "MOAPI-GB-014",
        "location not served",
        "4.1.1",
        False,
        "location={not_served}",
        "200 with a balances list (no 4xx for a valid country)",
        gb_not_served,
        needs=_needs_not_served,
    ),
    _c(
        "MOAPI-GB-015",
        "bare ICCID as SIM id",
        "7.1 #2",
        False,
        "GET .../sims/{active}/balances",
        "200",
        gb_bare_iccid,
    ),
]
