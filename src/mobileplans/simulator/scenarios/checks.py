"""Checks of what a journey must have achieved, shared by the scenarios."""

from __future__ import annotations

from mobileplans.simulator.app import Flyout
from mobileplans.simulator.fulfillment import Fulfillment
from mobileplans.simulator.runlog import StepError, StepResult
from mobileplans.simulator.scenarios.common import ScenarioContext


def expect_meta(ctx: ScenarioContext, name: str, actual: str | None, wanted: str) -> None:
    """A metadata value must say what this journey really did (a soft failure otherwise)."""
    if actual == wanted:
        return
    message = f"{name} should be {wanted} for this journey, got {actual}"
    step = ctx.run.step_named("callback")
    if step is not None:
        step.fail(message)
    else:
        ctx.run.finding(message)


def expect_download(
    ctx: ScenarioContext, done: Fulfillment, meta: tuple[str, str, str] | None
) -> None:
    """The journey's own facts: a profile download with these account/instrument/line values."""
    if done.kind != "download":
        raise StepError(f"expected notifyProfileDownload, got {done.call.name}")
    if done.intent.check is not None and meta is not None:
        got = done.intent.check.meta
        expect_meta(ctx, "userAccount", got.user_account, meta[0])
        expect_meta(ctx, "purchaseInstrument", got.purchase_instrument, meta[1])
        expect_meta(ctx, "line", got.line, meta[2])


async def expect_connected(
    ctx: ScenarioContext, done: Fulfillment, flyout: Flyout | None, *, balance: bool = True
) -> None:
    """Installed, enabled, registered, and (when the broker can tell) a balance to show."""
    async with ctx.run.step("result") as step:
        if done.lpa is not None and not done.lpa.ok:
            raise StepError(f"profile not installed: {done.lpa.status.name}")
        registration = done.registration
        if registration is not None and not registration.observable:
            _judge_unobservable(step, done, flyout)
            return
        if registration is None or not registration.state.registered:
            state = registration.state.value if registration else "none"
            raise StepError(f"the device is not connected ({state})")
        if flyout is not None and flyout.action == "connectWithDataPlan":
            step.fail("the flyout still offers 'Connect with a data plan' after a purchase")
        elif flyout is not None and balance and not flyout.balance_text:
            step.fail(f"the flyout shows no balance (action {flyout.action!r})")
        step.note(f"connected on {done.iccid}")


def _judge_unobservable(step: StepResult, done: Fulfillment, flyout: Flyout | None) -> None:
    """Registration not observable: judge from what the device can see (issue #9).

    The profile is enabled (or the SIM is in); a GetBalance that answers with a balance
    to use stands in for "connected"; when no balance can be read either, the step says
    so instead of failing.
    """
    if flyout is None:
        step.skip(
            f"{done.iccid} enabled; registration and balance not observable "
            "(no core-network stand-in, no GetBalance)"
        )
        return
    if flyout.action == "connectWithDataPlan":
        raise StepError(
            f"{done.iccid} enabled, but GetBalance shows nothing to use after a purchase"
        )
    step.note(
        f"{done.iccid} enabled and GetBalance answers ({flyout.balance_text or flyout.action}); "
        "registration not observable"
    )
