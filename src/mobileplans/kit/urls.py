"""URL checks for operator endpoints (spec 3.1: https, no port) and safe joining (7.1 #22)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_endpoint_url(url: str, *, strict: bool, trailing_slash: bool = False) -> str:
    """Return ``url`` if it is an absolute operator endpoint, else raise ``ValueError``.

    ``strict`` is the spec's rule (https, no port). Otherwise http and ports are also
    allowed, but only on loopback hosts (a local stack).
    """
    # urlsplit silently drops tabs/newlines and leading spaces/controls, so it would
    # check a different string from the one returned.
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an absolute https URL")
    if parts.username is not None:  # also an empty "user@" (origin_of would keep the '@')
        raise ValueError("must not carry credentials")
    if "#" in url:  # an empty fragment too: "{uri}#" + "sims/..." would break the join
        raise ValueError("must not have a #fragment")
    local = parts.hostname in LOOPBACK_HOSTS
    hint = " (on a loopback host, MP_URL_POLICY=local allows it)" if local else ""
    if parts.scheme != "https" and (strict or not local):
        raise ValueError("must use https" + hint)
    has_port = parts.port is not None or parts.netloc.endswith(":")  # "host:" is a port too
    if has_port and (strict or not local):
        raise ValueError("must not carry a port number" + hint)
    if strict and is_internal_host(parts.hostname):
        raise ValueError(
            "must not point at a loopback, private or link-local address"
            " (server-side request forgery; MP_URL_POLICY=local allows loopback)"
        )
    if trailing_slash and ("?" in url or not url.endswith("/")):
        raise ValueError("must end with '/' (it is joined as '{uri}sims/...')")
    return url


def is_internal_host(host: str) -> bool:
    """``localhost`` names and IP literals that are not global (loopback, private,
    link-local, reserved), in any form a client would connect to: dotted, decimal
    (``2130706433``), hex (``0x7f000001``), octal, short (``127.1``), IPv6 and mapped IPv4."""
    name = host.lower().rstrip(".").strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(name)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False  # a DNS name: resolved by the client, not here
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # ``is_reserved`` as well: before 3.11.10 / 3.12.4 Python called reserved IPv6 space
    # (``::2``, the rest of ``::/8``...) global; no reserved range is routable unicast.
    return not address.is_global or address.is_reserved


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_origin(value: str, *, strict: bool) -> str:
    """A callback origin: scheme and host (and, locally, port), nothing else."""
    check_endpoint_url(value, strict=strict)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query:
        raise ValueError("must be an origin (scheme://host) without a path")
    return origin_of(value)


def join_base(base: str, path: str) -> str:
    """Join ``path`` under ``base`` whether or not ``base`` ends with '/'."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def trusted_client_context() -> ssl.SSLContext:
    """A verifying TLS client context built *now*, so it honours ``SSL_CERT_FILE`` as set
    at run time (aiohttp's default context is made once, at import)."""
    return ssl.create_default_context()
