"""Running scenarios: one HTTP client, one WebView per scenario, a step log each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from mobileplans.kit.clock import Clock, SystemClock
from mobileplans.simulator.clients import BrokerCallError, BrokerClient
from mobileplans.simulator.device import DEFAULT_IMEI, Device, fresh_eid
from mobileplans.simulator.driver import PortalDriver
from mobileplans.simulator.endpoints import Endpoints
from mobileplans.simulator.euicc import Euicc
from mobileplans.simulator.http_mode import HttpPortalDriver
from mobileplans.simulator.runlog import ScenarioAborted, ScenarioRun, ScenarioSkipped, StepError
from mobileplans.simulator.scenarios import SCENARIOS, Scenario
from mobileplans.simulator.scenarios.common import DriverFactory, ScenarioContext

SCENARIO_TIMEOUT_SECONDS = 300.0
HTTP_TIMEOUT_SECONDS = 15.0


class UnknownScenario(ValueError):
    pass


def select(name: str) -> list[Scenario]:
    if name == "all":
        return list(SCENARIOS.values())
    if name not in SCENARIOS:
        raise UnknownScenario(
            f"unknown scenario {name!r}; choose one of: all, {', '.join(SCENARIOS)}"
        )
    return [SCENARIOS[name]]


def default_operator(endpoints: Endpoints) -> str | None:
    """The demo's operator for its location, else the first listed; ``None`` if none is."""
    demo = endpoints.demo
    candidates = demo.operators or [o.id for o in endpoints.operators]
    for operator_id in candidates:
        entry = endpoints.operator_entry(operator_id)
        if entry is None or demo.location.upper() in entry.countries:
            return operator_id
    return candidates[0] if candidates else None


async def offered_operator(endpoints: Endpoints, http: httpx.AsyncClient) -> str:
    """No operator listed: the first provider the broker offers a new PC in the demo's
    location, as a user would pick (so a file with only ``broker`` works)."""
    if not endpoints.broker:
        raise UnknownScenario("endpoints.json lists no operator and no broker to ask")
    demo = endpoints.demo
    device = Device(
        imei=demo.imei or DEFAULT_IMEI,
        location=demo.location,
        market=demo.location,
        euicc=Euicc(fresh_eid(demo.eids[0] if demo.eids else None)),
    )
    try:
        _, providers = await BrokerClient(http, endpoints.broker).providers(device.provider_query())
    except (httpx.HTTPError, BrokerCallError, ValueError) as exc:
        raise UnknownScenario(f"cannot ask the broker for providers: {exc}") from exc
    if not providers:
        raise UnknownScenario(
            f"the broker offers no operator in {demo.location}; pass --operator or list one"
        )
    return providers[0].mo_id


@asynccontextmanager
async def driver_factory(browser: bool, endpoints: Endpoints) -> AsyncIterator[DriverFactory]:
    verify = endpoints.verify()
    if not browser:

        async def http_driver(language: str, allowed: tuple[str, ...]) -> PortalDriver:
            return HttpPortalDriver(language=language, verify=verify)

        yield http_driver
        return
    from mobileplans.simulator.browser_mode import BrowserSession

    async with BrowserSession(local_ca=endpoints.trust_bundle() is not None) as session:

        async def browser_driver(language: str, allowed: tuple[str, ...]) -> PortalDriver:
            return await session.new_driver(language, allowed)

        yield browser_driver


async def run_one(
    scenario: Scenario,
    endpoints: Endpoints,
    *,
    operator_id: str,
    mode: str,
    http: httpx.AsyncClient,
    new_driver: DriverFactory,
    clock: Clock,
    time_limit: float = SCENARIO_TIMEOUT_SECONDS,
) -> ScenarioRun:
    run = ScenarioRun(scenario.name, mode)
    ctx = ScenarioContext(endpoints, operator_id, run, http, clock, new_driver)
    try:
        async with asyncio.timeout(time_limit), ctx.exits:
            await scenario.run(ctx)
    except ScenarioAborted:
        pass
    except ScenarioSkipped as exc:
        run.skipped = str(exc)
    except StepError as exc:
        run.error = str(exc)
    except TimeoutError:
        run.error = f"did not finish within {time_limit:g}s"
    except Exception as exc:  # a scenario must report, not crash the whole run
        run.error = f"{type(exc).__name__}: {exc}"
    run.finish()
    return run


async def run_scenarios(
    scenarios: list[Scenario],
    endpoints: Endpoints,
    *,
    operator_id: str | None = None,
    browser: bool = False,
    clock: Clock | None = None,
    time_limit: float = SCENARIO_TIMEOUT_SECONDS,
) -> list[ScenarioRun]:
    runs: list[ScenarioRun] = []
    async with (
        httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=endpoints.verify()) as http,
        driver_factory(browser, endpoints) as new_driver,
    ):
        operator = (
            operator_id or default_operator(endpoints) or await offered_operator(endpoints, http)
        )
        endpoints = endpoints.for_operator(operator)
        for scenario in scenarios:
            runs.append(
                await run_one(
                    scenario,
                    endpoints,
                    operator_id=operator,
                    mode="browser" if browser else "http",
                    http=http,
                    new_driver=new_driver,
                    clock=clock or SystemClock(),
                    time_limit=time_limit,
                )
            )
    return runs
