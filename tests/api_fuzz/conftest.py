"""The served stack for the generated API tests (see stack.py)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobileplans.db.engine import is_sqlite
from tests.api_fuzz.stack import ApiStack, StackUrls


@contextlib.contextmanager
def served(template: str, data_dir: Path, *, tls: bool = False) -> Iterator[StackUrls]:
    """A stack on one database: a copy of the SQLite template, or the PostgreSQL test
    database (emptied afterwards)."""
    url = template
    if is_sqlite(url):
        target = data_dir / "mobileplans.db"
        shutil.copyfile(Path(url.removeprefix("sqlite+aiosqlite:///")), target)
        url = f"sqlite+aiosqlite:///{target}"
    with ApiStack(url, data_dir / "data", tls=tls) as urls:
        yield urls


@pytest.fixture(scope="module")
def stack(template_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """One plain-HTTP stack per module."""
    with served(template_database, tmp_path_factory.mktemp("api-fuzz")) as urls:
        yield urls


@pytest.fixture(scope="module")
def tls_stack(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackUrls]:
    """One stack per module as ``mobileplans up --tls`` serves it (mutual TLS on the MO API)."""
    with served(template_database, tmp_path_factory.mktemp("api-fuzz-tls"), tls=True) as urls:
        yield urls
