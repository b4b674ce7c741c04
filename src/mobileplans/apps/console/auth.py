"""Sign-in and sign-out (issue #10): the platform admin token or an operator-scoped
credential (``mobileplans credentials create --operator``) is exchanged for a signed
session cookie; every form carries a CSRF token; sign-in attempts are rate-limited per IP
and failures audited."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mobileplans.apps.console import session as console_session
from mobileplans.apps.console.session import COOKIE_NAME, CSRF_COOKIE, ConsoleSession
from mobileplans.apps.console.state import ConsoleState, state_of
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.domains.access.service import PLATFORM_ADMIN, Party
from mobileplans.domains.audit import service as audit_service

router = APIRouter()
State = Annotated[ConsoleState, Depends(state_of)]


class SignInRequired(Exception):
    """No valid session: the sign-in page (saying so when the session expired)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class BadCsrf(Exception):
    """A form without the session's CSRF token: 403, nothing done."""


def current(request: Request) -> ConsoleSession:
    state = state_of(request)
    found = console_session.read(
        request.cookies.get(COOKIE_NAME), state.session_secret, state.clock.now()
    )
    if found.session is None:
        raise SignInRequired(expired=found.expired)
    return found.session


Session = Annotated[ConsoleSession, Depends(current)]


def check_csrf(given: str | None, expected: str | None) -> None:
    if not console_session.same(given, expected):
        raise BadCsrf


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signin_page(
    request: Request, state: ConsoleState, *, message: str | None, status: int = 200
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = state.templates.TemplateResponse(
        request,
        "signin.html",
        {"csrf": token, "message": message, "session": None},
        status_code=status,
    )
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
        path="/signin",
    )
    return response


@router.get("/signin")
async def signin_form(request: Request, state: State, expired: int = 0) -> Response:
    message = "Your session expired: sign in again." if expired else None
    return signin_page(request, state, message=message)


async def _party(state: ConsoleState, token: str) -> Party | None:
    if state.admin_token and hmac.compare_digest(token.encode(), state.admin_token.encode()):
        return PLATFORM_ADMIN
    async with session_scope(state.sessions) as session:
        return await access_service.authenticate(session, token)


async def _audit_failure(state: ConsoleState, ip: str, reason: str) -> None:
    async with session_scope(state.sessions) as session:
        audit_service.record(
            session,
            actor=f"console:{ip}",
            action="console.signin_failed",
            entity_type="console",
            entity_id=ip,
            before=None,
            after={"reason": reason},
            now=state.clock.now(),
        )


@router.post("/signin")
async def signin(
    request: Request,
    state: State,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, request.cookies.get(CSRF_COOKIE))
    ip = client_ip(request)
    now = state.clock.now()
    wait = state.limiter.take(ip, now.timestamp())
    if wait is not None:
        await _audit_failure(state, ip, "rate limited")
        response = signin_page(
            request, state, message=f"Too many attempts: try again in {wait} s.", status=429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    party = await _party(state, token.strip()) if token.strip() else None
    if party is None:
        await _audit_failure(state, ip, "unknown credential")
        return signin_page(request, state, message="That credential is not valid.", status=401)
    _, cookie = console_session.issue(party, state.session_secret, now)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=console_session.MAX_AGE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def signout(
    request: Request, state: State, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    found = console_session.read(
        request.cookies.get(COOKIE_NAME), state.session_secret, state.clock.now()
    )
    if found.session is not None:
        check_csrf(csrf, found.session.csrf)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
