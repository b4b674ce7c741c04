"""The operator's ES2+ client against the real SM-DP+ app on 127.0.0.1 (SGP.22 5.3.1-5.3.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from mobileplans.domains.purchase import es2plus_client
from mobileplans.domains.purchase.es2plus_client import (
    Es2PlusClient,
    Es2PlusFailed,
    Es2PlusUnavailable,
)
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.esim import ActivationCode
from tests.apps.operator.portal_fixtures import EID, REQUESTER, Sessions, Stack, running_stack
from tests.support import free_port

PROFILE_TYPE = "contoso-consumer"


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=3) as running:
        yield running


@pytest.fixture
async def es2(stack: Stack) -> AsyncIterator[Es2PlusClient]:
    client = Es2PlusClient(stack.smdp_url, REQUESTER, retries=0)
    yield client
    await client.close()


async def test_order_and_confirm_give_an_activation_code(es2: Es2PlusClient, stack: Stack) -> None:
    iccid = await es2.download_order(call_id="o1.downloadOrder", eid=EID, profile_type=PROFILE_TYPE)
    confirmed = await es2.confirm_order(
        call_id="o1.confirmOrder", iccid=iccid, eid=EID, release_flag=True
    )
    code = ActivationCode.parse(f"1${confirmed.smdp_address}${confirmed.matching_id}")
    assert code.smdp_address == stack.smdp_url.removeprefix("http://")
    assert not code.confirmation_code_required


async def test_a_retried_call_is_answered_as_a_replay(es2: Es2PlusClient) -> None:
    first = await es2.download_order(call_id="o2.downloadOrder", eid=EID, profile_type=PROFILE_TYPE)
    again = await es2.download_order(call_id="o2.downloadOrder", eid=EID, profile_type=PROFILE_TYPE)
    other = await es2.download_order(call_id="o3.downloadOrder", eid=EID, profile_type=PROFILE_TYPE)
    assert again == first
    assert other != first


async def test_no_profile_left_is_a_typed_failure(es2: Es2PlusClient) -> None:
    for n in range(3):
        await es2.download_order(call_id=f"n{n}", eid=EID, profile_type=PROFILE_TYPE)
    with pytest.raises(Es2PlusFailed) as caught:
        await es2.download_order(call_id="n4", eid=EID, profile_type=PROFILE_TYPE)
    assert caught.value.status == "Failed"
    assert caught.value.code == "8.2.5/3.7"
    assert caught.value.no_profile_left


async def test_an_unknown_requester_is_refused(stack: Stack) -> None:
    client = Es2PlusClient(stack.smdp_url, "nobody", retries=0)
    try:
        with pytest.raises(Es2PlusFailed) as caught:
            await client.download_order(call_id="x", eid=EID, profile_type=PROFILE_TYPE)
    finally:
        await client.close()
    assert caught.value.subject_code.startswith("1.")


async def test_release_later_and_cancel(es2: Es2PlusClient) -> None:
    iccid = await es2.download_order(call_id="d.downloadOrder", eid=EID, profile_type=PROFILE_TYPE)
    await es2.confirm_order(call_id="d.confirmOrder", iccid=iccid, eid=EID, release_flag=False)
    await es2.release_profile(call_id="d.releaseProfile", iccid=iccid)
    await es2.cancel_order(
        call_id="d.cancelOrder", iccid=iccid, eid=EID, final_status="Unavailable"
    )
    with pytest.raises(Es2PlusFailed):  # an Unavailable profile cannot be released again
        await es2.release_profile(call_id="d.releaseProfile.2", iccid=iccid)


async def test_unreachable_smdp_raises_unavailable_after_retries() -> None:
    client = Es2PlusClient(
        f"http://127.0.0.1:{free_port()}",
        REQUESTER,
        retries=2,
        backoff_seconds=0.01,
        timeout_seconds=5,
    )
    try:
        with pytest.raises(Es2PlusUnavailable) as caught:
            await client.download_order(call_id="u", eid=EID, profile_type=PROFILE_TYPE)
    finally:
        await client.close()
    assert caught.value.retryable
    assert caught.value.function == "downloadOrder"


async def test_a_server_that_is_not_an_smdp_is_not_retried(stack: Stack) -> None:
    client = Es2PlusClient(
        stack.operator_url + "/nowhere", REQUESTER, retries=5, backoff_seconds=10
    )
    try:
        with pytest.raises(Es2PlusUnavailable) as caught:
            await client.release_profile(call_id="r", iccid="8901999000000000004")
    finally:
        await client.close()
    assert "HTTP 404" in str(caught.value)
    assert not caught.value.retryable


def test_a_garbled_answer_is_described_in_one_printable_bounded_line() -> None:
    garbled = aiohttp.ClientResponseError(
        None,  # type: ignore[arg-type]
        (),
        status=400,
        message="Bad status line:\n  Expected HTTP/:\n\n  b'\\x00\\xc2ZL" + "\x07" * 500,
    )
    reason = es2plus_client.describe(garbled)
    assert reason == "ClientResponseError: 400, Bad status line:"
    assert es2plus_client.describe(TimeoutError()) == "TimeoutError"
    long = es2plus_client.describe(ValueError("\x00" + "x" * 1000))
    assert long.startswith("ValueError: ?xxx")
    assert len(long) == es2plus_client.REASON_LIMIT
