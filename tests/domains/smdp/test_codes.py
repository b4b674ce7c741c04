"""The code table: docs/smdp.md lists every code, device codes match activation.md."""

from __future__ import annotations

from pathlib import Path

from mobileplans.domains.smdp import codes
from mobileplans.kit.esim import ESimOperationStatus

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_docs_list_every_code_with_its_status() -> None:
    text = (DOCS / "smdp.md").read_text()
    for code in codes.CODES:
        row = next(
            (
                line
                for line in text.splitlines()
                if line.startswith(f"| {code.subject} / {code.reason} |")
            ),
            None,
        )
        assert row is not None, f"{code.subject}/{code.reason} missing from docs/smdp.md"
        assert f"`{code.esim_status.name}`" in row


def test_device_codes_are_the_ones_of_activation_md() -> None:
    expected = {
        (codes.MATCHING_ID_REFUSED, "8.2.6", "3.8", ESimOperationStatus.InvalidMatchingId),
        (codes.EID_MISMATCH, "8.1.1", "3.8", ESimOperationStatus.EidMismatch),
        (
            codes.PROFILE_NOT_AVAILABLE,
            "8.2.1",
            "3.3",
            ESimOperationStatus.ProfileNotAvailableForNewBinding,
        ),
        (codes.NOT_RELEASED, "8.2", "1.2", ESimOperationStatus.ProfileNotReleasedByOperator),
        (codes.CC_MISSING, "8.2.7", "2.2", ESimOperationStatus.ConfirmationCodeMissing),
        (codes.CC_REFUSED, "8.2.7", "3.8", ESimOperationStatus.IncorrectConfirmationCode),
        (
            codes.CC_RETRIES_EXCEEDED,
            "8.2.7",
            "6.4",
            ESimOperationStatus.ConfirmationCodeMaxRetriesExceeded,
        ),
        (codes.TRANSACTION_UNKNOWN, "8.10.1", "3.9", ESimOperationStatus.NoCorrespondingRequest),
        (codes.MALFORMED, "1.3.1", "2.1", ESimOperationStatus.Other),
    }
    for code, subject, reason, status in expected:
        assert (code.subject, code.reason, code.esim_status) == (subject, reason, status)


def test_failure_bodies() -> None:
    assert codes.device_failed(codes.CC_MISSING) == {
        "header": {
            "functionExecutionStatus": {
                "status": "Failed",
                "statusCodeData": {
                    "subjectCode": "8.2.7",
                    "reasonCode": "2.2",
                    "message": "confirmation code missing",
                },
            }
        },
        "esimOperationStatus": "ConfirmationCodeMissing",
    }
    assert codes.es2_success(iccid="1", eid=None) == {
        "header": {"functionExecutionStatus": {"status": "Executed-Success"}},
        "iccid": "1",
    }
