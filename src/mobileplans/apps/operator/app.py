"""The operator ASGI app: one process hosts any number of operators under ``/{operatorId}/``.

- ``/{op}/portal/...``  MO Direct portal (spec 2.1, 2.2, 5.11)
- ``/{op}/api/v1/...``  MO API: GetBalance, GetOffers, GetNotifications (spec 2.3, 2.6, 2.7)
- ``/{op}/network/...``  the core network stand-in: data use, walled-garden state
- ``/{op}/gsma/rsp2/es2plus/handleDownloadProgressInfo``  ES2+ callback from the SM-DP+
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from mobileplans import __version__
from mobileplans.apps.operator import assets, jobs
from mobileplans.apps.operator.fastpath import MoApiFastPath
from mobileplans.apps.operator.portal_path import PortalPath
from mobileplans.apps.operator.routes import es2plus, moapi, network, portal
from mobileplans.apps.operator.routes.portal import unavailable as portal_unavailable
from mobileplans.apps.operator.state import OperatorState
from mobileplans.config import OperatorAppConfig
from mobileplans.kit.clock import Clock, SystemClock
from mobileplans.web.docs import serve_api_docs
from mobileplans.web.limits import BodyLimit
from mobileplans.web.metrics import MetricsMiddleware, metrics_endpoint
from mobileplans.web.problems import install_problem_handlers
from mobileplans.web.unavailable import install_unavailable_handlers


def create_app(
    config: OperatorAppConfig,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
) -> OperatorApp:
    state = OperatorState(config=config, sessions=sessions, clock=clock or SystemClock())

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        releaser = asyncio.create_task(jobs.release_forever(state))  # delayed eSIM profiles
        try:
            yield
        finally:
            releaser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await releaser
            await state.es2plus.close()

    api = FastAPI(
        title="mobileplans reference operator",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    api.state.operator = state
    install_problem_handlers(api)
    # 503 + Retry-After while the database is away: the portal's error page on its pages
    install_unavailable_handlers(api, portal_unavailable.render)
    serve_api_docs(api)
    for module in (moapi, network, assets, es2plus, portal):
        api.include_router(module.router)
    api.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "operators": [s.operator_id for s in config.sites]}

    # The per-operator pages (portal steps, ES2+ callback, assets) skip FastAPI's routing
    # and dependency resolution (D280); everything else goes to FastAPI.
    framework = MetricsMiddleware(PortalPath(api), app_name="operator")
    # 413 above 1 MiB (D235) on everything that reads a body: the fast path answers only
    # GETs and never reads one, so the limit sits behind it, off the GetBalance path.
    return OperatorApp(BodyLimit(framework), state, api, framework)


class OperatorApp(MoApiFastPath):
    """The outer ASGI callable: the MO API fast path in front of FastAPI (its own
    ``__call__``, so a request meets no wrapper before it), with a handle on the FastAPI
    app, its state, and ``framework``: the same app without the fast path (the tests
    compare the two)."""

    def __init__(
        self, behind: ASGIApp, state: OperatorState, api: FastAPI, framework: ASGIApp
    ) -> None:
        super().__init__(behind, state)
        self.api = api
        self.framework = framework

    @property
    def app(self) -> MoApiFastPath:
        """The outer ASGI callable, the fast path: this object itself."""
        return self
