"""HTTP helpers for SM-DP+ app tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.domains.smdp.support import PROTOCOL, fci

ES2 = "/gsma/rsp2/es2plus/"
DEVICE = "/rsp/device/v1/"


async def es2(
    client: httpx.AsyncClient,
    function: str,
    body: dict[str, Any],
    *,
    requester: str = "contoso-bss",
    call_id: str | None = None,
) -> dict[str, Any]:
    header = {"functionRequesterIdentifier": requester, "functionCallIdentifier": call_id or fci()}
    response = await client.post(
        ES2 + function, json={"header": header, **body}, headers={"X-Admin-Protocol": PROTOCOL}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = response.json()
    return result


async def device(client: httpx.AsyncClient, step: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(DEVICE + step, json=body)
