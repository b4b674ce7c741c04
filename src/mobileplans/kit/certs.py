"""A local PKI for mutual TLS (spec 2.8): a CA, server and client certificates, as PEM files.

Generation (``make_ca``, ``issue_server``, ``issue_client``, ``ensure_local_pki``) serves
tests and ``mobileplans up --tls``; inspection (``parse_subject``, ``same_subject``,
``issued_by``, ``allows_client_auth``) serves the MO API's client-certificate check.

Keys are ECDSA P-256, signatures SHA-256. Subjects are RFC 4514 strings; the parser also
takes the spaced, either-order form the spec quotes (``C=US, ST=WA, ..., CN=...``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BROKER_SUBJECT: Final = "CN=broker.mobileplans.example,O=Mobile Plans Platform"
"""The neutral subject of the broker's client certificate under ``mobileplans up --tls``."""

LOCAL_CA_SUBJECT: Final = "CN=Mobile Plans Local CA,O=Mobile Plans Platform"
SERVER_HOSTS: Final = ("127.0.0.1", "localhost")

_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, stem: str) -> CertFiles:
        """Write ``<stem>.pem`` and ``<stem>-key.pem`` (the key readable by the owner only)."""
        directory.mkdir(parents=True, exist_ok=True)
        files = CertFiles(directory / f"{stem}.pem", directory / f"{stem}-key.pem")
        files.cert_file.write_bytes(self.cert_pem())
        _write_private(files.key_file, self.key_pem())
        return files


@dataclass(frozen=True)
class CertFiles:
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class LocalPki:
    """The files of a local PKI: the CA, the server's certificate, the broker's client one."""

    ca: CertFiles
    server: CertFiles
    broker: CertFiles


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def parse_subject(text: str) -> x509.Name:
    """An RFC 4514 name; spaces around ``,`` and ``=`` (the spec's display form) are allowed."""
    parts = [part.strip() for part in _UNESCAPED_COMMA.split(text.strip())]
    if not parts or any(part == "" for part in parts):
        raise ValueError(f"not an RFC 4514 name: {text!r}")
    cleaned = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"not an RFC 4514 name: {text!r}")
        cleaned.append(f"{key.strip().upper()}={value.strip()}")
    try:
        return x509.Name.from_rfc4514_string(",".join(cleaned))
    except ValueError as exc:  # an unknown attribute name, a bad escape
        raise ValueError(f"not an RFC 4514 name: {text!r}") from exc


def _attributes(name: x509.Name) -> list[tuple[str, str]]:
    pairs = []
    for attribute in name:
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        pairs.append((attribute.oid.dotted_string, " ".join(value.split()).casefold()))
    return sorted(pairs)


def same_subject(left: x509.Name, right: x509.Name) -> bool:
    """Equal as sets of attributes: order-insensitive, values compared case- and
    space-insensitively (the caseIgnoreMatch of RFC 4517 that DN attributes use)."""
    return _attributes(left) == _attributes(right)


def load_pem_certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def issued_by(certificate: x509.Certificate, authorities: list[x509.Certificate]) -> bool:
    """True if one of ``authorities`` issued and signed ``certificate`` directly."""
    for authority in authorities:
        try:
            certificate.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def allows_client_auth(certificate: x509.Certificate) -> bool:
    """No extended key usage (any purpose), or one that lists TLS client authentication."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _usage(*, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(subject: str = LOCAL_CA_SUBJECT, *, now: datetime, days: int = 3650) -> Issued:
    """A self-signed CA certificate (path length 0: it issues end-entity certificates only)."""
    key = _new_key()
    name = parse_subject(subject)
    certificate = (
        _builder(name, name, key, now - timedelta(minutes=5), now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def _issue(
    ca: Issued,
    subject: x509.Name,
    validity: tuple[datetime, datetime],
    purposes: list[x509.ObjectIdentifier],
    alt_names: list[x509.GeneralName],
) -> Issued:
    key = _new_key()
    builder = (
        _builder(subject, ca.certificate.subject, key, *validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
            critical=False,
        )
    )
    if purposes:
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return Issued(builder.sign(ca.private_key, hashes.SHA256()), key)


def _validity(now: datetime, days: int, expired: bool) -> tuple[datetime, datetime]:
    if expired:  # valid for ``days``, ended one day ago
        return now - timedelta(days=days + 1), now - timedelta(days=1)
    return now - timedelta(minutes=5), now + timedelta(days=days)


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_server(
    ca: Issued,
    *,
    now: datetime,
    hosts: tuple[str, ...] = SERVER_HOSTS,
    days: int = 825,
) -> Issued:
    """A TLS server certificate for ``hosts`` (IP addresses and DNS names in the SAN)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    return _issue(
        ca,
        subject,
        _validity(now, days, expired=False),
        [ExtendedKeyUsageOID.SERVER_AUTH],
        [_host_name(host) for host in hosts],
    )


def issue_client(
    ca: Issued,
    subject: str,
    *,
    now: datetime,
    days: int = 365,
    expired: bool = False,
    purposes: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.CLIENT_AUTH,),
) -> Issued:
    """A TLS client certificate with ``subject`` (RFC 4514); ``expired`` ended a day ago.

    ``purposes`` sets the extended key usage (empty: no extension, any purpose).
    """
    return _issue(ca, parse_subject(subject), _validity(now, days, expired), list(purposes), [])


def ensure_local_pki(
    directory: Path, *, now: datetime, broker_subject: str = BROKER_SUBJECT
) -> LocalPki:
    """The CA, server and broker certificates in ``directory``, made on first use.

    Files: ``ca.pem`` (+ ``ca-key.pem``), ``server.pem`` (+ key; SAN 127.0.0.1, localhost),
    ``broker.pem`` (+ key; client certificate with ``broker_subject``). Existing files are
    kept, so restarts keep the trust the other parts already loaded.
    """
    pki = LocalPki(
        ca=CertFiles(directory / "ca.pem", directory / "ca-key.pem"),
        server=CertFiles(directory / "server.pem", directory / "server-key.pem"),
        broker=CertFiles(directory / "broker.pem", directory / "broker-key.pem"),
    )
    every = (pki.ca, pki.server, pki.broker)
    if all(f.cert_file.exists() and f.key_file.exists() for f in every):
        return pki
    ca = make_ca(now=now)
    ca.write(directory, "ca")
    issue_server(ca, now=now).write(directory, "server")
    issue_client(ca, broker_subject, now=now).write(directory, "broker")
    return pki
