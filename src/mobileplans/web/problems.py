"""RFC 9457 ``application/problem+json`` for our own APIs (architecture decision 8)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from mobileplans.errors import PROBLEM_BASE, AppError, BadRequest
from mobileplans.kit.identifiers import IdentifierError
from mobileplans.web import openapi
from mobileplans.web.openapi import PROBLEM_REF, document_problems

PROBLEM_JSON = openapi.PROBLEM_JSON


def problem_response(error: AppError, instance: str | None = None) -> Response:
    headers = (
        {"Retry-After": str(error.extra["retryAfter"])} if "retryAfter" in error.extra else None
    )
    return Response(
        orjson.dumps(error.problem(instance)),
        status_code=error.status_code,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_field(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":  # loc is ("body", <character offset>)
        return "body"
    loc = [
        str(part)
        for part in error.get("loc", ())
        if part not in ("query", "path", "body", "header")
    ]
    return ".".join(loc) or "body"


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(exc, request.url.path)


async def _identifier_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdentifierError)
    return problem_response(BadRequest.from_identifier(exc), request.url.path)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    field = _validation_field(first)
    problem = BadRequest(
        f"{field}: {first.get('msg', 'invalid')}",
        field=field,
        errors=[{"field": _validation_field(e), "message": e.get("msg", "")} for e in errors],
    )
    return problem_response(problem, request.url.path)


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names only the methods
    of the first route whose path matched (a path served by a GET and a PUT route would
    answer ``Allow: GET``); RFC 9110 15.5.6 wants them all. Asked of each route through
    ``matches`` only (FastAPI nests included routers)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    body = {
        "type": PROBLEM_BASE + "http-" + str(exc.status_code),
        "title": str(exc.detail),
        "status": exc.status_code,
        "instance": request.url.path,
    }
    return Response(
        orjson.dumps(body),
        status_code=exc.status_code,
        media_type=PROBLEM_JSON,
        headers=headers or None,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(IdentifierError, _identifier_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    document_problems(app)


M = TypeVar("M", bound=BaseModel)


def validation_problem(model: type[M], data: Any, **context: Any) -> M:
    """Validate ``data`` with ``model`` or raise a 400 naming the first bad field."""
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as exc:
        errors = exc.errors()
        field = ".".join(str(p) for p in errors[0]["loc"]) or "body"
        raise BadRequest(
            f"{field}: {errors[0]['msg']}",
            field=field,
            errors=[
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                for e in errors
            ],
        ) from exc


_PROBLEM_DESCRIPTIONS = {
    400: "Malformed input; `field` names the parameter",
    401: "No token, or a token that is not valid",
    403: "The caller may not do this (an operator's credential acting beyond its operator)",
    404: "Not found",
    409: "Conflicts with the current state (a step out of order, a duplicate)",
    429: "Too many requests; `Retry-After` says when to come back",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem+json answers with these statuses."""
    return {
        status: {
            "description": _PROBLEM_DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


PROBLEM_RESPONSES = problem_responses(400, 404)
"""Every API: bad input, unknown resource."""
OPS_PROBLEM_RESPONSES = problem_responses(400, 401, 403, 404, 409, 429)
"""The operations API (admin token or an API credential; state machines)."""
