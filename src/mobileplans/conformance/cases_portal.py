"""Portal launch cases (spec 2.1, 2.1.1, 2.2): the WebView's first GET, read by the portal
markers of docs/activation.md (``<main data-mp-step>``, the ``mp-callback`` block)."""

from __future__ import annotations

import secrets

from mobileplans.conformance.case import Case, CaseContext
from mobileplans.conformance.wire import Exchange
from mobileplans.simulator.callbacks import CallbackError, interpret, parse_callback_block
from mobileplans.simulator.device import DEFAULT_IMEI, fresh_eid
from mobileplans.simulator.portal_page import PortalPage, parse_page

LANGUAGE = "en-US"
REFUSAL_STEPS = frozenset({"error", "cancelled"})
BAD_PARAMETERS = (
    ("transactionId", "T" * 65, "a transactionId over 64 characters"),
    ("eid", "1234", "an EID that is not 32 digits"),
    ("location", "Narnia", "a location that is no ISO 3166 code"),
)


def launch_params(ctx: CaseContext, **changes: str) -> list[tuple[str, str]]:
    """The eras B/C eSIM launch of spec 2.1.1 for a new PC (no profile of this MO)."""
    where = ctx.target.locations.served[0]
    params = {
        "market": where,
        "location": where,
        "transactionId": f"{secrets.token_urlsafe(12)}.1",
        "eid": fresh_eid(),
        "imei": DEFAULT_IMEI,
    }
    params.update(changes)
    return list(params.items())


async def launch(ctx: CaseContext, params: list[tuple[str, str]]) -> tuple[Exchange, PortalPage]:
    exchange = await ctx.get(
        ctx.target.portal_url,
        params=params,
        headers={"Accept-Language": LANGUAGE},
        identity="portal",
        follow=True,
    )
    page = parse_page(exchange.body_full, url=exchange.url, status=exchange.status or 0)
    return exchange, page


def _opened(ctx: CaseContext, exchange: Exchange, page: PortalPage, why: str) -> None:
    ctx.require(exchange.status == 200, exchange, f"HTTP 200 ({why})")
    ctx.require(
        page.step is not None,
        exchange,
        "a page with <main data-mp-step> (the portal markers of the kit's contract)",
    )
    ctx.require(
        page.step not in REFUSAL_STEPS and page.callback_text is None,
        exchange,
        f"the portal's first step, not a refusal ({why}); page shows {page.text[:120]!r}",
    )


async def portal_launch(ctx: CaseContext) -> None:
    exchange, page = await launch(ctx, launch_params(ctx))
    _opened(ctx, exchange, page, "2.1: the documented parameters")
    ctx.note(f"step {page.step!r}")


async def portal_unknown(ctx: CaseContext) -> None:
    params = launch_params(ctx, somethingNew="1", futureParameter="x", phoneNumber="+14255550100")
    exchange, page = await launch(ctx, params)
    _opened(ctx, exchange, page, "2.1: unknown parameters must be ignored")
    ctx.note(f"step {page.step!r}")


def _reports(ctx: CaseContext, exchange: Exchange, page: PortalPage, what: str) -> None:
    expected = (
        f"for {what}: an error page (HTTP < 500) that reports to the app with a failure "
        "callback (notifyCancelledPurchase or notifyPurchaseResult success=false; 2.2, "
        "docs/activation.md mp-callback)"
    )
    if exchange.status is None or exchange.status >= 500 or page.callback_text is None:
        ctx.fail(exchange, expected)
        return
    try:
        intent = interpret(parse_callback_block(page.callback_text))
    except CallbackError as exc:
        ctx.fail(exchange, expected, got=f"HTTP {exchange.status}, callback unusable: {exc}")
        return
    if intent.kind != "cancelled":
        ctx.fail(exchange, expected, got=f"HTTP {exchange.status}, a {intent.kind} callback")


async def portal_bad(ctx: CaseContext) -> None:
    for name, value, what in BAD_PARAMETERS:
        exchange, page = await launch(ctx, launch_params(ctx, **{name: value}))
        _reports(ctx, exchange, page, what)


CASES = [
    Case(
        "PORTAL-001",
        "portal launch with the documented parameters",
        "2.1, 2.1.1, 4.1.3",
        True,
        "GET {portal_url}?market&location&transactionId&eid&imei (eSIM, eras B/C), "
        "Accept-Language: en-US",
        "200, the portal's first step (data-mp-step, no refusal)",
        portal_launch,
        group="portal",
    ),
    Case(
        "PORTAL-002",
        "unknown launch parameters are ignored",
        "2.1",
        True,
        "the same launch plus somethingNew=1, futureParameter=x, phoneNumber=+14255550100",
        "200, the first step as without them",
        portal_unknown,
        group="portal",
    ),
    Case(
        "PORTAL-003",
        "bad launch parameters: error page that reports to the app",
        "2.1.1, 2.2",
        True,
        "launches with a 65-character transactionId, eid=1234, location=Narnia",
        "each an error page (< 500) with a failure callback to the app",
        portal_bad,
        group="portal",
    ),
]
