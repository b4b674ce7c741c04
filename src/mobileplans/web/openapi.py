"""The OpenAPI document an app serves says what the app answers (issue #11, decision D215).

FastAPI's generated document differs from what our apps do in three ways, which
:func:`document_problems` corrects after generation, for every app that installs the
problem handlers (``web.problems.install_problem_handlers``):

- a request that fails validation answers **400** ``application/problem+json`` (our
  handler), never FastAPI's 422: the 422 entries and their ``HTTPValidationError`` schemas
  go, and every operation FastAPI validates documents 400 with the ``Problem`` schema;
- an operation with a path parameter names a resource that may not exist: it documents
  404 (an unknown operator under ``/{operator_id}/…``, an unknown id, …);
- request bodies built with ``Model.model_json_schema()`` carry their own ``$defs``, whose
  ``#/$defs/X`` references do not resolve from the document's root: the definitions move
  to ``components/schemas`` and the references follow them.

Every problem response (4xx, 5xx) documented without a schema gets the ``Problem`` schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `field` names the bad parameter on a 400",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
    },
}
_DESCRIPTIONS = {
    400: "Malformed input; `field` names the parameter",
    404: "Not found",
}
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def document_problems(api: FastAPI) -> None:
    """Make ``api.openapi()`` return the corrected document (built once, then cached)."""
    generate: Callable[[], dict[str, Any]] = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = corrected(generate())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def corrected(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    hoisted: dict[str, Any] = {}
    document["paths"] = _hoist_defs(document.get("paths", {}), hoisted)
    document["components"]["schemas"] = _hoist_defs(schemas, hoisted)
    for name, schema in hoisted.items():
        document["components"]["schemas"].setdefault(name, schema)
    schemas = document["components"]["schemas"]
    for name in _VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
    for path_item in document["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                _document_operation(operation)
    return document


def _document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    parameters = operation.get("parameters", [])
    if responses.pop("422", None) is not None:  # where FastAPI validates the request
        responses.setdefault("400", {"description": _DESCRIPTIONS[400]})
    if any(p.get("in") == "path" for p in parameters):
        responses.setdefault("404", {"description": _DESCRIPTIONS[404]})
    for status, response in responses.items():
        if status[0] in "45":
            content = response.setdefault("content", {})
            if not content.get("application/json", {}).get("schema"):
                content.pop("application/json", None)  # FastAPI's default: not what we send
            problem = content.setdefault(PROBLEM_JSON, {})
            problem.setdefault("schema", {"$ref": PROBLEM_REF})


def _hoist_defs(node: Any, hoisted: dict[str, Any]) -> Any:
    """``node`` with every nested ``$defs`` moved into ``hoisted`` and ``#/$defs/X``
    references rewritten to ``#/components/schemas/X``."""
    if isinstance(node, list):
        return [_hoist_defs(item, hoisted) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs" and isinstance(value, dict):
            for name, schema in value.items():
                hoisted.setdefault(name, _hoist_defs(schema, hoisted))
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            result[key] = "#/components/schemas/" + value.removeprefix("#/$defs/")
            continue
        result[key] = _hoist_defs(value, hoisted)
    return result
