"""The operator's lean per-operator path (``apps/operator/portal_path.py``, D280) against
FastAPI: which routes it takes, and the same status, headers and body for the same
request on the same data (the portal's pages with and without a session, a launch, an
unknown operator, a bad ES2+ callback body, the static assets)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from mobileplans.apps.operator.app import OperatorApp
from mobileplans.apps.operator.portal_path import PortalPath
from mobileplans.web.metrics import REQUESTS
from tests.apps.operator.conftest import BASE_URL, Demo
from tests.apps.operator.portal_fixtures import esim_launch

CALLBACK = "/contoso/gsma/rsp2/es2plus/handleDownloadProgressInfo"


def lean(app: OperatorApp) -> PortalPath:
    path = app.framework.app  # type: ignore[attr-defined]
    assert isinstance(path, PortalPath)
    return path


@pytest.fixture
async def clients(
    operator_app: OperatorApp, demo: Demo
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(the app as served, FastAPI alone); neither follows redirects."""
    served = httpx.ASGITransport(app=operator_app)
    framework = httpx.ASGITransport(app=operator_app.api)
    async with (
        httpx.AsyncClient(transport=served, base_url=BASE_URL) as one,
        httpx.AsyncClient(transport=framework, base_url=BASE_URL) as other,
    ):
        yield one, other


def test_takes_the_per_operator_pages_only(operator_app: OperatorApp) -> None:
    table = lean(operator_app)._build()
    taken = {(method, rest) for method, rest in table}
    for step in ("", "signin", "signup", "plans", "checkout", "terms", "review"):
        assert ("GET", f"portal/{step}") in taken
    for step in ("signin", "signup", "plans", "checkout", "terms", "review", "reentry"):
        assert ("POST", f"portal/{step}") in taken
    assert ("GET", "portal/confirmation") in taken
    assert ("POST", "gsma/rsp2/es2plus/handleDownloadProgressInfo") in taken
    assert ("GET", "static/logo-300.png") in taken
    assert not any(rest.startswith("api/") or "{" in rest for _, rest in taken)
    assert not any(method == "HEAD" for method, _ in taken)
    assert {"healthz", "metrics"} <= lean(operator_app)._fixed


_EXPIRES = re.compile(r"expires=[^;]+")


def headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers with a cookie's ``expires=`` date reduced to its presence: the two
    answers are a few milliseconds apart and may fall either side of a second."""
    return [(k, _EXPIRES.sub("expires=<date>", v)) for k, v in response.headers.multi_items()]


async def same(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], method: str, url: str, **kw: object
) -> httpx.Response:
    one, other = clients
    a = await one.request(method, url, **kw)  # type: ignore[arg-type]
    b = await other.request(method, url, **kw)  # type: ignore[arg-type]
    assert (a.status_code, headers(a), a.content) == (
        b.status_code,
        headers(b),
        b.content,
    ), url
    return a


async def test_same_answers_as_fastapi(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    assert (await same(clients, "GET", "/contoso/portal/signin")).status_code == 200  # ended
    launch = await same(clients, "GET", "/contoso/portal/", params=esim_launch())
    assert launch.status_code == 303
    cookie = {"cookie": launch.headers["set-cookie"].split(";", 1)[0]}
    page = await same(clients, "GET", "/contoso/portal/signin", headers=cookie)
    assert 'data-mp-step="signin"' in page.text
    await same(clients, "GET", "/contoso/portal/signup", headers=cookie)
    await same(clients, "GET", "/contoso/portal/plans", headers=cookie)  # not signed in
    await same(clients, "POST", "/contoso/portal/terms", headers=cookie, data={"x": "1"})
    assert (await same(clients, "GET", "/nobody/portal/signin")).status_code == 404
    bad = await same(clients, "POST", CALLBACK, content=b"not json")
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert (await same(clients, "GET", "/contoso/static/logo-300.png")).status_code == 200
    await same(clients, "HEAD", "/contoso/portal/signin")  # FastAPI: 405, both ways
    assert (await same(clients, "GET", "/contoso/portal/nowhere")).status_code == 404


async def test_metrics_name_the_route_template(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    sample = REQUESTS.labels("operator", "GET", "/{operator_id}/portal/signup", "200")
    before = sample._value.get()
    await clients[0].get("/contoso/portal/signup")
    assert sample._value.get() == before + 1
