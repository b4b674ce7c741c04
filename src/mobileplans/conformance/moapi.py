"""What every MO API case shares: the GetBalance request, reading balances any casing
(spec 7.1 #1), the shape of a balance (2.3), status expectations."""

from __future__ import annotations

import re
from typing import Any

from mobileplans.conformance.case import CaseContext
from mobileplans.conformance.target import Target
from mobileplans.conformance.wire import TRANSACTION_HEADER, Exchange, transaction_id

BALANCE_TYPES = ("MODIRECT", "MODIRECTPAYG", "PAYG", "NONE", "NOTSUPPORTED")
CONSUMABLE = ("MODIRECT", "MODIRECTPAYG", "PAYG")
BASIC_KEYS = ("id", "type", "dataRemaininginMB", "timeRemaining")
DATA_KEYS = ("dataRemaininginMB", "dataRemainingInMB")
DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
INT_MAX = 2147483647


def headers() -> dict[str, str]:
    return {TRANSACTION_HEADER: transaction_id()}


def balances_url(target: Target, iccid: str, *, prefix: str = "iccid:") -> str:
    return f"{target.mo_base_url}/sims/{prefix}{iccid}/balances"


async def balance(
    ctx: CaseContext,
    iccid: str,
    params: list[tuple[str, str]] | None = None,
    *,
    send_header: bool = True,
    prefix: str = "iccid:",
) -> Exchange:
    return await ctx.get(
        balances_url(ctx.target, iccid, prefix=prefix),
        params=params or [],
        headers=headers() if send_header else {},
    )


def ci(data: dict[str, Any], key: str) -> Any:
    """A value by key, any casing (spec 7.1 #1)."""
    lowered = key.lower()
    return next((v for k, v in data.items() if k.lower() == lowered), None)


def balance_list(exchange: Exchange) -> list[dict[str, Any]] | None:
    body = exchange.json_body
    items = ci(body, "balances") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    return items


def served(target: Target) -> str:
    return target.locations.served[0]


def _shape_problem(item: dict[str, Any]) -> str | None:
    missing = [k for k in BASIC_KEYS if ci(item, k) is None]
    if missing:
        return f"balance without {', '.join(missing)}"
    kind = str(ci(item, "type")).upper()
    if kind not in BALANCE_TYPES:
        return f"type {ci(item, 'type')!r} is none of {', '.join(BALANCE_TYPES)}"
    data = ci(item, "dataRemaininginMB")
    if isinstance(data, bool) or not isinstance(data, int | float) or data < 0:
        return f"dataRemaininginMB {data!r} is not a number >= 0"
    if not isinstance(ci(item, "timeRemaining"), str) or not DURATION.match(
        ci(item, "timeRemaining")
    ):
        return f"timeRemaining {ci(item, 'timeRemaining')!r} is not an ISO 8601 duration"
    return None


def expect_balances(ctx: CaseContext, exchange: Exchange, why: str) -> list[dict[str, Any]]:
    ctx.require(exchange.status == 200, exchange, f"HTTP 200 ({why})")
    items = balance_list(exchange)
    ctx.require(items is not None, exchange, 'a JSON body {"balances": [...]} (2.3)')
    assert items is not None
    for item in items:
        problem = _shape_problem(item)
        ctx.require(problem is None, exchange, f"every balance well-formed (2.3): {problem}")
    return items


def expect_status(ctx: CaseContext, exchange: Exchange, status: int, why: str) -> None:
    if exchange.status != status:
        ctx.fail(exchange, f"HTTP {status} ({why})")
