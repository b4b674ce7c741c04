"""The network flyout's state from GetBalance's first balance (spec 1.10 table).

| type          | flyout                                                 |
|---------------|--------------------------------------------------------|
| MODIRECT      | "View my account" only, no balance                     |
| MODIRECTPAYG  | "View my account" plus balance (data MB and time)      |
| NONE          | "Connect with a data plan" (opens the Mobile Plans app) |
| NOTSUPPORTED  | "View my account" only; Mobile Plans experience off    |
| PAYG (DM)     | balance shown                                          |

:func:`flyout_wire` works on balances in their wire form (``mo_client.read_balances``),
as the broker's proxy answers them; :func:`flyout_for` gives the same as the model.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mobileplans.domains.balance.schemas import BalanceItem, Flyout, FlyoutAction
from mobileplans.kit.durations import parse_duration

_CONNECT = FlyoutAction.CONNECT_WITH_DATA_PLAN.value
_VIEW = FlyoutAction.VIEW_MY_ACCOUNT.value


def _data_text(mb: float) -> str:
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb:.0f} MB"


def _time_text(iso: str) -> str:
    try:
        seconds = int(parse_duration(iso).total_seconds())
    except ValueError:
        return iso
    days, rest = divmod(seconds, 86400)
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = rest // 3600
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{max(1, rest // 60)} min" if rest else "0 min"


@lru_cache(maxsize=4096)
def _text(mb: float, iso: str) -> str:
    """The balance line, made once per (amount, time) seen lately: operators answer the
    same few values to many SIMs, and the line is computed on every proxied call."""
    return f"{_data_text(mb)} left, {_time_text(iso)}"


def balance_text(item: BalanceItem) -> str:
    return _text(item.data_remaining_in_mb, item.time_remaining)


def flyout_wire(balances: list[dict[str, Any]]) -> dict[str, Any]:
    """The flyout (schema ``Flyout``, wire names, ``None`` left out) for balances in their
    wire form."""
    first = balances[0] if balances else None
    kind = first["type"].upper() if first else "NONE"
    if first is None or kind == "NONE":
        return {"action": _CONNECT, "mobilePlansEnabled": True}
    if kind == "NOTSUPPORTED":
        return {"action": _VIEW, "mobilePlansEnabled": False}
    if kind in ("MODIRECTPAYG", "PAYG"):
        text = _text(first["dataRemaininginMB"], first["timeRemaining"])
        return {"action": _VIEW, "balanceText": text, "mobilePlansEnabled": True}
    return {"action": _VIEW, "mobilePlansEnabled": True}


def flyout_for(balances: list[BalanceItem]) -> Flyout:
    """:func:`flyout_wire` as the model, for balances as models."""
    wire = flyout_wire([item.wire() for item in balances])
    return Flyout(
        action=FlyoutAction(wire["action"]),
        balance_text=wire.get("balanceText"),
        mobile_plans_enabled=wire["mobilePlansEnabled"],
    )
