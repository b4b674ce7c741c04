"""The card form at the portal's checkout (domains/purchase/payment.py ``check_card``):
typed by the person buying, sent by their browser.

Input: three lines (card number, expiry, CVV). Contract: a ``CardOnFile`` or
``BadRequest`` naming the form field. Properties: only the last four ASCII digits and an
``MM/YY`` expiry survive, and the card is not expired.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.domains.purchase.payment import check_card
    from mobileplans.errors import BadRequest

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
FIELDS = ("cardNumber", "expiry", "cvv")


def TestOneInput(data: bytes) -> None:
    parts = text(data).split("\n", 2)
    number, expiry, cvv = [*parts, "", ""][:3]
    try:
        card = check_card(number, expiry, cvv, now=NOW)
    except BadRequest as exc:
        check(exc.extra.get("field") in FIELDS, "no form field named", data)
        return
    check(re.fullmatch(r"[0-9]{4}", card.last4) is not None, "last4", data, card)
    check(re.fullmatch(r"(0[1-9]|1[0-2])/[0-9]{2}", card.expiry) is not None, "expiry", data, card)


if __name__ == "__main__":
    main(TestOneInput)
