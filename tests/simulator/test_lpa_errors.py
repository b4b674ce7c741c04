"""Re-entry headers (spec 2.1.3, 7.1 #19) and the SM-DP+ error → ESimOperationStatus mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.simulator.clients import SmdpDeviceClient, SmdpError, status_of_failure
from mobileplans.simulator.lpa import ERROR_HEADERS, LpaErrorLog
from tests.support import free_port

AT = datetime(2026, 11, 2, 17, 0, 5, tzinfo=UTC)


def test_no_failure_no_headers() -> None:
    assert LpaErrorLog(ZoneInfo("UTC")).headers() == {}


def test_headers_list_every_failure_with_iso_timestamps_and_one_iccid() -> None:
    log = LpaErrorLog(ZoneInfo("America/Los_Angeles"))
    log.record(ESimOperationStatus.ServerFailure, AT, None)
    log.record(
        ESimOperationStatus.ServerNotReachable, AT + timedelta(minutes=10), "8901999000000000012"
    )
    log.record(
        ESimOperationStatus.InsufficientSpaceOnCard,
        AT + timedelta(minutes=20),
        "8901999000000000020",
    )
    headers = log.headers()
    assert set(headers) == set(ERROR_HEADERS)
    assert headers["X-MP-LPAError-Codes"] == (
        "ServerFailure,ServerNotReachable,InsufficientSpaceOnCard"
    )
    stamps = headers["X-MP-LPAError-TimeStamps"].split(",")
    assert stamps == [
        "2026-11-02T09:00:05-08:00",
        "2026-11-02T09:10:05-08:00",
        "2026-11-02T09:20:05-08:00",
    ]
    assert next(datetime.fromisoformat(s) for s in stamps) == AT
    assert headers["X-MP-LPAError-ICCIDs"] == "8901999000000000020"  # the last one tried
    log.clear()
    assert log.headers() == {}


def test_an_unknown_iccid_leaves_the_iccid_header_out() -> None:
    log = LpaErrorLog(ZoneInfo("UTC"))
    log.record(ESimOperationStatus.InvalidMatchingId, AT, None)
    headers = log.headers()
    assert headers["X-MP-LPAError-TimeStamps"] == "2026-11-02T17:00:05+00:00"
    assert "X-MP-LPAError-ICCIDs" not in headers


def failed(name: str | None = None, subject: str = "", reason: str = "") -> dict[str, object]:
    body: dict[str, object] = {
        "header": {
            "functionExecutionStatus": {
                "status": "Failed",
                "statusCodeData": {"subjectCode": subject, "reasonCode": reason, "message": "m"},
            }
        }
    }
    if name is not None:
        body["esimOperationStatus"] = name
    return body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (failed("EidMismatch"), ESimOperationStatus.EidMismatch),
        (failed("ProfileNotReleasedByOperator"), ESimOperationStatus.ProfileNotReleasedByOperator),
        (failed(None, "8.2.6", "3.8"), ESimOperationStatus.InvalidMatchingId),
        (failed(None, "8.2.1", "3.3"), ESimOperationStatus.ProfileNotAvailableForNewBinding),
        (failed(None, "8.2.7", "6.4"), ESimOperationStatus.ConfirmationCodeMaxRetriesExceeded),
        (failed(None, "8.10.1", "3.9"), ESimOperationStatus.NoCorrespondingRequest),
        (failed("NotAName", "9.9", "9.9"), ESimOperationStatus.Other),
        ({"header": None}, ESimOperationStatus.Other),
    ],
)
def test_failed_answers_map_to_operation_status(
    body: dict[str, object], status: ESimOperationStatus
) -> None:
    assert status_of_failure(body) is status


def test_activation_error_is_the_camel_case_name() -> None:
    assert ESimOperationStatus.InsufficientSpaceOnCard.activation_error == "insufficientSpaceOnCard"
    assert ESimOperationStatus.ServerNotReachable.activation_error == "serverNotReachable"


async def test_an_unreachable_smdp_is_server_not_reachable() -> None:
    port = free_port()  # nothing listens there
    async with httpx.AsyncClient(timeout=5) as http:
        client = SmdpDeviceClient(http, f"http://127.0.0.1:{port}")
        with pytest.raises(SmdpError) as failure:
            await client.initiate_download("89049032000000000000000000000163", "AB12", None)
    assert failure.value.status is ESimOperationStatus.ServerNotReachable
    assert "initiateDownload" in failure.value.detail
