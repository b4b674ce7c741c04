"""Promises of docs/security.md checked without a running stack (issue #11): secrets at
rest, constant-time comparison, TLS 1.2 minimum with the platform's client certificate,
and the strict URL policy against server-side request forgery (D236)."""

from __future__ import annotations

import ast
import hashlib
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import mobileplans
from mobileplans.domains.access import service as access_service
from mobileplans.domains.balance.mo_client import client_ssl_context
from mobileplans.domains.operator_registry.yaml_io import ConfigFileError, load_document
from mobileplans.domains.subscriber.passwords import hash_password, verify_password
from mobileplans.kit import certs
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.urls import check_endpoint_url, check_origin
from mobileplans.web.tls import server_ssl_context

SOURCE = Path(mobileplans.__file__).parent
SECRET_WORDS = ("token", "secret", "password", "digest", "signature", "mac", "csrf")
ALLOWED = {
    # the SQL look-up of a credential by the SHA-256 of its token (an index, not a
    # comparison in Python; timing could only tell a prefix of a hash of 256 random bits)
    "domains/access/repository.py": "token_sha256 == token_sha256",
}


async def test_an_api_credential_is_stored_as_its_sha256_only(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        issued = await access_service.create_credential(
            session, operator_id=None, name="noc", now=clock.now()
        )
    async with sessions() as session:
        [row] = await access_service.list_credentials(session)
        stored = [str(getattr(row, c.key)) for c in row.__table__.columns]
        assert row.token_sha256 == hashlib.sha256(issued.token.encode()).hexdigest()
        assert not any(issued.token in value for value in stored)
        assert await access_service.authenticate(session, issued.token) is not None
        assert await access_service.authenticate(session, issued.token[:-1] + "x") is None


def test_a_portal_password_is_stored_as_a_salted_scrypt_hash() -> None:
    first, second = hash_password("correct horse 1"), hash_password("correct horse 1")
    assert "correct horse" not in first
    assert first != second  # salted
    assert verify_password("correct horse 1", first)
    assert not verify_password("correct horse 2", first)


def _secret_name(node: ast.expr) -> str | None:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    if name and any(word in name.lower() for word in SECRET_WORDS):
        return name
    return None


def _plain_comparisons(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(isinstance(s, ast.Constant) for s in sides):
            continue  # against None, "", a literal scheme: not a secret comparison
        names = [n for s in sides if (n := _secret_name(s))]
        if len(names) == len(sides):  # both sides secret-like: a secret compared with ==
            found.append((node.lineno, " == ".join(names)))
    return found


def test_secrets_are_compared_in_constant_time_only() -> None:
    """No ``==`` between two secret-like values (token, secret, password, digest,
    signature, mac, csrf) anywhere in the package: they go through hmac.compare_digest."""
    found = [
        f"{path.relative_to(SOURCE)}:{line}: {what}"
        for path in sorted(SOURCE.rglob("*.py"))
        for line, what in _plain_comparisons(ast.parse(path.read_text()))
        if ALLOWED.get(str(path.relative_to(SOURCE))) != what
    ]
    assert not found, "\n".join(found)
    uses = [p for p in SOURCE.rglob("*.py") if "hmac.compare_digest" in p.read_text()]
    assert len(uses) >= 5  # broker deps, console auth and session, portal session, passwords


def test_the_scan_finds_a_plain_comparison() -> None:
    tree = ast.parse("if token == state.admin_token: pass\nif token is None: pass")
    assert _plain_comparisons(tree) == [(1, "token == admin_token")]


@pytest.fixture
def pki(tmp_path: Path) -> tuple[certs.CertFiles, certs.CertFiles, certs.CertFiles]:
    now = datetime.now(UTC)
    ca = certs.make_ca(now=now)
    return (
        ca.write(tmp_path, "ca"),
        certs.issue_client(ca, certs.BROKER_SUBJECT, now=now).write(tmp_path, "client"),
        certs.issue_server(ca, now=now).write(tmp_path, "server"),
    )


def test_the_platform_client_context_is_tls12_minimum_and_presents_its_certificate(
    pki: tuple[certs.CertFiles, certs.CertFiles, certs.CertFiles],
) -> None:
    ca, client, _server = pki
    context = client_ssl_context(
        cert_file=str(client.cert_file), key_file=str(client.key_file), ca_file=str(ca.cert_file)
    )
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_every_server_context_is_tls12_minimum(
    pki: tuple[certs.CertFiles, certs.CertFiles, certs.CertFiles],
) -> None:
    ca, _client, server = pki
    for client_ca in (None, ca.cert_file):
        context = server_ssl_context(server.cert_file, server.key_file, client_ca)
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2


INTERNAL_URLS = [
    "https://localhost/api/",
    "https://LOCALHOST./api/",
    "https://mo.localhost/api/",
    "https://127.0.0.1/api/",
    "https://127.1/api/",
    "https://2130706433/api/",  # 127.0.0.1 in decimal
    "https://0x7f000001/api/",  # in hex
    "https://0177.0.0.1/api/",  # in octal
    "https://10.0.0.8/api/",
    "https://172.16.4.4/api/",
    "https://192.168.1.1/api/",
    "https://169.254.169.254/api/",  # cloud metadata, link-local
    "https://0.0.0.0/api/",
    "https://[::1]/api/",
    "https://[::ffff:127.0.0.1]/api/",
    "https://[fe80::1]/api/",
    "https://[fd00::1]/api/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_the_strict_policy_refuses_internal_addresses(url: str) -> None:
    with pytest.raises(ValueError, match="loopback, private or link-local"):
        check_endpoint_url(url, strict=True)
    with pytest.raises(ValueError, match="loopback, private or link-local"):
        check_origin(url.removesuffix("api/"), strict=True)


@pytest.mark.parametrize(
    "url", ["https://mo.contoso.example/api/", "https://8.8.8.8/api/", "https://[2001:4860::8888]/"]
)
def test_the_strict_policy_accepts_public_hosts(url: str) -> None:
    assert check_endpoint_url(url, strict=True) == url


def test_a_configuration_file_with_an_internal_url_is_refused_whole() -> None:
    document = """
version: 1
operators:
  - id: contoso
    brandName: Contoso Cellular
    countries: [US]
    environments:
      production:
        portalUrl: https://2130706433/mp
"""
    with pytest.raises(ConfigFileError, match="loopback, private or link-local"):
        load_document(document, url_policy="strict")
    assert load_document(document.replace("2130706433", "portal.contoso.example"))
