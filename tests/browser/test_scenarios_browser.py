"""Every scenario in browser mode: Debian's Chromium on the real portal, the real bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mobileplans.simulator.runlog import Outcome
from mobileplans.simulator.runner import run_scenarios
from mobileplans.simulator.scenarios import SCENARIOS
from tests.simulator.stack import Stack, explain, stack_fixture

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
DOWNLOADS = {"first-run-esim", "download-error-reentry", "delayed-profile"}


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, template_database: str
) -> AsyncIterator[Stack]:
    # template_database: with PostgreSQL, the schema exists before `up` starts
    async for running in stack_fixture(tmp_path_factory.mktemp("e2e-browser")):
        yield running


@pytest.mark.parametrize(
    ("operator", "name"),
    [("contoso", name) for name in SCENARIOS] + [("fabrikam", "first-run-esim")],
)
async def test_scenario_in_browser_mode(stack: Stack, operator: str, name: str) -> None:
    """Contoso answers through MobilePlansInlineOperations, Fabrikam through the legacy
    DataMart.notifyPurchaseResult; both reach the app only through the injected bridge."""
    [run] = await run_scenarios(
        [SCENARIOS[name]], stack.endpoints, operator_id=operator, browser=True
    )
    assert run.mode == "browser"
    assert run.outcome is Outcome.PASS, explain([run], stack)
    scripts = [s for s in run.steps if s.name.endswith("Script") and s.outcome is Outcome.PASS]
    for script in scripts:  # the portal's own JavaScript showed what the app reported
        assert "page shows" in script.detail, explain([run], stack)
    if operator == "contoso" and name in DOWNLOADS:  # inline API: both scripts ran
        assert len(scripts) >= 2, explain([run], stack)
