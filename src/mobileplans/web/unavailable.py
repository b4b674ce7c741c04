"""503 + ``Retry-After`` while the database is away, on every app (issue #11, D225-D226).

Which errors count is decided in one place, :mod:`mobileplans.db.errors`. Here:

- :func:`install_unavailable_handlers` registers FastAPI exception handlers for the driver
  error families (SQLAlchemy ``DBAPIError``, ``OSError``, ``sqlite3.Error``, asyncpg's
  errors) and for :class:`~mobileplans.db.errors.DatabaseUnavailable`. A handler answers
  503 when :func:`~mobileplans.db.errors.unavailable` says so and re-raises otherwise, so
  a bug still ends as the 500 it was. The API apps answer ``application/problem+json``;
  the console passes its own ``render`` (its error page).
- The fast paths bypass FastAPI's handlers. The broker's and the operator's reach the
  database only through ``db.reads`` and the launch store, which raise
  ``DatabaseUnavailable`` (an ``AppError`` they already render); the SM-DP+'s calls
  :func:`answer_unavailable` where it would have answered 500.

Log: one warning line per process at most every ``LOG_EVERY_SECONDS``, counting the 503s
answered since the last line (an outage under load would otherwise log every request).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Final

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mobileplans.db.errors import DatabaseUnavailable, describe, unavailable
from mobileplans.web.problems import problem_response

log = logging.getLogger(__name__)

Render = Callable[[Request, DatabaseUnavailable], Response]
DRIVER_ERRORS: Final[tuple[type[Exception], ...]] = (
    DBAPIError,
    OSError,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
LOG_EVERY_SECONDS: Final = 5.0


class _OutageLog:
    """At most one line every ``LOG_EVERY_SECONDS``, with the count since the last."""

    def __init__(self) -> None:
        self.last = 0.0
        self.unlogged = 0

    def note(self, where: str, exc: BaseException) -> None:
        self.unlogged += 1
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_SECONDS:
            log.warning(
                "database unavailable (%s): answered 503 to %d request(s); %s",
                where, self.unlogged, describe(exc),
            )  # fmt: skip
            self.last, self.unlogged = now, 0


OUTAGES = _OutageLog()


def problem(request: Request, error: DatabaseUnavailable) -> Response:
    """The API apps' answer: 503 problem+json with ``Retry-After``."""
    return problem_response(error, request.url.path)


def install_unavailable_handlers(api: FastAPI, render: Render = problem) -> None:
    """Answer ``render(request, DatabaseUnavailable)`` for every database outage."""

    async def handle(request: Request, exc: Exception) -> Response:
        error = unavailable(exc)
        if error is None:
            raise exc  # not the database going away: the 500 it always was
        OUTAGES.note(request.url.path, exc)
        return render(request, error)

    api.add_exception_handler(DatabaseUnavailable, handle)
    for kind in DRIVER_ERRORS:
        api.add_exception_handler(kind, handle)


async def answer_unavailable(exc: Exception, scope: Scope, receive: Receive, send: Send) -> bool:
    """For a raw ASGI path (the SM-DP+ fast path) that bypasses FastAPI's handlers: when
    ``exc`` is a database outage, send the 503 problem and return True; else False
    (nothing sent). Call it only before the response has started."""
    error = unavailable(exc)
    if error is None:
        return False
    await problem_response(error, scope.get("path"))(scope, receive, send)
    OUTAGES.note(str(scope.get("path")), exc)
    return True
