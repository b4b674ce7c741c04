"""Query and form values the broker and the console read (domains/catalog/launch.py
``parse_device`` for ``GET /v1/providers``; domains/sla/periods.py ``parse_period`` for the
SLA API; apps/console/maintenance_views.py ``parse_month``/``parse_instant``;
domains/operator_registry/phone_numbers.py ``parse_prefix``).

Input: a query string. Contract: ``BadRequest`` / ``IdentifierError`` (400 naming the
parameter); ``parse_prefix`` raises ``ValueError``. Properties: a period ends after it
starts; a parsed instant is aware; a prefix parses to itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.apps.console.maintenance_views import parse_instant, parse_month
    from mobileplans.domains.catalog.launch import parse_device
    from mobileplans.domains.operator_registry.phone_numbers import parse_prefix
    from mobileplans.domains.sla.periods import parse_period
    from mobileplans.errors import BadRequest
    from mobileplans.kit.identifiers import IdentifierError

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ZONES = ("UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago")
NAMES = ("location", "market", "imei", "eid", "iccids", "iccid", "period", "from", "to",
         "month", "start", "prefix", "tz")  # fmt: skip


def _each(call: object, *args: object, **kwargs: object) -> object:
    try:
        return call(*args, **kwargs)  # type: ignore[operator]
    except (BadRequest, IdentifierError):
        return None


def TestOneInput(data: bytes) -> None:
    query = dict(parse_qsl(text(data), keep_blank_values=True))
    q = {name: query.get(name) for name in NAMES}
    _each(parse_device, q["location"], q["market"], q["imei"], q["eid"], q["iccids"], q["iccid"])
    zone = ZONES[len(data) % len(ZONES)]
    for now in (NOW, None):
        period = _each(parse_period, q["period"], start=q["from"], end=q["to"], timezone=zone,
                       now=now)  # fmt: skip
        if period is not None:
            check(period.start < period.end, "empty period", query, period)  # type: ignore[attr-defined]
    _each(parse_month, q["month"], NOW)
    if q["start"] is not None:
        instant = _each(parse_instant, q["start"], "start")
        check(instant is None or instant.tzinfo is not None, "naive instant", query)  # type: ignore[attr-defined]
    if q["prefix"] is not None:
        try:
            prefix = parse_prefix(q["prefix"])
        except ValueError:
            return
        check(parse_prefix(prefix) == prefix, "prefix does not parse to itself", query)


if __name__ == "__main__":
    main(TestOneInput)
