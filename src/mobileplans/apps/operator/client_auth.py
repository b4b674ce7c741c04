"""Who is calling the MO API: the mutual-TLS check of spec 2.8 / 7.1 #5.

The TLS layer (``web.tls``) has already verified that a presented certificate chains
to the site's CA (a certificate from any other CA never completes the handshake) but
not its dates. Here, for a site with ``mtls``:

- no TLS, or no client certificate                        → 401
- a certificate this CA did not issue (TLS misconfigured)  → 403
- expired, or not yet valid, by the injected clock         → 401
- extended key usage without TLS client authentication     → 403
- subject other than ``MtlsPolicy.subject``                → 403

The subject compare is RFC 4514 after normalisation: attribute order, case and runs of
spaces in values do not matter (``kit.certs.same_subject``). Without ``mtls`` the
caller is its IP address.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from mobileplans.config import MtlsPolicy, OperatorSite
from mobileplans.errors import Forbidden, Unauthorized
from mobileplans.kit import certs


@dataclass(frozen=True)
class Caller:
    """The client of one MO API request; ``key`` names its rate-limit bucket."""

    key: str
    subject: str | None = None


@functools.lru_cache(maxsize=32)
def _authorities(path: Path, _mtime_ns: int) -> tuple[x509.Certificate, ...]:
    return tuple(certs.load_pem_certificates(path))


@functools.lru_cache(maxsize=32)
def _expected_subject(text: str) -> x509.Name:
    return certs.parse_subject(text)


def _client_certificate(scope: Mapping[str, Any]) -> x509.Certificate:
    tls = (scope.get("extensions") or {}).get("tls")
    if tls is None:
        raise Unauthorized(
            "this MO API needs mutual TLS: connect over HTTPS with a client certificate",
            reason="tls-required",
        )
    chain = list(tls.get("client_cert_chain") or [])
    if not chain:
        raise Unauthorized("no client certificate was presented", reason="certificate-missing")
    try:
        return x509.load_pem_x509_certificate(str(chain[0]).encode())
    except ValueError as exc:
        raise Forbidden(
            "the client certificate cannot be read", reason="certificate-invalid"
        ) from exc


def _check_dates(certificate: x509.Certificate, now: datetime) -> None:
    if now > certificate.not_valid_after_utc:
        raise Unauthorized(
            f"the client certificate expired at {certificate.not_valid_after_utc.isoformat()}",
            reason="certificate-expired",
        )
    if now < certificate.not_valid_before_utc:
        raise Unauthorized(
            f"the client certificate is valid from {certificate.not_valid_before_utc.isoformat()}",
            reason="certificate-not-yet-valid",
        )


def check_certificate(certificate: x509.Certificate, policy: MtlsPolicy, now: datetime) -> str:
    """Apply ``policy`` to a client certificate; return its subject (RFC 4514)."""
    authorities = list(_authorities(policy.ca_file, policy.ca_file.stat().st_mtime_ns))
    if not certs.issued_by(certificate, authorities):
        raise Forbidden("the client certificate is not trusted", reason="certificate-untrusted")
    _check_dates(certificate, now)
    if not certs.allows_client_auth(certificate):
        raise Forbidden(
            "the client certificate is not valid for TLS client authentication",
            reason="certificate-purpose",
        )
    subject = certificate.subject.rfc4514_string()
    if policy.subject and not certs.same_subject(
        certificate.subject, _expected_subject(policy.subject)
    ):
        raise Forbidden(
            f"the client certificate subject {subject!r} is not trusted here",
            reason="certificate-subject",
        )
    return subject


@functools.lru_cache(maxsize=1024)
def _caller_at(address: str) -> Caller:
    """One (frozen) caller per client address, made once."""
    return Caller(key=address)


def authenticate(site: OperatorSite, scope: Mapping[str, Any], now: datetime) -> Caller:
    """The caller of an MO API request on ``site``, or 401/403 per the site's mTLS policy."""
    if site.mtls is None:
        client = scope.get("client")
        return _caller_at(str(client[0]) if client else "unknown")
    subject = check_certificate(_client_certificate(scope), site.mtls, now)
    return Caller(key=subject, subject=subject)
