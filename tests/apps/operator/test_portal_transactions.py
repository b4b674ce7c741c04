"""Which portal requests open a database transaction (issue #8, decision D185).

Pages that only read (plans, checkout, review; the core network's line state) run on the
driver's reads, with no transaction; pages that write (a launch, a sign-up, a choice, the
order) keep theirs. Counted with SQLAlchemy's ``begin`` event on the engine every session
of the stack uses (the driver-level reads never pass through it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    CARD,
    OPERATOR,
    PortalBrowser,
    Sessions,
    Stack,
    esim_launch,
    running_stack,
    sign_up,
    sim,
)
from tests.support import valid_iccid

UNKNOWN_SIM = valid_iccid("890199900000000042")


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=3) as running:
        yield running


@contextmanager
def transactions_begun(sessions: Sessions) -> Iterator[list[str]]:
    """Every transaction begun on the stack's engine inside the block (one entry each)."""
    begun: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    def on_begin(_connection: Connection) -> None:
        begun.append("begin")

    event.listen(engine, "begin", on_begin)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", on_begin)


async def _get(browser: PortalBrowser, sessions: Sessions, step: str) -> tuple[str | None, int]:
    with transactions_begun(sessions) as begun:
        page = await browser.get(f"/{OPERATOR}/portal/{step}")
    return page.step, len(begun)


async def test_read_only_pages_open_no_transaction(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(transactionId="reads.1"))
        with transactions_begun(sessions) as begun:
            plans = await sign_up(browser, signin)
        assert plans.step == "plans"
        assert begun, "a sign-up writes the account: it has a transaction"
        assert await _get(browser, sessions, "plans") == ("plans", 0)
        assert "Contoso 5 GB Monthly" in plans.text  # the plans were read all the same
        with transactions_begun(sessions) as begun:
            checkout = await browser.submit(plans, plan=plans.form.plan_codes["contoso-5gb-month"])
        assert checkout.step == "checkout"
        assert len(begun) == 1  # the choice is logged: one transaction (the page reads none)
        assert await _get(browser, sessions, "checkout") == ("checkout", 0)
        terms = await browser.submit(checkout, **CARD)
        review = await browser.submit(terms, acceptTerms="yes")
        assert review.step == "review"
        assert await _get(browser, sessions, "review") == ("review", 0)
        assert "Contoso 5 GB Monthly" in review.text
        with transactions_begun(sessions) as begun:
            done = await browser.submit(review)
        assert done.step == "confirmation"
    # the order's steps: claim, record (the SM-DP+'s own calls and callbacks add theirs),
    # and the confirmation page's log entry; the order's choices are read with none
    assert len(begun) >= 3


async def test_line_state_opens_no_transaction(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        with transactions_begun(sessions) as begun:
            response = await browser.http.get(f"/{OPERATOR}/network/lines/{sim('active_prepaid')}")
        assert response.status_code == 200
        assert response.json()["walledGarden"] is False
        assert begun == []
        with transactions_begun(sessions) as begun:
            unknown = await browser.http.get(f"/{OPERATOR}/network/lines/{UNKNOWN_SIM}")
        assert unknown.status_code == 404
        assert begun == []
