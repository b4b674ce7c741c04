"""``prepaid-topup``: add balance to an existing prepaid subscription (spec 1.4).

A PC whose eUICC holds the existing account's enabled profile → portal with ``iccids``
→ sign in → plan → the saved payment instrument → review → ``notifyBalanceAddition``
→ the balance grew.
"""

from __future__ import annotations

from mobileplans.simulator.device import Device
from mobileplans.simulator.endpoints import ExistingAccount
from mobileplans.simulator.euicc import EuiccProfile
from mobileplans.simulator.fulfillment import handle_callback
from mobileplans.simulator.runlog import ScenarioSkipped, StepError
from mobileplans.simulator.scenarios.checks import expect_connected, expect_meta
from mobileplans.simulator.scenarios.common import (
    ScenarioContext,
    choose_plan,
    describe_device,
    start,
    submit,
    walk,
)

NAME = "prepaid-topup"
DESCRIPTION = "existing prepaid subscriber tops up with the saved card: balance grows (1.4)"


def existing_account(ctx: ScenarioContext) -> ExistingAccount:
    accounts = ctx.endpoints.demo.accounts
    ordered = [accounts["existing"]] if "existing" in accounts else []
    ordered += [a for k, a in accounts.items() if k != "existing"]
    account = next((a for a in ordered if a.operator == ctx.operator_id), None)
    if account is None:
        raise ScenarioSkipped(f"endpoints.json has no existing account at {ctx.operator_id}")
    return account


def subscriber_device(ctx: ScenarioContext, account: ExistingAccount) -> Device:
    device = ctx.esim_device(eid=account.eid)
    assert device.euicc is not None
    entry = ctx.endpoints.operator_entry(account.operator)
    profile = EuiccProfile(account.iccid, account.operator, entry.name if entry else "", "")
    device.euicc.install(profile)
    device.euicc.enable(account.iccid)
    return device


async def data_mb(ctx: ScenarioContext, device: Device, label: str) -> float | None:
    """What the operator's network says is left on the line (the test oracle)."""
    network = ctx.app(device).network(ctx.operator_id)
    async with ctx.run.step(f"line state ({label})") as step:
        if network is None or device.active_iccid is None:
            step.skip("no core-network stand-in for this operator")
            return None
        line = await network.line_state(device.active_iccid)
        if line is None:
            raise StepError(f"the network does not know {device.active_iccid}")
        value = line.get("dataRemaininginMB")
        step.note(f"{value} MB, walled garden: {line.get('walledGarden')}")
        return float(value) if isinstance(value, int | float) else None


async def run(ctx: ScenarioContext) -> None:
    account = existing_account(ctx)
    device = subscriber_device(ctx, account)
    app = ctx.app(device)
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    before = await data_mb(ctx, device, "before")
    actions = {
        "signin": submit(driver, {"email": account.email, "password": account.password}),
        "account": submit(driver),  # "Buy more data"
        "plans": choose_plan(driver, ctx.plan("prepaid")),
        "checkout": submit(driver, {"instrument": "saved"}),
        "terms": submit(driver, {"acceptTerms": "yes"}),
        "review": submit(driver),
    }
    page = await walk(ctx, driver, page, actions)
    done = await handle_callback(app, ctx.run, driver, page, provider)
    if done.kind != "balance":
        raise StepError(f"a top-up needs notifyBalanceAddition, got {done.call.name}")
    if done.intent.check is not None:
        meta = done.intent.check.meta
        expect_meta(ctx, "userAccount", meta.user_account, "Existing")
        expect_meta(ctx, "purchaseInstrument", meta.purchase_instrument, "Existing")
    flyout = await app.flyout(ctx.run, done.iccid)
    after = await data_mb(ctx, device, "after")
    await expect_connected(ctx, done, flyout)
    async with ctx.run.step("balance grew") as step:
        if before is None or after is None:
            step.skip("the line's data balance is not observable")
        elif after <= before:
            raise StepError(f"{before} MB before, {after} MB after")
        else:
            step.note(f"{before:g} MB → {after:g} MB")
