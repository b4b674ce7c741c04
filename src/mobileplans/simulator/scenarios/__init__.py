"""The end-to-end scenarios, one module each; ``SCENARIOS`` maps the CLI names to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mobileplans.simulator.scenarios import (
    cancel,
    delayed_profile,
    download_error_reentry,
    first_run_esim,
    first_run_sim,
    prepaid_topup,
)
from mobileplans.simulator.scenarios.common import ScenarioContext


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[ScenarioContext], Awaitable[None]]


SCENARIOS: dict[str, Scenario] = {
    module.NAME: Scenario(module.NAME, module.DESCRIPTION, module.run)
    for module in (
        first_run_esim,
        first_run_sim,
        prepaid_topup,
        cancel,
        download_error_reentry,
        delayed_profile,
    )
}
