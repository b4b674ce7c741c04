"""How the portal writes prices, data amounts, durations and lines in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mobileplans.apps.operator.i18n import Translator
from mobileplans.domains.purchase.schemas import OrderKind
from mobileplans.domains.purchase.service import Target
from mobileplans.kit.durations import parse_duration

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$"}


class Formatter:
    def __init__(self, t: Translator, lang: str) -> None:
        self.t, self.lang = t, lang

    def number(self, value: float, decimals: int) -> str:
        text = f"{value:,.{decimals}f}"
        if self.lang == "fr":
            return text.replace(",", "\u202f").replace(".", ",")
        return text

    def money(self, cents: int, currency: str) -> str:
        amount = self.number(cents / 100, 2)
        symbol = SYMBOLS.get(currency)
        if symbol is None:
            return f"{amount} {currency}"
        return f"{amount}\u00a0{symbol}" if self.lang == "fr" else f"{symbol}{amount}"

    def data(self, mb: float) -> str:
        if mb >= 1024:
            gb = mb / 1024
            return self.t("unit.gb", n=self.number(gb, 0 if gb == int(gb) else 1))
        return self.t("unit.mb", n=self.number(mb, 0 if mb == int(mb) else 1))

    @staticmethod
    def masked(iccid: str | None) -> str:
        return f"…{iccid[-4:]}" if iccid else ""

    def target(self, target: Target) -> str:
        if target.kind is OrderKind.NEW_ESIM:
            return self.t("target.new")
        key = "target.activate" if target.kind is OrderKind.ACTIVATE_SIM else "target.topup"
        return self.t(key, line=self.masked(target.iccid)[1:])

    def time_left(self, duration: str) -> str:
        try:
            seconds = parse_duration(duration).total_seconds()
        except ValueError:
            return duration
        if seconds >= 2 * 86400:
            return self.t("balance.days", n=int(seconds // 86400))
        if seconds >= 2 * 3600:
            return self.t("balance.hours", n=int(seconds // 3600))
        return self.t("balance.minutes", n=int(seconds // 60))

    def balance(self, balance: dict[str, Any]) -> str:
        kind = balance.get("type")
        if kind == "NONE":
            return self.t("balance.none")
        if kind == "NOTSUPPORTED":
            return self.t("balance.notsupported")
        return self.t("balance.left", data=self.data(float(balance.get("dataRemaininginMB", 0))),
                      time=self.time_left(str(balance.get("timeRemaining", "PT0S"))))  # fmt: skip

    @staticmethod
    def when(instant: datetime | None) -> str:
        return instant.strftime("%Y-%m-%d %H:%M:%S UTC") if instant else ""

    def helpers(self) -> dict[str, Callable[..., str]]:
        return {
            "money": self.money,
            "data_text": self.data,
            "masked": self.masked,
            "target_text": self.target,
            "balance_text": self.balance,
        }
