"""Each probe kind against a controllable server over real sockets: every recorded outcome."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from mobileplans.config import Environment
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe.kinds import KINDS
from mobileplans.domains.probe.runner import ProbeRunner, TlsFiles
from mobileplans.domains.probe.schemas import ClaimedRun, Outcome, RunResult
from mobileplans.kit.clock import FrozenClock
from tests.domains.probe.target import ControllableTarget, Pki
from tests.support import free_port, operator_data, valid_iccid

SLOT = datetime(2026, 11, 2, 9, 0, 7, 250000, tzinfo=UTC)
ICCID = valid_iccid("890199900999999001")


def spec_for(target: ControllableTarget, **extra: object) -> OperatorSpec:
    data = operator_data("contoso", countries=["US"], monitoringIccid=ICCID, **extra)
    data["environments"]["production"] = {
        "portalUrl": target.portal_url(),
        "moBaseUrl": target.mo_base_url(),
    }
    return OperatorSpec.model_validate(data, context={"url_policy": "local"})


def claimed(
    target: ControllableTarget,
    kind: str,
    *,
    timeout: float = 2.0,
    latency_target_ms: float = 1000.0,
    url: str | None = None,
) -> ClaimedRun:
    spec = spec_for(target)
    settings = spec.environments[Environment.PRODUCTION]
    target_url = url or KINDS[kind].target_for(spec, Environment.PRODUCTION, settings)
    assert target_url is not None
    return ClaimedRun(
        probe_id=7,
        operator_id="contoso",
        environment="production",
        kind=kind,
        target_url=target_url,
        due_at=SLOT,
        scheduled_at=SLOT,
        interval_seconds=30,
        timeout_seconds=timeout,
        latency_target_ms=latency_target_ms,
    )


async def run(run: ClaimedRun, tls: TlsFiles | None = None) -> RunResult:
    async with ProbeRunner(clock=FrozenClock(SLOT), worker_id="w1", tls=tls) as runner:
        return await runner.run(run)


@pytest.fixture
async def target() -> AsyncIterator[ControllableTarget]:
    server = await ControllableTarget().start()
    yield server
    await server.stop()


async def test_portal_healthy_is_ok_and_sends_dummy_launch_parameters(
    target: ControllableTarget,
) -> None:
    result = await run(claimed(target, "portal"))
    assert (result.outcome, result.status) == (Outcome.OK, 200)
    assert result.started_at == SLOT
    assert result.latency_ms > 0
    sent = target.requests[-1]
    assert sent["path"] == "/contoso/portal"
    epoch = int(SLOT.timestamp())
    assert sent["query"] == {
        "market": "US",
        "location": "US",
        "transactionId": f"MPPROBE-7-{epoch}",
    }
    assert len(sent["query"]["transactionId"]) <= 64
    assert sent["headers"]["Accept-Language"] == "en-us"


async def test_getbalance_healthy_is_ok_with_spec_request(target: ControllableTarget) -> None:
    result = await run(claimed(target, "getbalance"))
    assert (result.outcome, result.status, result.detail) == (Outcome.OK, 200, None)
    sent = target.requests[-1]
    assert sent["path"] == f"/contoso/v1/sims/iccid:{ICCID}/balances"
    assert sent["query"] == {"fieldsTemplate": "basic"}
    transaction = sent["headers"]["X-MS-DM-TransactionId"]
    assert transaction.startswith('"MSFT-')
    assert transaction.endswith('"')


async def test_connection_refused_is_connect_error(target: ControllableTarget) -> None:
    dead = f"http://127.0.0.1:{free_port()}/contoso/portal?market=US&location=US"
    result = await run(claimed(target, "portal", url=dead))
    assert result.outcome is Outcome.CONNECT_ERROR
    assert result.status is None
    assert "connect" in (result.detail or "").lower()


async def test_slower_than_timeout_is_timeout(target: ControllableTarget) -> None:
    target.mode, target.delay = "slow", 2.0
    result = await run(claimed(target, "getbalance", timeout=0.3))
    assert result.outcome is Outcome.TIMEOUT
    assert result.status is None
    assert result.latency_ms >= 0.3 * 1000 * 0.9
    assert result.detail == "no complete answer within 0.3 s"


async def test_slower_than_target_within_timeout_is_degraded(target: ControllableTarget) -> None:
    target.mode, target.delay = "slow", 0.2
    result = await run(claimed(target, "getbalance", timeout=3.0, latency_target_ms=50))
    assert (result.outcome, result.status) == (Outcome.DEGRADED, 200)
    assert result.latency_ms >= 200
    assert "> target 50 ms" in (result.detail or "")


@pytest.mark.parametrize("kind", ["portal", "getbalance"])
async def test_wrong_status_is_http_error_with_code(target: ControllableTarget, kind: str) -> None:
    target.mode, target.status = "status", 503
    result = await run(claimed(target, kind))
    assert (result.outcome, result.status) == (Outcome.HTTP_ERROR, 503)
    assert (result.detail or "").startswith("HTTP 503")


async def test_getbalance_garbage_body_is_bad_body(target: ControllableTarget) -> None:
    target.mode = "garbage"
    result = await run(claimed(target, "getbalance"))
    assert (result.outcome, result.status) == (Outcome.BAD_BODY, 200)
    assert (result.detail or "").startswith("body is not JSON")


async def test_getbalance_without_balances_array_says_so(target: ControllableTarget) -> None:
    target.balances = {"items": []}
    result = await run(claimed(target, "getbalance"))
    assert result.outcome is Outcome.BAD_BODY
    assert result.detail == "body has no 'balances' array"


async def test_getbalance_balance_without_type_is_bad_body(target: ControllableTarget) -> None:
    target.balances = {"balances": [{"dataRemaininginMB": 1.0}]}
    result = await run(claimed(target, "getbalance"))
    assert (result.outcome, result.detail) == (Outcome.BAD_BODY, "a balance has no 'type'")


async def test_portal_empty_body_is_bad_body(target: ControllableTarget) -> None:
    target.mode = "empty"
    result = await run(claimed(target, "portal"))
    assert (result.outcome, result.status, result.detail) == (Outcome.BAD_BODY, 200, "empty body")


async def test_portal_redirect_loop_is_http_error(target: ControllableTarget) -> None:
    target.mode = "redirect"
    result = await run(claimed(target, "portal"))
    assert (result.outcome, result.status) == (Outcome.HTTP_ERROR, 302)
    assert result.detail == "more than 5 redirects"


async def test_getbalance_does_not_follow_redirects(target: ControllableTarget) -> None:
    target.mode = "redirect"
    result = await run(claimed(target, "getbalance"))
    assert (result.outcome, result.status) == (Outcome.HTTP_ERROR, 302)
    assert len(target.requests) == 1


async def test_truncated_body_is_bad_body(target: ControllableTarget) -> None:
    target.mode = "truncated"
    result = await run(claimed(target, "getbalance"))
    assert result.outcome is Outcome.BAD_BODY
    assert (result.detail or "").startswith("truncated body")


async def test_microbalance_provisions_then_releases(target: ControllableTarget) -> None:
    result = await run(claimed(target, "microbalance"))
    assert (result.outcome, result.status) == (Outcome.OK, 200)
    put, delete = target.requests
    path = f"/contoso/v1/sims/iccid:{ICCID}/microbalance"
    assert (put["method"], put["path"], put["query"]) == ("PUT", path, {"location": "US"})
    assert json.loads(put["body"]) == {"location": "US"}
    assert (delete["method"], delete["path"], delete["query"]) == ("DELETE", path, {})
    assert json.loads(delete["body"]) == {}
    assert put["headers"]["X-MS-DM-TransactionId"] != delete["headers"]["X-MS-DM-TransactionId"]
    assert "PUT" in (result.detail or "")
    assert "DELETE" in (result.detail or "")


async def test_microbalance_failed_provision_skips_release(target: ControllableTarget) -> None:
    target.mode, target.status = "status", 500
    result = await run(claimed(target, "microbalance"))
    assert (result.outcome, result.status) == (Outcome.HTTP_ERROR, 500)
    assert (result.detail or "").startswith("PUT: HTTP 500")
    assert [r["method"] for r in target.requests] == ["PUT"]


async def test_microbalance_garbage_body_is_bad_body(target: ControllableTarget) -> None:
    target.mode = "garbage"
    result = await run(claimed(target, "microbalance"))
    assert result.outcome is Outcome.BAD_BODY
    assert (result.detail or "").startswith("PUT: body is not JSON")


async def test_microbalance_slow_is_degraded(target: ControllableTarget) -> None:
    target.mode, target.delay = "slow", 0.15
    result = await run(claimed(target, "microbalance", latency_target_ms=100))
    assert result.outcome is Outcome.DEGRADED
    assert result.latency_ms >= 150


async def test_outcomes_reach_prometheus(target: ControllableTarget) -> None:
    labels = {"operator": "contoso", "environment": "production", "kind": "portal"}
    before = REGISTRY.get_sample_value(
        "mobileplans_probe_outcomes_total", {**labels, "outcome": "http_error"}
    )
    target.mode, target.status = "status", 500
    await run(claimed(target, "portal"))
    after = REGISTRY.get_sample_value(
        "mobileplans_probe_outcomes_total", {**labels, "outcome": "http_error"}
    )
    assert (after or 0) == (before or 0) + 1
    count = REGISTRY.get_sample_value("mobileplans_probe_latency_seconds_count", labels)
    assert count is not None
    assert count >= 1


# TLS


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


async def test_untrusted_certificate_is_tls_error(pki: Pki) -> None:
    server = await ControllableTarget(ssl_context=pki.server_context()).start()
    try:
        result = await run(claimed(server, "portal"))
    finally:
        await server.stop()
    assert result.outcome is Outcome.TLS_ERROR
    assert "certificate" in (result.detail or "").lower()
    assert server.requests == []


async def test_trusted_certificate_is_ok(pki: Pki) -> None:
    server = await ControllableTarget(ssl_context=pki.server_context()).start()
    try:
        result = await run(claimed(server, "getbalance"), TlsFiles(ca_file=str(pki.ca_file)))
    finally:
        await server.stop()
    assert result.outcome is Outcome.OK


async def test_mutual_tls_presents_the_client_certificate_to_mo_apis(pki: Pki) -> None:
    server = await ControllableTarget(
        ssl_context=pki.server_context(require_client_cert=True, tls12=True)
    ).start()
    tls = TlsFiles(str(pki.client_cert), str(pki.client_key), str(pki.ca_file))
    try:
        balance = await run(claimed(server, "getbalance"), tls)
        without = await run(claimed(server, "getbalance"), TlsFiles(ca_file=str(pki.ca_file)))
    finally:
        await server.stop()
    assert balance.outcome is Outcome.OK
    assert without.outcome is Outcome.TLS_ERROR
    assert len(server.requests) == 1


async def test_portal_probe_presents_no_client_certificate(pki: Pki) -> None:
    server = await ControllableTarget(
        ssl_context=pki.server_context(require_client_cert=True, tls12=True)
    ).start()
    tls = TlsFiles(str(pki.client_cert), str(pki.client_key), str(pki.ca_file))
    try:
        portal = await run(claimed(server, "portal"), tls)
    finally:
        await server.stop()
    assert portal.outcome is Outcome.TLS_ERROR


def test_targets_follow_the_registry(tmp_path: Path) -> None:
    data = operator_data("contoso", countries=["GB", "FR"])
    data["environments"]["production"]["portalUrl"] = "https://portal.contoso.example/mp?x=1"
    spec = OperatorSpec.model_validate(data)
    settings = spec.environments[Environment.PRODUCTION]
    portal = KINDS["portal"].target_for(spec, Environment.PRODUCTION, settings)
    assert portal == "https://portal.contoso.example/mp?x=1&market=FR&location=FR"
    assert KINDS["getbalance"].target_for(spec, Environment.PRODUCTION, settings) is None
    with_iccid = OperatorSpec.model_validate({**data, "monitoringIccid": ICCID})
    assert KINDS["getbalance"].target_for(with_iccid, Environment.PRODUCTION, settings) == (
        f"https://api.contoso.example/v1/sims/iccid%3A{ICCID}/balances?fieldsTemplate=basic"
    )
