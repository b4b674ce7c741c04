"""The operator's MO API over mutual TLS, as ``mobileplans up --tls`` serves it (issue #11,
spec 2.8): schemathesis with the platform's client certificate over HTTPS, then what a
caller without that certificate gets.

- the platform's certificate (the local CA's, ``BROKER_SUBJECT``): the generated pass;
- no certificate: 401 problem+json ``certificate-missing`` on every MO API operation;
- the right CA, another subject: 403 ``certificate-subject``;
- a certificate of another CA: the handshake fails (a TLS alert, no HTTP status);
- plain HTTP to the HTTPS port: no HTTP answer either.
And the broker, over HTTPS, reaches the MO API with its certificate (``GET /v1/balances``).
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from schemathesis.openapi import from_dict

from mobileplans.cli.serve_cmd import openapi_document
from mobileplans.cli.tls import StackTls
from mobileplans.kit.certs import BROKER_SUBJECT, LOCAL_CA_SUBJECT, Issued, issue_client, make_ca
from mobileplans.kit.clock import SystemClock
from tests.api_fuzz.settings import fuzz_config
from tests.api_fuzz.stack import ADMIN_TOKEN, StackUrls

pytestmark = pytest.mark.e2e

MO_API = ("balances", "offers", "notifications")
OPERATORS = ("contoso", "fabrikam")
NOT_MO_API = r"^/\{operator_id\}/(?!api/)"
"""Everything of the operator's document but the MO API (fuzzed over plain HTTP in
test_generated): an exclusion, since includes are or-ed with the configuration's own."""
mo_api = from_dict(
    openapi_document("operator"), config=fuzz_config(parameters={"path.operator_id": "contoso"})
).exclude(path_regex=NOT_MO_API)


def pki_of(stack: StackUrls) -> StackTls:
    assert stack.tls is not None
    return stack.tls


@pytest.fixture(scope="module")
def platform(tls_stack: StackUrls) -> Iterator[requests.Session]:
    """One session (its connections kept) for the pass."""
    with requests.Session() as session:
        yield session


@mo_api.parametrize()
def test_mo_api_over_mutual_tls(
    case: schemathesis.Case, tls_stack: StackUrls, platform: requests.Session
) -> None:
    """Trusting the local CA, presenting the platform's client certificate (per request:
    schemathesis passes ``verify`` itself, over the session's)."""
    pki = pki_of(tls_stack).pki
    case.call_and_validate(
        base_url=tls_stack.operator,
        session=platform,
        verify=str(pki.ca.cert_file),
        cert=(str(pki.broker.cert_file), str(pki.broker.key_file)),
    )


def mo_urls(stack: StackUrls) -> list[str]:
    sim = "8901000000000000000"  # any SIM: the certificate is checked first
    return [
        f"{stack.operator}/{op}/api/v1/sims/{sim}/{kind}" for op in OPERATORS for kind in MO_API
    ]


TRANSACTION = {"X-MS-DM-TransactionId": f'"MSFT-{uuid.UUID(int=11)}"'}


def trusting(stack: StackUrls) -> ssl.SSLContext:
    """A client context trusting the local CA only, presenting no certificate."""
    return ssl.create_default_context(cafile=pki_of(stack).pki.ca.cert_file)


def test_no_client_certificate_is_401(tls_stack: StackUrls) -> None:
    with httpx.Client(verify=trusting(tls_stack), timeout=10) as client:
        for url in mo_urls(tls_stack):
            response = client.get(url, headers=TRANSACTION)
            assert response.status_code == 401, url
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["reason"] == "certificate-missing"


def _ca_of(stack_tls: StackTls) -> Issued:
    files = stack_tls.pki.ca
    key = serialization.load_pem_private_key(files.key_file.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Issued(x509.load_pem_x509_certificate(files.cert_file.read_bytes()), key)


def _client(stack: StackUrls, issued: Issued, directory: Path) -> httpx.Client:
    files = issued.write(directory, "client")
    context = trusting(stack)
    context.load_cert_chain(files.cert_file, files.key_file)
    return httpx.Client(verify=context, timeout=10)


def test_another_subject_is_403(tls_stack: StackUrls, tmp_path: Path) -> None:
    now = SystemClock().now()
    stranger = issue_client(_ca_of(pki_of(tls_stack)), "CN=stranger.example,O=Elsewhere", now=now)
    with _client(tls_stack, stranger, tmp_path) as client:
        for url in mo_urls(tls_stack):
            response = client.get(url, headers=TRANSACTION)
            assert response.status_code == 403, url
            assert response.json()["reason"] == "certificate-subject"


def test_another_ca_never_reaches_http(tls_stack: StackUrls, tmp_path: Path) -> None:
    """The platform's subject from another CA (same subject as the local CA's): refused in
    the TLS handshake."""
    now = SystemClock().now()
    other = make_ca(LOCAL_CA_SUBJECT, now=now)
    forged = issue_client(other, BROKER_SUBJECT, now=now)
    with _client(tls_stack, forged, tmp_path) as client:
        for url in mo_urls(tls_stack)[:2]:
            with pytest.raises(httpx.TransportError):
                client.get(url, headers=TRANSACTION)


def test_plain_http_gets_no_answer(tls_stack: StackUrls) -> None:
    url = mo_urls(tls_stack)[0].replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(url, headers=TRANSACTION, timeout=10)


def test_broker_reaches_the_mo_api_with_its_certificate(tls_stack: StackUrls) -> None:
    """GetBalance through the broker (spec 1.10 flyout): the broker presents the platform's
    certificate to the operator; a 200 with balances is the MO API's answer."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=tls_stack.broker, verify=trusting(tls_stack), timeout=10) as client:
        operator = client.get("/v1/admin/operators/contoso", headers=admin).json()
        iccid = operator["monitoringIccid"]
        response = client.get("/v1/balances", params={"iccid": iccid, "location": "US"})
    assert response.status_code == 200, response.text
    assert response.json()["operatorId"] == "contoso"
