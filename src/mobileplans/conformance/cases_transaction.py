"""``X-MS-DM-TransactionId`` cases (spec 2.3, 2.9, 7.1 #3 #4): required, echoed verbatim."""

from __future__ import annotations

from typing import Any

from mobileplans.conformance.case import Case, CaseContext
from mobileplans.conformance.moapi import balance, balances_url, expect_status, headers
from mobileplans.conformance.wire import TRANSACTION_HEADER, Exchange


async def tx_required(ctx: CaseContext) -> None:
    exchange = await balance(ctx, ctx.target.iccids.active, send_header=False)
    expect_status(ctx, exchange, 400, "2.3/2.9: X-MS-DM-TransactionId missing is a bad header")


def _echo_ok(ctx: CaseContext, exchange: Exchange) -> None:
    sent = exchange.request_headers[TRANSACTION_HEADER]
    got = exchange.response_headers.get("x-ms-dm-transactionid")
    if exchange.status is None or got != sent:
        ctx.fail(
            exchange, f"{TRANSACTION_HEADER}: {sent} echoed verbatim, quotes included (2.9, 7.1 #3)"
        )


async def tx_echo(ctx: CaseContext) -> None:
    _echo_ok(ctx, await balance(ctx, ctx.target.iccids.active))


async def tx_echo_error(ctx: CaseContext) -> None:
    _echo_ok(ctx, await balance(ctx, ctx.target.iccids.unknown))


async def tx_repeat(ctx: CaseContext) -> None:
    same = headers()
    url = balances_url(ctx.target, ctx.target.iccids.active)
    for _ in range(2):
        exchange = await ctx.get(url, headers=same)
        if exchange.status == 409 or exchange.status != 200:
            ctx.fail(exchange, "HTTP 200: a repeated transaction id is never 409 on a GET (7.1 #4)")


def _c(
    id_: str, title: str, spec: str, mandatory: bool, sends: str, expects: str, run: Any
) -> Case:
    return Case(id_, title, spec, mandatory, sends, expects, run)


CASES = [
    _c(
        "MOAPI-TX-001",
        "X-MS-DM-TransactionId required",
        "2.3, 2.9",
        True,
        "GetBalance without the header",
        "400",
        tx_required,
    ),
    _c(
        "MOAPI-TX-002",
        "X-MS-DM-TransactionId echoed verbatim",
        "2.3, 2.9, 7.1 #3",
        True,
        'X-MS-DM-TransactionId: "MSFT-<uuid>"',
        "the same value, quotes included",
        tx_echo,
    ),
    _c(
        "MOAPI-TX-003",
        "echo on an error answer",
        "2.9",
        False,
        "GetBalance of the unknown SIM",
        "the header echoed on the 404 too",
        tx_echo_error,
    ),
    _c(
        "MOAPI-TX-004",
        "repeated transaction id is not 409",
        "7.1 #4",
        False,
        "the same GetBalance twice with one id",
        "200 both times",
        tx_repeat,
    ),
]
