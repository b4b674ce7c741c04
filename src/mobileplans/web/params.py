"""Path parameters shared by the apps' routes (issue #11, decision D214)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator

MAX_ROW_ID = 2**31 - 1
"""The largest row id the API names: those tables' ids are ``INTEGER`` columns, 32-bit on
PostgreSQL (asyncpg refuses a larger number: "value out of int32 range")."""

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id: 1 to 2147483647")]
"""Every ``{…_id}`` path parameter that names a row by its integer id. Out of range (0,
negative, or beyond the column, which the drivers cannot bind: it answered 500) is
malformed input: 400 naming the parameter, like any other bad parameter (D214)."""


def _iso_only(value: object) -> object:
    """Pydantic reads a bare number as Unix time (``?to=0.5`` was 1970-01-01T00:00:00.5Z);
    the documentation says ISO 8601 (``format: date-time``), so a number is refused."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date-time (e.g. 2026-11-02T09:00:00Z)")
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
"""A date-time query parameter: ISO 8601 only, as documented (``format: date-time``)."""
