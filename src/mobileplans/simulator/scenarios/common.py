"""What every scenario shares: its context, the device it starts with, the portal walk."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date

import httpx

from mobileplans.kit.clock import Clock
from mobileplans.simulator.app import MobilePlansApp
from mobileplans.simulator.clients import Provider
from mobileplans.simulator.device import DEFAULT_IMEI, Device, PhysicalSim, fresh_eid
from mobileplans.simulator.driver import PortalDriver
from mobileplans.simulator.endpoints import Endpoints
from mobileplans.simulator.euicc import Euicc
from mobileplans.simulator.portal_page import PortalPage
from mobileplans.simulator.runlog import ScenarioRun, StepError

DriverFactory = Callable[[str, tuple[str, ...]], Awaitable[PortalDriver]]
Action = Callable[[PortalPage], Awaitable[PortalPage]]
TERMINAL_STEPS = frozenset({"confirmation", "error", "cancelled", "reentry"})
TEST_CARD = "4111111111111111"  # the well-known test Visa number
WALK_LIMIT = 12


@dataclass
class ScenarioContext:
    endpoints: Endpoints
    operator_id: str
    run: ScenarioRun
    http: httpx.AsyncClient
    clock: Clock
    new_driver: DriverFactory
    exits: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def location(self) -> str:
        entry = self.endpoints.operator_entry(self.operator_id)
        demo = self.endpoints.demo
        if entry and entry.countries and demo.location.upper() not in entry.countries:
            return entry.countries[0]
        return demo.location

    def esim_device(self, *, eid: str | None = None, capacity: int = 8) -> Device:
        demo = self.endpoints.demo
        euicc = Euicc(eid or fresh_eid(demo.eids[0] if demo.eids else None), capacity=capacity)
        return self._device(euicc=euicc)

    def sim_device(self, iccid: str) -> Device:
        return self._device(sim=PhysicalSim(iccid, self.operator_id))

    def _device(self, *, euicc: Euicc | None = None, sim: PhysicalSim | None = None) -> Device:
        demo = self.endpoints.demo
        return Device(
            imei=demo.imei or DEFAULT_IMEI,
            location=self.location,
            market=self.location,
            language=demo.language,
            euicc=euicc,
            sim=sim,
        )

    def app(self, device: Device) -> MobilePlansApp:
        return MobilePlansApp(device, endpoints=self.endpoints, http=self.http, clock=self.clock)

    async def driver(self, app: MobilePlansApp, provider: Provider) -> PortalDriver:
        driver = await self.new_driver(app.device.language, provider.notification_hosts)
        self.exits.push_async_callback(driver.close)
        return driver

    def plan(self, kind: str) -> str:
        code = getattr(self.endpoints.demo.plans, kind)
        if not code:
            raise StepError(f"endpoints.json demo.plans.{kind} is not set")
        return str(code)


def new_identity(tag: str) -> dict[str, str]:
    """A fresh subscriber for the signup form (placeholder .example mail domain)."""
    token = secrets.token_hex(5)
    return {
        "email": f"e2e-{tag}-{token}@subscriber.example",
        "password": f"Pw-{secrets.token_urlsafe(12)}",
        "displayName": f"E2E {tag} {token}",
    }


def new_card() -> dict[str, str]:
    next_year = (date.today().year + 2) % 100
    return {
        "instrument": "new",
        "cardNumber": TEST_CARD,
        "expiry": f"12/{next_year:02d}",
        "cvv": "123",
    }


def submit(driver: PortalDriver, values: dict[str, str] | None = None) -> Action:
    async def action(page: PortalPage) -> PortalPage:
        return await driver.submit(page, values or {})

    return action


def choose_plan(driver: PortalDriver, code: str) -> Action:
    async def action(page: PortalPage) -> PortalPage:
        if code not in page.plans:
            raise StepError(f"plan {code!r} is not offered; the page has {sorted(page.plans)}")
        return await driver.submit(page, {"plan": page.plans[code]})

    return action


def follow(driver: PortalDriver, link: str) -> Action:
    async def action(page: PortalPage) -> PortalPage:
        return await driver.follow(page, link)

    return action


def cancel(driver: PortalDriver) -> Action:
    async def action(page: PortalPage) -> PortalPage:
        return await driver.submit(page, {}, cancel=True)

    return action


async def walk(
    ctx: ScenarioContext,
    driver: PortalDriver,
    page: PortalPage,
    actions: dict[str, Action],
    *,
    stop: frozenset[str] = TERMINAL_STEPS,
) -> PortalPage:
    """Follow the portal step by step until it calls the app or reaches a ``stop`` step."""
    for _ in range(WALK_LIMIT):
        if page.callback_text is not None or page.step in stop:
            return page
        action = actions.get(page.step or "")
        async with ctx.run.step(f"portal: {page.step}") as step:
            if action is None:
                raise StepError(f"unexpected step {page.step!r}: {page.text[:200]}")
            before = page.step
            page = await action(page)
            if page.status >= 400 or page.step is None:
                raise StepError(
                    f"HTTP {page.status}, data-mp-step={page.step!r}: {page.text[:200]}"
                )
            if page.step == before:
                raise StepError(f"the portal stayed on {before!r}: {page.text[:200]}")
            step.note(f"→ {page.step}")
            for finding in await driver.findings(page):
                ctx.run.finding(f"{page.step}: {finding}")
    raise StepError(f"no callback after {WALK_LIMIT} portal pages")


async def start(
    ctx: ScenarioContext, app: MobilePlansApp, *, describe: str
) -> tuple[Provider, PortalDriver, PortalPage]:
    """Device → providers → gateway → portal launch (spec 1.2 steps 1-4)."""
    async with ctx.run.step("device") as step:
        step.note(describe)
    provider = await app.discover(ctx.run, ctx.operator_id)
    await app.gateway(ctx.run, provider)
    driver = await ctx.driver(app, provider)
    page = await app.open_portal(ctx.run, driver, provider)
    return provider, driver, page


def describe_device(device: Device) -> str:
    where = f"IMEI {device.imei}, {device.location}, {device.language}"
    if device.sim is not None:
        return f"PC with physical SIM {device.sim.iccid}; {where}"
    assert device.euicc is not None
    profiles = ", ".join(device.euicc.iccids()) or "no profile"
    return f"PC with eUICC {device.euicc.eid} ({profiles}); {where}"


def new_subscriber_purchase(
    ctx: ScenarioContext, driver: PortalDriver, tag: str, plan_role: str
) -> dict[str, Action]:
    """Sign up as a new subscriber, buy the plan of ``plan_role`` with a new card."""
    return {
        "signin": follow(driver, "signup"),
        "signup": submit(driver, new_identity(tag)),
        "plans": choose_plan(driver, ctx.plan(plan_role)),
        "checkout": submit(driver, new_card()),
        "terms": submit(driver, {"acceptTerms": "yes"}),
        "review": submit(driver),
    }
