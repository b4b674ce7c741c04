"""A HandleDownloadProgressInfo body the operator receives (SGP.22 5.3.5; kit/es2plus.py).

Contract: ``DownloadProgressInfo.model_validate_json`` returns the model or raises
pydantic's ``ValidationError`` (the operator answers it as a ``Failed``). Properties: the
ICCID and EID are canonical; the timestamp is aware; the body the SM-DP+ would send for
the same values (``progress_body``) reads back to the same values.
"""

from __future__ import annotations

import json
from datetime import timedelta

from pydantic import ValidationError

from tests.fuzz.support import check, instrumented, main

with instrumented():
    from mobileplans.kit import es2plus as codec
    from mobileplans.kit import identifiers as ids


def TestOneInput(data: bytes) -> None:
    try:
        info = codec.DownloadProgressInfo.model_validate_json(data)
    except ValidationError:
        return
    check(ids.parse_iccid(info.iccid, lenient=True) == info.iccid, "ICCID", data)
    check(info.eid is None or ids.parse_eid(info.eid) == info.eid, "EID", data)
    check(info.timestamp.tzinfo is not None, "naive timestamp", data)
    status = info.notification_point_status.value()
    body = codec.progress_body(
        iccid=info.iccid,
        profile_type=info.profile_type,
        timestamp=info.timestamp,
        point=info.notification_point_id,
        status=status,
        eid=info.eid,
    )
    again = codec.DownloadProgressInfo.model_validate_json(json.dumps(body))
    check(again.iccid == info.iccid and again.eid == info.eid, "identifiers", data, body)
    check(again.notification_point_status.value() == status, "status", data, body)
    if info.timestamp.utcoffset() == timedelta(0):  # the SM-DP+ sends UTC (esim-rsp 1.2)
        same = again.timestamp == info.timestamp.replace(microsecond=0)
        check(same, "timestamp does not round-trip", data, body)


if __name__ == "__main__":
    main(TestOneInput)
