"""Group commit of launch records: callers return only once their rows are written,
rows that gather during a write go in the next one, and a full queue holds callers back."""

from __future__ import annotations

import asyncio

import pytest

from mobileplans.domains.catalog.launch_log import LaunchLog, LaunchRow


class GatedStore:
    """Stores batches; each write waits until the test opens its gate."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gates: list[asyncio.Event] = []
        self.started = asyncio.Event()
        self.new_gate = asyncio.Event()
        self.fail_next = False

    async def write(self, rows: list[LaunchRow]) -> None:
        gate = asyncio.Event()
        self.gates.append(gate)
        self.started.set()
        self.new_gate.set()
        await gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database is locked")
        self.batches.append([row["transaction_id"] for row in rows])

    async def open_next(self) -> None:
        """Let the oldest write still waiting finish (waiting for one to start if none)."""
        while not (closed := [g for g in self.gates if not g.is_set()]):
            self.new_gate.clear()
            await self.new_gate.wait()
        closed[0].set()


def rows(*ids: str) -> list[LaunchRow]:
    return [{"transaction_id": i} for i in ids]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_caller_returns_after_its_rows_are_written_and_later_rows_are_batched() -> None:
    store = GatedStore()
    log = LaunchLog(store.write)
    first = asyncio.create_task(log.record(rows("a")))
    await store.started.wait()
    waiting = [asyncio.create_task(log.record(rows(name))) for name in ("b", "c", "d")]
    await settle()
    assert not first.done()
    assert store.batches == []
    await store.open_next()
    await first
    await settle()
    assert store.batches == [["a"]]
    assert not any(task.done() for task in waiting)  # b, c, d wait for the second write
    await store.open_next()
    await asyncio.gather(*waiting)
    assert store.batches == [["a"], ["b", "c", "d"]]
    assert (log.batches, log.rows) == (2, 4)


async def test_a_full_queue_holds_callers_back_instead_of_dropping() -> None:
    store = GatedStore()
    log = LaunchLog(store.write, max_pending=3)
    first = asyncio.create_task(log.record(rows("a")))
    await store.started.wait()
    queued = asyncio.create_task(log.record(rows("b1", "b2", "b3")))
    held = asyncio.create_task(log.record(rows("c")))
    await settle()
    await store.open_next()  # "a" written; "b…" go next, "c" waited and joins the batch after
    await first
    await settle()
    await store.open_next()
    await queued
    await settle()
    await store.open_next()
    await held
    assert store.batches == [["a"], ["b1", "b2", "b3"], ["c"]]


async def test_a_failed_write_fails_its_callers_and_the_next_write_goes_through() -> None:
    store = GatedStore()
    store.fail_next = True
    log = LaunchLog(store.write)
    failing = asyncio.create_task(log.record(rows("a")))
    await store.started.wait()
    await store.open_next()
    with pytest.raises(RuntimeError, match="locked"):
        await failing
    later = asyncio.create_task(log.record(rows("b")))
    await store.open_next()
    await later
    assert store.batches == [["b"]]


async def test_a_cancelled_caller_does_not_cancel_the_batch_of_others() -> None:
    store = GatedStore()
    log = LaunchLog(store.write)
    first = asyncio.create_task(log.record(rows("a")))
    await store.started.wait()
    gone = asyncio.create_task(log.record(rows("b")))
    stays = asyncio.create_task(log.record(rows("c")))
    await settle()
    gone.cancel()
    await store.open_next()
    await first
    await store.open_next()
    await stays
    assert store.batches == [["a"], ["b", "c"]]  # the cancelled caller's row is still kept


async def test_close_waits_for_every_row_added() -> None:
    store = GatedStore()
    log = LaunchLog(store.write)
    first = asyncio.create_task(log.record(rows("a")))
    await store.started.wait()
    later = asyncio.create_task(log.record(rows("b")))
    await settle()
    closing = asyncio.create_task(log.close())
    await settle()
    await store.open_next()
    await settle()
    assert not closing.done()  # "b" is not written yet
    await store.open_next()
    await closing
    await asyncio.gather(first, later)
    assert store.batches == [["a"], ["b"]]


async def test_two_writers_keep_two_batches_in_flight_and_no_more() -> None:
    store = GatedStore()
    log = LaunchLog(store.write, writers=2)
    first = asyncio.create_task(log.record(rows("a")))
    await store.started.wait()
    second = asyncio.create_task(log.record(rows("b")))
    await settle()
    assert len(store.gates) == 2  # "b" did not wait for "a"
    third = asyncio.create_task(log.record(rows("c")))
    await settle()
    assert len(store.gates) == 2  # "c" waits for a free writer
    await store.open_next()
    await first
    await settle()
    assert len(store.gates) == 3
    await store.open_next()
    await store.open_next()
    await asyncio.gather(second, third)
    assert sorted(map(tuple, store.batches)) == [("a",), ("b",), ("c",)]


async def test_a_record_right_after_the_writer_left_starts_a_new_one() -> None:
    """The writer's task is done before its done-callbacks run: a record added in that gap
    must still be written (it used to wait for the next request to come along)."""
    written: list[list[str]] = []

    async def write(batch: list[LaunchRow]) -> None:
        written.append([row["transaction_id"] for row in batch])

    log = LaunchLog(write)
    await log.record(rows("a"))
    await asyncio.wait_for(log.record(rows("b")), timeout=5)  # a hang would be a failure
    assert written == [["a"], ["b"]]
