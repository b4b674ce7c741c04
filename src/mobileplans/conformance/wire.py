"""The kit's side of the wire: TLS identities, HTTP clients, and the record of every exchange.

Identities (spec 2.8, 4.1.1, 7.1 #5): ``configured`` (the target's client certificate),
``none`` (no certificate), ``untrusted`` (the same subject from a CA the kit makes on the
spot, which the operator cannot trust), and, when the target names the CA that issued
its client certificate, ``expired`` (that CA, ended yesterday) and ``other-subject``.
"""

from __future__ import annotations

import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mobileplans.conformance.target import Target
from mobileplans.kit import certs

BODY_EXCERPT = 600
KEPT_HEADERS = ("content-type", "x-ms-dm-transactionid", "retry-after", "location")
TRANSACTION_HEADER = "X-MS-DM-TransactionId"
IDENTITY_LABELS = {
    "configured": "the configured client certificate",
    "none": "no client certificate",
    "portal": "as the WebView: no client certificate",
}
OTHER_SUBJECT = "CN=conformance-kit.invalid,O=Not The Mobile Plans Service"


def transaction_id() -> str:
    """``"MSFT-<uuid>"`` with the quotes of spec 2.9 (7.1 #3)."""
    return f'"MSFT-{uuid.uuid4()}"'


@dataclass
class Exchange:
    """One request and what came back (or the transport error instead)."""

    method: str
    url: str
    identity: str
    request_headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    ms: float = 0.0
    error: str | None = None
    json_body: Any = None
    body_full: str = field(default="", repr=False)

    def sent(self) -> str:
        shown = "; ".join(f"{k}: {v}" for k, v in self.request_headers.items())
        who = IDENTITY_LABELS.get(self.identity, f"client certificate: {self.identity}")
        return f"{self.method} {self.url}" + (f" [{shown}]" if shown else "") + f" ({who})"

    def got(self) -> str:
        if self.error is not None:
            return f"no HTTP answer: {self.error}"
        echo = self.response_headers.get("x-ms-dm-transactionid")
        echoed = f" [{TRANSACTION_HEADER}: {echo}]" if echo is not None else ""
        body = " ".join(self.body.split())[:240]
        return f"HTTP {self.status}{echoed} {body}".rstrip()

    def wire(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "identity": self.identity,
            "requestHeaders": self.request_headers,
            "status": self.status,
            "responseHeaders": self.response_headers,
            "body": self.body,
            "ms": round(self.ms, 2),
            "error": self.error,
        }


def _write_identity(issued: certs.Issued, directory: Path, stem: str) -> tuple[str, str]:
    files = issued.write(directory, stem)
    return str(files.cert_file), str(files.key_file)


def _load_issuer(target: Target) -> certs.Issued | None:
    tls = target.tls
    if tls.client_ca_certificate is None or tls.client_ca_key is None:
        return None
    certificate = x509.load_pem_x509_certificate(tls.client_ca_certificate.read_bytes())
    key = serialization.load_pem_private_key(tls.client_ca_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return certs.Issued(certificate, key)


def _subject(target: Target) -> str:
    if target.tls.client_certificate is None:
        return certs.BROKER_SUBJECT
    cert = x509.load_pem_x509_certificate(target.tls.client_certificate.read_bytes())
    return cert.subject.rfc4514_string()


class Identities:
    """Client-certificate files per identity name, made in ``directory``."""

    def __init__(self, target: Target, directory: Path) -> None:
        self.files: dict[str, tuple[str, str] | None] = {"none": None}
        tls = target.tls
        if tls.client_certificate and tls.client_key:
            self.files["configured"] = (str(tls.client_certificate), str(tls.client_key))
        now = datetime.now(UTC)
        subject = _subject(target)
        stranger = certs.make_ca(f"CN=Conformance Kit Untrusted CA {secrets.token_hex(4)}", now=now)
        self.files["untrusted"] = _write_identity(
            certs.issue_client(stranger, subject, now=now), directory, "untrusted"
        )
        issuer = _load_issuer(target)
        if issuer is not None:
            expired = certs.issue_client(issuer, subject, now=now, expired=True)
            self.files["expired"] = _write_identity(expired, directory, "expired")
            other = certs.issue_client(issuer, OTHER_SUBJECT, now=now)
            self.files["other-subject"] = _write_identity(other, directory, "other-subject")

    def has(self, name: str) -> bool:
        return name in self.files


class Wire:
    """HTTP clients per identity; every request is recorded as an :class:`Exchange`."""

    def __init__(self, target: Target, directory: Path, *, timeout: float = 15.0) -> None:
        self.target = target
        self.identities = Identities(target, directory)
        self.timeout = timeout
        self._clients: dict[str, httpx.AsyncClient] = {}

    def context(self, identity: str) -> ssl.SSLContext:
        bundle = self.target.tls.ca_bundle
        context = ssl.create_default_context(cafile=str(bundle) if bundle else None)
        files = self.identities.files.get(identity)
        if files is not None:
            context.load_cert_chain(*files)
        return context

    def client(self, identity: str) -> httpx.AsyncClient:
        """A kept-alive client for ``configured``/``none``; a fresh one for the others."""
        if identity in self._clients:
            return self._clients[identity]
        client = httpx.AsyncClient(
            verify=self.context(identity), timeout=self.timeout, follow_redirects=False
        )
        if identity in ("configured", "none", "portal"):
            self._clients[identity] = client
        return client

    async def request(
        self,
        method: str,
        url: str,
        *,
        identity: str = "configured",
        headers: dict[str, str] | None = None,
        params: list[tuple[str, str]] | None = None,
        follow: bool = False,
    ) -> Exchange:
        if identity != "portal" and not self.identities.has(identity):
            identity = "none"
        request = httpx.Request(method, url, params=list(params or []), headers=headers or {})
        exchange = Exchange(method, str(request.url), identity, dict(headers or {}))
        client = self.client(identity)
        start = time.perf_counter()
        try:
            response = await client.send(request, follow_redirects=follow)
            await response.aread()
        except httpx.HTTPError as exc:
            exchange.error = _transport_error(exc)
        else:
            _record(exchange, response)
        finally:
            exchange.ms = (time.perf_counter() - start) * 1000.0
            if identity not in self._clients:
                await client.aclose()
        return exchange

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _record(exchange: Exchange, response: httpx.Response) -> None:
    exchange.status = response.status_code
    exchange.response_headers = {
        name: response.headers[name] for name in KEPT_HEADERS if name in response.headers
    }
    exchange.body_full = response.text
    exchange.body = exchange.body_full[:BODY_EXCERPT]
    if "json" in response.headers.get("content-type", ""):
        try:
            exchange.json_body = response.json()
        except ValueError:
            exchange.json_body = None


def _transport_error(exc: httpx.HTTPError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake refused ({cause.reason or cause})"
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
        return f"connection closed by the server ({text}); a refused certificate under TLS 1.3"
    return f"{type(exc).__name__}: {text}"


def tls_refused(exchange: Exchange) -> bool:
    """The server ended the TLS session instead of answering (an alert in the handshake)."""
    return (
        exchange.status is None
        and exchange.error is not None
        and (
            exchange.error.startswith(("TLS handshake refused", "connection closed by the server"))
        )
    )
