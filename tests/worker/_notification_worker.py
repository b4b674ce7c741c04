"""A stand-in notification worker for tests/worker/test_notifications_kill_pg.py: loops
``deliver_due`` until SIGTERM. (Once ``mobileplans worker`` registers the notifications
job, that test may start the real worker instead.)

Usage: ``python -m tests.worker._notification_worker <db-url> <smtp-port> <worker-id>
<lease-seconds>``. Prints "running" on stderr once it has started.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from mobileplans.config import Settings
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker
from mobileplans.domains.notification.delivery import deliver_due
from mobileplans.kit.clock import SystemClock


async def main(database_url: str, smtp_port: int, worker_id: str, lease_seconds: float) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    settings = Settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=smtp_port)
    engine = make_engine(database_url, process_name=worker_id)
    sessions = make_sessionmaker(engine)
    clock = SystemClock()
    print(f"notification worker {worker_id} running", file=sys.stderr, flush=True)
    try:
        while not stop.is_set():
            summary = await deliver_due(
                sessions,
                clock,
                worker_id=worker_id,
                settings=settings,
                lease_seconds=lease_seconds,
            )
            if summary.claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.1)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, port, wid, lease = sys.argv[1:5]
    asyncio.run(main(url, int(port), wid, float(lease)))
