"""The operator MO API's path and query parameters (spec 2.3-2.7, 7.1 #2, #7;
apps/operator/mo_request.py, domains/subscriber/engagement.py).

Input: the raw query string (read as the fast path reads it, ``mo_request.Query``);
its ``sim`` value stands for the path's SIM id. Contract: each parser returns its value or raises
``BadRequest`` / ``IdentifierError`` (both answered 400 naming the parameter).
Properties: ``limit`` is within 0..2^31-1; a parsed SIM id is a canonical ICCID.
"""

from __future__ import annotations

from tests.fuzz.support import check, instrumented, main

with instrumented():
    from mobileplans.apps.operator import mo_request
    from mobileplans.domains.subscriber.engagement import parse_notification_type
    from mobileplans.errors import BadRequest
    from mobileplans.kit import identifiers as ids

NAMES = ("sim", "limit", "fieldsTemplate", "imei", "notificationType")


def _read(query: mo_request.Query) -> None:
    values = {name: mo_request.query_value(query, name) for name in NAMES}
    sim = values["sim"]
    if sim is not None:
        iccid = mo_request.parse_sim_id(sim, field="sim")
        check(ids.parse_iccid(iccid, lenient=True) == iccid, "SIM id not canonical", sim)
    for required in (False, True):
        limit = mo_request.parse_limit(values["limit"], required=required)
        check(limit is None or 0 <= limit <= mo_request.INT_MAX, "limit out of range", limit)
    mo_request.parse_fields_template(values["fieldsTemplate"])
    mo_request.parse_imei(values["imei"])
    parse_notification_type(values["notificationType"])


def TestOneInput(data: bytes) -> None:
    try:
        _read(mo_request.Query(data))
    except (BadRequest, ids.IdentifierError) as exc:
        check(bool(str(exc)), "an error without a message", data)


if __name__ == "__main__":
    main(TestOneInput)
