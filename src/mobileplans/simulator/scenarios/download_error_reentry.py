"""``download-error-reentry``: the install fails, the portal is re-entered and re-issues (1.9).

The eUICC is full (one slot, taken by a leftover test profile) → the purchase ends in
``notifyProfileDownload`` → the install fails with ``InsufficientSpaceOnCard``, reported
to the SM-DP+ and to ``profileActivationCompleteScript`` → the user deletes the leftover
profile → the app re-enters the portal with ``X-MP-LPAError-Codes``,
``-TimeStamps`` (ISO 8601 with offset, 7.1 #19) and ``-ICCIDs`` → the ``reentry`` step
re-issues the profile (the portal may ask the user to sign in first, or after) → the
download succeeds.
"""

from __future__ import annotations

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.kit.identifiers import iccid_check_digit
from mobileplans.simulator.app import MobilePlansApp
from mobileplans.simulator.euicc import EuiccProfile
from mobileplans.simulator.fulfillment import handle_callback
from mobileplans.simulator.lpa import ERROR_HEADERS
from mobileplans.simulator.runlog import StepError
from mobileplans.simulator.scenarios.checks import expect_connected, expect_download
from mobileplans.simulator.scenarios.common import (
    TERMINAL_STEPS,
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

NAME = "download-error-reentry"
DESCRIPTION = "install fails (card full), portal re-entered with X-MP-LPAError-*, re-issued (1.9)"
LEFTOVER_BODY = "899990000000000001"  # a test profile of no configured operator
FAULT = ESimOperationStatus.InsufficientSpaceOnCard


def full_card_device(ctx: ScenarioContext) -> MobilePlansApp:
    device = ctx.esim_device(capacity=1)
    assert device.euicc is not None
    leftover = LEFTOVER_BODY + iccid_check_digit(LEFTOVER_BODY)
    device.euicc.install(EuiccProfile(leftover, None, "Test profile", "leftover"))
    return ctx.app(device)


async def free_space(ctx: ScenarioContext, app: MobilePlansApp) -> None:
    """The user deletes the leftover profile; the app now holds the re-entry headers."""
    euicc = app.device.euicc
    assert euicc is not None
    async with ctx.run.step("user frees space") as step:
        for iccid in euicc.iccids():
            euicc.delete(iccid)
            step.note(f"deleted {iccid}")
        headers = app.errors.headers()
        missing = [h for h in ERROR_HEADERS if h not in headers]
        if missing:
            raise StepError(f"the app has no value for {missing}")
        step.note("; ".join(f"{k}: {v}" for k, v in headers.items()))


async def run(ctx: ScenarioContext) -> None:
    app = full_card_device(ctx)
    device = app.device
    identity = new_identity("reentry")
    provider, driver, page = await start(ctx, app, describe=describe_device(device))
    actions = {
        "signin": follow(driver, "signup"),
        "signup": submit(driver, identity),
        "plans": choose_plan(driver, ctx.plan("prepaid")),
        "checkout": submit(driver, new_card()),
        "terms": submit(driver, {"acceptTerms": "yes"}),
        "review": submit(driver),
    }
    page = await walk(ctx, driver, page, actions)
    failed = await handle_callback(app, ctx.run, driver, page, provider, expected=FAULT)
    if failed.lpa is None or failed.lpa.status is not FAULT:
        got = failed.lpa.status.name if failed.lpa else failed.kind
        raise StepError(f"the install should have failed with {FAULT.name}, got {got}")
    await free_space(ctx, app)
    provider = await app.discover(ctx.run, ctx.operator_id)
    page = await app.open_portal(ctx.run, driver, provider, reentry=True)
    signin = {"email": identity["email"], "password": identity["password"]}
    reentry = {"signin": submit(driver, signin), "reentry": submit(driver)}
    page = await walk(ctx, driver, page, reentry, stop=TERMINAL_STEPS - {"reentry"})
    if ctx.run.step_named("portal: reentry") is None:
        raise StepError("the portal never showed the reentry step explaining the error")
    done = await handle_callback(app, ctx.run, driver, page, provider)
    expect_download(ctx, done, None)
    flyout = await app.flyout(ctx.run, done.iccid)
    await expect_connected(ctx, done, flyout)
