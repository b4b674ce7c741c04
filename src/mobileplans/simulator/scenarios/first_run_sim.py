"""``first-run-sim``: activate a warm physical SIM (spec 1.3).

Warm SIM → providers with ``iccid`` → sign up → plan → checkout → terms → review →
``notifyBalanceAddition(meta)`` → connected → the flyout shows the balance.
"""

from __future__ import annotations

import httpx

from mobileplans.simulator.clients import NetworkClient
from mobileplans.simulator.fulfillment import handle_callback
from mobileplans.simulator.runlog import ScenarioSkipped, StepError
from mobileplans.simulator.scenarios.checks import expect_connected, expect_meta
from mobileplans.simulator.scenarios.common import (
    ScenarioContext,
    choose_plan,
    describe_device,
    follow,
    new_card,
    new_identity,
    start,
    submit,
    walk,
)

NAME = "first-run-sim"
DESCRIPTION = "warm physical SIM: sign up, buy a plan, notifyBalanceAddition, connected (1.3)"


async def pick_warm_sim(ctx: ScenarioContext) -> str:
    """The first configured warm SIM the network still sees unused (walled garden, 0 MB).

    A warm SIM is activated once; when every configured one is in service already, the
    scenario is skipped (list more in ``demo.sims.warm_sims``) rather than failed.
    """
    candidates = ctx.endpoints.demo.sims.warm_candidates()
    if not candidates:
        raise ScenarioSkipped("endpoints.json names no warm SIM (demo.sims.warm_sim)")
    base = ctx.endpoints.network_base(ctx.operator_id)
    if base is None:
        return candidates[0]
    network = NetworkClient(ctx.http, base)
    for iccid in candidates:
        try:
            line = await network.line_state(iccid)
        except httpx.HTTPError:
            return candidates[0]
        if line is not None and line.get("walledGarden") and not line.get("dataRemaininginMB"):
            return iccid
    raise ScenarioSkipped(
        f"every configured warm SIM is in service already ({', '.join(candidates)}); "
        "list unused ones in endpoints.json demo.sims.warm_sims"
    )


async def run(ctx: ScenarioContext) -> None:
    device = ctx.sim_device(await pick_warm_sim(ctx))
    app = ctx.app(device)
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    actions = {
        "signin": follow(driver, "signup"),
        "signup": submit(driver, new_identity("sim")),
        "plans": choose_plan(driver, ctx.plan("prepaid")),
        "checkout": submit(driver, new_card()),
        "terms": submit(driver, {"acceptTerms": "yes"}),
        "review": submit(driver),
    }
    page = await walk(ctx, driver, page, actions)
    done = await handle_callback(app, ctx.run, driver, page, provider)
    if done.kind != "balance":
        raise StepError(f"a warm SIM needs notifyBalanceAddition, got {done.call.name}")
    if done.intent.check is not None:
        meta = done.intent.check.meta
        expect_meta(ctx, "userAccount", meta.user_account, "New")
        expect_meta(ctx, "line", meta.line, "New")
    flyout = await app.flyout(ctx.run, done.iccid)
    await expect_connected(ctx, done, flyout)
