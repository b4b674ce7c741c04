"""The broker ASGI app: admin API, device API, OpenAPI at /docs, metrics at /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from mobileplans import __version__
from mobileplans.apps.broker.fastpath import DeviceFastPath
from mobileplans.apps.broker.routes import (
    admin,
    calls,
    devices,
    flyout,
    incidents,
    onboarding,
    operations,
    phone_numbers,
    sla,
)
from mobileplans.apps.broker.state import BrokerState
from mobileplans.config import Settings
from mobileplans.domains.balance.mo_client import MoApiClient, client_ssl_context
from mobileplans.domains.balance.service import BalanceProxy
from mobileplans.kit.clock import Clock, SystemClock
from mobileplans.web.docs import serve_api_docs
from mobileplans.web.limits import MAX_CONFIG_BODY_BYTES, BodyLimit
from mobileplans.web.metrics import MetricsMiddleware, metrics_endpoint
from mobileplans.web.problems import install_problem_handlers
from mobileplans.web.unavailable import install_unavailable_handlers

DESCRIPTION = """The Mobile Plans service: operator registry per environment, ICCID ranges,
provider catalog by location and portal launch URLs (spec 2.1, 2.10, 3.1, 7.3).
Errors are RFC 9457 `application/problem+json`."""


def create_app(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    admin_token: str,
    clock: Clock | None = None,
) -> BrokerApp:
    clock = clock or SystemClock()
    client = MoApiClient(
        timeout_seconds=settings.balance_timeout_seconds,
        ssl_context=client_ssl_context(
            cert_file=str(settings.broker_client_cert) if settings.broker_client_cert else None,
            key_file=str(settings.broker_client_key) if settings.broker_client_key else None,
            ca_file=str(settings.broker_ca_file) if settings.broker_ca_file else None,
        ),
    )
    balances = BalanceProxy(
        client=client, clock=clock, cache_seconds=settings.balance_cache_seconds
    )
    state = BrokerState(
        settings=settings,
        sessions=sessions,
        clock=clock,
        admin_token=admin_token,
        balances=balances,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await state.refresh()
        freeze_heap()
        tasks = [
            asyncio.create_task(state.poll_forever()),
            asyncio.create_task(state.flush_forever()),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await state.close_launches()
            await state.flush_lookups()
            await client.close()

    api = FastAPI(
        title="mobileplans broker",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    api.state.broker = state
    install_problem_handlers(api)
    install_unavailable_handlers(api)  # 503 + Retry-After while the database is away
    serve_api_docs(api)
    api.include_router(devices.router)
    api.include_router(flyout.router)
    api.include_router(admin.router)
    api.include_router(sla.router)
    api.include_router(incidents.router)
    api.include_router(calls.router)
    api.include_router(operations.router)
    api.include_router(onboarding.router)
    api.include_router(phone_numbers.router)
    api.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "configVersion": state.snapshot.version}

    behind = BodyLimit(MetricsMiddleware(api, app_name="broker"), MAX_CONFIG_BODY_BYTES)  # D235
    return BrokerApp(behind, state, api, fast_path=settings.broker_fast_path)


GC_THRESHOLDS = (5_000, 20, 100)
"""The cyclic collector's thresholds in a serving broker (decision D271; Python's are
700, 10, 10; the worker's loop uses the same). A young collection scans every young
object still alive, and at 1,000 requests/s with a 200 ms operator those are the ~250
requests in flight (~17,000 coroutines, cells, futures, header dicts). With 700 the
allocation count (net of frees) reached it ~5 times a second and each such collection
took 2-10 ms: 108-165 stops of 3 ms or more per 36,000 proxied calls, 20-33 us of
collector CPU per call (``bench/balances.py --broker-probe``). With these: 3-6 stops,
1.1-1.7 us. Cyclic garbage waiting for a young collection stays under ~5,000 objects."""


def freeze_heap() -> None:
    """Put everything alive after start-up (modules, schemas, the snapshot: ~200,000
    objects) out of the garbage collector's reach. A full collection over them took
    50-135 ms, a stop of the event loop that every request in flight waited out (the
    p99 of the hot paths); frozen, a collection scans only what requests allocate.
    Then collect young objects less often (:data:`GC_THRESHOLDS`): process-wide, so
    under ``up`` the other parts served from this process get the same setting."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def openapi_document() -> dict[str, Any]:
    """The broker's OpenAPI document, built without a database."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from mobileplans.db.session import make_sessionmaker

    engine = create_async_engine("sqlite+aiosqlite://")
    app = create_app(Settings(), make_sessionmaker(engine), admin_token="-")  # noqa: S106 (never served)
    return app.api.openapi()


class BrokerApp(DeviceFastPath):
    """The outer ASGI callable: the device fast path in front of FastAPI (its own
    ``__call__``, so a device's request meets no wrapper before it, D304), with a handle
    on the FastAPI app. Everything the fast path does not answer goes through the body
    limit (413 above 8 MiB, D235) to FastAPI; the fast path answers GETs only and never
    reads a body. ``fast_path=False`` (``MP_BROKER_FAST_PATH=false``) sends every request
    to FastAPI."""

    def __init__(
        self, behind: ASGIApp, state: BrokerState, api: FastAPI, *, fast_path: bool = True
    ) -> None:
        super().__init__(behind, state, enabled=fast_path)
        self.api = api
