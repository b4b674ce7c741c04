"""Errors of our own APIs, rendered as RFC 9457 ``application/problem+json``.

Exception tree::

    AppError                 any failure our APIs report (status_code, title)
    ├── BadRequest (400)     malformed input; ``field`` names the parameter
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)       overlaps, duplicates
    ├── BadGateway (502)     an operator API answered badly
    ├── ServiceUnavailable (503) held back by an operator's Retry-After
    └── GatewayTimeout (504) an operator API did not answer in time
"""

from __future__ import annotations

from typing import Any, ClassVar

from mobileplans.kit.identifiers import IdentifierError

PROBLEM_BASE = "https://mobileplans.dev/problems/"


class AppError(Exception):
    status_code: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal-error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status_code = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None:
            extra["field"] = field
        super().__init__(detail, **extra)

    @classmethod
    def from_identifier(cls, exc: IdentifierError) -> BadRequest:
        return cls(str(exc), field=exc.field, rule=exc.rule)


class Unauthorized(AppError):
    status_code = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(AppError):
    status_code = 404
    title = "Not found"
    slug = "not-found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"
    slug = "conflict"


class BadGateway(AppError):
    """The operator's API answered something we cannot pass on (spec 2.3 status table)."""

    status_code = 502
    title = "Bad gateway"
    slug = "bad-gateway"


class ServiceUnavailable(AppError):
    """We hold back: the operator asked us to (429 ``Retry-After``); retry after ``retryAfter``."""

    status_code = 503
    title = "Service unavailable"
    slug = "service-unavailable"


class GatewayTimeout(AppError):
    status_code = 504
    title = "Gateway timeout"
    slug = "gateway-timeout"
