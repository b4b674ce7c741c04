"""What a background loop logs while the database is away (issue #11, D264).

A loop that retries every round (the worker's claims, writes and periodic jobs, the
SM-DP+ callback outbox, the operator's release job, the broker's GetBalance flush, the
launch-record writer) would log a traceback per round for as long as an outage lasts.
:class:`OutageLog` keeps one loop's log to two lines per outage:

- the first failed round that :func:`~mobileplans.db.errors.is_unavailable` calls an
  outage logs one ``WARNING`` line, no traceback, naming the driver's error;
- the next successful round logs one ``INFO`` line: back, after how many failed rounds
  and how long.

Rounds failing in between log nothing. Any other error keeps its traceback every time
(``ERROR``), during an outage too: a bug is not hidden by a database that is away.
"""

from __future__ import annotations

import logging
import time

from mobileplans.db.errors import describe, is_unavailable


class OutageLog:
    """The log of one loop (``what`` names it in every line) across database outages.

    Call :meth:`failed` where the loop catches a failed round, :meth:`succeeded` after a
    round that reached the database."""

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self.what = what
        self.logger = logger
        self.failed_rounds = 0
        """Rounds failed by the outage under way (0: none under way)."""
        self._since = 0.0

    @property
    def in_outage(self) -> bool:
        return self.failed_rounds > 0

    def failed(self, exc: BaseException, doing: str = "failed") -> None:
        """A round raised ``exc``: the outage's first line, nothing, or the traceback."""
        if not is_unavailable(exc):
            self.logger.error("%s %s", self.what, doing, exc_info=exc)
            return
        if self.failed_rounds == 0:
            self._since = time.monotonic()
            self.logger.warning(
                "%s: database unavailable (%s); retrying until it is back",
                self.what, describe(exc),
            )  # fmt: skip
        self.failed_rounds += 1

    def succeeded(self) -> None:
        """A round reached the database: if an outage was under way, say it ended."""
        if self.failed_rounds == 0:
            return
        self.logger.info(
            "%s: database available again after %d failed round(s) over %.0f s",
            self.what, self.failed_rounds, time.monotonic() - self._since,
        )  # fmt: skip
        self.failed_rounds = 0
