"""``bench/getbalance_instructions.py``: the figure is the dump named ``measured``, its
total of instructions less what the server does idle over the same time, per request;
a tiny real run (both servers under callgrind, on 127.0.0.1) keeps the bench from
rotting where valgrind and gcc are installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import getbalance_instructions as bench_ir


def dump(path: Path, trigger: str, total: int) -> Path:
    path.write_text(
        f"# callgrind format\nversion: 1\npart: 1\n\ndesc: Trigger: {trigger}\n\n"
        f"positions: line\nevents: Ir\nsummary: {total}\n\nfn=(1) main\n0 {total}\n"
    )
    return path


def test_dumps_are_told_apart_by_their_trigger(tmp_path: Path) -> None:
    measured = dump(tmp_path / "a.1", "Client Request: measured", 5_000)
    idle = dump(tmp_path / "a.2", "Client Request: idle", 60)
    end = dump(tmp_path / "a", "Program termination", 7)
    assert [bench_ir.trigger(p) for p in (measured, idle, end)] == ["measured", "idle", "exit"]
    assert bench_ir.total_instructions(measured) == 5_000


@pytest.mark.e2e
@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("valgrind", "gcc", "callgrind_annotate")),
    reason="needs valgrind and gcc",
)
def test_instruction_bench_runs_tiny(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    argv = ["--requests", "40", "--warmup", "10", "--connections", "4", "--iccids", "20"]
    bench_ir.main([*argv, "--idle", "1", "--json", str(out)])
    document = json.loads(out.read_text())
    for role in ("bare", "operator"):
        figures = document[role]
        assert figures["instructions"] > 0  # every answer was a 200, or main raised
        assert figures["per_request"] <= figures["raw_per_request"]  # idle taken off
    assert document["ratio"] == pytest.approx(
        document["bare"]["per_request"] / document["operator"]["per_request"]
    )
