"""Connect-time guard against server-side request forgery by DNS (docs/security.md, D248).

``kit.urls.check_endpoint_url(strict=True)`` checks a URL as written. A public *name*
whose DNS answer is 127.0.0.1 or 10.x, or a redirect to such an address, is refused here,
at connect time, in one place per client library: every outgoing aiohttp client is built
with :func:`guarded_connector`. Its resolver drops every non-global address from a DNS
answer (and fails when nothing is left); the connector refuses an IP-literal host (which
aiohttp connects to without asking the resolver), so a redirect is checked on each hop.

The guard is on when the URL policy is strict: :func:`enforce` sets it in a context
variable, so ``serve`` and ``worker run`` set it for their own event loop (tasks and
servers started from there inherit it) and nothing else in the process sees it;
``local`` (the ``up`` stack) allows loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from mobileplans.kit.urls import is_internal_host

Refuses = Callable[[str, int], bool]
"""``(address, port) -> True`` if a connection there must be refused."""

_STRICT: ContextVar[bool] = ContextVar("mobileplans_url_policy_strict", default=False)


class RefusedAddress(aiohttp.ClientConnectionError):
    """A connection to a loopback, private, link-local or otherwise non-global address
    refused by the strict URL policy."""


def enforce(*, strict: bool) -> None:
    """Set the policy for the connectors built from now on in this context."""
    _STRICT.set(strict)


def is_enforced() -> bool:
    return _STRICT.get()


def refuses_internal(address: str, port: int) -> bool:
    """The default rule: every address that is not global (``kit.urls.is_internal_host``)."""
    return is_internal_host(address)


def _message(host: str) -> str:
    return (
        f"refused to connect to {host!r}: it is (or resolves only to) a loopback, private or "
        "link-local address (server-side request forgery; MP_URL_POLICY=local allows loopback)"
    )


class GuardedResolver(AbstractResolver):
    """Wraps a resolver (aiohttp's default unless given) and drops refused addresses."""

    def __init__(self, inner: AbstractResolver | None = None, refuses: Refuses = refuses_internal):
        self._inner = inner if inner is not None else DefaultResolver()
        self._refuses = refuses

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        kept = [a for a in answers if not self._refuses(a["host"], a["port"])]
        if not kept:
            raise RefusedAddress(_message(host))
        return kept

    async def close(self) -> None:
        await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that refuses an IP-literal (or ``localhost``) host before
    connecting; names go through its :class:`GuardedResolver`."""

    def __init__(self, *, refuses: Refuses = refuses_internal, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._refuses = refuses

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        host, port = req.url.raw_host or "", req.url.port or 0
        if is_internal_host(host) and self._refuses(host.strip("[]"), port):
            raise RefusedAddress(_message(host))
        return await super().connect(req, traces, timeout)


def guarded_connector(
    *,
    strict: bool | None = None,
    refuses: Refuses = refuses_internal,
    inner: AbstractResolver | None = None,
    **kwargs: Any,
) -> aiohttp.TCPConnector:
    """The connector every outgoing aiohttp client uses (``kwargs`` go to ``TCPConnector``).

    ``strict`` defaults to the process's policy; ``refuses`` and ``inner`` are injectable
    (a test allows exactly its own server, or stubs DNS)."""
    if not (is_enforced() if strict is None else strict):
        return (
            aiohttp.TCPConnector(resolver=inner, **kwargs)
            if inner
            else aiohttp.TCPConnector(**kwargs)
        )
    resolver = GuardedResolver(inner, refuses)
    return GuardedConnector(refuses=refuses, resolver=resolver, **kwargs)


def guarded_session(
    *, timeout: aiohttp.ClientTimeout, headers: dict[str, str] | None = None, **connector: Any
) -> aiohttp.ClientSession:
    """The aiohttp client of an outgoing interface (MO API, ES2+, callbacks, probes): the
    guarded connector (``connector`` goes to :func:`guarded_connector`) and no cookie jar.
    None of these interfaces uses cookies, and a cookie one peer sets must never ride
    along with the next call (D286); the default jar also costs work on every request."""
    return aiohttp.ClientSession(
        connector=guarded_connector(**connector),
        timeout=timeout,
        headers=headers,
        cookie_jar=aiohttp.DummyCookieJar(),
    )
