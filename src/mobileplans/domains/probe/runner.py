"""Runs claimed probes over one pooled aiohttp session, with bounded concurrency.

Every run gets the probe's timeout as a hard bound on the whole exchange (``asyncio.timeout``),
its latency measured on the monotonic clock from the first byte sent to the last byte read,
and ``started_at`` from the injected clock. An answer that is correct but slower than the
probe's latency target is ``degraded``. Cookies are never kept: every run is a new visitor.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import aiohttp

from mobileplans.domains.balance.mo_client import client_ssl_context
from mobileplans.domains.probe import metrics
from mobileplans.domains.probe.kinds import KINDS, ProbeFailure, TlsSetting
from mobileplans.domains.probe.kinds.base import elapsed_ms
from mobileplans.domains.probe.schemas import ClaimedRun, Observation, Outcome, RunResult
from mobileplans.kit.clock import Clock
from mobileplans.kit.netguard import guarded_session

USER_AGENT = "mobileplans-prober/0.1"
KEEPALIVE_SECONDS = 60.0
"""Longer than the 30 s cadence, so a probe reuses its pooled connection between runs."""


@dataclass(frozen=True)
class TlsFiles:
    """The platform's client certificate for MO APIs (spec 2.8) and the CA bundle to trust."""

    client_cert: str | None = None
    client_key: str | None = None
    ca_file: str | None = None


class ProbeRunner:
    """``async with ProbeRunner(...) as runner: result = await runner.run(claimed)``."""

    def __init__(
        self,
        *,
        clock: Clock,
        worker_id: str,
        concurrency: int = 200,
        tls: TlsFiles | None = None,
    ) -> None:
        tls = tls or TlsFiles()
        self._clock = clock
        self._worker_id = worker_id
        self._concurrency = concurrency
        self._semaphore = asyncio.Semaphore(concurrency)
        mo_context = client_ssl_context(
            cert_file=tls.client_cert, key_file=tls.client_key, ca_file=tls.ca_file
        )
        self._mo_tls: TlsSetting = mo_context if mo_context is not None else True
        self._web_tls: TlsSetting = (
            ssl.create_default_context(cafile=tls.ca_file) if tls.ca_file else True
        )
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ProbeRunner:
        self._http = guarded_session(
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": USER_AGENT},
            limit=self._concurrency,
            ttl_dns_cache=300,
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run(self, run: ClaimedRun) -> RunResult:
        """Wait for a free slot of the concurrency bound, then run."""
        async with self._semaphore:
            return await self.execute(run)

    async def execute(self, run: ClaimedRun) -> RunResult:
        if self._http is None:
            raise RuntimeError("ProbeRunner used outside 'async with'")
        kind = KINDS[run.kind]
        tls = self._mo_tls if kind.client_certificate else self._web_tls
        started_at = self._clock.now()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(run.timeout_seconds):
                seen = await kind.execute(self._http, run, tls)
        except TimeoutError:
            detail = f"no complete answer within {run.timeout_seconds:g} s"
            seen = Observation(Outcome.TIMEOUT, None, elapsed_ms(started), detail)
        except ProbeFailure as failure:
            seen = Observation(failure.outcome, failure.status, elapsed_ms(started), failure.detail)
        result = _judge(run, seen, started_at, self._worker_id)
        metrics.observe_result(result)
        return result


def _judge(run: ClaimedRun, seen: Observation, started_at: datetime, worker: str) -> RunResult:
    outcome, detail = seen.outcome, seen.detail
    if outcome is Outcome.OK and seen.latency_ms > run.latency_target_ms:
        outcome = Outcome.DEGRADED
        slow = f"{seen.latency_ms:.0f} ms > target {run.latency_target_ms:.0f} ms"
        detail = f"{slow}; {detail}" if detail else slow
    return RunResult(
        run=run,
        started_at=started_at,
        outcome=outcome,
        status=seen.status,
        latency_ms=seen.latency_ms,
        detail=detail,
        worker=worker,
    )
