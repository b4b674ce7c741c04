"""``first-run-esim``: a new eSIM PC buys its first plan (spec 1.2).

Phone-number lookup (when endpoints.json gives a number) →
free EID, no profile → providers → gateway → portal → sign up → prepaid plan → checkout
with a new card → terms → review → ``notifyProfileDownload(meta, ac)`` → LPA download,
install, enable → ``profileActivationCompleteScript`` → registration →
``registrationChangedScript`` → the flyout shows the balance.
"""

from __future__ import annotations

from mobileplans.simulator.fulfillment import handle_callback
from mobileplans.simulator.runlog import StepError
from mobileplans.simulator.scenarios.checks import expect_connected, expect_download
from mobileplans.simulator.scenarios.common import (
    ScenarioContext,
    describe_device,
    new_subscriber_purchase,
    start,
    walk,
)

NAME = "first-run-esim"
DESCRIPTION = "new eSIM PC: sign up, buy a prepaid plan, download and enable the profile (1.2)"


async def run(ctx: ScenarioContext) -> None:
    await lookup_phone_number(ctx)
    device = ctx.esim_device()
    app = ctx.app(device)
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    page = await walk(ctx, driver, page, new_subscriber_purchase(ctx, driver, "esim", "prepaid"))
    done = await handle_callback(app, ctx.run, driver, page, provider)
    expect_download(ctx, done, ("New", "New", "New"))
    flyout = await app.flyout(ctx.run, done.iccid)
    await expect_connected(ctx, done, flyout)


async def lookup_phone_number(ctx: ScenarioContext) -> None:
    """Seed 001 "phone number lookup verification", the first step of the first-run eSIM
    validation (spec 4.5): when endpoints.json gives ``demo.phone_number`` and a broker,
    ``GET /v1/phone-numbers/{e164}`` must answer the operator under test."""
    number, broker = ctx.endpoints.demo.phone_number, ctx.endpoints.broker
    if number is None or broker is None:
        return
    async with ctx.run.step("phone-number lookup") as step:
        url = f"{broker.rstrip('/')}/v1/phone-numbers/{number}"
        response = await ctx.http.get(url)
        if response.status_code != 200:
            raise StepError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        owner = response.json().get("operatorId")
        if owner != ctx.operator_id:
            raise StepError(f"{number} is served by {owner!r}, not {ctx.operator_id!r}")
        step.note(f"{number} is served by {owner}")
