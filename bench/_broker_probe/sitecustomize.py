"""``bench/balances.py --broker-probe``: counts, inside the broker it starts, what can stop
its event loop or cost it per request, independent of how busy the machine is.

Put on the broker's ``PYTHONPATH`` only (Python imports ``sitecustomize`` at start-up);
active when ``BENCH_PROBE_OUT`` names a file, written when the process exits:

- every cyclic garbage collection after start-up (once the heap is frozen, D98): its
  generation and the CPU time it took (``time.thread_time``: a pause of the loop thread,
  whatever the machine's load);
- upstream connections: calls through the aiohttp connector and connections it opened;
- SQL statements the broker ran (SQLAlchemy's ``before_cursor_execute``) and COPYs;
- each flush of the GetBalance call records: the loop thread's CPU and wall time across it;
- the event loop's lateness: a 1 ms timer, how late each of its wake-ups was.
"""

from __future__ import annotations

import os

if os.environ.get("BENCH_PROBE_OUT"):
    import atexit
    import gc
    import json
    import time
    from collections import Counter
    from typing import Any

    import aiohttp.connector
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _OUT = os.environ["BENCH_PROBE_OUT"]
    _pauses: list[tuple[int, float]] = []
    _counts: Counter[str] = Counter()
    _statements: Counter[str] = Counter()
    _started = [0.0]
    _frozen = [False]
    _collected_objects = [0]

    def _collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _started[0] = time.thread_time()
            return
        spent = (time.thread_time() - _started[0]) * 1e3
        if _frozen[0]:
            _pauses.append((info["generation"], spent))
            _collected_objects[0] += info["collected"]
        # Asked only until the heap is frozen: gc.get_freeze_count() walks the frozen
        # objects (~20 ms over 200,000), cheap only while there are none.
        elif gc.get_freeze_count():
            _frozen[0] = True

    gc.callbacks.append(_collected)

    def _counting(cls: Any, name: str, key: str) -> None:
        original = getattr(cls, name)

        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            _counts[key] += 1
            return await original(self, *args, **kwargs)

        setattr(cls, name, wrapper)

    _counting(aiohttp.connector.BaseConnector, "connect", "upstream_calls")
    _counting(aiohttp.connector.TCPConnector, "_create_connection", "connections_opened")
    try:
        import asyncpg.connection

        _counting(asyncpg.connection.Connection, "copy_records_to_table", "copies")
    except ImportError:  # pragma: no cover
        pass

    _flushes: list[tuple[float, float]] = []
    _late: list[float] = []

    async def _lateness() -> None:
        import asyncio

        while True:
            due = time.perf_counter() + 0.001
            await asyncio.sleep(0.001)
            _late.append((time.perf_counter() - due) * 1e3)

    def _timing_flushes() -> None:
        import asyncio

        from mobileplans.apps.broker.state import BrokerState

        original = BrokerState.flush_lookups
        sampler: list[Any] = []

        async def flush(self: Any) -> int:
            if not sampler:
                sampler.append(asyncio.get_running_loop().create_task(_lateness()))
            cpu, wall = time.thread_time(), time.perf_counter()
            written = await original(self)
            if written:
                _flushes.append(
                    ((time.thread_time() - cpu) * 1e3, (time.perf_counter() - wall) * 1e3)
                )
            return written

        BrokerState.flush_lookups = flush  # type: ignore[method-assign]

    _timing_flushes()

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(*args: Any) -> None:
        _statements[" ".join(str(args[2]).split())[:80]] += 1

    def _write() -> None:
        with open(_OUT, "w") as out:
            json.dump(
                {
                    "pauses": _pauses,
                    "counts": dict(_counts),
                    "statements": dict(_statements),
                    "thresholds": gc.get_threshold(),
                    "flushes": _flushes,
                    "collected": _collected_objects[0],
                    "late_ms": _late,
                },
                out,
            )

    atexit.register(_write)
