"""scripts/check_sql.py: SQL outside repositories and sessions opened by a domain fail the
test command, naming file and line; comments, strings and repositories do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_sql.py"

CLEAN_SERVICE = '''
"""A service: select(...) in a docstring or a comment is not SQL."""
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.transactions import Transactions
from mobileplans.domains.shop import repository


async def price(session: AsyncSession, sku: str) -> int:
    # session.execute(select(Price)) would be wrong here
    note = "text('SELECT 1')"
    cache = {"a": 1}
    cache.get("a", 0)
    return await repository.price(session, sku) + len(note)


async def reprice(tx: Transactions, sku: str) -> int:
    async with tx.step() as session:
        return await price(session, sku)
'''

REPOSITORY = """
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession


async def price(session: AsyncSession, sku: str) -> int:
    await session.execute(text("SELECT 1"))
    await session.execute(update(Price).values(x=1))
    return await session.scalar(select(Price.amount).where(Price.sku == sku))
"""

DIRTY_SERVICE = """
import sqlalchemy as sa
from sqlalchemy import delete as remove, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from mobileplans.db.session import session_scope


async def leak(session, factory: async_sessionmaker) -> None:
    await session.execute(select(Price))
    await session.execute(remove(Price))
    await session.execute(insert(Price).values(sku="x"))
    rows = await session.scalars(sa.text("SELECT 1"))
    row = await session.get(Price, 1)
    async with session_scope(factory) as own_session:
        await own_session.commit()
        await own_session.execute("ROLLBACK")
"""

APP_ROUTE = """
from sqlalchemy import select


async def route(session, connection, conn) -> None:
    await session.scalar(select(Price))
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("INSERT INTO prices VALUES (1)")
    connection.execute("COMMIT")
    await conn.fetchrow("SELECT 1")
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "mobileplans"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "db").mkdir(exist_ok=True)
    (root / "db" / "session.py").write_text(REPOSITORY + "\nasync_sessionmaker = None\n")
    return root


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, check=False
    )


def test_clean_code_and_repositories_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "domains/shop/service.py": CLEAN_SERVICE,
            "domains/shop/repository.py": REPOSITORY,
        },
    )
    result = _run(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_sql_and_own_transactions_in_a_domain_are_named_by_file_and_line(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"domains/shop/service.py": DIRTY_SERVICE})
    result = _run(root)
    assert result.returncode == 1
    path = root / "domains" / "shop" / "service.py"
    lines = result.stdout.splitlines()
    found = {(line.split(":")[1], line.split(": ", 1)[1]) for line in lines}
    assert all(line.startswith(f"{path}:") for line in lines)
    expected = {
        ("5", "a domain imports async_sessionmaker (only the edge opens sessions)"),
        ("7", "a domain imports mobileplans.db.session (only the edge opens sessions)"),
        ("7", "a domain imports session_scope (only the edge opens sessions)"),
        ("10", "a domain uses async_sessionmaker (take a session or a Transactions instead)"),
        ("11", "a statement outside a repository: session.execute(...)"),
        ("11", "SQL outside a repository: select(...)"),
        ("12", "SQL outside a repository: delete(...)"),
        ("13", "SQL outside a repository: insert(...)"),
        ("14", "a statement outside a repository: session.scalars(...)"),
        ("14", "SQL outside a repository: sa.text(...)"),
        ("15", "a row read outside a repository: session.get(...)"),
        ("16", "a domain uses session_scope (take a session or a Transactions instead)"),
        ("17", "a domain ends a transaction: own_session.commit() (the edge does)"),
        ("18", "a statement outside a repository: own_session.execute(...)"),
    }
    assert expected <= found, "\n".join(lines)
    assert "finding(s)" in result.stderr


def test_sql_in_an_app_is_flagged_but_not_its_connection_control(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"apps/shop/routes.py": APP_ROUTE})
    result = _run(root)
    assert result.returncode == 1
    path = root / "apps" / "shop" / "routes.py"
    assert result.stdout.splitlines() == [
        f"{path}:6: a statement outside a repository: session.scalar(...)",
        f"{path}:6: SQL outside a repository: select(...)",
        f"{path}:9: a statement outside a repository: connection.execute(...)",
        f"{path}:11: a statement outside a repository: conn.fetchrow(...)",
    ]


def test_the_project_itself_passes() -> None:
    result = _run(ROOT / "src" / "mobileplans")
    assert result.returncode == 0, result.stdout + result.stderr
