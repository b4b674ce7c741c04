"""Regression tests for what the generated API tests found on the reference operator
(issue #11, tests/api_fuzz; D215): 404 for an operator this process does not host was
answered on every route but documented on none, and a 405 named one method of two."""

from __future__ import annotations

import httpx
import pytest


async def test_every_operation_under_an_operator_documents_404(
    operator_client: httpx.AsyncClient,
) -> None:
    document = (await operator_client.get("/openapi.json")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "{" in path:
                assert "404" in operation["responses"], f"{method.upper()} {path}"
            assert "422" not in operation["responses"], f"{method.upper()} {path}"


@pytest.mark.parametrize("path", ["/nobody/portal/", "/nobody/static/logo-300.png"])
async def test_an_operator_not_hosted_here_is_a_404(
    operator_client: httpx.AsyncClient, path: str
) -> None:
    response = await operator_client.get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("page", ["signin", "signup", "plans", "review"])
async def test_a_405_on_a_portal_page_allows_get_and_post(
    operator_client: httpx.AsyncClient, page: str
) -> None:
    response = await operator_client.request("OPTIONS", f"/contoso/portal/{page}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
