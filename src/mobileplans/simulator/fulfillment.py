"""What the app does when the portal calls the bridge (spec 1.2 steps 7-9, 1.3, 1.4, 1.6, 2.2).

- profile download (inline, delayed, async connectivity, legacy): LPA download, install
  and enable, then ``profileActivationCompleteScript(activationArgs)``, network
  registration, then ``registrationChangedScript(registrationArgs)`` (spec 2.2.4);
- balance addition: enable the named ICCID if needed, register, show the balance;
- cancelled purchase: back to the app, nothing changes on the device.

Every call's metadata is checked (spec 2.2.4, :mod:`.meta`) and reported to the broker.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.kit.urls import origin_of
from mobileplans.simulator.app import MobilePlansApp, Purchase
from mobileplans.simulator.callbacks import (
    INLINE_OBJECTS,
    BridgeCall,
    CallbackError,
    Intent,
    interpret,
)
from mobileplans.simulator.clients import Provider
from mobileplans.simulator.device import Registration
from mobileplans.simulator.driver import PortalDriver
from mobileplans.simulator.euicc import EuiccError
from mobileplans.simulator.lpa import LpaResult
from mobileplans.simulator.portal_page import PortalPage
from mobileplans.simulator.runlog import ScenarioRun, StepError

MAX_DELAY_SECONDS = 240.0  # under the runner's per-scenario limit
SHOWN_IN = {
    "profileActivationCompleteScript": "mp-activation-result",
    "registrationChangedScript": "mp-registration-result",
}


@dataclass
class Fulfillment:
    call: BridgeCall
    intent: Intent
    lpa: LpaResult | None = None
    iccid: str | None = None
    registration: Registration | None = None
    activation_shown: str | None = None
    registration_shown: str | None = None

    @property
    def kind(self) -> str:
        return self.intent.kind


async def receive_call(
    run: ScenarioRun, driver: PortalDriver, page: PortalPage, provider: Provider
) -> tuple[BridgeCall, Intent]:
    """Take the page's call into the app and check it (origin, names, metadata)."""
    async with run.step("callback") as step:
        call = await driver.bridge_call(page)
        if call is None:
            raise StepError(f"step {page.step!r} made no call into the app: {page.text[:160]}")
        try:
            intent = interpret(call, transaction_id=provider.transaction_id)
        except CallbackError as exc:
            raise StepError(str(exc)) from exc
        step.note(call.name + _meta_summary(intent))
        origin = call.origin or origin_of(page.url)
        if provider.notification_hosts and origin not in provider.notification_hosts:
            step.fail(f"call from {origin}, not a configured notification host (2.2)")
        for violation in intent.all_violations():
            step.fail(violation)
        for note in intent.all_notes():
            run.finding(f"{call.name}: {note}")
        return call, intent


def _meta_summary(intent: Intent) -> str:
    if intent.check is None:
        return ""
    meta = intent.check.meta
    return (
        f" (userAccount={meta.user_account}, purchaseInstrument={meta.purchase_instrument}, "
        f"line={meta.line}, moDirectStatus={meta.mo_direct_status}, planName={meta.plan_name!r})"
    )


async def handle_callback(
    app: MobilePlansApp,
    run: ScenarioRun,
    driver: PortalDriver,
    page: PortalPage,
    provider: Provider,
    *,
    expected: ESimOperationStatus = ESimOperationStatus.Success,
) -> Fulfillment:
    """Receive the page's call and carry it out; ``expected`` is an injected LPA failure."""
    call, intent = await receive_call(run, driver, page, provider)
    done = Fulfillment(call, intent)
    if intent.kind == "download":
        await _download(app, run, driver, done, expected)
    elif intent.kind == "balance":
        await _balance(app, run, done)
    elif intent.kind == "cancelled":
        async with run.step("back to the app") as step:
            step.note("purchase cancelled; the app shows its provider list again")
    elif intent.kind == "delayed_smds":
        raise StepError("notifyPurchaseDelayedProfile needs an SM-DS, which is not simulated")
    if intent.check is not None:
        purchase = Purchase(
            provider.transaction_id, provider.mo_id, call.name, intent.check.meta, done.iccid
        )
        await app.report_purchase(run, purchase, valid=intent.check.ok)
    return done


async def _download(
    app: MobilePlansApp,
    run: ScenarioRun,
    driver: PortalDriver,
    done: Fulfillment,
    expected: ESimOperationStatus,
) -> None:
    intent = done.intent
    if app.lpa is None:
        raise StepError("a profile download was asked of a PC without an eUICC")
    if intent.activation_code is None:
        done.activation_shown = await _activation_script(run, driver, done, "invalidActivationCode")
        return
    release_wait = None
    if intent.download_delay_minutes:
        release_wait = await _wait_for_toast(app, run, intent.download_delay_minutes)
    result = await app.lpa.download(
        intent.activation_code, run, expected=expected, release_wait_seconds=release_wait
    )
    done.lpa, done.iccid = result, result.iccid
    error = result.status.activation_error
    done.activation_shown = await _activation_script(run, driver, done, error)
    if not result.ok:
        return
    done.registration = await _register(app, run, result.operator_id, intent)
    if not done.registration.observable:
        async with run.step("registrationChangedScript") as step:
            step.skip("not observable: the device cannot tell its registration state")
        return
    state = done.registration.state.value
    done.registration_shown = await _script(
        run,
        driver,
        done.call,
        "registrationChangedScript",
        {"networkRegistrationState": state, "iccid": done.iccid or ""},
    )


async def _wait_for_toast(app: MobilePlansApp, run: ScenarioRun, minutes: int) -> float:
    """Delayed profile (spec 1.6, era C): wait ``downloadDelay`` minutes, then the toast."""
    seconds = minutes * app.delay_minute_seconds
    async with run.step("delayed download") as step:
        if seconds > MAX_DELAY_SECONDS:
            raise StepError(
                f"downloadDelay {minutes} minute(s) = {seconds:g}s, more than this run waits "
                f"({MAX_DELAY_SECONDS:g}s); lower delay_minute_seconds in endpoints.json"
            )
        step.note(f"'profile will be installed later'; waiting {minutes} minute(s) ({seconds:g}s)")
        await asyncio.sleep(seconds)
        step.note("toast shown, user starts the download")
    return app.delay_minute_seconds


async def _activation_script(
    run: ScenarioRun, driver: PortalDriver, done: Fulfillment, activation_result: str
) -> str | None:
    argument = {"activationResult": activation_result, "iccid": done.iccid or ""}
    return await _script(run, driver, done.call, "profileActivationCompleteScript", argument)


async def _script(
    run: ScenarioRun,
    driver: PortalDriver,
    call: BridgeCall,
    script: str,
    argument: dict[str, str],
) -> str | None:
    """Invoke the portal's registered function by name with a JSON string (spec 2.2.4)."""
    async with run.step(script) as step:
        name = call.scripts.get(script)
        text = json.dumps(argument)
        if not name and call.object not in INLINE_OBJECTS:
            step.skip(f"{call.name} has no script callbacks; would pass {text}")
            return None
        if not name:
            run.finding(f"{call.name}: the portal registered no {script}")
            step.skip(f"no {script} registered; would pass {text}")
            return None
        shown = await driver.invoke_script(name, text, SHOWN_IN[script])
        step.note(f"{name}({text})" + (f" → page shows {shown!r}" if shown else ""))
        if driver.mode == "browser" and not shown:
            run.finding(f"after {name}() the page shows nothing in #{SHOWN_IN[script]}")
        return shown


async def _register(
    app: MobilePlansApp, run: ScenarioRun, operator_id: str | None, intent: Intent
) -> Registration:
    """Attach to the network; async connectivity retries once after its interval (1.6)."""
    network = app.network(operator_id)
    async with run.step("registration") as step:
        if network is None:
            step.skip(
                "not observable: the operator exposes no registration (no core-network "
                "stand-in); connectivity is judged from the profile and GetBalance"
            )
            return await app.device.register(None)
        registration = await app.device.register(network)
        interval = intent.registration_interval_minutes
        if not registration.state.registered and interval:
            step.note(f"{registration.state.value}; re-registering after {interval} minute(s)")
            await asyncio.sleep(interval * app.delay_minute_seconds)
            registration = await app.device.register(network)
        step.note(f"{registration.iccid}: {registration.state.value}" + _line_note(registration))
        if not registration.state.registered:
            step.fail(f"registration {registration.state.value}")
        return registration


def _line_note(registration: Registration) -> str:
    line = registration.line or {}
    if line.get("walledGarden"):
        return " (walled garden)"
    if "dataRemaininginMB" in line:
        return f" ({line['dataRemaininginMB']} MB)"
    return ""


async def _balance(app: MobilePlansApp, run: ScenarioRun, done: Fulfillment) -> None:
    """Balance addition (spec 1.4 step 4): switch to the named ICCID, then connect."""
    device, iccid = app.device, done.intent.iccid
    async with run.step("balance addition") as step:
        if device.sim is not None:
            if iccid is not None and iccid != device.sim.iccid:
                step.fail(f"ICCID {iccid} is not the physical SIM {device.sim.iccid}")
            done.iccid = device.sim.iccid
        else:
            assert device.euicc is not None
            target = iccid or device.active_iccid
            if target is None:
                raise StepError("no ICCID named and no enabled profile to add balance to")
            try:
                previous = device.euicc.enable(target)
            except EuiccError as exc:
                raise StepError(
                    f"cannot switch to {target}: {exc.status.activation_error}"
                ) from exc
            done.iccid = target
            if previous:
                step.note(f"switched from {previous}")
        step.note(f"balance added to {done.iccid}; the app shows its balance UI")
    operator = device.sim.operator_id if device.sim else _operator_of(app, done.iccid)
    done.registration = await _register(app, run, operator, done.intent)


def _operator_of(app: MobilePlansApp, iccid: str | None) -> str | None:
    euicc = app.device.euicc
    profile = euicc.profile(iccid) if euicc is not None and iccid else None
    return profile.operator_id if profile else None
