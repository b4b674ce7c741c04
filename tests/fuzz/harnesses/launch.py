"""The portal's launch query (spec 2.1.1; domains/purchase/launch.py ``parse_launch``).

Input: the query string as the device sends it. Contract: a ``DeviceLaunch`` or
``LaunchRefused`` naming the parameter. Properties: the launch's identifiers are in
canonical form (each parses to itself), an eSIM launch has an EID, a physical SIM no
``iccids``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.domains.purchase import launch
    from mobileplans.kit import identifiers as ids


def TestOneInput(data: bytes) -> None:
    query = parse_qsl(text(data), keep_blank_values=True)
    launch.safe_transaction_id(query)
    try:
        device = launch.parse_launch(query)
    except launch.LaunchRefused as exc:
        check(bool(exc.problem.field) and bool(exc.problem.rule), "refusal names nothing", query)
        return
    check(ids.parse_transaction_id(device.transaction_id) == device.transaction_id, "txid", query)
    check(ids.parse_country(device.location) == device.location, "location", query)
    check(ids.parse_country(device.market) == device.market, "market", query)
    check(device.is_physical != (device.eid is not None), "eid xor iccid", query)
    check(not (device.is_physical and device.iccids), "iccids with a physical SIM", query)
    for iccid in device.device_iccids:
        check(ids.parse_iccid(iccid, lenient=True) == iccid, "ICCID not canonical", query)
    check(launch.safe_transaction_id(query) == device.transaction_id, "safe txid", query)


if __name__ == "__main__":
    main(TestOneInput)
