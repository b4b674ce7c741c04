"""The local PKI (kit.certs): what it issues, what it accepts, and a real handshake."""

from __future__ import annotations

import asyncio
import ssl
import stat
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mobileplans.kit import certs

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> certs.Issued:
    return certs.make_ca(now=NOW)


def test_ca_is_a_self_signed_ca(ca: certs.Issued) -> None:
    cert = ca.certificate
    assert cert.subject == cert.issuer
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    cert.verify_directly_issued_by(cert)
    assert ca.subject == certs.LOCAL_CA_SUBJECT


def test_server_certificate_names_the_loopback_hosts(ca: certs.Issued) -> None:
    server = certs.issue_server(ca, now=NOW).certificate
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [IPv4Address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert certs.issued_by(server, [ca.certificate])
    assert not certs.allows_client_auth(server)


def test_client_certificate_subject_dates_and_purpose(ca: certs.Issued) -> None:
    client = certs.issue_client(ca, certs.BROKER_SUBJECT, now=NOW, days=10)
    cert = client.certificate
    assert client.subject == certs.BROKER_SUBJECT
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "broker.mobileplans.example"
    )
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - NOW == timedelta(days=10)
    assert certs.allows_client_auth(cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_expired_and_foreign_certificates(ca: certs.Issued) -> None:
    expired = certs.issue_client(ca, "CN=old", now=NOW, expired=True).certificate
    assert expired.not_valid_after_utc == NOW - timedelta(days=1)
    assert expired.not_valid_before_utc < expired.not_valid_after_utc
    other = certs.make_ca("CN=Other CA", now=NOW)
    foreign = certs.issue_client(other, "CN=x", now=NOW).certificate
    assert not certs.issued_by(foreign, [ca.certificate])
    assert certs.issued_by(foreign, [ca.certificate, other.certificate])
    # Same issuer name, different key: the signature decides.
    twin = certs.make_ca(now=NOW)
    assert not certs.issued_by(
        certs.issue_client(twin, "CN=x", now=NOW).certificate, [ca.certificate]
    )


def test_any_purpose_without_extended_key_usage(ca: certs.Issued) -> None:
    bare = certs.issue_client(ca, "CN=any", now=NOW, purposes=())
    with pytest.raises(x509.ExtensionNotFound):
        bare.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert certs.allows_client_auth(bare.certificate)


@pytest.mark.parametrize(
    "text",
    [
        "CN=broker.mobileplans.example,O=Mobile Plans Platform",
        "CN=broker.mobileplans.example, O=Mobile Plans Platform",
        "O=Mobile Plans Platform, CN=broker.mobileplans.example",
        "o = mobile plans  platform , cn=BROKER.mobileplans.example",
    ],
)
def test_subjects_compare_after_normalisation(text: str) -> None:
    expected = certs.parse_subject(certs.BROKER_SUBJECT)
    assert certs.same_subject(certs.parse_subject(text), expected)


def test_different_subjects_differ() -> None:
    base = certs.parse_subject("CN=a.example,O=Org")
    for other in (
        "CN=b.example,O=Org",
        "CN=a.example",
        "CN=a.example,O=Org,OU=Unit",
        "CN=a.example,OU=Org",
    ):
        assert not certs.same_subject(base, certs.parse_subject(other)), other


def test_spec_subject_parses() -> None:
    name = certs.parse_subject(
        "C=US, ST=WA, L=Redmond, O=Example Corporation, CN=partners.platform.example"
    )
    assert name.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME)[0].value == "WA"
    escaped = certs.parse_subject(r"CN=Smith\, J,O=Org")
    assert escaped.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Smith, J"


@pytest.mark.parametrize("text", ["", "CN", "CN=", "=x", "CN=a,,O=b", "XYZ=a", "CN=a,"])
def test_bad_subjects_raise(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 4514"):
        certs.parse_subject(text)


def test_write_and_load_pem_files(ca: certs.Issued, tmp_path: Path) -> None:
    files = ca.write(tmp_path / "out", "ca")
    assert files.cert_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert files.key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(files.key_file.stat().st_mode) == 0o600
    [loaded] = certs.load_pem_certificates(files.cert_file)
    assert loaded == ca.certificate


def test_ensure_local_pki_creates_once_and_keeps(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    pki = certs.ensure_local_pki(directory, now=NOW)
    first = {p.name: p.read_bytes() for p in directory.iterdir()}
    assert set(first) == {
        "ca.pem",
        "ca-key.pem",
        "server.pem",
        "server-key.pem",
        "broker.pem",
        "broker-key.pem",
    }
    again = certs.ensure_local_pki(directory, now=NOW + timedelta(days=1))
    assert again == pki
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == first
    [authority] = certs.load_pem_certificates(pki.ca.cert_file)
    [broker] = certs.load_pem_certificates(pki.broker.cert_file)
    assert certs.issued_by(broker, [authority])
    assert broker.subject.rfc4514_string() == certs.BROKER_SUBJECT
    pki.server.key_file.unlink()  # a missing file: a fresh PKI
    fresh = certs.ensure_local_pki(directory, now=NOW)
    assert fresh.ca.cert_file.read_bytes() != first["ca.pem"]


async def test_files_work_for_a_real_mutual_tls_handshake(tmp_path: Path) -> None:
    pki = certs.ensure_local_pki(tmp_path, now=datetime.now(UTC))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.server.cert_file, pki.server.key_file)
    server_ctx.load_verify_locations(pki.ca.cert_file)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=pki.ca.cert_file)
    client_ctx.load_cert_chain(pki.broker.cert_file, pki.broker.key_file)
    seen: list[object] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("peercert")["subject"])
        writer.write(await reader.readexactly(4))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=client_ctx, server_hostname=host), 10
            )
            writer.write(b"ping")
            assert await asyncio.wait_for(reader.readexactly(4), 10) == b"ping"
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    assert (("commonName", "broker.mobileplans.example"),) in seen[0]  # type: ignore[operator]
