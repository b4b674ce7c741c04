"""``bench/balances_instructions.py``: a tiny real run (the bare proxy and the broker under
callgrind, the MO stand-in natively, on 127.0.0.1) keeps the bench from rotting where
valgrind and gcc are installed; ``--profile`` runs both natively under cProfile."""

from __future__ import annotations

import json
import pstats
import shutil
from pathlib import Path

import pytest

from bench import balances_instructions as bench_ir

TINY = ["--requests", "40", "--warmup", "10", "--connections", "4"]


@pytest.mark.e2e
@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("valgrind", "gcc", "callgrind_annotate")),
    reason="needs valgrind and gcc",
)
def test_instruction_bench_runs_tiny(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    bench_ir.main([*TINY, "--idle", "1", "--json", str(out)])
    document = json.loads(out.read_text())
    for role in ("bare-proxy", "broker"):
        figures = document[role]
        assert figures["instructions"] > 0  # every answer was a 200, or main raised
        assert figures["per_request"] <= figures["raw_per_request"]  # idle taken off
    assert document["broker_over_bare_proxy"] == pytest.approx(
        document["broker"]["per_request"] / document["bare-proxy"]["per_request"]
    )


@pytest.mark.e2e
def test_profile_mode_profiles_the_broker_s_own_steps(tmp_path: Path) -> None:
    bench_ir.main([*TINY, "--roles", "broker", "--profile", str(tmp_path)])
    stats = pstats.Stats(str(tmp_path / "broker.prof")).stats  # type: ignore[attr-defined]
    called = {name: count for (_, _, name), (_, count, *_) in stats.items()}
    assert called["read_balances"] == 40  # the measured requests only, warm-up left out
