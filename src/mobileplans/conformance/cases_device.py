"""Device scenario cases: the simulator's journeys against the operator's portal (spec 1.2-1.9,
4.1.3 "50 end-to-end user cases", 4.5), in HTTP mode or, with ``--browser``, in Chromium.

The target's ``device`` section supplies what the journeys need (plan codes, an existing
account, warm SIMs, EIDs), with the shape of ``endpoints.json``'s ``demo`` section. With
a ``broker_url`` the device asks that broker for providers; without one it launches
``portal_url`` itself as the service would, and reads GetBalance from ``mo_base_url``
with the target's client certificate. What a device cannot observe of a third-party
operator (registration without a core-network stand-in, the gateway without a broker)
is reported as "not observable", not as a failure.
"""

from __future__ import annotations

from typing import Any

from mobileplans.conformance.case import Case, CaseContext, CaseSkipped, Failure, Outcome
from mobileplans.conformance.target import Target
from mobileplans.simulator.endpoints import Endpoints, MoApiAccess, OperatorEntry, StackTls
from mobileplans.simulator.runlog import Outcome as StepOutcome
from mobileplans.simulator.runner import run_scenarios
from mobileplans.simulator.scenarios import SCENARIOS

SCENARIO_CASES = (
    ("DEVICE-001", "first-run-esim", "1.2, 4.1.3, 4.5", True),
    ("DEVICE-002", "first-run-sim", "1.3, 4.1.3", False),
    ("DEVICE-003", "prepaid-topup", "1.4, 4.1.3", False),
    ("DEVICE-004", "cancel", "1.6, 2.2.2, 4.1.3", False),
    ("DEVICE-005", "download-error-reentry", "1.9, 2.1.3", False),
    ("DEVICE-006", "delayed-profile", "1.6", False),
)


def scenario_endpoints(target: Target) -> Endpoints:
    """The simulator's view of the target (the shape of endpoints.json, docs/simulator.md)."""
    assert target.device is not None
    tls = target.tls
    entry = OperatorEntry(
        id=target.operator,
        name=target.operator,
        countries=list(target.locations.served),
        portal_url=target.portal_url,
        mo_base_url=target.mo_base_url,
        network_url=target.network_url,
        callback_hosts=list(target.callback_hosts),
    )
    return Endpoints(
        broker=target.broker_url,
        smdp=target.smdp_url,
        operators=[entry],
        demo=target.device.model_copy(update={"operators": [target.operator]}),
        tls=StackTls(trust_bundle=str(tls.ca_bundle)) if tls.ca_bundle else None,
        mo_api=MoApiAccess(
            client_cert=str(tls.client_certificate) if tls.client_certificate else None,
            client_key=str(tls.client_key) if tls.client_key else None,
        ),
    )


def _needs_device(target: Target) -> str | None:
    if target.device is None:
        return "the target has no device section (docs/conformance.md)"
    return None


def _runner(scenario_name: str) -> Any:
    async def run(ctx: CaseContext) -> None:
        browser = bool(ctx.extras.get("browser"))
        endpoints = scenario_endpoints(ctx.target)
        [scenario_run] = await run_scenarios(
            [SCENARIOS[scenario_name]], endpoints, operator_id=ctx.target.operator, browser=browser
        )
        ctx.result.steps = [
            {"step": s.name, "outcome": s.outcome.value, "ms": round(s.ms, 1), "detail": s.detail}
            for s in scenario_run.steps
        ]
        if scenario_run.skipped is not None:
            raise CaseSkipped(scenario_run.skipped)
        for step in scenario_run.steps:
            if step.outcome is StepOutcome.FAIL:
                ctx.result.failures.append(
                    Failure(
                        f"scenario {scenario_name} ({scenario_run.mode} mode), step {step.name!r}",
                        step.detail,
                        "the step to succeed (docs/simulator.md)",
                    )
                )
        if scenario_run.error is not None:
            ctx.result.failures.append(
                Failure(f"scenario {scenario_name}", scenario_run.error, "the scenario to finish")
            )
        if ctx.result.failures:
            ctx.result.outcome = Outcome.FAIL
        unseen = [s.name for s in scenario_run.steps if s.outcome is StepOutcome.SKIP]
        ctx.note(
            f"{len(scenario_run.steps)} steps ({scenario_run.mode})"
            + (f"; skipped steps: {', '.join(unseen)}" if unseen else "")
        )

    return run


CASES = [
    Case(
        case_id,
        f"device scenario {name}",
        spec,
        mandatory,
        f"the simulator's {name} journey against portal_url (HTTP mode; --browser: Chromium)",
        "every step passes; steps a device cannot observe are reported as such",
        _runner(name),
        needs=_needs_device,
        group="device",
    )
    for case_id, name, spec, mandatory in SCENARIO_CASES
]
