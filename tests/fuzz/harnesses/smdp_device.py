"""The SM-DP+ device download interface's request bodies (docs/activation.md;
domains/smdp/download.py ``parse`` with the ``*In`` models of domains/smdp/schemas.py).

Input: the model's name on the first line, then the JSON body. Contract: the model or
``RspError`` (``1.3.1/2.1`` naming the member). Properties: the model written back on the
wire reads back to the same model.
"""

from __future__ import annotations

import orjson

from tests.fuzz.support import check, instrumented, main

with instrumented():
    from mobileplans.domains.smdp import download, schemas
    from mobileplans.domains.smdp.codes import MALFORMED, RspError

MODELS = {
    "initiateDownload": schemas.InitiateDownloadIn,
    "getBoundProfilePackage": schemas.GetBoundProfilePackageIn,
    "handleNotification": schemas.HandleNotificationIn,
    "cancelSession": schemas.CancelSessionIn,
}


def TestOneInput(data: bytes) -> None:
    name, _, body = data.partition(b"\n")
    model = MODELS.get(name.decode("latin-1").strip(), schemas.InitiateDownloadIn)
    try:
        request = download.parse(model, body)
    except RspError as exc:
        check(exc.code == MALFORMED, "not 1.3.1/2.1", data, exc.code)
        return
    again = download.parse(model, orjson.dumps(request.wire()))
    check(again == request, "request does not round-trip", data, request, again)


if __name__ == "__main__":
    main(TestOneInput)
