"""The network flyout's state from GetBalance's first balance (spec 1.10 table).

| type          | flyout                                                 |
|---------------|--------------------------------------------------------|
| MODIRECT      | "View my account" only, no balance                     |
| MODIRECTPAYG  | "View my account" plus balance (data MB and time)      |
| NONE          | "Connect with a data plan" (opens the Mobile Plans app) |
| NOTSUPPORTED  | "View my account" only; Mobile Plans experience off    |
| PAYG (DM)     | balance shown                                          |
"""

from __future__ import annotations

from mobileplans.domains.balance.schemas import BalanceItem, Flyout, FlyoutAction
from mobileplans.kit.durations import parse_duration


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


def balance_text(item: BalanceItem) -> str:
    return f"{_data_text(item.data_remaining_in_mb)} left, {_time_text(item.time_remaining)}"


def flyout_for(balances: list[BalanceItem]) -> Flyout:
    first = balances[0] if balances else None
    kind = first.type.upper() if first else "NONE"
    if first is None or kind == "NONE":
        return Flyout(
            action=FlyoutAction.CONNECT_WITH_DATA_PLAN, balance_text=None, mobile_plans_enabled=True
        )
    if kind == "NOTSUPPORTED":
        return Flyout(
            action=FlyoutAction.VIEW_MY_ACCOUNT, balance_text=None, mobile_plans_enabled=False
        )
    if kind in ("MODIRECTPAYG", "PAYG"):
        return Flyout(
            action=FlyoutAction.VIEW_MY_ACCOUNT,
            balance_text=balance_text(first),
            mobile_plans_enabled=True,
        )
    return Flyout(action=FlyoutAction.VIEW_MY_ACCOUNT, balance_text=None, mobile_plans_enabled=True)
