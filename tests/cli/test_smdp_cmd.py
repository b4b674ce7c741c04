"""``mobileplans smdp``: generate, requester add/list, profiles, as a shell user runs them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from stdnum import luhn
from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.db.engine import make_engine
from mobileplans.db.models import SmdpProfile, SmdpRequester
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.kit.clock import SystemClock
from tests.support import operator_data

runner = CliRunner()


def put_operators(database_url: str) -> None:
    """Contoso (production 8901999000…–8901999099…) and Tiny (100 numbers = 10 ICCIDs)."""
    tiny = operator_data("tiny", brand="Tiny", prefix="8901777")
    tiny["iccidRanges"] = [
        {"environment": "production", "start": "8901777000000000000", "end": "8901777000000000099"}
    ]

    async def go() -> None:
        engine = make_engine(database_url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                for data in (operator_data(), tiny):
                    spec = OperatorSpec.model_validate(data)
                    await registry_service.put_operator(
                        session, spec, actor="test", now=SystemClock().now()
                    )
        finally:
            await engine.dispose()

    asyncio.run(go())


def stored(database_url: str) -> tuple[list[SmdpProfile], list[SmdpRequester]]:
    async def go() -> tuple[list[SmdpProfile], list[SmdpRequester]]:
        engine = make_engine(database_url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                profiles = (await session.scalars(select(SmdpProfile))).all()
                requesters = (await session.scalars(select(SmdpRequester))).all()
                return list(profiles), list(requesters)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_generate_luhn_valid_iccids_inside_the_range(env_for_cli: Path, database_url: str) -> None:
    put_operators(database_url)
    args = ["smdp", "generate", "--operator", "contoso", "--profile-type", "PREPAID-5GB"]
    result = runner.invoke(app, [*args, "--count", "12", "--spn", "Contoso"])
    assert result.exit_code == 0, result.output
    assert "12 profiles" in result.output
    again = runner.invoke(app, [*args, "--count", "3"])
    assert again.exit_code == 0, again.output
    profiles, _ = stored(database_url)
    iccids = [p.iccid for p in profiles]
    assert len(set(iccids)) == 15
    for iccid in iccids:
        assert luhn.is_valid(iccid)
        assert "8901999000000000000" <= iccid <= "8901999099999999999"
    assert {p.state for p in profiles} == {"Available"}
    assert {p.profile_name for p in profiles} == {"Contoso Cellular PREPAID-5GB"}
    counts = runner.invoke(app, ["smdp", "profiles", "--operator", "contoso"])
    assert counts.exit_code == 0
    assert "PREPAID-5GB" in counts.output
    assert "Available" in counts.output
    assert "15" in counts.output


def test_clear_errors(env_for_cli: Path, database_url: str) -> None:
    put_operators(database_url)
    base = ["smdp", "generate", "--profile-type", "T", "--count"]
    full = runner.invoke(app, [*base, "11", "--operator", "tiny"])
    assert full.exit_code == 1
    assert "range full" in full.output
    staging = runner.invoke(app, [*base, "1", "--operator", "contoso", "--environment", "staging"])
    assert staging.exit_code == 1
    assert "no ICCID range" in staging.output
    unknown = runner.invoke(app, [*base, "1", "--operator", "nobody"])
    assert unknown.exit_code == 1
    assert "does not exist" in unknown.output
    assert stored(database_url)[0] == []


def test_requester_add_and_list(env_for_cli: Path, database_url: str) -> None:
    put_operators(database_url)
    url = "http://127.0.0.1:8701/contoso/gsma/rsp2/es2plus/handleDownloadProgressInfo"
    added = runner.invoke(
        app,
        ["smdp", "requester", "add", "--id", "contoso-bss", "--operator", "contoso",
         "--callback-url", url],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["smdp", "requester", "list"])
    assert "contoso-bss" in listed.output
    _, requesters = stored(database_url)
    assert [(r.requester_id, r.operator_id, r.callback_url) for r in requesters] == [
        ("contoso-bss", "contoso", url)
    ]
    bad = runner.invoke(
        app,
        [
            "smdp",
            "requester",
            "add",
            "--id",
            "x",
            "--operator",
            "contoso",
            "--callback-url",
            "nope",
        ],
    )
    assert bad.exit_code == 1
    assert "--callback-url" in bad.output  # the CLI option, not the API field


def test_help_explains_itself() -> None:
    result = runner.invoke(app, ["smdp", "generate", "--help"])
    assert result.exit_code == 0
    assert "Luhn-valid" in result.output
    assert "--profile-type" in result.output
