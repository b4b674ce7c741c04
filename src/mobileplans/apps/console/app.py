"""The console ASGI app (issue #10): server-rendered pages (Jinja2), htmx for the
overview's polling, SVG charts; every response under a strict Content-Security-Policy."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from mobileplans import __version__
from mobileplans.apps.console import auth, bugs, incidents, maintenance, operators, pages
from mobileplans.apps.console import session as console_session
from mobileplans.apps.console.security import SecurityHeaders
from mobileplans.apps.console.state import HERE, ConsoleState
from mobileplans.config import Settings
from mobileplans.errors import AppError
from mobileplans.kit.clock import Clock, SystemClock
from mobileplans.web.limits import BodyLimit
from mobileplans.web.metrics import MetricsMiddleware, metrics_endpoint
from mobileplans.web.unavailable import install_unavailable_handlers

FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#2563eb"/>'
    '<path d="M3 11h2V7H3zm4 0h2V4H7zm4 0h2V8h-2z" fill="#fff"/></svg>'
)


def create_app(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    admin_token: str,
    session_secret: str,
    clock: Clock | None = None,
    secure_cookies: bool = False,
) -> ConsoleApp:
    state = ConsoleState(
        settings=settings,
        sessions=sessions,
        clock=clock or SystemClock(),
        admin_token=admin_token,
        session_secret=session_secret,
        secure_cookies=secure_cookies,
    )
    api = FastAPI(
        title="mobileplans console",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    api.state.console = state
    api.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    api.include_router(auth.router)
    api.include_router(pages.router)
    api.include_router(operators.router)
    api.include_router(incidents.router)
    api.include_router(maintenance.router)
    api.include_router(bugs.router)
    api.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    _install_handlers(api, state)

    @api.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml")

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app: ASGIApp = SecurityHeaders(BodyLimit(MetricsMiddleware(api, app_name="console")))
    return ConsoleApp(app, api)


def error_page(
    request: Request, state: ConsoleState, status: int, title: str, detail: str
) -> Response:
    found = console_session.read(
        request.cookies.get(console_session.COOKIE_NAME), state.session_secret, state.clock.now()
    )  # the header shows who is signed in, as on every other page
    return state.templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "session": found.session},
        status_code=status,
    )


def _install_handlers(api: FastAPI, state: ConsoleState) -> None:
    @api.exception_handler(auth.SignInRequired)
    async def sign_in(request: Request, exc: auth.SignInRequired) -> Response:
        target = "/signin?expired=1" if exc.expired else "/signin"
        if request.headers.get("hx-request"):  # htmx: leave the page, not swap a form in
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @api.exception_handler(auth.BadCsrf)
    async def bad_csrf(request: Request, _exc: auth.BadCsrf) -> Response:
        detail = "The form was stale or not sent by this console: reload the page and retry."
        return error_page(request, state, 403, "Form refused", detail)

    def unavailable(request: Request, exc: AppError) -> Response:  # the database is away
        response = error_page(request, state, 503, exc.title, exc.detail)
        response.headers["Retry-After"] = str(exc.extra["retryAfter"])
        return response

    install_unavailable_handlers(api, unavailable)

    @api.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return error_page(request, state, exc.status_code, exc.title, exc.detail)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(request, state, 404, "Page not found", "Nothing is at this address.")
        return error_page(request, state, exc.status_code, "Request refused", str(exc.detail))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, _exc: RequestValidationError) -> Response:
        if request.method == "GET":
            return error_page(request, state, 404, "Page not found", "Nothing is at this address.")
        return error_page(request, state, 400, "Bad request", "The form could not be read.")


class ConsoleApp:
    """The outer ASGI callable, keeping a handle on the FastAPI app for tests and tools."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api

    @property
    def state(self) -> ConsoleState:
        state: ConsoleState = self.api.state.console
        return state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
