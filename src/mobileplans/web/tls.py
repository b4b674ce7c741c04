"""TLS for our servers: a mutual-TLS server context and the ASGI TLS extension.

uvicorn does not tell the app which client certificate a connection presented. The
:class:`TlsHttpToolsProtocol` adds the ASGI TLS extension
(https://asgi.readthedocs.io/en/latest/specs/tls.html) to every request scope of a TLS
connection::

    scope["extensions"]["tls"] = {
        "server_cert": None,
        "client_cert_chain": ["-----BEGIN CERTIFICATE-----..."],  # leaf only, or []
        "client_cert_name": "CN=...,O=...",                        # RFC 4514, or None
        "client_cert_error": None,
        "tls_version": 0x0304,
        "cipher_suite": None,
    }

Python's ``ssl`` verifies client certificates during the handshake and cannot hand an
untrusted one to the app. :func:`server_ssl_context` therefore asks for a certificate
without requiring one (``CERT_OPTIONAL``), trusts only the configured CA, and sets
OpenSSL's ``X509_V_FLAG_NO_CHECK_TIME`` so that an expired but otherwise trusted
certificate completes the handshake: the app then answers 401 (spec 2.8, 4.1.1). A
certificate from another CA, or one whose extended key usage excludes client
authentication, still ends the handshake with a TLS alert; no HTTP status is sent.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, Final, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

X509_V_FLAG_NO_CHECK_TIME: Final = 0x200000
"""OpenSSL: skip the validity-period check of the chain (checked by the app instead)."""

TLS_VERSIONS: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def server_ssl_context(
    certfile: Path,
    keyfile: Path,
    client_ca_file: Path | None = None,
    *,
    check_client_cert_time: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context; with ``client_ca_file``, client certificates are
    requested (optional) and must chain to that CA. Their validity dates are left to the
    app unless ``check_client_cert_time``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    if client_ca_file is not None:
        context.load_verify_locations(cafile=client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
        if not check_client_cert_time:
            context.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
    return context


def client_ssl_context(
    ca_file: Path, certfile: Path | None = None, keyfile: Path | None = None
) -> ssl.SSLContext:
    """A client context trusting ``ca_file``, presenting ``certfile`` when given."""
    context = ssl.create_default_context(cafile=ca_file)
    if certfile is not None:
        context.load_cert_chain(certfile, keyfile)
    return context


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[str, Any]:
    """The ASGI TLS extension for one TLS connection."""
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": _subject_name(der) if der else None,
        "client_cert_error": None,
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


def _subject_name(der: bytes) -> str | None:
    from cryptography import x509  # imported lazily: only TLS connections with a cert

    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except ValueError:
        return None


class TlsHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus ``scope["extensions"]["tls"]`` on TLS connections.

    The peer certificate is read once per connection (after the handshake, when asyncio
    calls ``connection_made``) and shared by every request on it.
    """

    _tls: dict[str, Any] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        self._tls = tls_extension(ssl_object) if ssl_object is not None else None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            extensions = self.scope.setdefault("extensions", {})
            extensions["tls"] = cast("dict[object, object]", dict(self._tls))
