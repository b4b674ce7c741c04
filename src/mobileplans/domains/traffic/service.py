"""Failure percentages of real traffic (spec 5.3 severities, 7.2 #31: a rolling window).

Counted, per partner (operator) and globally, over ``[now − window, now)``:

- **GetBalance calls the broker proxied** (``balance_lookups``): ``ok`` is a success; an
  upstream 404 is the operator saying it does not know the SIM, a client-side miss that
  counts as a request but not as a failure; every other outcome (``http_error`` including
  429 and 5xx, ``timeout``, ``connect_error``, ``tls_error``, ``bad_body``) is a failure.
  Answers served from the broker's cache made no upstream call and are not counted.
- **Purchase telemetry** (``moDirectStatus``): ``ServiceError``, ``BillingError`` and
  ``PurchaseFailed`` are failures (the operator's systems failed the user); ``Complete`` is
  a success; ``Cancelled``, ``None``, ``Bailed``, ``InvalidSIM``, ``LogOnFailed`` and
  ``ClientError`` are the user's or the device's doing: counted as requests, not failures.
  A report with no operator counts only globally.

The failure percentage is ``failures / requests × 100`` (null with no requests); request
counts travel with it so that "100 %" of two requests is visibly two requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.traffic import repository
from mobileplans.domains.traffic.schemas import (
    PartnerFailures,
    SourceCounts,
    TrafficCounts,
    TrafficFailures,
)
from mobileplans.errors import BadRequest

DEFAULT_WINDOW_SECONDS = 300
MAX_WINDOW_SECONDS = 7 * 86400
PURCHASE_FAILURES = frozenset({"ServiceError", "BillingError", "PurchaseFailed"})
PURCHASE_CLIENT_SIDE = frozenset(
    {"Cancelled", "None", "Bailed", "InvalidSIM", "LogOnFailed", "ClientError"}
)
NOT_UPSTREAM = frozenset({"cached"})


def classify_lookup(outcome: str, status_code: int | None) -> str | None:
    """``success``, ``client_side``, ``failure``, or None when it is not counted at all."""
    if outcome in NOT_UPSTREAM:
        return None
    if outcome == "ok":
        return "success"
    if outcome == "http_error" and status_code == 404:
        return "client_side"
    return "failure"


def classify_purchase(status: str) -> str:
    if status in PURCHASE_FAILURES:
        return "failure"
    if status in PURCHASE_CLIENT_SIDE:
        return "client_side"
    return "success"


def percent(failures: int, requests: int) -> float | None:
    return round(failures * 100 / requests, 3) if requests else None


class _Counter:
    def __init__(self) -> None:
        self.requests = self.failures = self.client_side = 0

    def add(self, verdict: str, count: int) -> None:
        self.requests += count
        self.failures += count if verdict == "failure" else 0
        self.client_side += count if verdict == "client_side" else 0

    def read(self) -> SourceCounts:
        return SourceCounts(
            requests=self.requests,
            failures=self.failures,
            client_side=self.client_side,
            failure_percent=percent(self.failures, self.requests),
        )


def _combined(balance: _Counter, purchase: _Counter) -> TrafficCounts:
    requests = balance.requests + purchase.requests
    failures = balance.failures + purchase.failures
    return TrafficCounts(
        requests=requests,
        failures=failures,
        failure_percent=percent(failures, requests),
        balance=balance.read(),
        purchase=purchase.read(),
    )


def window_of(window: timedelta | int | None) -> timedelta:
    """The window as given (seconds or a timedelta), 300 s when None; 10 s to 7 days."""
    if isinstance(window, timedelta):
        value = window.total_seconds()
    else:
        value = DEFAULT_WINDOW_SECONDS if window is None else window
    if not 10 <= value <= MAX_WINDOW_SECONDS:
        raise BadRequest(f"window is 10 to {MAX_WINDOW_SECONDS} seconds", field="window")
    return timedelta(seconds=value)


async def _count(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    environment: str | None,
    operator_id: str | None = None,
) -> tuple[dict[str, _Counter], dict[str, _Counter], _Counter, _Counter]:
    balances: dict[str, _Counter] = {}
    purchases: dict[str, _Counter] = {}
    all_balance, all_purchase = _Counter(), _Counter()
    for operator, outcome, status, count in await repository.balance_counts(
        session, start, end, environment, operator_id
    ):
        verdict = classify_lookup(outcome, status)
        if verdict is not None:
            balances.setdefault(operator, _Counter()).add(verdict, count)
            all_balance.add(verdict, count)
    for reporter, mo_status, reports in await repository.purchase_counts(
        session, start, end, environment, operator_id
    ):
        verdict = classify_purchase(mo_status)
        if reporter is not None:
            purchases.setdefault(reporter, _Counter()).add(verdict, reports)
        all_purchase.add(verdict, reports)
    return balances, purchases, all_balance, all_purchase


async def failure_percentages(
    session: AsyncSession,
    *,
    now: datetime,
    window: timedelta | int | None = None,
    environment: str | None = None,
) -> TrafficFailures:
    """Partner and global failure percentages over ``[now − window, now)`` (the incident
    engine's input; ``window`` in seconds or as a timedelta, default 300 s)."""
    span = window_of(window)
    balances, purchases, all_balance, all_purchase = await _count(
        session, now - span, now, environment
    )
    partners = [
        PartnerFailures.model_validate(
            {
                "operator_id": op,
                **dict(_combined(balances.get(op, _Counter()), purchases.get(op, _Counter()))),
            }
        )
        for op in sorted(balances.keys() | purchases.keys())
    ]
    return TrafficFailures(
        window_seconds=int(span.total_seconds()),
        start=now - span,
        end=now,
        environment=environment,
        global_traffic=_combined(all_balance, all_purchase),
        partners=partners,
    )


async def partner_failures(
    session: AsyncSession,
    operator_id: str,
    *,
    now: datetime,
    window: timedelta | int | None = None,
    environment: str | None = None,
) -> TrafficCounts:
    """One operator's failure percentages over ``[now − window, now)``, counted from its
    rows only (the console's operator page; the same rules as :func:`failure_percentages`)."""
    span = window_of(window)
    balances, purchases, _, _ = await _count(session, now - span, now, environment, operator_id)
    return _combined(balances.get(operator_id, _Counter()), purchases.get(operator_id, _Counter()))
