"""The operator portal while the database is away (issue #11, D265): the portal's own error
page with 503 + ``Retry-After`` and the portal's headers, its call to the app kept; the
operator's API routes keep their problem+json. SQLite locked past the busy wait."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from mobileplans.apps.operator import portal_session
from mobileplans.apps.operator.app import OperatorApp, create_app
from mobileplans.apps.operator.portal_session import DeviceState, PortalState
from mobileplans.apps.operator.routes.portal import unavailable
from mobileplans.apps.operator.routes.portal.web import HEADERS
from mobileplans.config import OperatorAppConfig
from mobileplans.db.errors import DatabaseUnavailable
from mobileplans.kit.clock import FrozenClock
from mobileplans.web.problems import PROBLEM_JSON
from tests.apps.operator.conftest import make_site
from tests.apps.operator.portal_fixtures import Page, esim_launch
from tests.db.test_db_outage import assert_unavailable, lock, serving, sqlite_file

__all__ = ["lock", "serving", "sqlite_file"]  # fixtures shared with test_db_outage

SECRET = "outage-session-secret-0123456789abcdef"
BASE = "http://operator.test"


@pytest.fixture
def operator(serving: async_sessionmaker[AsyncSession], clock: FrozenClock) -> OperatorApp:
    site = make_site("contoso", support_phone="+14255550100")
    config = OperatorAppConfig(sites=[site], public_base_url=BASE, session_secret=SECRET)
    return create_app(config, serving, clock=clock)


@pytest.fixture
async def http(operator: OperatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=operator, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def service_error(user_account: str = "None") -> dict[str, object]:
    meta = {"userAccount": user_account, "purchaseInstrument": "None", "line": "None",
            "moDirectStatus": "ServiceError", "planName": ""}  # fmt: skip
    return {"object": "MobilePlans", "function": "notifyCancelledPurchase", "args": [meta]}


def assert_portal_page(page: Page) -> None:
    assert_unavailable(page.response, "text/html")
    for name, value in HEADERS.items():
        assert page.response.headers[name] == value, name
    assert page.step == "error"
    assert "Service unavailable" in page.text
    assert "support@contoso.example" in page.text  # the error page's support contacts


async def test_a_launch_meets_the_portal_error_page_with_its_call_to_the_app(
    http: httpx.AsyncClient, lock: sqlite3.Connection
) -> None:
    """The launch writes its journal entry: the lock makes it a 503, shown as the portal's
    error page handing control back with ``ServiceError``; it launches once unlocked."""
    lock.execute("BEGIN IMMEDIATE")
    page = Page.of(await http.get("/contoso/portal/", params=esim_launch()))
    lock.execute("ROLLBACK")
    assert_portal_page(page)
    assert page.callback == service_error()
    assert page.markers.get("data-mp-retry") is None  # the app takes over: nothing to retry
    assert 'mp_portal=""' in page.response.headers.get("set-cookie", "")  # ended: logged out

    again = await http.get("/contoso/portal/", params=esim_launch())
    assert again.status_code == 303  # launched: on to the first step
    assert again.headers["location"].startswith("/contoso/portal/")


async def test_the_api_keeps_its_problem_json(
    operator: OperatorApp, http: httpx.AsyncClient, lock: sqlite3.Connection
) -> None:
    async def outage() -> None:  # stands for any MO API or ES2+ route meeting the outage
        raise DatabaseUnavailable()

    operator.api.add_api_route("/{operator_id}/api/v1/outage", outage)
    lock.execute("BEGIN IMMEDIATE")
    response = await http.get("/contoso/api/v1/outage")
    lock.execute("ROLLBACK")
    assert_unavailable(response, PROBLEM_JSON)


def _request(operator: OperatorApp, method: str, path: str, state: PortalState) -> Request:
    cookie = f"{portal_session.COOKIE_NAME}={portal_session.encode(state, SECRET)}"
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", b"operator.test"),
             (b"cookie", cookie.encode())], "scheme": "http", "root_path": "",
             "server": ("operator.test", 80), "app": operator.api}  # fmt: skip
    return Request(scope)


def _state(clock: FrozenClock, **changes: object) -> PortalState:
    device = DeviceState(transaction_id="tx-outage.1", location="US", market="US")
    state = PortalState(operator_id="contoso", issued=clock.now().timestamp(), device=device)
    return state.model_copy(update=changes)


def test_a_signed_in_session_reports_its_account(operator: OperatorApp, clock: FrozenClock) -> None:
    state = _state(clock, account_id=1, user_account="Existing", checkout_key="k1")
    request = _request(operator, "POST", "/contoso/portal/terms", state)
    response = unavailable.render(request, DatabaseUnavailable())
    page = Page.of(httpx.Response(response.status_code, headers=response.headers.items(),
                                  content=bytes(response.body)))  # fmt: skip
    assert_portal_page(page)
    assert page.callback == service_error("Existing")


@pytest.mark.parametrize(
    ("method", "path", "changes", "retry"),
    [
        ("POST", "/contoso/portal/review", {"checkout_key": "k1"}, "/contoso/portal/review"),
        ("GET", "/contoso/portal/confirmation", {"receipt": "7"}, "/contoso/portal/confirmation"),
    ],
)
def test_a_sent_order_gets_no_call_and_a_way_back(
    operator: OperatorApp,
    clock: FrozenClock,
    method: str,
    path: str,
    changes: dict[str, object],
    retry: str,
) -> None:
    """The order may be placed: no ``ServiceError`` contradicting it; the session stays."""
    state = _state(clock, account_id=1, user_account="Existing", **changes)
    response = unavailable.render(_request(operator, method, path, state), DatabaseUnavailable())
    page = Page.of(httpx.Response(response.status_code, headers=response.headers.items(),
                                  content=bytes(response.body)))  # fmt: skip
    assert_portal_page(page)
    assert page.callback is None
    assert [m["href"] for m in page.markers["data-mp-retry"]] == [retry]
    assert "set-cookie" not in page.response.headers  # the session is kept


def test_only_portal_paths_get_the_page(operator: OperatorApp, clock: FrozenClock) -> None:
    state = _state(clock)
    for path in ("/contoso/api/v1/balance", "/contoso/gsma/rsp2/es2plus/x", "/nobody/portal/"):
        response = unavailable.render(_request(operator, "GET", path, state), DatabaseUnavailable())
        assert response.headers["content-type"] == PROBLEM_JSON, path
        assert response.status_code == 503
