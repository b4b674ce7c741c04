"""``delayed-profile``: a plan whose profile is released later (spec 1.6, era C).

``notifyProfileDownload(meta, ac, downloadDelay)`` → the app says "profile will be
installed later", waits ``downloadDelay`` minutes (``delay_minute_seconds`` each in the
demo), shows the toast → download, install, enable → scripts → registration.
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

NAME = "delayed-profile"
DESCRIPTION = "plan with a download delay: notifyProfileDownload(meta, ac, downloadDelay) (1.6)"


async def run(ctx: ScenarioContext) -> None:
    device = ctx.esim_device()
    app = ctx.app(device)
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    page = await walk(ctx, driver, page, new_subscriber_purchase(ctx, driver, "delayed", "delayed"))
    done = await handle_callback(app, ctx.run, driver, page, provider)
    if done.call.function == "notifyPurchaseResult":
        ctx.run.finding("the legacy callback API has no downloadDelay (2.2.2); downloaded at once")
    elif not done.intent.download_delay_minutes:
        raise StepError(f"{done.call.name} passed no downloadDelay for a delayed plan")
    expect_download(ctx, done, ("New", "New", "New"))
    flyout = await app.flyout(ctx.run, done.iccid)
    await expect_connected(ctx, done, flyout, balance=False)
