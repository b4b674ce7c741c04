"""The database going away (issue #11): which errors are an outage (``db.errors``), and a
SQLite database locked past the busy wait answering 503 + ``Retry-After`` instead of 500
on the broker (a FastAPI write and the providers fast path), the SM-DP+ fast path and the
console; every one serves again once the lock is gone. PostgreSQL restarts:
``test_db_outage_pg.py``."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import create_app as create_broker
from mobileplans.apps.console.app import create_app as create_console
from mobileplans.apps.smdp.app import create_app as create_smdp
from mobileplans.config import Settings
from mobileplans.db import sqlite_loop
from mobileplans.db.engine import make_engine
from mobileplans.db.errors import RETRY_AFTER_SECONDS, DatabaseUnavailable, is_unavailable
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.kit.clock import FrozenClock
from mobileplans.web.problems import PROBLEM_JSON
from tests.domains.smdp.support import CONFIG, EID_A, PREPAID, PROTOCOL, fci, seed
from tests.support import operator_data, pg_url

TOKEN = "outage-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def _raise_in(module: str, exc: BaseException) -> BaseException:
    """``exc`` raised by a function of ``module`` (its frame names that module)."""
    namespace: dict[str, Any] = {"__name__": module, "exc": exc}
    exec("def fail():\n    raise exc\n", namespace)
    try:
        namespace["fail"]()
    except BaseException as raised:
        return raised
    raise AssertionError("unreachable")


def _busy_error(path: Path) -> sqlite3.OperationalError:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.execute("ROLLBACK")
    raise AssertionError("the second writer was not refused")


class TestWhatIsAnOutage:
    def test_driver_errors_that_mean_the_database_is_away(self, tmp_path: Path) -> None:
        refused = ConnectionRefusedError(111, "Connect call failed")
        outages: list[BaseException] = [
            _raise_in("asyncpg.connect_utils", refused),  # connecting, inside the driver
            asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
            asyncpg.exceptions.AdminShutdownError("terminating connection"),
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
            asyncpg.exceptions.TooManyConnectionsError("too many clients"),
            asyncpg.InterfaceError("connection is closed"),
            DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True),
            _busy_error(tmp_path / "busy.db"),
            DatabaseUnavailable(),
        ]
        for exc in outages:
            assert is_unavailable(exc), exc

    def test_wrapped_outages_are_found_through_orig_and_cause(self) -> None:
        inner = asyncpg.exceptions.AdminShutdownError("terminating connection")
        adapted = RuntimeError("adapted")
        adapted.__cause__ = inner
        wrapped = DBAPIError("SELECT 1", None, adapted)  # not marked invalidated
        assert is_unavailable(wrapped)

    def test_bugs_and_business_errors_stay_what_they_are(self) -> None:
        others: list[BaseException] = [
            ConnectionRefusedError(111, "refused by some other service"),  # not the driver's
            FileNotFoundError("template.html"),
            sqlite3.OperationalError("no such table: operators"),
            asyncpg.exceptions.UniqueViolationError("duplicate key"),
            asyncpg.exceptions.QueryCanceledError("statement timeout"),  # 57014, not 57P0x
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
            IntegrityError("INSERT", None, Exception("duplicate key")),
            ValueError("bad"),
        ]
        for exc in others:
            assert not is_unavailable(exc), exc


# A SQLite file locked by another writer (BEGIN IMMEDIATE held past the busy wait)


@pytest.fixture
def sqlite_file(database_url: str) -> Path:
    if pg_url() is not None:
        pytest.skip("SQLite only (the PostgreSQL outage is test_db_outage_pg.py)")
    return Path(database_url.removeprefix("sqlite+aiosqlite:///"))


@pytest.fixture
async def serving(
    sqlite_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The request-serving engine (statements on the loop, awaited lock waits), with a
    busy wait of 0.3 s instead of 10 s."""
    monkeypatch.setattr(sqlite_loop, "LOCK_WAIT_SECONDS", 0.3)
    engine = make_engine(database_url, sqlite_on_loop=True)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def lock(sqlite_file: Path) -> Iterator[sqlite3.Connection]:
    """Another connection that will hold the write lock (``BEGIN IMMEDIATE``)."""
    holder = sqlite3.connect(sqlite_file, isolation_level=None, check_same_thread=False)
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


def assert_unavailable(response: httpx.Response, content_type: str = PROBLEM_JSON) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.headers["content-type"].startswith(content_type)
    if content_type == PROBLEM_JSON:
        body = response.json()
        assert body["status"] == 503
        assert body["type"].endswith("/database-unavailable")
        assert body["retryAfter"] == RETRY_AFTER_SECONDS


def client_of(app: Any, base: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base)


async def test_broker_answers_503_while_locked_and_serves_after(
    serving: async_sessionmaker[AsyncSession],
    lock: sqlite3.Connection,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    broker = create_broker(settings, serving, admin_token=TOKEN, clock=clock)
    await broker.state.refresh()
    contoso = operator_data()
    async with client_of(broker, "http://broker") as http:
        created = await http.put("/v1/admin/operators/contoso", json=contoso, headers=ADMIN)
        assert created.status_code == 201, created.text
        await broker.state.refresh()
        fabrikam = operator_data("fabrikam", brand="Fabrikam", prefix="8944999")

        lock.execute("BEGIN IMMEDIATE")
        write = await http.put("/v1/admin/operators/fabrikam", json=fabrikam, headers=ADMIN)
        assert_unavailable(write)  # FastAPI route: its transaction met the lock
        providers = await http.get("/v1/providers", params={"location": "US"})
        assert_unavailable(providers)  # fast path: the launch records could not be stored
        sim = await http.get("/v1/sims/8901999000000000017")
        assert sim.status_code != 503  # the in-memory index needs no database
        lock.execute("ROLLBACK")

        again = await http.put("/v1/admin/operators/fabrikam", json=fabrikam, headers=ADMIN)
        assert again.status_code == 201, again.text
        served = await http.get("/v1/providers", params={"location": "US"})
        assert served.status_code == 200
        assert {p["moId"] for p in served.json()["providers"]} == {"contoso", "fabrikam"}


async def test_a_bug_is_still_a_500(
    serving: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    broker = create_broker(settings, serving, admin_token=TOKEN, clock=clock)

    async def broken() -> None:
        async with session_scope(serving) as session:
            await session.execute(text("SELECT * FROM no_such_table"))

    broker.api.add_api_route("/broken", broken)
    async with client_of(broker, "http://broker") as http:
        response = await http.get("/broken")
    assert response.status_code == 500
    assert "retry-after" not in response.headers


async def test_smdp_fast_path_answers_503_while_locked(
    serving: async_sessionmaker[AsyncSession], lock: sqlite3.Connection, clock: FrozenClock
) -> None:
    await seed(serving, clock)
    smdp = create_smdp(CONFIG, serving, clock=clock)
    headers = {"X-Admin-Protocol": PROTOCOL, "Content-Type": "application/json"}

    def order() -> bytes:
        header = {"functionRequesterIdentifier": "contoso-bss", "functionCallIdentifier": fci()}
        return orjson.dumps({"header": header, "profileType": PREPAID, "eid": EID_A})

    try:
        async with client_of(smdp, "http://smdp") as http:
            lock.execute("BEGIN IMMEDIATE")
            locked = await http.post(
                "/gsma/rsp2/es2plus/downloadOrder", content=order(), headers=headers
            )
            assert_unavailable(locked)
            lock.execute("ROLLBACK")
            placed = await http.post(
                "/gsma/rsp2/es2plus/downloadOrder", content=order(), headers=headers
            )
            assert placed.status_code == 200
            outcome = placed.json()["header"]["functionExecutionStatus"]["status"]
            assert outcome == "Executed-Success"
    finally:
        await smdp.state.callbacks.aclose()


async def test_console_shows_its_error_page_with_503(
    serving: async_sessionmaker[AsyncSession],
    lock: sqlite3.Connection,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    console = create_console(
        settings, serving, admin_token=TOKEN, session_secret="s" * 32, clock=clock
    )

    async def write() -> dict[str, str]:  # stands for any page whose transaction writes
        async with session_scope(serving) as session:
            await session.execute(text("UPDATE config_state SET version = version"))
        return {"status": "written"}

    console.api.add_api_route("/write", write)
    async with client_of(console, "http://console") as http:
        lock.execute("BEGIN IMMEDIATE")
        page = await http.get("/write")
        assert_unavailable(page, "text/html")
        assert "Service unavailable" in page.text
        lock.execute("ROLLBACK")
        assert (await http.get("/write")).status_code == 200
