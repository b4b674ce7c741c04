"""Purchase-metadata checks of the conformance kit (spec 2.2.4, 7.1 #13-#15)."""

from __future__ import annotations

from typing import Any

import pytest

from mobileplans.simulator.meta import Expect, parse_meta

COMPLETE = {
    "userAccount": "New",
    "purchaseInstrument": "New",
    "line": "New",
    "moDirectStatus": "Complete",
    "planName": "Contoso 5 GB",
}


def test_a_complete_purchase_passes_and_is_a_success() -> None:
    check = parse_meta(COMPLETE, expect=Expect.SUCCESS)
    assert check.ok, check.violations
    assert check.meta.succeeded
    assert check.meta.plan_name == "Contoso 5 GB"
    assert check.notes == []


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        ({"moDirectStatus": None}, "moDirectStatus is required"),
        ({"moDirectStatus": "Done"}, "moDirectStatus 'Done' is not one of"),
        ({"planName": None}, "planName is required"),
        ({"planName": ""}, "planName must be a non-empty name"),
        ({"planName": "   "}, "planName must be a non-empty name"),
        ({"planName": 5}, "planName must be a string"),
        ({"userAccount": "Someone"}, "userAccount 'Someone' is not one of"),
        ({"line": 1}, "line must be a string"),
    ],
)
def test_each_broken_rule_is_named(change: dict[str, Any], violation: str) -> None:
    meta = {**COMPLETE, **change}
    meta = {k: v for k, v in meta.items() if v is not None}
    check = parse_meta(meta)
    assert not check.ok
    assert any(v.startswith(violation) for v in check.violations), check.violations


def test_optional_fields_may_be_absent() -> None:
    check = parse_meta({"moDirectStatus": "Complete", "planName": "P"})
    assert check.ok
    assert check.meta.user_account is None
    assert check.meta.line is None


def test_failure_needs_an_empty_plan_name() -> None:
    check = parse_meta({"moDirectStatus": "PurchaseFailed", "planName": "P"})
    assert check.violations == ['planName must be "" when moDirectStatus is PurchaseFailed']


def test_a_download_callback_must_report_complete() -> None:
    check = parse_meta({"moDirectStatus": "None", "planName": ""}, expect=Expect.SUCCESS)
    assert any("reports a completed purchase" in v for v in check.violations)


def test_a_cancel_must_not_claim_a_line_or_completion() -> None:
    check = parse_meta(COMPLETE, expect=Expect.FAILURE)
    assert "a cancelled purchase must not report moDirectStatus Complete" in check.violations
    assert "a cancelled purchase must not report line New" in check.violations
    bailed = {
        "userAccount": "Bailed",
        "purchaseInstrument": "None",
        "line": "None",
        "moDirectStatus": "None",
        "planName": "",
    }
    assert parse_meta(bailed, expect=Expect.FAILURE).ok


def test_sample_aliases_line_type_and_modirect_status_are_accepted() -> None:
    check = parse_meta({"lineType": "New", "modirectStatus": "Complete", "planName": "P"})
    assert check.ok, check.violations
    assert check.meta.line == "New"
    assert check.meta.mo_direct_status == "Complete"
    assert any("lineType" in n for n in check.notes)


def test_alias_disagreeing_with_the_name_is_a_violation() -> None:
    check = parse_meta(
        {"line": "New", "lineType": "Existing", "moDirectStatus": "Complete", "planName": "P"}
    )
    assert any("disagree" in v for v in check.violations)


def test_other_casing_is_accepted_and_noted() -> None:
    check = parse_meta({"moDirectStatus": "cancelled", "line": "bailed", "planName": ""})
    assert check.ok
    assert check.meta.mo_direct_status == "Cancelled"
    assert check.meta.line == "Bailed"
    assert len(check.notes) == 2


@pytest.mark.parametrize("value", [None, "Complete", ["Complete"], 3])
def test_metadata_must_be_an_object(value: Any) -> None:
    check = parse_meta(value)
    assert check.violations
    assert "must be an object" in check.violations[0]


def test_wire_round_trip_uses_spec_names() -> None:
    assert parse_meta(COMPLETE).meta.wire() == COMPLETE
