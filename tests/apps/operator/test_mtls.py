"""Mutual TLS on the MO API (spec 2.8, 4.1.1, 7.1 #5) over real TLS sockets on 127.0.0.1.

A uvicorn server with ``web.tls`` (CERT_OPTIONAL, the site's CA, no time check in the
handshake) runs in the test; clients present certificates from ``kit.certs``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from mobileplans.apps.operator.app import OperatorApp
from mobileplans.apps.operator.client_auth import authenticate, check_certificate
from mobileplans.config import MtlsPolicy, OperatorSite
from mobileplans.errors import Forbidden, Unauthorized
from mobileplans.kit import certs
from mobileplans.kit.clock import FrozenClock
from mobileplans.web.server import Listener, make_server
from mobileplans.web.tls import client_ssl_context, server_ssl_context
from tests.apps.operator.conftest import MO_HEADERS, TRANSACTION_ID, Demo, make_site
from tests.conftest import START
from tests.support import free_port

# The configured subject in the spec's display form: other order, spaces, other case.
CONFIGURED_SUBJECT = "o=Mobile Plans Platform, CN=broker.mobileplans.example"


@dataclass(frozen=True)
class Pki:
    ca: certs.CertFiles
    server: certs.CertFiles
    clients: dict[str, certs.CertFiles]
    issued: dict[str, certs.Issued]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """Server side dated by the wall clock (the client checks it); client certificates
    dated by the test clock (the app checks them with the injected clock)."""
    wall = datetime.now(UTC)
    ca = certs.make_ca(now=min(wall, START))
    other_ca = certs.make_ca("CN=Somebody Else CA", now=START)
    issued = {
        "valid": certs.issue_client(ca, certs.BROKER_SUBJECT, now=START),
        "expired": certs.issue_client(ca, certs.BROKER_SUBJECT, now=START, expired=True),
        "wrong_subject": certs.issue_client(ca, "CN=intruder.example,O=Elsewhere", now=START),
        "other_ca": certs.issue_client(other_ca, certs.BROKER_SUBJECT, now=START),
        "server_purpose": certs.issue_client(
            ca, certs.BROKER_SUBJECT, now=START, purposes=(ExtendedKeyUsageOID.SERVER_AUTH,)
        ),
        "any_purpose": certs.issue_client(ca, certs.BROKER_SUBJECT, now=START, purposes=()),
    }
    directory = tmp_path / "pki"
    return Pki(
        ca=ca.write(directory, "ca"),
        server=certs.issue_server(ca, now=wall).write(directory, "server"),
        clients={name: cert.write(directory, name) for name, cert in issued.items()},
        issued=issued,
    )


@pytest.fixture
def operator_sites(pki: Pki) -> list[OperatorSite]:
    policy = MtlsPolicy(ca_file=pki.ca.cert_file, subject=CONFIGURED_SUBJECT)
    return [make_site("contoso", mtls=policy), make_site("fabrikam")]


@pytest.fixture
async def tls_base_url(operator_app: OperatorApp, pki: Pki) -> AsyncIterator[str]:
    port = free_port()
    context = server_ssl_context(pki.server.cert_file, pki.server.key_file, pki.ca.cert_file)
    server = make_server(Listener("operator", operator_app, "127.0.0.1", port, ssl_context=context))
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started or task.done():
            break
        await asyncio.sleep(0.025)
    assert server.started, "the TLS server did not start"
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


def tls_client(base_url: str, pki: Pki, name: str | None) -> httpx.AsyncClient:
    files = pki.clients[name] if name else None
    context = client_ssl_context(
        pki.ca.cert_file, files.cert_file if files else None, files.key_file if files else None
    )
    return httpx.AsyncClient(base_url=base_url, verify=context, timeout=10)


async def get_balance(base_url: str, pki: Pki, name: str | None, sim: str) -> httpx.Response:
    async with tls_client(base_url, pki, name) as client:
        return await client.get(f"/contoso/api/v1/sims/iccid:{sim}/balances", headers=MO_HEADERS)


async def test_valid_certificate_is_served(tls_base_url: str, pki: Pki, demo: Demo) -> None:
    for name in ("valid", "any_purpose"):  # no extended key usage: any purpose
        response = await get_balance(tls_base_url, pki, name, demo.sims().active_prepaid)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["balances"][0]["type"] == "MODIRECTPAYG"
        assert response.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID


async def test_missing_certificate_is_401(tls_base_url: str, pki: Pki, demo: Demo) -> None:
    response = await get_balance(tls_base_url, pki, None, demo.sims().active_prepaid)
    assert response.status_code == 401
    assert response.json()["reason"] == "certificate-missing"
    assert response.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID


async def test_expired_certificate_is_401(tls_base_url: str, pki: Pki, demo: Demo) -> None:
    response = await get_balance(tls_base_url, pki, "expired", demo.sims().active_prepaid)
    assert response.status_code == 401
    assert response.json()["reason"] == "certificate-expired"


async def test_wrong_subject_is_403(tls_base_url: str, pki: Pki, demo: Demo) -> None:
    response = await get_balance(tls_base_url, pki, "wrong_subject", demo.sims().active_prepaid)
    assert response.status_code == 403
    assert response.json()["reason"] == "certificate-subject"
    assert "intruder.example" in response.json()["detail"]


@pytest.mark.parametrize("name", ["other_ca", "server_purpose"])
async def test_untrusted_certificate_fails_in_the_tls_handshake(
    tls_base_url: str, pki: Pki, demo: Demo, name: str
) -> None:
    """Another CA, or a certificate not for client authentication: a TLS alert, no status."""
    with pytest.raises(httpx.TransportError):
        await get_balance(tls_base_url, pki, name, demo.sims().active_prepaid)
    # The server survives it and serves the next client.
    response = await get_balance(tls_base_url, pki, "valid", demo.sims().active_prepaid)
    assert response.status_code == 200


async def test_mtls_covers_every_mo_api_route_but_not_the_network(
    tls_base_url: str, pki: Pki, demo: Demo, operator_app: OperatorApp
) -> None:
    sim = demo.sims().active_prepaid
    async with tls_client(tls_base_url, pki, None) as anonymous:
        offers = await anonymous.get(
            f"/contoso/api/v1/sims/{sim}/offers?limit=1", headers=MO_HEADERS
        )
        notes = await anonymous.get(
            f"/contoso/api/v1/sims/{sim}/notifications?notificationType=lowBalance&limit=1",
            headers=MO_HEADERS,
        )
        assert (offers.status_code, notes.status_code) == (401, 401)
        assert (await anonymous.get(f"/contoso/network/lines/{sim}")).status_code == 200
        assert (await anonymous.get("/contoso/static/logo-300.png")).status_code == 200
        fabrikam = demo.sims("fabrikam").active_prepaid  # a site without mtls
        other = await anonymous.get(
            f"/fabrikam/api/v1/sims/{fabrikam}/balances", headers=MO_HEADERS
        )
        assert other.status_code == 200
    async with tls_client(tls_base_url, pki, "valid") as broker:
        assert (
            await broker.get(f"/contoso/api/v1/sims/{sim}/offers?limit=1", headers=MO_HEADERS)
        ).status_code == 200
    # The rate-limit bucket of an mTLS caller is its certificate subject.
    assert len(operator_app.state.rate_limiter) >= 2


async def test_plain_http_to_an_mtls_site_is_401(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    response = await operator_client.get(
        f"/contoso/api/v1/sims/{demo.sims().active_prepaid}/balances", headers=MO_HEADERS
    )
    assert response.status_code == 401
    assert response.json()["reason"] == "tls-required"


def scope_with(cert: certs.Issued | None) -> dict[str, object]:
    chain = [cert.cert_pem().decode()] if cert else []
    return {"client": ("127.0.0.1", 5000), "extensions": {"tls": {"client_cert_chain": chain}}}


def test_app_check_rejects_what_tls_would_have_let_through(pki: Pki, clock: FrozenClock) -> None:
    """Defence in depth when the TLS layer trusts more than the policy (misconfiguration)."""
    policy = MtlsPolicy(ca_file=pki.ca.cert_file, subject=CONFIGURED_SUBJECT)
    with pytest.raises(Forbidden, match="not trusted"):
        check_certificate(pki.issued["other_ca"].certificate, policy, clock.now())
    with pytest.raises(Forbidden, match="client authentication"):
        check_certificate(pki.issued["server_purpose"].certificate, policy, clock.now())
    subject = check_certificate(pki.issued["valid"].certificate, policy, clock.now())
    assert subject == "CN=broker.mobileplans.example,O=Mobile Plans Platform"


def test_not_yet_valid_is_401_and_any_subject_policy(pki: Pki) -> None:
    before = datetime(2020, 1, 1, tzinfo=UTC)
    policy = MtlsPolicy(ca_file=pki.ca.cert_file, subject=CONFIGURED_SUBJECT)
    with pytest.raises(Unauthorized, match="valid from"):
        check_certificate(pki.issued["valid"].certificate, policy, before)
    anyone = MtlsPolicy(ca_file=pki.ca.cert_file)  # subject None: any subject from the CA
    site = make_site("contoso", mtls=anyone)
    caller = authenticate(site, scope_with(pki.issued["wrong_subject"]), START)
    assert caller.key == caller.subject == "CN=intruder.example,O=Elsewhere"
    with pytest.raises(Unauthorized):
        authenticate(site, scope_with(None), START)
    no_mtls = authenticate(make_site("contoso"), scope_with(None), START)
    assert (no_mtls.key, no_mtls.subject) == ("127.0.0.1", None)
