"""The portal's signed session cookie (HMAC-SHA256, stdlib only) and what it never holds."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from mobileplans.apps.operator import portal_session
from mobileplans.apps.operator.portal_session import MAX_AGE_SECONDS, CardState, PortalState
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    CARD,
    OPERATOR,
    SECRET,
    Sessions,
    esim_launch,
    running_stack,
    sign_up,
)


def state(clock: FrozenClock) -> PortalState:
    return PortalState(
        operator_id=OPERATOR,
        issued=clock.now().timestamp(),
        account_id=7,
        card=CardState(last4="1111", expiry="12/30"),
    )


def test_round_trip(clock: FrozenClock) -> None:
    token = portal_session.encode(state(clock), SECRET)
    assert portal_session.decode(token, SECRET, OPERATOR, clock.now()) == state(clock)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(t[3], "A" if t[3] != "A" else "B", 1),  # payload changed
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.split(".")[0],  # no signature
        lambda t: t + ".x",
        lambda t: "",
        lambda t: "not a token at all",
    ],
)
def test_tampered_tokens_read_as_no_session(clock: FrozenClock, mangle: object) -> None:
    token = portal_session.encode(state(clock), SECRET)
    assert callable(mangle)
    assert portal_session.decode(mangle(token), SECRET, OPERATOR, clock.now()) is None


def test_a_forged_payload_needs_the_secret(clock: FrozenClock) -> None:
    forged = state(clock).model_copy(update={"account_id": 1})
    token = portal_session.encode(forged, "some-other-secret")
    assert portal_session.decode(token, SECRET, OPERATOR, clock.now()) is None
    payload = base64.urlsafe_b64encode(forged.model_dump_json().encode()).decode().rstrip("=")
    genuine_signature = portal_session.encode(state(clock), SECRET).split(".")[1]
    assert (
        portal_session.decode(f"{payload}.{genuine_signature}", SECRET, OPERATOR, clock.now())
        is None
    )


def test_another_operator_and_old_sessions_are_refused(clock: FrozenClock) -> None:
    token = portal_session.encode(state(clock), SECRET)
    assert portal_session.decode(token, SECRET, "fabrikam", clock.now()) is None
    later = clock.now() + timedelta(seconds=MAX_AGE_SECONDS + 1)
    assert portal_session.decode(token, SECRET, OPERATOR, later) is None
    just = clock.now() + timedelta(seconds=MAX_AGE_SECONDS)
    assert portal_session.decode(token, SECRET, OPERATOR, just) is not None


async def test_the_cookie_holds_no_card_number_and_is_locked_down(
    sessions: Sessions, clock: FrozenClock
) -> None:
    async with running_stack(sessions, clock, profiles=0) as stack:
        async with stack.browser() as browser:
            plans = await sign_up(browser, await browser.launch(esim_launch()))
            checkout = await browser.submit(plans, plan=plans.form.plan_codes["contoso-1gb-day"])
            terms = await browser.submit(checkout, **CARD)
            assert terms.step == "terms"
            header = terms.response.history[0].headers["set-cookie"]
            token = browser.http.cookies["mp_portal"]
    assert "HttpOnly" in header
    assert "SameSite=lax" in header
    assert f"Path=/{OPERATOR}/portal" in header
    decoded = portal_session.decode(token, SECRET, OPERATOR, clock.now())
    assert decoded is not None
    assert decoded.card == CardState(last4="1111", expiry="12/30")
    raw = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert "4111" not in raw.replace("1111", "")
    assert "correct-horse" not in raw
    assert "cvv" not in raw
