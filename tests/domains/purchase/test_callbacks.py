"""The exact call each situation hands the app (spec 2.2.2, 2.2.4; docs/activation.md)."""

from __future__ import annotations

import json

from mobileplans.domains.purchase import callbacks
from mobileplans.domains.purchase.schemas import (
    CallbackApi,
    MetaValue,
    MoDirectStatus,
    PurchaseMeta,
)

NEW = PurchaseMeta(
    user_account=MetaValue.NEW,
    purchase_instrument=MetaValue.NEW,
    line=MetaValue.NEW,
    mo_direct_status=MoDirectStatus.COMPLETE,
    plan_name="Contoso 5 GB",
)
META = {
    "userAccount": "New",
    "purchaseInstrument": "New",
    "line": "New",
    "moDirectStatus": "Complete",
    "planName": "Contoso 5 GB",
}
SCRIPTS = {
    "registrationChangedScript": "mpRegistrationChanged",
    "profileActivationCompleteScript": "mpActivationComplete",
}
AC = "1$127.0.0.1:8702$AB12-CD34"


def test_profile_download_now_and_later() -> None:
    now = callbacks.success(
        CallbackApi.CURRENT, NEW, transaction_id="t", iccid="1", activation_code=AC
    )
    assert now.wire() == {
        "object": "MobilePlansInlineOperations",
        "function": "notifyProfileDownload",
        "args": [META, AC],
        "scripts": SCRIPTS,
    }
    later = callbacks.success(
        CallbackApi.CURRENT,
        NEW,
        transaction_id="t",
        iccid="1",
        activation_code=AC,
        download_delay=15,
    )
    assert later.wire()["args"] == [META, AC, 15]
    assert callbacks.download_delay(later.wire()) == 15
    assert callbacks.download_delay(now.wire()) == 0


def test_balance_addition_with_and_without_iccid() -> None:
    plain = callbacks.success(CallbackApi.CURRENT, NEW, transaction_id="t", iccid="8901")
    assert plain.wire() == {
        "object": "MobilePlansInlineOperations",
        "function": "notifyBalanceAddition",
        "args": [META],
    }
    switch = callbacks.success(
        CallbackApi.CURRENT, NEW, transaction_id="t", iccid="8901", notify_iccid=True
    )
    assert switch.wire()["args"] == [META, "8901"]


def test_cancel_is_cancelled_for_current_and_none_for_legacy() -> None:
    meta = callbacks.failure_meta(
        callbacks.cancel_status(CallbackApi.CURRENT), user_account=MetaValue.BAILED
    )
    call = callbacks.failure(CallbackApi.CURRENT, meta, transaction_id="t")
    assert call.wire() == {
        "object": "MobilePlans",
        "function": "notifyCancelledPurchase",
        "args": [
            {
                "userAccount": "Bailed",
                "purchaseInstrument": "None",
                "line": "None",
                "moDirectStatus": "Cancelled",
                "planName": "",
            }
        ],
    }
    assert callbacks.cancel_status(CallbackApi.LEGACY) is MoDirectStatus.NONE


def test_legacy_success_is_a_string_with_a_string_purchase_result() -> None:
    call = callbacks.success(
        CallbackApi.LEGACY,
        NEW,
        transaction_id="MSFT_ecf5",
        iccid="8988",
        activation_code=AC,
        download_delay=30,
    )
    assert (call.object, call.function) == ("DataMart", "notifyPurchaseResult")
    [payload] = call.args
    assert isinstance(payload, str)
    assert payload == (
        '{"ver":"1","purchaseResult":"{\\"userAccount\\":\\"New\\",\\"purchaseInstrument\\":'
        '\\"New\\",\\"line\\":\\"New\\",\\"moDirectStatus\\":\\"Complete\\",\\"planName\\":'
        '\\"Contoso 5 GB\\"}","success":true,"transactionId":"MSFT_ecf5",'
        '"activationCode":"1$127.0.0.1:8702$AB12-CD34","iccid":"8988"}'
    )
    assert callbacks.status_of(call.wire()) is MoDirectStatus.COMPLETE


def test_legacy_balance_has_no_activation_code_and_failure_has_empty_ones() -> None:
    balance = json.loads(
        callbacks.success(CallbackApi.LEGACY, NEW, transaction_id="t", iccid="8988").args[0]
    )
    assert "activationCode" not in balance
    assert balance["iccid"] == "8988"
    meta = callbacks.failure_meta(MoDirectStatus.SERVICE_ERROR, user_account=MetaValue.EXISTING)
    failed = callbacks.failure(CallbackApi.LEGACY, meta, transaction_id="t")
    body = json.loads(failed.args[0])
    assert body["success"] is False
    assert (body["activationCode"], body["iccid"], body["transactionId"]) == ("", "", "t")
    assert json.loads(body["purchaseResult"]) == {
        "userAccount": "Existing",
        "purchaseInstrument": "None",
        "line": "None",
        "moDirectStatus": "ServiceError",
        "planName": "",
    }
    assert callbacks.status_of(failed.wire()) is MoDirectStatus.SERVICE_ERROR
