"""RFC 9457 ``application/problem+json`` for our own APIs (architecture decision 8)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from mobileplans.errors import PROBLEM_BASE, AppError, BadRequest
from mobileplans.kit.identifiers import IdentifierError

PROBLEM_JSON = "application/problem+json"


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


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
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
        headers=getattr(exc, "headers", None),
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(IdentifierError, _identifier_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)


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


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Malformed input; `field` names the parameter",
        "content": {PROBLEM_JSON: {}},
    },
    404: {"description": "Not found", "content": {PROBLEM_JSON: {}}},
}
