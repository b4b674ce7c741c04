"""``serve PART --workers N``: the choices it refuses, before anything is written (the
PostgreSQL run itself is ``test_scale_out_pg.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileplans.cli.main import app

runner = CliRunner()


def test_more_than_one_process_needs_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MP_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    result = runner.invoke(app, ["serve", "broker", "--workers", "2", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert "--workers 2 needs PostgreSQL (MP_DATABASE_URL=" in result.output
    assert not (data / "admin_token").exists()  # refused before anything was written


@pytest.mark.parametrize("count", ["0", "65"])
def test_the_number_of_processes_is_1_to_64(tmp_path: Path, count: str) -> None:
    result = runner.invoke(
        app, ["serve", "broker", "--workers", count, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert f"--workers is 1 to 64 processes, not {count}" in result.output
