"""``first-run-esim``: a new eSIM PC buys its first plan (spec 1.2).

Free EID, no profile → providers → gateway → portal → sign up → prepaid plan → checkout
with a new card → terms → review → ``notifyProfileDownload(meta, ac)`` → LPA download,
install, enable → ``profileActivationCompleteScript`` → registration →
``registrationChangedScript`` → the flyout shows the balance.
"""

from __future__ import annotations

from mobileplans.simulator.fulfillment import handle_callback
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
    device = ctx.esim_device()
    app = ctx.app(device)
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    page = await walk(ctx, driver, page, new_subscriber_purchase(ctx, driver, "esim", "prepaid"))
    done = await handle_callback(app, ctx.run, driver, page, provider)
    expect_download(ctx, done, ("New", "New", "New"))
    flyout = await app.flyout(ctx.run, done.iccid)
    await expect_connected(ctx, done, flyout)
