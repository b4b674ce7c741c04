"""``cancel``: the user quits mid-flow (spec 1.6 "Cancel purchase", 2.2.2 "abandoned").

Sign up, choose a plan, press Cancel at checkout → ``MobilePlans.notifyCancelledPurchase``
with Bailed/None values and an empty planName → back to the app, nothing bought.
"""

from __future__ import annotations

from mobileplans.simulator.fulfillment import handle_callback
from mobileplans.simulator.runlog import StepError
from mobileplans.simulator.scenarios.common import (
    ScenarioContext,
    cancel,
    choose_plan,
    describe_device,
    follow,
    new_identity,
    start,
    submit,
    walk,
)

NAME = "cancel"
DESCRIPTION = "user cancels at checkout: notifyCancelledPurchase, nothing bought (1.6)"


async def run(ctx: ScenarioContext) -> None:
    device = ctx.esim_device()
    app = ctx.app(device)
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    actions = {
        "signin": follow(driver, "signup"),
        "signup": submit(driver, new_identity("cancel")),
        "plans": choose_plan(driver, ctx.plan("prepaid")),
        "checkout": cancel(driver),
    }
    page = await walk(ctx, driver, page, actions)
    if page.step != "cancelled":
        ctx.run.finding(f"the cancel landed on step {page.step!r}, not 'cancelled'")
    done = await handle_callback(app, ctx.run, driver, page, provider)
    async with ctx.run.step("result") as step:
        if done.kind != "cancelled":
            raise StepError(f"expected notifyCancelledPurchase, got {done.call.name}")
        meta = done.intent.check.meta if done.intent.check else None
        values = [meta.user_account, meta.purchase_instrument, meta.line] if meta else []
        if (
            meta is not None
            and "Bailed" not in values
            and meta.mo_direct_status
            not in (
                "Bailed",
                "Cancelled",
            )
        ):
            step.fail(f"nothing says where the user bailed: {values}, {meta.mo_direct_status}")
        assert device.euicc is not None
        if device.euicc.profiles:
            raise StepError(f"profiles appeared on the eUICC: {device.euicc.iccids()}")
        step.note("nothing bought: no profile, no balance")
