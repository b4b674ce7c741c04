"""The fuzz harnesses (tests/fuzz/, docs/fuzzing.md): every seed input keeps its parser's
contract, and a short coverage-guided run (atheris/libFuzzer, fixed seed, bounded number
of executions) of every harness finds no crash.

The runs use no database, so they run in the SQLite pass of scripts/test only.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from tests.fuzz import run, support

RUNS = 2000  # per harness: 43 s for the whole file on the reference 2-core machine
SEED = 1
HARNESSES = run.harnesses()
needs_atheris = pytest.mark.skipif(not support.AVAILABLE, reason="atheris is not installed")
sqlite_pass_only = pytest.mark.skipif(
    bool(os.environ.get("MP_TEST_DATABASE_URL")),
    reason="no database involved: runs in the SQLite pass",
)


def seeds(harness: str) -> list[Path]:
    return sorted(p for p in (run.CORPUS / harness).iterdir() if p.is_file())


def test_every_parser_family_has_a_harness() -> None:
    assert HARNESSES == [
        "broker_query", "config_yaml", "conformance_target", "durations", "es2plus_envelope",
        "es2plus_progress", "identifiers", "launch", "lpa_errors", "mo_balances", "mo_query",
        "payment", "portal_page", "smdp_device", "yaml_lines",
    ]  # fmt: skip


@pytest.mark.parametrize("harness", HARNESSES)
def test_seed_corpus_keeps_the_contract(harness: str) -> None:
    """Each seed input, run in-process: the parser returns or raises its documented error."""
    module = importlib.import_module(f"tests.fuzz.harnesses.{harness}")
    inputs = seeds(harness)
    assert len(inputs) >= 4, f"{harness}: the seed corpus needs valid and near-valid inputs"
    for path in inputs:
        module.TestOneInput(path.read_bytes())


@pytest.mark.fuzz
@needs_atheris
@sqlite_pass_only
@pytest.mark.parametrize("harness", HARNESSES)
def test_bounded_fuzz_run_finds_no_crash(harness: str, tmp_path: Path) -> None:
    result = run.run_harness(harness, tmp_path, runs=RUNS, seed=SEED)
    assert not result.crashed, result.report()
    stats = [line for line in result.output.splitlines() if line.startswith("stat::")]
    assert f"stat::number_of_executed_units: {RUNS}" in stats, stats


@pytest.mark.fuzz
@needs_atheris
@sqlite_pass_only
def test_a_crash_fails_the_run_and_keeps_its_input(tmp_path: Path) -> None:
    result = run.run_harness("_crash", tmp_path, runs=100, seed=SEED)
    assert result.crashed
    assert "Uncaught Python exception" in result.report()
    assert "KeyError: 'boom'" in result.report()
    [artifact] = result.artifacts
    assert b"boom" in artifact.read_bytes()
    assert str(artifact) in result.report()


def test_the_runner_never_writes_into_the_committed_corpus(tmp_path: Path) -> None:
    """The corpus handed to libFuzzer (which adds to it) is a copy under the work dir."""
    command = run.command("durations", tmp_path / "c", tmp_path / "a", runs=10, seconds=None,
                          seed=SEED)  # fmt: skip
    assert command[-1] == str(tmp_path / "c")
    assert not any(str(run.CORPUS) in part for part in command)
    assert f"-dict={run.DICTS / 'durations.dict'}" in command
    # no periodic re-read of the corpus directory: a bounded run executes exactly -runs
    assert "-reload=0" in command
