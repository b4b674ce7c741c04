"""The ES2+ codec both sides share (kit.es2plus): what one side writes, the other reads back
unchanged, and the bytes on the wire stay those of SGP.22's JSON binding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from mobileplans.domains.purchase.es2plus_client import Es2PlusFailed, _outcome
from mobileplans.domains.smdp.codes import (
    MATCHING_ID_REFUSED,
    PROFILE_TYPE_EXHAUSTED,
    RspError,
    es2_failed,
    es2_success,
)
from mobileplans.domains.smdp.envelope import Es2Request, open_envelope
from mobileplans.kit import es2plus as codec
from mobileplans.kit.identifiers import eid_with_check_digits, iccid_check_digit

ICCID = "894400000000000001" + iccid_check_digit("894400000000000001")
EID = eid_with_check_digits("890490321234512345123456789012")
AT = datetime(2026, 12, 5, 17, 30, 9, 123456, tzinfo=UTC)


def test_a_request_the_client_builds_is_the_request_the_server_opens() -> None:
    body = codec.request_body("contoso-bss", "o1.downloadOrder", {"profileType": "consumer"})
    raw = orjson.dumps(body)
    assert raw == (
        b'{"header":{"functionRequesterIdentifier":"contoso-bss",'
        b'"functionCallIdentifier":"o1.downloadOrder"},"profileType":"consumer"}'
    )
    headers = codec.http_headers()
    envelope = open_envelope(
        Es2Request("downloadOrder", raw, headers["X-Admin-Protocol"], headers["Content-Type"])
    )
    assert (envelope.requester_id, envelope.call_id) == ("contoso-bss", "o1.downloadOrder")
    assert envelope.body == body


def test_the_server_refuses_a_request_without_the_admin_protocol_the_codec_sends() -> None:
    raw = orjson.dumps(codec.request_body("r", "c", {}))
    with pytest.raises(RspError) as refused:
        open_envelope(Es2Request("downloadOrder", raw, "gsma/rsp/2.5", "application/json"))
    assert refused.value.code.subject == "1.2.2"


def test_a_success_answer_round_trips_with_its_members() -> None:
    answer = es2_success(iccid=ICCID, eid=None)
    assert orjson.dumps(answer) == (
        b'{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"iccid":"'
        + ICCID.encode()
        + b'"}'
    )
    assert codec.read_status(answer) == codec.OK
    assert _outcome("downloadOrder", answer) == answer


def test_a_failure_answer_reaches_the_client_with_its_codes_and_message() -> None:
    answer = es2_failed(PROFILE_TYPE_EXHAUSTED)
    assert orjson.dumps(answer) == (
        b'{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":'
        b'{"subjectCode":"8.2.5","reasonCode":"3.7",'
        b'"message":"no more profile available of this type"}}}}'
    )
    status = codec.read_status(answer)
    assert status == codec.failure("8.2.5", "3.7", "no more profile available of this type")
    assert status is not None
    assert not status.succeeded
    with pytest.raises(Es2PlusFailed) as failed:
        _outcome("downloadOrder", answer)
    assert (failed.value.code, failed.value.no_profile_left) == ("8.2.5/3.7", True)
    assert failed.value.detail == "no more profile available of this type"


@pytest.mark.parametrize(
    "answer",
    [None, [], {"header": {}}, {"header": {"functionExecutionStatus": {"status": 1}}}, "x"],
)
def test_what_is_not_an_es2plus_answer_reads_as_none(answer: object) -> None:
    assert codec.read_status(answer) is None


def test_a_failed_answer_without_codes_reads_as_empty_codes() -> None:
    status = codec.read_status({"header": {"functionExecutionStatus": {"status": "Expired"}}})
    assert status == codec.ExecutionStatus("Expired", codec.StatusCodeData("", "", ""))


def test_download_progress_written_by_the_smdp_is_read_by_the_operator() -> None:
    failure = MATCHING_ID_REFUSED.failure("wrong code")
    for status in (codec.OK, codec.ExecutionStatus(codec.FAILED, failure)):
        body = codec.progress_body(
            iccid=ICCID, profile_type="consumer", timestamp=AT,
            point=codec.BPP_INSTALLATION, status=status, eid=EID,
        )  # fmt: skip
        sent = codec.request_body("mobileplans-smdp", "NP4-1", body)
        info = codec.DownloadProgressInfo.model_validate(orjson.loads(orjson.dumps(sent)))
        assert (info.iccid, info.eid, info.profile_type) == (ICCID, EID, "consumer")
        assert info.timestamp == AT.replace(microsecond=0)
        assert info.notification_point_id == codec.BPP_INSTALLATION
        assert info.notification_point_status.value() == status
        assert info.succeeded is status.succeeded
        assert info.header is not None
        assert info.header.function_call_identifier == "NP4-1"


def test_download_progress_members_are_in_wire_order() -> None:
    body = codec.progress_body(iccid=ICCID, profile_type="consumer", timestamp=AT,
                               point=codec.BPP_DOWNLOAD, status=codec.OK)  # fmt: skip
    assert orjson.dumps(body) == (
        b'{"iccid":"' + ICCID.encode() + b'","profileType":"consumer",'
        b'"timestamp":"2026-12-05T17:30:09Z","notificationPointId":3,'
        b'"notificationPointStatus":{"status":"Executed-Success"}}'
    )


def test_a_progress_timestamp_needs_an_offset() -> None:
    body = codec.progress_body(iccid=ICCID, profile_type="consumer", timestamp=AT,
                               point=1, status=codec.OK)  # fmt: skip
    naive = {**body, "timestamp": "2026-12-05T17:30:09"}
    with pytest.raises(ValueError, match="UTC offset"):
        codec.DownloadProgressInfo.model_validate(naive)
    offset = {**body, "timestamp": "2026-12-05T18:30:09+01:00"}
    read = codec.DownloadProgressInfo.model_validate(offset).timestamp
    assert read == AT.replace(microsecond=0)
    assert read.tzinfo == timezone(timedelta(hours=1))


def test_w3c_timestamp_has_a_four_digit_year() -> None:
    """Found by fuzzing (tests/fuzz/harnesses/es2plus_progress.py): year 1 was written "1-01-01"."""
    assert codec.w3c_timestamp(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert codec.w3c_timestamp(datetime(2024, 5, 18, 23, 17, 23, 999, tzinfo=UTC)) == (
        "2024-05-18T23:17:23Z"
    )
    body = codec.progress_body(
        iccid="8901999000000000000", profile_type="P", timestamp=datetime(999, 1, 1, tzinfo=UTC),
        point=codec.BPP_DOWNLOAD, status=codec.OK,
    )  # fmt: skip
    info = codec.DownloadProgressInfo.model_validate(body)
    assert info.timestamp == datetime(999, 1, 1, tzinfo=UTC)
