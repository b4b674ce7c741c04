"""web.openapi: the corrections made to a generated OpenAPI document (D215)."""

from __future__ import annotations

from typing import Any

from mobileplans.web.openapi import PROBLEM_JSON, PROBLEM_REF, corrected


def _document() -> dict[str, Any]:
    body = {
        "type": "object",
        "properties": {"severity": {"$ref": "#/$defs/Severity"}},
        "$defs": {"Severity": {"enum": ["high", "any"], "type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "paths": {
            "/things/{thing_id}": {
                "put": {
                    "parameters": [{"name": "thing_id", "in": "path", "required": True}],
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {
                        "200": {"description": "OK"},
                        "409": {"description": "Conflict", "content": {"application/json": {}}},
                        "422": {"description": "Validation Error"},
                    },
                }
            },
            "/raw": {"post": {"responses": {"200": {"description": "OK"}}}},
        },
        "components": {"schemas": {"HTTPValidationError": {}, "ValidationError": {}}},
    }


def test_defs_move_to_components_and_references_follow() -> None:
    document = corrected(_document())
    body = document["paths"]["/things/{thing_id}"]["put"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert "$defs" not in schema
    assert schema["properties"]["severity"] == {"$ref": "#/components/schemas/Severity"}
    assert document["components"]["schemas"]["Severity"]["enum"] == ["high", "any"]


def test_validation_is_400_and_path_parameters_404_with_the_problem_schema() -> None:
    document = corrected(_document())
    responses = document["paths"]["/things/{thing_id}"]["put"]["responses"]
    assert set(responses) == {"200", "400", "404", "409"}
    for status in ("400", "404", "409"):
        assert responses[status]["content"] == {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "Problem" in schemas


def test_an_operation_fastapi_does_not_validate_gets_no_400() -> None:
    """The SM-DP+'s ES2+ routes read the raw body: they answer 200 ``Failed``, never 400."""
    document = corrected(_document())
    assert set(document["paths"]["/raw"]["post"]["responses"]) == {"200"}
