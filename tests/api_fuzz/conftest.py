"""The served stack for the generated API tests (see stack.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobileplans.db.engine import is_sqlite
from tests.api_fuzz.stack import ApiStack, StackUrls


@pytest.fixture(scope="module")
def stack(template_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """One stack per module on one database (a copy of the SQLite template, or the
    PostgreSQL test database, emptied afterwards)."""
    url = template_database
    data_dir = tmp_path_factory.mktemp("api-fuzz")
    if is_sqlite(url):
        target = data_dir / "mobileplans.db"
        shutil.copyfile(Path(url.removeprefix("sqlite+aiosqlite:///")), target)
        url = f"sqlite+aiosqlite:///{target}"
    with ApiStack(url, data_dir / "data") as urls:
        yield urls
