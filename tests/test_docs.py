"""Docs move with code: the committed OpenAPI documents are the ones the code generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mobileplans.cli.serve_cmd import PARTS, openapi_document

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("part", PARTS)
def test_committed_openapi_is_current(part: str) -> None:
    committed = json.loads((DOCS / "openapi" / f"{part}.json").read_text())
    assert committed == json.loads(json.dumps(openapi_document(part))), (
        f"regenerate with: mobileplans openapi {part} > docs/openapi/{part}.json"
    )
