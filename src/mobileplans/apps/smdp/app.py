"""The SM-DP+ ASGI app (SGP.22 ES2+ and the device download interface of docs/activation.md).

- ``POST /gsma/rsp2/es2plus/{downloadOrder,confirmOrder,cancelOrder,releaseProfile}``  ES2+
- ``POST /rsp/device/v1/{initiateDownload,getBoundProfilePackage,handleNotification,cancelSession}``
- callbacks ``handleDownloadProgressInfo`` to each requester's URL: written to the outbox in the
  use case's transaction, delivered by the sender the lifespan starts (docs/smdp.md S15)

The eight routes above are answered by ``fastpath.SmdpFastPath`` in front of FastAPI
with the routes' own functions; FastAPI serves the rest (and documents all of them).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from mobileplans import __version__
from mobileplans.apps.smdp.fastpath import SmdpFastPath
from mobileplans.apps.smdp.routes import device, es2plus
from mobileplans.apps.smdp.state import SmdpState
from mobileplans.db.driver_tx import driver_steps
from mobileplans.domains.smdp.callbacks import CallbackSender, Retry
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.kit.clock import Clock, SystemClock
from mobileplans.web.docs import serve_api_docs
from mobileplans.web.limits import BodyLimit
from mobileplans.web.metrics import MetricsMiddleware, metrics_endpoint
from mobileplans.web.problems import install_problem_handlers
from mobileplans.web.unavailable import install_unavailable_handlers

DESCRIPTION = """SM-DP+: SGP.22 v2.5 ES2+ (operator → SM-DP+) and the device download
interface (docs/activation.md). Business failures are HTTP 200 with
`header.functionExecutionStatus.status = "Failed"` and `statusCodeData`."""


def create_app(
    config: SmdpConfig,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
) -> SmdpApp:
    clock = clock or SystemClock()
    retry = Retry(
        first=config.callback_backoff_seconds,
        cap=config.callback_backoff_max_seconds,
        give_up=config.callback_give_up_seconds,
        lease=config.callback_lease_seconds,
    )
    sender = CallbackSender(
        driver_steps(sessions, patience=5.0),
        clock,
        retry=retry,
        timeout_seconds=config.callback_timeout_seconds,
        requester_identifier=config.requester_identifier,
    )
    state = SmdpState(config=config, sessions=sessions, clock=clock, callbacks=sender)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sender.start()  # also delivers what a previous run left in the outbox
        try:
            yield
        finally:
            await sender.aclose()

    api = FastAPI(
        title="mobileplans SM-DP+",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    api.state.smdp = state
    install_problem_handlers(api)
    install_unavailable_handlers(api)  # 503 + Retry-After while the database is away
    serve_api_docs(api)
    api.include_router(es2plus.router)
    api.include_router(device.router)
    api.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "smdpAddress": config.address}

    framework = MetricsMiddleware(api, app_name="smdp")
    app = BodyLimit(SmdpFastPath(framework, state))  # 413 above 1 MiB (D235)
    return SmdpApp(app, api, framework)


def openapi_document() -> dict[str, Any]:
    """The SM-DP+ OpenAPI document, built without a database."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from mobileplans.db.session import make_sessionmaker

    engine = create_async_engine("sqlite+aiosqlite://")
    return create_app(SmdpConfig(), make_sessionmaker(engine)).api.openapi()


class SmdpApp:
    """The outer ASGI callable (the fast path in front of ``framework``: FastAPI with
    its metrics middleware), with a handle on the FastAPI app and its state."""

    def __init__(self, app: ASGIApp, api: FastAPI, framework: ASGIApp) -> None:
        self.app = app
        self.api = api
        self.framework = framework

    @property
    def state(self) -> SmdpState:
        state: SmdpState = self.api.state.smdp
        return state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
