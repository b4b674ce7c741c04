"""How the worker lives through failures, a database outage above all (issue #11, D228).

Every pass of the worker (a claim, a write of results, the registry sync, each periodic
job) catches what it raised and tries again; nothing ends the worker but its stop event.
After failures in a row it backs off (:func:`failure_pause`), and a database outage is
logged as one warning line when it starts and one info line when it ends, not a
traceback per try (:class:`mobileplans.db.outage_log.OutageLog`, D264). When the
database is back the next pass simply succeeds: the engine's pool pings a connection
before handing it out (``pool_pre_ping``) and the driver reads drop connections the
server ended (``db.reads``).
"""

from __future__ import annotations

ERROR_BACKOFF_SECONDS = 2.0
ERROR_BACKOFF_CAP_SECONDS = 10.0
"""A job or sync that fails again and again waits 2, 4, 8, then 10 s between tries
(never less than its own interval), so a database outage is neither hammered nor
outlived by long: the first pass after the database is back is at most 10 s away."""


def failure_pause(interval: float, failures: int) -> float:
    """How long to wait after ``failures`` failed passes in a row (0: the interval)."""
    if failures <= 0:
        return interval
    backoff = min(
        ERROR_BACKOFF_SECONDS * float(2 ** min(failures - 1, 10)), ERROR_BACKOFF_CAP_SECONDS
    )
    return max(interval, backoff)
