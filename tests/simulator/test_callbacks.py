"""Reading portal → app calls: the mp-callback block, every documented name, legacy payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mobileplans.simulator.callbacks import (
    BridgeCall,
    CallbackError,
    interpret,
    interpret_legacy,
    parse_callback_block,
    round_interval,
)

META = {
    "userAccount": "New",
    "purchaseInstrument": "New",
    "line": "New",
    "moDirectStatus": "Complete",
    "planName": "Contoso 5 GB",
}
AC = "1$127.0.0.1:8702$AB12-CD34"
BLOCK = json.dumps(
    {
        "object": "MobilePlansInlineOperations",
        "function": "notifyProfileDownload",
        "args": [META, AC],
        "scripts": {
            "registrationChangedScript": "mpRegistrationChanged",
            "profileActivationCompleteScript": "mpActivationComplete",
        },
    }
)


def call(obj: str, fn: str, *args: Any) -> BridgeCall:
    return BridgeCall(obj, fn, args)


def test_the_documented_block_parses_into_a_download() -> None:
    parsed = parse_callback_block(BLOCK, origin="http://127.0.0.1:8701")
    assert parsed.name == "MobilePlansInlineOperations.notifyProfileDownload"
    assert parsed.scripts == {
        "registrationChangedScript": "mpRegistrationChanged",
        "profileActivationCompleteScript": "mpActivationComplete",
    }
    intent = interpret(parsed)
    assert intent.kind == "download"
    assert intent.all_violations() == []
    assert intent.activation_code is not None
    assert intent.activation_code.smdp_address == "127.0.0.1:8702"
    assert intent.activation_code.matching_id == "AB12-CD34"
    assert intent.download_delay_minutes is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"object": "X"}',
        '{"object": "X", "function": "f", "args": {}}',
        '{"object": "X", "function": "f", "args": [], "scripts": []}',
    ],
)
def test_a_malformed_block_is_refused(text: str) -> None:
    with pytest.raises(CallbackError):
        parse_callback_block(text)


def test_diagram_script_name_is_an_alias_and_non_strings_are_dropped() -> None:
    block = json.dumps(
        {
            "object": "MobilePlansInlineOperations",
            "function": "notifyProfileDownload",
            "args": [META, AC],
            "scripts": {"RegistrationCompleteScript": "f", "profileActivationCompleteScript": 3},
        }
    )
    assert parse_callback_block(block).scripts == {"registrationChangedScript": "f"}


def test_delayed_download_carries_its_delay() -> None:
    intent = interpret(call("MobilePlansInlineOperations", "notifyProfileDownload", META, AC, 2))
    assert intent.kind == "download"
    assert intent.download_delay_minutes == 2
    assert intent.all_violations() == []


@pytest.mark.parametrize("delay", [-1, 1.5, "2", True])
def test_a_bad_delay_is_a_violation(delay: Any) -> None:
    intent = interpret(
        call("MobilePlansInlineOperations", "notifyProfileDownload", META, AC, delay)
    )
    assert any("downloadDelay must be an unsigned integer" in v for v in intent.all_violations())


@pytest.mark.parametrize("obj", ["MobilePlansInlineProfile", "MobilePlansInlineProfileDownload"])
def test_era_a_inline_names_are_aliases(obj: str) -> None:
    intent = interpret(call(obj, "notifyInlineProfileDownload", META, AC))
    assert intent.kind == "download"
    assert intent.all_violations() == []
    assert any("era A" in n for n in intent.all_notes())


@pytest.mark.parametrize(
    ("code", "violation"),
    [
        ("LPA:1$smdp.example$ABC", "must not carry the 'LPA:' prefix"),
        ("2$smdp.example$ABC", "must be '1$<SM-DP+ address>$<matchingId>'"),
        ("1$smdp.example$ABC$$1", "must not require a confirmation code"),
        ("", "activationCode must be a non-empty string"),
        (None, "activationCode must be a non-empty string"),
    ],
)
def test_activation_code_rules(code: Any, violation: str) -> None:
    intent = interpret(call("MobilePlansInlineOperations", "notifyProfileDownload", META, code))
    assert any(violation in v for v in intent.all_violations()), intent.all_violations()


def test_balance_addition_with_and_without_iccid() -> None:
    plain = interpret(call("MobilePlansInlineOperations", "notifyBalanceAddition", META))
    assert plain.kind == "balance"
    assert plain.iccid is None
    assert plain.all_violations() == []
    named = interpret(
        call("MobilePlansInlineOperations", "notifyBalanceAddition", META, "8901999000000000012F")
    )
    assert named.iccid == "8901999000000000012"
    legacy = interpret(call("MobilePlans", "notifyBalanceAddition", META))
    assert any("needs the ICCID" in v for v in legacy.all_violations())
    bad = interpret(call("MobilePlansInlineOperations", "notifyBalanceAddition", META, "12ab"))
    assert any(v.startswith("iccid '12ab'") for v in bad.all_violations())


def test_cancelled_purchase_is_checked_as_a_failure() -> None:
    cancel = {
        "userAccount": "New",
        "purchaseInstrument": "Bailed",
        "line": "None",
        "moDirectStatus": "Cancelled",
        "planName": "",
    }
    intent = interpret(call("MobilePlans", "notifyCancelledPurchase", cancel))
    assert intent.kind == "cancelled"
    assert intent.all_violations() == []
    wrong = interpret(call("MobilePlans", "notifyCancelledPurchase", META))
    assert "a cancelled purchase must not report moDirectStatus Complete" in wrong.all_violations()


def test_async_connectivity_rounds_its_interval() -> None:
    intent = interpret(call("MobilePlans", "notifyPurchaseWithProfileDownload", META, AC, 5))
    assert intent.kind == "download"
    assert intent.registration_interval_minutes == 15
    assert [round_interval(m) for m in (0, 1, 15, 16, 30)] == [0, 15, 15, 30, 30]


def test_unknown_functions_and_objects_are_refused() -> None:
    with pytest.raises(CallbackError):
        interpret(call("MobilePlansInlineOperations", "notifyEverything", META))
    with pytest.raises(CallbackError):
        interpret(call("Evil", "notifyProfileDownload", META, AC))


def legacy_payload(result: Any, **extra: Any) -> dict[str, Any]:
    return {
        "ver": "1",
        "purchaseResult": result,
        "success": True,
        "transactionId": "waoigFfX00yGH3Vb.1",
        **extra,
    }


def test_legacy_string_payload_with_string_purchase_result() -> None:
    payload = legacy_payload(json.dumps(META), activationCode=AC, iccid="8901999000000000012")
    intent = interpret(
        call("DataMart", "notifyPurchaseResult", json.dumps(payload)),
        transaction_id="waoigFfX00yGH3Vb.1",
    )
    assert intent.kind == "download"
    assert intent.iccid == "8901999000000000012"
    assert intent.all_violations() == []
    assert intent.all_notes() == []


def test_legacy_object_purchase_result_is_accepted_with_a_note() -> None:
    payload = legacy_payload(META, iccid="8901999000000000012")
    intent = interpret_legacy(json.dumps(payload), transaction_id="waoigFfX00yGH3Vb.1")
    assert intent.kind == "balance"
    assert intent.all_violations() == []
    assert any("passed as an object" in n for n in intent.all_notes())


def test_mobileplans_notify_purchase_result_is_an_alias() -> None:
    payload = legacy_payload(json.dumps(META), iccid="8901999000000000012")
    intent = interpret(call("MobilePlans", "notifyPurchaseResult", json.dumps(payload)))
    assert intent.kind == "balance"


def test_legacy_rules() -> None:
    unstringified = interpret_legacy(legacy_payload(json.dumps(META), iccid="8901999000000000012"))
    assert any("JSON string" in v for v in unstringified.all_violations())
    wrong_echo = interpret_legacy(
        json.dumps(legacy_payload(json.dumps(META), iccid="8901999000000000012")),
        transaction_id="other.1",
    )
    assert any("must echo the launch transactionId" in v for v in wrong_echo.all_violations())
    no_iccid = interpret_legacy(json.dumps(legacy_payload(json.dumps(META))))
    assert any("must carry the iccid" in v for v in no_iccid.all_violations())
    bad_ver = interpret_legacy(
        json.dumps({**legacy_payload(json.dumps(META), iccid="8901999000000000012"), "ver": 1})
    )
    assert any(v.startswith("ver must be '1'") for v in bad_ver.all_violations())
    abandoned = {
        "userAccount": "Bailed",
        "purchaseInstrument": "None",
        "line": "None",
        "moDirectStatus": "None",
        "planName": "",
    }
    bailed = interpret_legacy(
        json.dumps(
            {
                **legacy_payload(json.dumps(abandoned)),
                "success": False,
                "activationCode": "",
                "iccid": "",
            }
        )
    )
    assert bailed.kind == "cancelled"
    assert bailed.all_violations() == []
    with pytest.raises(CallbackError):
        interpret_legacy("{not json")
    with pytest.raises(CallbackError):
        interpret_legacy('"a string"')
