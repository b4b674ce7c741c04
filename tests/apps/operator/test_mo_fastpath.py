"""The MO API fast path (``apps/operator/fastpath.py``) answers byte for byte as the
FastAPI routes do: status, every header in order, body, and the metrics it records,
over the positive and negative cases of GetBalance, GetOffers and GetNotifications
(spec 2.3, 2.6, 2.7, 2.8, 2.9, 4.1.1; rate limit 429 + Retry-After; mutual TLS).

Each case is sent as the same ASGI request to two apps built alike (same config, same
clock, same database): once through the full app (fast path in front) and once through
``OperatorApp.framework`` (FastAPI alone), then the two message lists are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.operator.app import OperatorApp, create_app
from mobileplans.config import MtlsPolicy, OperatorAppConfig
from mobileplans.kit import certs
from mobileplans.kit.clock import FrozenClock
from mobileplans.web.metrics import REQUESTS
from tests.apps.operator.conftest import TRANSACTION_ID, Demo, make_site
from tests.conftest import START
from tests.support import valid_iccid

UNKNOWN = valid_iccid("890199908889999999")


@dataclass(frozen=True)
class Sent:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    fast: bool  # answered without FastAPI's router


def scope_of(
    path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": extra.pop("method", "GET"),
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode("latin-1"),
        "headers": [(b"host", b"operator.test"), *(headers or [])],
        "client": extra.pop("client", ("10.0.0.7", 50000)),
        "server": ("operator.test", 80),
        **extra,
    }


async def call(app: Any, scope: dict[str, Any]) -> Sent:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
    headers = [(bytes(k), bytes(v)) for k, v in start["headers"]]
    return Sent(start["status"], headers, body, fast="app" not in scope)  # Starlette sets it


def counted(route: str, status: int) -> float:
    return float(REQUESTS.labels("operator", "GET", route, str(status))._value.get())


ROUTE = {
    "balances": "/{operator_id}/api/v1/sims/{simId}/balances",
    "offers": "/{operator_id}/api/v1/sims/{simmri}/offers",
    "notifications": "/{operator_id}/api/v1/sims/{simmri}/notifications",
}


async def compare(
    fast_app: OperatorApp, framework_app: OperatorApp, scope: dict[str, Any], *, fast: bool
) -> Sent:
    """Both paths answer ``scope`` alike (metrics included: the fast path's count is in
    the series once ``/metrics`` is asked for); returns the fast answer."""
    route = ROUTE.get(scope["path"].rsplit("/", 1)[-1], "")
    before = {status: counted(route, status) for status in (200, 400, 401, 403, 404, 429)}
    via_fast = await call(fast_app, dict(scope))
    framework = await call(framework_app.framework, dict(scope))
    await call(fast_app, scope_of("/metrics"))  # the fast path's tally is added to the series
    assert framework.fast is False
    assert (via_fast.status, via_fast.headers, via_fast.body) == (
        framework.status,
        framework.headers,
        framework.body,
    ), scope["path"]
    assert via_fast.fast is fast, f"fast path {'skipped' if fast else 'taken'}: {scope['path']}"
    if route and scope["method"] == "GET":  # one count per path, under the same labels
        assert counted(route, via_fast.status) == before[via_fast.status] + 2
    return via_fast


@pytest.fixture
def twin_apps(
    operator_config: OperatorAppConfig,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> tuple[OperatorApp, OperatorApp]:
    return create_app(operator_config, sessions, clock=clock), create_app(
        operator_config, sessions, clock=clock
    )


def header(value: str = TRANSACTION_ID) -> list[tuple[bytes, bytes]]:
    return [(b"x-ms-dm-transactionid", value.encode("latin-1"))]


def cases(demo: Demo) -> list[tuple[str, str, list[tuple[bytes, bytes]] | None, bool]]:
    """(path, query, headers, answered by the fast path)"""
    sims = demo.sims()
    active, base = sims.active_prepaid, "/contoso/api/v1/sims"
    balance = f"{base}/iccid:{active}/balances"
    found: list[tuple[str, str, list[tuple[bytes, bytes]] | None, bool]] = []
    for query in (
        "",
        "fieldsTemplate=basic",
        "fieldsTemplate=full",
        "fieldsTemplate=",
        "fieldsTemplate=bogus",
        "location=US",
        "location=us",
        "location=UK",
        "location=GB&fieldsTemplate=full",
        "location=XX",
        "location=1",
        "limit=0",
        "limit=1",
        "limit=-1",
        "limit=abc",
        "limit=2147483647",
        "limit=2147483648",
        "limit=1&limit=2",
        "limit=+3",
        "location=%20US%20&limit=%201",
        "unknown=1",
    ):
        found.append((balance, query, header(), True))
    for sim in (
        active,
        f"iccid: {active}",
        f"ICCID:{active}",
        f"{active}F",
        sims.zero_balance,
        sims.not_supported,
        sims.warm_sim,
        sims.monitoring_iccid,
        f"iccid:{UNKNOWN}",
        "imsi:310150123456789",
        "msisdn:123",
        "iccid:12",
        "iccid:abcdefghijklmnopqrs",
        "iccid:",
        demo.sims("fabrikam").active_prepaid,  # another operator's SIM: 404
    ):
        found.append((f"{base}/{sim}/balances", "", header(), True))
    for value in ('"MSFT-x"', "MSFT-unquoted", "  ", "", "caf\xe9"):
        found.append((balance, "", header(value), True))
    found.append((balance, "", [], True))  # no header: 400 naming it
    found.append((balance, "", [*header("first"), *header("second")], True))
    for query in ("limit=3", "limit=0", "", "limit=x", "limit=1&imei=490154203237518"):
        found.append((f"{base}/{active}/offers", query, header(), True))
    found.append((f"{base}/{active}/offers", "limit=1&imei=123", header(), True))
    found.append((f"{base}/{UNKNOWN}/offers", "limit=1", header(), True))
    for kind in ("lowBalance", "ZeroBalance", "newOffer", "trialEnded", "nope", ""):
        for sim in (active, sims.zero_balance, sims.not_supported):
            query = f"notificationType={kind}&limit=5"
            found.append((f"{base}/{sim}/notifications", query, header(), True))
    found.append((f"{base}/{active}/notifications", "notificationType=lowBalance", header(), True))
    # Not the fast path's: FastAPI answers, the full app must still agree.
    found.append((f"/nowhere/api/v1/sims/{active}/balances", "", header(), False))
    found.append((f"{base}/{active}/balances/", "", header(), False))
    found.append((f"{base}/{active}/other", "", header(), False))
    return found


async def test_every_case_is_answered_alike(
    twin_apps: tuple[OperatorApp, OperatorApp], demo: Demo
) -> None:
    fast_app, framework_app = twin_apps
    statuses = set()
    for path, query, headers, fast in cases(demo):
        sent = await compare(fast_app, framework_app, scope_of(path, query, headers), fast=fast)
        statuses.add(sent.status)
    assert statuses >= {200, 400, 404}


async def test_head_and_post_go_to_fastapi(
    twin_apps: tuple[OperatorApp, OperatorApp], demo: Demo
) -> None:
    fast_app, framework_app = twin_apps
    path = f"/contoso/api/v1/sims/{demo.sims().active_prepaid}/balances"
    for method in ("HEAD", "POST"):
        scope = scope_of(path, "", header(), method=method)
        await compare(fast_app, framework_app, scope, fast=False)


@pytest.fixture
def ca() -> certs.Issued:
    return certs.make_ca(now=START)


@pytest.fixture
def operator_sites(tmp_path: Path, ca: certs.Issued) -> list[Any]:
    """contoso: no rate limit; fabrikam: mutual TLS; northwind: 2 requests/s, burst 3."""
    files = ca.write(tmp_path / "pki", "ca")
    policy = MtlsPolicy(ca_file=files.cert_file, subject=certs.BROKER_SUBJECT)
    return [
        make_site("contoso", rate_limit_per_second=0),
        make_site("fabrikam", mtls=policy),
        make_site("northwind", rate_limit_per_second=2, rate_limit_burst=3),
    ]


def tls(pem: str | None) -> dict[str, Any]:
    return {"extensions": {"tls": {"client_cert_chain": [pem] if pem else []}}}


async def test_mutual_tls_and_rate_limit_are_answered_alike(
    twin_apps: tuple[OperatorApp, OperatorApp],
    demo: Demo,
    clock: FrozenClock,
    ca: certs.Issued,
) -> None:
    fast_app, framework_app = twin_apps
    other = certs.make_ca("CN=Somebody Else CA", now=START)
    pems = {
        "valid": certs.issue_client(ca, certs.BROKER_SUBJECT, now=START),
        "expired": certs.issue_client(ca, certs.BROKER_SUBJECT, now=START, expired=True),
        "wrong subject": certs.issue_client(ca, "CN=intruder.example", now=START),
        "other CA": certs.issue_client(other, certs.BROKER_SUBJECT, now=START),
    }
    path = f"/fabrikam/api/v1/sims/{demo.sims('fabrikam').active_prepaid}/balances"
    seen = []
    for issued in pems.values():
        scope = scope_of(path, "", header(), **tls(issued.cert_pem().decode()))
        seen.append((await compare(fast_app, framework_app, scope, fast=True)).status)
    for extra in (tls(None), tls("not a certificate"), {}):
        scope = scope_of(path, "", header(), **extra)
        seen.append((await compare(fast_app, framework_app, scope, fast=True)).status)
    assert seen == [200, 401, 403, 403, 401, 403, 401]

    path = f"/northwind/api/v1/sims/{UNKNOWN}/balances"
    limited = []
    for step in range(6):  # burst 3, then 429 with Retry-After, then a refill
        if step == 5:
            clock.advance(timedelta(seconds=1))
        sent = await compare(fast_app, framework_app, scope_of(path, "", header()), fast=True)
        limited.append((sent.status, dict(sent.headers).get(b"retry-after")))
    assert limited == [(404, None)] * 3 + [(429, b"1")] * 2 + [(404, None)]


def test_tallied_latencies_flush_as_the_histogram_observes_them() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    from mobileplans.web.metrics import _Tally

    registry = CollectorRegistry()
    buckets = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 1.0, 2.5, 5.0)
    counts = Counter("t_total", "t", ["k"], registry=registry)
    latency = Histogram("t_seconds", "t", ["k"], buckets=buckets, registry=registry)
    tally = _Tally(counts.labels("tally"), latency.labels("tally"))
    values = [0.0, 0.0004, 0.001, 0.0010001, 0.0025, 0.3, 0.4, 5.0, 7.5, 0.002]
    for round_values in (values, values[:3], []):  # flushed twice, then nothing to add
        for seconds in round_values:
            tally.observe(seconds)
            counts.labels("observed").inc()
            latency.labels("observed").observe(seconds)
        tally.flush()
    samples: dict[str, dict[tuple[str, str], float]] = {"tally": {}, "observed": {}}
    for metric in registry.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_created"):
                key = (sample.name, sample.labels.get("le", ""))
                samples[sample.labels["k"]][key] = sample.value
    assert samples["tally"] == pytest.approx(samples["observed"])
    assert samples["tally"][("t_seconds_bucket", "0.001")] == 6  # 0.0, 0.0004, 0.001, twice
    assert samples["tally"][("t_total", "")] == 13


def test_tally_reaches_the_series_within_a_second_without_a_scrape(
    twin_apps: tuple[OperatorApp, OperatorApp],
) -> None:
    from mobileplans.apps.operator.fastpath import MoApiFastPath
    from mobileplans.web.metrics import TALLY_SECONDS

    fast: Any = twin_apps[0].app
    while not isinstance(fast, MoApiFastPath):  # under whatever wraps it (body limit …)
        fast = fast.app
    route, before = ROUTE["offers"], counted(ROUTE["offers"], 404)
    tally = fast.metrics
    tally.observe(route, 404, 0.002, now=tally.flushed)  # tallied, not yet in the series
    assert counted(route, 404) == before
    tally.observe(route, 404, 0.002, now=tally.flushed + TALLY_SECONDS)  # a second on: added
    assert counted(route, 404) == before + 2
