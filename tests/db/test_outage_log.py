"""A loop's log across a database outage (issue #11, D264): one warning line when it
starts (no traceback), one info line when it ends, nothing per failed round in between;
any other error keeps its traceback every time."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.outage_log import OutageLog
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import Clock, FrozenClock
from mobileplans.worker import loop
from mobileplans.worker.jobs import PeriodicJob
from mobileplans.worker.loop import Worker, WorkerOptions
from tests.db.test_db_outage import _busy_error, lock, serving, sqlite_file

__all__ = ["lock", "serving", "sqlite_file"]  # fixtures shared with test_db_outage

LOGGER = "mobileplans.test.outage"
START_AND_END = [(logging.WARNING, None), (logging.INFO, None)]  # (level, traceback)


def records(caplog: pytest.LogCaptureFixture, name: str = LOGGER) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


def test_an_outage_is_two_lines_however_many_rounds_fail(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    watch = OutageLog("test loop", logging.getLogger(LOGGER))
    busy = _busy_error(tmp_path / "busy.db")  # SQLITE_BUSY: "database is locked"
    for _ in range(5):
        watch.failed(busy)
    watch.succeeded()
    watch.succeeded()  # nothing more: no outage under way
    lines = records(caplog)
    assert [(r.levelno, r.exc_info) for r in lines] == [
        (logging.WARNING, None),
        (logging.INFO, None),
    ]
    assert lines[0].getMessage() == (
        "test loop: database unavailable (OperationalError: database is locked); "
        "retrying until it is back"
    )
    assert (
        lines[1]
        .getMessage()
        .startswith("test loop: database available again after 5 failed round(s) over ")
    )
    watch.failed(busy)  # a second outage is logged again
    assert [r.levelno for r in records(caplog)][2:] == [logging.WARNING]


def test_other_errors_keep_their_traceback_every_time(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    watch = OutageLog("test loop", logging.getLogger(LOGGER))
    watch.failed(_busy_error(tmp_path / "busy.db"))
    for _ in range(2):  # during the outage too
        try:
            raise ValueError("a bug")
        except ValueError as exc:
            watch.failed(exc, "broke")
    bugs = records(caplog)[1:]
    assert [r.levelno for r in bugs] == [logging.ERROR, logging.ERROR]
    assert all(r.getMessage() == "test loop broke" for r in bugs)
    assert all(r.exc_info and r.exc_info[0] is ValueError for r in bugs)
    assert watch.in_outage  # the bugs neither ended nor restarted the outage


async def test_a_periodic_job_on_a_locked_database_logs_start_and_end_only(
    serving: async_sessionmaker[AsyncSession],
    lock: sqlite3.Connection,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's job loop, its job writing through the request engine (0.3 s busy
    wait) while another connection holds the write lock for three rounds."""
    caplog.set_level(logging.INFO, logger=loop.log.name)
    monkeypatch.setattr(loop, "failure_pause", lambda interval, failures: 0.0)  # no backoff
    stop, rounds = asyncio.Event(), []

    async def touch(sessions: async_sessionmaker[AsyncSession], _: Clock) -> None:
        rounds.append(len(rounds) + 1)
        if len(rounds) == 4:
            lock.execute("ROLLBACK")  # the outage ends before the fourth round
        if len(rounds) == 5:
            stop.set()
        async with session_scope(sessions) as session:
            await session.execute(text("UPDATE config_state SET version = version"))

    lock.execute("BEGIN IMMEDIATE")
    worker = Worker(serving, clock, worker_id="w-outage", options=WorkerOptions())
    await worker._job_loop(stop, PeriodicJob("touch", 0.0, touch))
    lines = [r for r in records(caplog, loop.log.name) if "touch" in r.getMessage()]
    assert len(rounds) == 5
    assert [(r.levelno, r.exc_info) for r in lines] == [
        (logging.WARNING, None),
        (logging.INFO, None),
    ]
    assert "periodic job touch: database unavailable" in lines[0].getMessage()
    assert "after 3 failed round(s)" in lines[1].getMessage()
