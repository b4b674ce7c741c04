"""Where commands find their database (issue #8): only ``up``, ``serve`` and ``db upgrade``
create one; every other command says where it looked and how to point at the right one.
The data directory keeps ``up``'s URL policy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.cli.runtime import keep_url_policy, load_settings
from mobileplans.config import UrlPolicy
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from tests.support import operator_data, pg_url

runner = CliRunner()


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shell in a directory where `up` never ran, no MP_* pointing anywhere."""
    for name in ("MP_DATABASE_URL", "MP_DATA_DIR", "MP_URL_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["config", "export"],
        ["probes", "list"],
        ["sla", "report"],
        ["incidents", "list"],
        ["maintenance", "list"],
        ["smdp", "profiles"],
        ["db", "current"],
        ["db", "check"],
    ],
)
def test_commands_outside_a_data_directory_create_nothing(nowhere: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    looked = nowhere / ".mobileplans" / "mobileplans.db"
    assert f"looked for {looked}" in message
    for way in ("--data-dir", "MP_DATA_DIR", "MP_DATABASE_URL"):
        assert way in message
    assert not (nowhere / ".mobileplans").exists()


def test_db_upgrade_creates_the_database_and_the_others_then_use_it(nowhere: Path) -> None:
    data = nowhere / "data"
    created = runner.invoke(app, ["db", "upgrade", "--data-dir", str(data)])
    assert created.exit_code == 0, created.output
    assert (data / "mobileplans.db").is_file()
    exported = runner.invoke(app, ["config", "export"], env={"MP_DATA_DIR": str(data)})
    assert exported.exit_code == 0, exported.output
    assert yaml.safe_load(exported.output)["operators"] == []


def test_a_database_behind_the_newest_revision_asks_for_db_upgrade(nowhere: Path) -> None:
    data = nowhere / "old"
    data.mkdir()
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    previous = scripts.get_revision(scripts.get_current_head()).down_revision
    assert isinstance(previous, str)

    async def migrate_to_previous() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{data / 'mobileplans.db'}")
        await migrate.upgrade(engine, previous)
        await engine.dispose()

    asyncio.run(migrate_to_previous())
    result = runner.invoke(app, ["probes", "list", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert f"at revision {previous}" in result.output
    assert "run `mobileplans db upgrade`" in result.output
    empty = nowhere / "empty"
    empty.mkdir()
    (empty / "mobileplans.db").touch()  # a file, but no tables
    result = runner.invoke(app, ["probes", "list", "--data-dir", str(empty)])
    assert result.exit_code == 1
    assert "holds no mobileplans tables" in result.output


@pytest.mark.skipif(pg_url() is None, reason="PostgreSQL only (MP_TEST_DATABASE_URL)")
def test_a_postgresql_url_that_cannot_be_opened_is_named(nowhere: Path) -> None:
    url = (pg_url() or "").rsplit("/", 1)[0] + "/mp_no_such_database"
    result = runner.invoke(app, ["config", "export"], env={"MP_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "cannot open the database of MP_DATABASE_URL=" in result.output
    assert "mp_no_such_database" in result.output


def test_the_data_directory_keeps_the_url_policy_of_up(env_for_cli: Path, tmp_path: Path) -> None:
    """Export then import of the same file works on a data directory made by `up`; under
    the strict policy the refusal names MP_URL_POLICY."""
    local = operator_data()
    local["environments"]["production"] = {
        "portalUrl": "http://127.0.0.1:9401/contoso/portal/",
        "moBaseUrl": "http://127.0.0.1:9401/contoso/api/v1",
    }
    source = tmp_path / "local.yaml"
    source.write_text(yaml.safe_dump({"version": 1, "operators": [local]}, sort_keys=False))
    strict = runner.invoke(app, ["config", "import", str(source)])
    assert strict.exit_code == 1
    assert "must use https" in strict.output
    assert "MP_URL_POLICY=local" in strict.output

    keep_url_policy(load_settings(), UrlPolicy.LOCAL)  # what `up` does
    assert load_settings().url_policy == UrlPolicy.LOCAL
    imported = runner.invoke(app, ["config", "import", str(source)])
    assert imported.exit_code == 0, imported.output
    exported = tmp_path / "exported.yaml"
    assert runner.invoke(app, ["config", "export", str(exported)]).exit_code == 0
    again = runner.invoke(app, ["config", "import", str(exported)])
    assert again.exit_code == 0, again.output
    assert '"unchanged"' in again.output
    forced = runner.invoke(
        app, ["config", "import", str(exported)], env={"MP_URL_POLICY": "strict"}
    )
    assert forced.exit_code == 1
