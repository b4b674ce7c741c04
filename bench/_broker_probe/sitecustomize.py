"""``bench/balances.py --broker-probe``: counts, inside the broker it starts, what can stop
its event loop or cost it per request, independent of how busy the machine is.

Put on the broker's ``PYTHONPATH`` only (Python imports ``sitecustomize`` at start-up);
active when ``BENCH_PROBE_OUT`` names a file, written when the process exits:

- every cyclic garbage collection after start-up (once the heap is frozen, D98): its
  generation and the CPU time it took (``time.thread_time``: a pause of the loop thread,
  whatever the machine's load);
- upstream connections: calls through the aiohttp connector and connections it opened;
- SQL statements the broker ran (SQLAlchemy's ``before_cursor_execute``) and COPYs.
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

    def _collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _started[0] = time.thread_time()
            return
        spent = (time.thread_time() - _started[0]) * 1e3
        if _frozen[0]:
            _pauses.append((info["generation"], spent))
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
                },
                out,
            )

    atexit.register(_write)
