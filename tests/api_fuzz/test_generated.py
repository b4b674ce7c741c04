"""Schemathesis over every OpenAPI document the project serves (issue #11): the broker
(authenticated with the admin token), the reference operator (MO API, network stand-in,
portal pages, ES2+ callback) and the SM-DP+ (ES2+ and the device interface).

The documents are built without a database at collection time (``mobileplans openapi
PART``, the committed ``docs/openapi/`` copies); ``test_served_documents`` shows the
served ones are the same, so the requests go to exactly what was fuzzed.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import negative_data_rejection

from mobileplans.cli.serve_cmd import openapi_document
from tests.api_fuzz.settings import fuzz_config
from tests.api_fuzz.stack import ADMIN_TOKEN, StackUrls

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
broker = from_dict(openapi_document("broker"), config=fuzz_config())
operator = from_dict(openapi_document("operator"), config=fuzz_config())
smdp = from_dict(openapi_document("smdp"), config=fuzz_config())


@broker.parametrize()
def test_broker(case: schemathesis.Case, stack: StackUrls) -> None:
    case.call_and_validate(base_url=stack.broker, headers=ADMIN)


@operator.parametrize()
def test_operator(case: schemathesis.Case, stack: StackUrls) -> None:
    case.call_and_validate(base_url=stack.operator)


def es2_failed_for_invalid(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """ES2+ and the device interface answer a request their documentation calls invalid
    with HTTP 200 and ``functionExecutionStatus.status`` ``Failed`` (esim-rsp 1.2), not a
    4xx: this check stands for ``negative_data_rejection`` on the SM-DP+."""
    if case.meta is None or not case.meta.generation.mode.is_negative:
        return None
    if response.status_code != 200:  # 405 and the like: status_code_conformance's part
        return None
    status = response.json()["header"]["functionExecutionStatus"]["status"]
    assert status == "Failed", f"invalid request answered {status!r}, expected 'Failed'"
    return True


@smdp.parametrize()
def test_smdp(case: schemathesis.Case, stack: StackUrls) -> None:
    case.call_and_validate(
        base_url=stack.smdp,
        excluded_checks=[negative_data_rejection],
        additional_checks=[es2_failed_for_invalid],
    )


@pytest.mark.parametrize("part", ["broker", "operator", "smdp"])
def test_served_documents(part: str, stack: StackUrls) -> None:
    served = httpx.get(f"{getattr(stack, part)}/openapi.json", timeout=10).json()
    assert served["paths"] == openapi_document(part)["paths"]
