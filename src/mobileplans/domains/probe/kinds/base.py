"""What every probe kind shares: the ``ProbeKind`` protocol and one HTTP exchange, classified.

Adding a kind (healthchecks' "one transport per kind" shape):

1. a module in this package with a class implementing :class:`ProbeKind`
   (``target_for`` builds the URL from the registry, ``execute`` runs one probe);
2. its name in :class:`~mobileplans.domains.probe.schemas.ProbeKindName`;
3. an instance in ``KINDS`` (``kinds/__init__.py``);
4. tests against a controllable server for every outcome it can produce;
5. a row in ``docs/monitoring.md``.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import aiohttp

from mobileplans.config import Environment
from mobileplans.domains.operator_registry.schemas import EnvironmentSettings, OperatorSpec
from mobileplans.domains.probe.schemas import ClaimedRun, Observation, Outcome, ProbeKindName

TlsSetting = ssl.SSLContext | bool


class ProbeKind(Protocol):
    name: ClassVar[ProbeKindName]
    synced: ClassVar[bool]
    """True: sync creates it for every operator/environment that can have it."""
    client_certificate: ClassVar[bool]
    """True: an MO API call, made with the platform's client certificate (spec 2.8)."""

    def target_for(
        self, operator: OperatorSpec, environment: Environment, settings: EnvironmentSettings
    ) -> str | None:
        """The probe's target URL for this operator environment, or None if it has none."""
        ...

    async def execute(
        self, http: aiohttp.ClientSession, run: ClaimedRun, tls: TlsSetting
    ) -> Observation:
        """Run once; raise :class:`ProbeFailure` (or let ``TimeoutError`` out) on failure."""
        ...


class ProbeFailure(Exception):
    """A run ended in a failure outcome; the runner records it with the elapsed time."""

    def __init__(self, outcome: Outcome, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.status = status


@dataclass(frozen=True, slots=True)
class Exchange:
    status: int
    body: bytes
    latency_ms: float


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _is_tls(exc: BaseException, url: str) -> bool:
    """A TLS failure: an SSL error anywhere in the chain, or a reset in an https connect.

    A reset (not a refusal) while connecting to an https URL comes after the TCP handshake,
    i.e. the server aborted the TLS handshake (e.g. it wanted a client certificate).
    """
    if (
        isinstance(exc, aiohttp.ClientConnectorError)
        and isinstance(exc.os_error, ConnectionResetError)
        and url.startswith("https:")
    ):
        return True
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError | aiohttp.ClientSSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:300]


def _describe_tls(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(exc, ssl.SSLError):
        if isinstance(exc.os_error, ConnectionResetError):
            return f"TLS handshake with {exc.host}:{exc.port} aborted by the server"
    return _describe(exc)


async def exchange(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    tls: TlsSetting,
    headers: dict[str, str] | None = None,
    json: Any = None,
    follow_redirects: bool = False,
) -> Exchange:
    """One HTTP request, body read whole; transport failures become :class:`ProbeFailure`."""
    started = time.perf_counter()
    try:
        async with http.request(
            method,
            url,
            headers=headers,
            json=json,
            ssl=tls,
            allow_redirects=follow_redirects,
            max_redirects=5,
        ) as response:
            body = await response.read()
            return Exchange(response.status, body, elapsed_ms(started))
    except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too: the runner's case
        raise
    except aiohttp.TooManyRedirects as exc:
        status = exc.status or (exc.history[-1].status if exc.history else None)
        raise ProbeFailure(Outcome.HTTP_ERROR, "more than 5 redirects", status) from exc
    except aiohttp.ClientPayloadError as exc:
        raise ProbeFailure(Outcome.BAD_BODY, f"truncated body: {_describe(exc)}") from exc
    except aiohttp.ClientResponseError as exc:
        detail = f"malformed HTTP response: {exc.message}"
        raise ProbeFailure(Outcome.BAD_BODY, detail[:300]) from exc
    except (aiohttp.ClientError, OSError) as exc:
        if _is_tls(exc, url):
            raise ProbeFailure(Outcome.TLS_ERROR, _describe_tls(exc)) from exc
        raise ProbeFailure(Outcome.CONNECT_ERROR, _describe(exc)) from exc


def http_error(response: Exchange, what: str = "") -> ProbeFailure:
    prefix = f"{what}: " if what else ""
    snippet = response.body[:120].decode("utf-8", "replace").strip()
    detail = f"{prefix}HTTP {response.status}" + (f" {snippet}" if snippet else "")
    return ProbeFailure(Outcome.HTTP_ERROR, detail[:300], response.status)
