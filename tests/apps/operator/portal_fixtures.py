"""Portal test support: the operator app and the real SM-DP+ on 127.0.0.1, and a client that
walks the portal like the device simulator does (``data-mp-step`` markers, ``data-mp-form``
forms, the ``mp-callback`` block; docs/activation.md "Portal contract")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.operator.app import OperatorApp
from mobileplans.apps.operator.app import create_app as create_operator
from mobileplans.apps.smdp.app import create_app as create_smdp
from mobileplans.cli.demo import demo_sim
from mobileplans.cli.demo_operator import PREFIX, PROFILE_TYPE, ensure_operator_demo
from mobileplans.config import Environment, OperatorAppConfig, OperatorSite
from mobileplans.db.models import MoOrder
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.purchase import journal
from mobileplans.domains.smdp import inventory
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.schemas import ProfileRead
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineRead
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.identifiers import eid_with_check_digits
from mobileplans.web.server import Listener, make_server
from tests.support import free_port, operator_spec

OPERATOR = "contoso"
REQUESTER = "contoso-bss"
SECRET = "portal-test-secret-0123456789abcdef"
EID = eid_with_check_digits("890490320000000000000000001234")
OTHER_EID = eid_with_check_digits("890490320000000000000000005678")
IMEI = "001102000315468"
SCRIPTS = {
    "registrationChangedScript": "mpRegistrationChanged",
    "profileActivationCompleteScript": "mpActivationComplete",
}
CARD = {"instrument": "new", "cardNumber": "4111 1111 1111 1111", "expiry": "12/30", "cvv": "123"}
DEMO_EMAIL, DEMO_PASSWORD = "alex@contoso.example", "demo-password-1"
Sessions = async_sessionmaker[AsyncSession]


def sim(role: str) -> str:
    """A demo SIM of contoso by role: active_prepaid, zero_balance, warm_sim, not_supported."""
    return demo_sim(PREFIX[OPERATOR], role)


def site(es2plus_url: str, **overrides: Any) -> OperatorSite:
    data: dict[str, Any] = {
        "operator_id": OPERATOR,
        "brand_name": "Contoso Cellular",
        "countries": ["US"],
        "es2plus_url": es2plus_url,
        "es2plus_requester_id": REQUESTER,
        "support_email": "support@contoso.example",
        "support_phone": "+14255550100",
    }
    data.update(overrides)
    return OperatorSite.model_validate(data)


class _Server:
    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server(Listener("test", app, "127.0.0.1", port))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("server did not start")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


@dataclass
class Stack:
    """The operator app and the SM-DP+ on real sockets, sharing the test database."""

    sessions: Sessions
    clock: FrozenClock
    operator: OperatorApp
    operator_url: str
    smdp_url: str
    site: OperatorSite

    def browser(self, **headers: str) -> PortalBrowser:
        return PortalBrowser(self.operator_url, headers)


async def seed_back_office(sessions: Sessions, clock: FrozenClock) -> None:
    """Registry entry (ICCID ranges), demo plans, SIMs and the existing demo account."""
    async with session_scope(sessions) as session:
        spec = operator_spec(OPERATOR, brand="Contoso Cellular", prefix=PREFIX[OPERATOR])
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
    await ensure_operator_demo(sessions, [OPERATOR], clock.now())


async def seed_smdp(
    sessions: Sessions, clock: FrozenClock, callback_url: str, count: int, profile_type: str
) -> list[str]:
    async with session_scope(sessions) as session:
        await inventory.register_requester(
            session,
            requester_id=REQUESTER,
            operator_id=OPERATOR,
            callback_url=callback_url,
            now=clock.now(),
        )
        if not count:
            return []
        ranges = await inventory.ranges_for(session, OPERATOR, Environment.PRODUCTION)
        return await inventory.generate_profiles(
            session,
            operator_id=OPERATOR,
            ranges=ranges,
            profile_type=profile_type,
            count=count,
            now=clock.now(),
            spn="Contoso",
            profile_name="Contoso eSIM",
        )


@asynccontextmanager
async def running_stack(
    sessions: Sessions,
    clock: FrozenClock,
    *,
    profiles: int = 10,
    profile_type: str = PROFILE_TYPE[OPERATOR],
    es2plus_url: str | None = None,
    **site_overrides: Any,
) -> AsyncIterator[Stack]:
    """Seed everything, start the SM-DP+ and the operator; ``es2plus_url`` overrides where
    the operator sends ES2+ (e.g. a closed port for "SM-DP+ unreachable")."""
    await seed_back_office(sessions, clock)
    smdp_port = free_port()
    smdp_config = SmdpConfig(
        address=f"127.0.0.1:{smdp_port}",
        public_base_url=f"http://127.0.0.1:{smdp_port}",
        callback_backoff_seconds=0.05,
    )
    smdp = _Server(create_smdp(smdp_config, sessions, clock=clock), smdp_port)
    operator_port = free_port()
    operator_url = f"http://127.0.0.1:{operator_port}"
    the_site = site(es2plus_url or smdp.url, **site_overrides)
    config = OperatorAppConfig(
        sites=[the_site], public_base_url=operator_url, session_secret=SECRET
    )
    app = create_operator(config, sessions, clock=clock)
    operator = _Server(app, operator_port)
    callback = f"{operator_url}/{OPERATOR}/gsma/rsp2/es2plus/handleDownloadProgressInfo"
    await seed_smdp(sessions, clock, callback, profiles, profile_type)
    await smdp.start()
    await operator.start()
    try:
        yield Stack(sessions, clock, app, operator_url, smdp.url, the_site)
    finally:
        await operator.stop()
        await smdp.stop()


# ---- reading pages like the simulator -------------------------------------------------


@dataclass
class Form:
    step: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # what a browser would send
    choices: dict[str, list[str]] = field(default_factory=dict)  # radio values by name
    plan_codes: dict[str, str] = field(default_factory=dict)  # data-mp-plan-code → value
    has_next: bool = False
    has_cancel: bool = False


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.step: str | None = None
        self.forms: list[Form] = []
        self.urls: list[str] = []
        self.markers: dict[str, list[dict[str, str]]] = {}
        self.callback: str | None = None
        self._in_callback = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name in ("src", "href", "action"):
            if name in a:
                self.urls.append(a[name])
        for name in a:
            if name.startswith("data-mp-"):
                self.markers.setdefault(name, []).append(a)
        if tag == "main" and "data-mp-step" in a:
            self.step = a["data-mp-step"]
        elif tag == "form" and "data-mp-form" in a:
            self.forms.append(Form(a["data-mp-form"], a.get("action", "")))
        elif tag == "input" and self.forms:
            self._input(self.forms[-1], a)
        elif tag == "button" and self.forms:
            self.forms[-1].has_next |= "data-mp-next" in a
            self.forms[-1].has_cancel |= "data-mp-cancel" in a and "formnovalidate" in a
        elif tag == "script" and a.get("id") == "mp-callback":
            self._in_callback = True

    def _input(self, form: Form, a: dict[str, str]) -> None:
        name, kind = a.get("name"), a.get("type", "text")
        if not name:
            return
        if kind in ("radio", "checkbox"):
            form.choices.setdefault(name, []).append(a.get("value", "on"))
            if "data-mp-plan-code" in a:
                form.plan_codes[a["data-mp-plan-code"]] = a.get("value", "")
            if "checked" in a:
                form.fields[name] = a.get("value", "on")
        else:
            form.fields[name] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._in_callback:
            self._text.append(data)
        self.text = getattr(self, "text", "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_callback:
            self._in_callback = False
            self.callback = "".join(self._text)


@dataclass
class Page:
    response: httpx.Response
    step: str | None
    forms: list[Form]
    urls: list[str]
    markers: dict[str, list[dict[str, str]]]
    callback: dict[str, Any] | None
    text: str

    @classmethod
    def of(cls, response: httpx.Response) -> Page:
        parser = _PageParser()
        parser.feed(response.text)
        callback = json.loads(parser.callback) if parser.callback else None
        return cls(
            response,
            parser.step,
            parser.forms,
            parser.urls,
            parser.markers,
            callback,
            getattr(parser, "text", ""),
        )

    @property
    def form(self) -> Form:
        assert self.forms, f"no form on the {self.step} page"
        return self.forms[0]

    @property
    def path(self) -> str:
        return self.response.url.path


class PortalBrowser:
    """A cookie-keeping client that follows redirects and submits forms like a browser."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, follow_redirects=True, timeout=30, headers=headers
        )

    async def __aenter__(self) -> PortalBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def launch(self, params: dict[str, str], headers: dict[str, str] | None = None) -> Page:
        return Page.of(await self.http.get(f"/{OPERATOR}/portal/", params=params, headers=headers))

    async def get(self, path: str) -> Page:
        return Page.of(await self.http.get(path))

    async def submit(self, page: Page, action: str = "next", **fields: str) -> Page:
        form = page.form
        data = {**form.fields, **fields, "action": action}
        return Page.of(await self.http.post(form.action or page.path, data=data))

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return await self.http.post(path, data=data)


def esim_launch(transaction_id: str = "waoigFfX00yGH3Vb.1", **extra: str) -> dict[str, str]:
    return {
        "market": "US",
        "location": "US",
        "transactionId": transaction_id,
        "eid": EID,
        "imei": IMEI,
        **extra,
    }


def physical_launch(iccid: str, transaction_id: str = "phys-tx-0001.1") -> dict[str, str]:
    return {
        "iccid": iccid,
        "imei": IMEI,
        "market": "us",
        "transactionId": transaction_id,
        "location": "us",
    }


async def sign_up(browser: PortalBrowser, page: Page, email: str = "sam@contoso.example") -> Page:
    """From the sign-in page, follow the sign-up link and create an account."""
    assert page.step == "signin"
    link = page.markers["data-mp-link"][0]
    assert link["data-mp-link"] == "signup"
    signup = await browser.get(link["href"])
    assert signup.step == "signup"
    return await browser.submit(
        signup, email=email, password="correct-horse-1", displayName="Sam Test"
    )


async def buy(browser: PortalBrowser, plans: Page, plan_code: str, **plan_fields: str) -> Page:
    """From the plans page: choose ``plan_code``, pay with a new card, accept, review."""
    assert plans.step == "plans", plans.text
    checkout = await browser.submit(plans, plan=plans.form.plan_codes[plan_code], **plan_fields)
    assert checkout.step == "checkout", checkout.text
    terms = await browser.submit(checkout, **CARD)
    assert terms.step == "terms", terms.text
    review = await browser.submit(terms, acceptTerms="yes")
    assert review.step == "review", review.text
    return review


# ---- looking at what the portal did -----------------------------------------------------


async def orders(sessions: Sessions) -> list[MoOrder]:
    async with session_scope(sessions) as session:
        return list((await session.scalars(select(MoOrder).order_by(MoOrder.created_at))).all())


async def line_of(sessions: Sessions, iccid: str) -> LineRead | None:
    async with session_scope(sessions) as session:
        return await subscriber.find_line(session, OPERATOR, iccid)


async def balances_of(sessions: Sessions, clock: FrozenClock, iccid: str) -> list[dict[str, Any]]:
    async with session_scope(sessions) as session:
        found = await balance_service.get_balances(session, OPERATOR, iccid, now=clock.now())
    return [b.wire() for b in found]


async def profile_of(sessions: Sessions, iccid: str) -> ProfileRead:
    async with session_scope(sessions) as session:
        return await inventory.get_profile(session, iccid)


async def events_of(sessions: Sessions, transaction_id: str) -> list[str]:
    async with session_scope(sessions) as session:
        return [event for event, _ in await journal.entries(session, OPERATOR, transaction_id)]


async def taken_profiles(sessions: Sessions) -> int:
    """Profiles the SM-DP+ no longer has Available."""
    async with session_scope(sessions) as session:
        counts = await inventory.profile_counts(session, OPERATOR)
    return sum(c.count for c in counts if c.state.value != "Available")


def meta(user: str, instrument: str, line: str, status: str, plan: str) -> dict[str, str]:
    return {
        "userAccount": user,
        "purchaseInstrument": instrument,
        "line": line,
        "moDirectStatus": status,
        "planName": plan,
    }
