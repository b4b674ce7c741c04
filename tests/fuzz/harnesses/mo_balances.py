"""A GetBalance answer from an operator's MO API (spec 2.3, 7.1 #1;
domains/balance/mo_client.py ``parse_balances``), read by the broker and the probes.

Contract: a list of ``BalanceItem`` or ``ValueError``/``TypeError`` (both callers count
those as ``bad_body``); the network flyout (domains/balance/flyout.py) renders any parsed
list. Properties: every balance has a type in upper case and a finite data amount; the
parsed balances, written back with the spec's key spelling, parse to the same balances.
"""

from __future__ import annotations

import math

import orjson

from tests.fuzz.support import check, instrumented, main

with instrumented():
    from mobileplans.domains.balance.flyout import balance_text, flyout_for
    from mobileplans.domains.balance.mo_client import parse_balances


def _wire(item: object) -> dict[str, object]:
    data = item.model_dump()  # type: ignore[attr-defined]
    return {"id": data["id"], "type": data["type"], "dataRemainingInMB":
            data["data_remaining_in_mb"], "timeRemaining": data["time_remaining"],
            "locations": data["locations"]}  # fmt: skip


def TestOneInput(data: bytes) -> None:
    try:
        items = parse_balances(data)
    except (ValueError, TypeError):
        return
    flyout_for(items)
    for item in items:
        check(item.type == item.type.upper(), "type not upper case", data, item)
        check(math.isfinite(item.data_remaining_in_mb), "data amount not finite", data, item)
        balance_text(item)
    body = orjson.dumps({"balances": [_wire(i) for i in items]})
    check(parse_balances(body) == items, "balances do not round-trip", data, body)


if __name__ == "__main__":
    main(TestOneInput)
