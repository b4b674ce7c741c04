"""Mutual TLS (spec 2.8, 4.1.1, 7.1 #5), latency (4.2, 5.2, 7.2 #33), GetOffers (2.6)
and GetNotifications (2.7) cases."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from mobileplans.conformance.case import Case, CaseContext
from mobileplans.conformance.moapi import balance, balances_url, ci, headers
from mobileplans.conformance.target import Target
from mobileplans.conformance.wire import Exchange, tls_refused

LATENCY_SAMPLES = 20


async def _as(ctx: CaseContext, identity: str) -> Exchange:
    return await ctx.get(
        balances_url(ctx.target, ctx.target.iccids.active), identity=identity, headers=headers()
    )


async def tls_missing(ctx: CaseContext) -> None:
    exchange = await _as(ctx, "none")
    if exchange.status != 401:
        ctx.fail(exchange, "HTTP 401: no client certificate (4.1.1, 2.8)")


async def tls_expired(ctx: CaseContext) -> None:
    exchange = await _as(ctx, "expired")
    if exchange.status != 401:
        ctx.fail(exchange, "HTTP 401: an expired client certificate from the trusted CA (4.1.1)")


def _refused(ctx: CaseContext, exchange: Exchange, what: str) -> None:
    if exchange.status == 403:
        return
    if tls_refused(exchange):
        ctx.note("refused in the TLS handshake (no HTTP status): accepted, see decision D121")
        return
    ctx.fail(exchange, f"HTTP 403 or a refused TLS handshake: {what} (2.3, 2.8, 7.1 #5)")


async def tls_untrusted(ctx: CaseContext) -> None:
    _refused(ctx, await _as(ctx, "untrusted"), "a client certificate from an untrusted CA")


async def tls_subject(ctx: CaseContext) -> None:
    _refused(ctx, await _as(ctx, "other-subject"), "a trusted CA's certificate for another subject")


async def latency(ctx: CaseContext) -> None:
    t = ctx.target
    await balance(ctx, t.iccids.active)  # opens the connection; not counted
    samples = [await balance(ctx, t.iccids.active) for _ in range(LATENCY_SAMPLES)]
    answered = [e for e in samples if e.status == 200]
    ctx.require(bool(answered), samples[-1], "HTTP 200 to measure latency")
    average = sum(e.ms for e in answered) / len(answered)
    slowest = max(answered, key=lambda e: e.ms)
    ctx.note(f"average {average:.1f} ms over {len(answered)}, slowest {slowest.ms:.1f} ms")
    if average > t.latency_sla_ms:
        ctx.fail(
            slowest,
            f"an average GetBalance latency of at most {t.latency_sla_ms:g} ms (4.2, 5.2)",
            got=f"average {average:.1f} ms over {len(answered)} requests; slowest: {slowest.got()}",
        )


def _sim_url(ctx: CaseContext, api: str) -> str:
    return f"{ctx.target.api_base(api)}/sims/iccid:{ctx.target.iccids.active}/{api}"


def _list_of(exchange: Exchange, key: str) -> list[Any] | None:
    body = exchange.json_body
    items = ci(body, key) if isinstance(body, dict) else None
    return items if isinstance(items, list) else None


async def offers(ctx: CaseContext) -> None:
    exchange = await ctx.get(_sim_url(ctx, "offers"), params=[("limit", "1")], headers=headers())
    ctx.require(exchange.status == 200, exchange, "HTTP 200 (2.6)")
    items = _list_of(exchange, "offers")
    ctx.require(items is not None, exchange, 'a JSON body {"offers": [...]} (2.6)')
    assert items is not None
    ctx.require(len(items) <= 1, exchange, "at most limit=1 offer (2.6)")
    for item in items:
        gateway = ci(item, "gatewayId") if isinstance(item, dict) else None
        ctx.require(
            isinstance(gateway, str | int) and not isinstance(gateway, bool),
            exchange,
            "each offer has a gatewayId (2.6)",
        )


async def offers_limit_required(ctx: CaseContext) -> None:
    exchange = await ctx.get(_sim_url(ctx, "offers"), headers=headers())
    if exchange.status != 400:
        ctx.fail(exchange, "HTTP 400: limit is required (2.6)")


async def notifications(ctx: CaseContext) -> None:
    params = [("notificationType", "lowBalance"), ("limit", "1")]
    exchange = await ctx.get(_sim_url(ctx, "notifications"), params=params, headers=headers())
    ctx.require(exchange.status == 200, exchange, "HTTP 200 (2.7)")
    items = _list_of(exchange, "notifications")
    ctx.require(items is not None, exchange, 'a JSON body {"notifications": [...]} (2.7)')
    assert items is not None
    ctx.require(len(items) <= 1, exchange, "at most limit=1 notification (2.7)")
    for item in items:
        ident = ci(item, "notificationId") if isinstance(item, dict) else None
        ctx.require(
            isinstance(ident, str | int) and not isinstance(ident, bool),
            exchange,
            "each notification has a notificationId (2.7, 7.1 #21)",
        )


async def notifications_type_required(ctx: CaseContext) -> None:
    exchange = await ctx.get(
        _sim_url(ctx, "notifications"), params=[("limit", "1")], headers=headers()
    )
    if exchange.status != 400:
        ctx.fail(exchange, "HTTP 400: notificationType is required (2.7)")


def _needs_https(target: Target) -> str | None:
    """Mutual TLS is not applicable to an ``http://`` MO API (decision D166): a production
    operator must use https (spec 3.1), so such a target is a local stand-in."""
    if urlsplit(str(target.mo_base_url)).scheme.lower() != "https":
        return (
            "not applicable: an http:// MO API has no TLS (production needs https, "
            "spec 3.1; try 'up --tls')"
        )
    return None


def _needs_issuer(target: Target) -> str | None:
    not_https = _needs_https(target)
    if not_https is not None:
        return not_https
    if target.tls.client_ca_certificate is None:
        return (
            "needs tls.client_ca_certificate and tls.client_ca_key (the CA the operator "
            "trusts) to make the certificate"
        )
    return None


def _declared(api: str) -> Any:
    def check(target: Target) -> str | None:
        return None if getattr(target.apis, api) else f"the operator does not declare {api}"

    return check


CASES = [
    Case(
        "MOAPI-TLS-001",
        "no client certificate is 401",
        "4.1.1, 4.1.2, 4.1.3, 2.8",
        True,
        "GetBalance without a client certificate",
        "401",
        tls_missing,
        needs=_needs_https,
        group="mtls",
    ),
    Case(
        "MOAPI-TLS-002",
        "expired client certificate is 401",
        "4.1.1, 4.1.2, 2.8",
        True,
        "GetBalance with a certificate of the trusted CA that expired yesterday (made by the kit)",
        "401",
        tls_expired,
        needs=_needs_issuer,
        group="mtls",
    ),
    Case(
        "MOAPI-TLS-003",
        "untrusted client certificate is refused",
        "2.3, 2.8, 7.1 #5",
        True,
        "GetBalance with the same subject from a CA the kit made on the spot",
        "403, or the TLS handshake refused",
        tls_untrusted,
        needs=_needs_https,
        group="mtls",
    ),
    Case(
        "MOAPI-TLS-004",
        "another subject is refused",
        "2.8",
        False,
        "GetBalance with a certificate of the trusted CA for another subject",
        "403, or the TLS handshake refused",
        tls_subject,
        needs=_needs_issuer,
        group="mtls",
    ),
    Case(
        "MOAPI-LAT-001",
        "GetBalance latency within the SLA",
        "4.2, 5.2, 7.2 #33",
        True,
        f"{LATENCY_SAMPLES} GetBalance requests one after another (after one warm-up)",
        "average at most latency_sla_ms (400 ms)",
        latency,
    ),
    Case(
        "MOAPI-OF-001",
        "GetOffers answers",
        "2.6",
        True,
        "GET {offerUri}/sims/iccid:{active}/offers?limit=1",
        '200 {"offers": [{"gatewayId": ...}]}, at most limit',
        offers,
        needs=_declared("get_offers"),
    ),
    Case(
        "MOAPI-OF-002",
        "GetOffers needs limit",
        "2.6",
        False,
        "GetOffers without limit",
        "400",
        offers_limit_required,
        needs=_declared("get_offers"),
    ),
    Case(
        "MOAPI-NT-001",
        "GetNotifications answers",
        "2.7",
        True,
        "GET {notificationUri}/sims/iccid:{active}/notifications"
        "?notificationType=lowBalance&limit=1",
        '200 {"notifications": [{"notificationId": ...}]}, at most limit',
        notifications,
        needs=_declared("get_notifications"),
    ),
    Case(
        "MOAPI-NT-002",
        "GetNotifications needs notificationType",
        "2.7",
        False,
        "GetNotifications without notificationType",
        "400",
        notifications_type_required,
        needs=_declared("get_notifications"),
    ),
]
