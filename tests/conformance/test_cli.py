"""``mobileplans conformance``: listing, bad input (one line, exit 2, nothing written), and the
load test's average-latency criterion against an operator answering in 500 ms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.conformance.load import LoadInputError, parse_duration, parse_mix
from mobileplans.conformance.runner import ALL_CASES
from mobileplans.conformance.target import TargetError, load_target, parse_target
from tests.conformance.misbehaving import ACTIVE, ZERO, Misbehaving


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Misbehaving]:
    fixture = Misbehaving(tmp_path_factory.mktemp("misbehaving-cli"))
    with fixture.running():
        yield fixture


def write_target(directory: Path, fixture: Misbehaving) -> Path:
    path = directory / "target.yaml"
    path.write_text(fixture.target_yaml())
    return path


def reports(directory: Path) -> list[str]:
    paths = {"--junit": "r.xml", "--html": "r.html", "--json": "r.json"}
    return [item for flag, name in paths.items() for item in (flag, str(directory / name))]


def assert_refused(result_output: str, exit_code: int, directory: Path, text: str) -> None:
    assert exit_code == 2, result_output
    lines = [line for line in result_output.splitlines() if line.strip()]
    assert len(lines) == 1, result_output
    assert lines[0].startswith("error: ")
    assert text in lines[0]
    assert not any((directory / name).exists() for name in ("r.xml", "r.html", "r.json"))


def test_cases_lists_every_case_with_spec_and_mandatory() -> None:
    result = CliRunner().invoke(app, ["conformance", "cases"], terminal_width=80)
    assert result.exit_code == 0
    for case in ALL_CASES:
        assert case.id in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    assert {c.id for c in ALL_CASES if c.mandatory} >= {
        "MOAPI-GB-003",
        "MOAPI-TLS-001",
        "MOAPI-TLS-002",
        "MOAPI-TX-002",
        "MOAPI-LAT-001",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mo_base_url: [unclosed\n", "line 2: YAML syntax"),
        ("operator: x\noperator: y\n", "line 2: operator: duplicate key"),
        ("- a list\n", "line 1: the file must be a mapping"),
    ],
)
def test_a_malformed_target_file_is_one_line_naming_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "target.yaml"
    path.write_text(text)
    result = CliRunner().invoke(
        app, ["conformance", "run", "--target", str(path), *reports(tmp_path)]
    )
    assert_refused(result.output, result.exit_code, tmp_path, message)


def test_schema_errors_name_their_line(operator: Misbehaving, tmp_path: Path) -> None:
    document = json.loads(operator.target_yaml())
    document["iccids"]["active"] = "12345"
    text = "\n".join(f"{k}: {json.dumps(v)}" for k, v in document.items()) + "\n"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("iccids"))
    with pytest.raises(TargetError, match=rf"line {line}: iccids.active: .*18-20 digits"):
        load_target(_write(tmp_path / "t.yaml", text))
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("mo_base"))
    with pytest.raises(TargetError, match=rf"line {line}: mo_base_url: must be an http\(s\) URL"):
        load_target(_write(tmp_path / "u.yaml", text.replace("https://127", "ftp://127", 1)))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_an_unknown_case_id_is_refused(operator: Misbehaving, tmp_path: Path) -> None:
    target = write_target(tmp_path, operator)
    args = ["conformance", "run", "--target", str(target), "--only", "MOAPI-GB-001,MOAPI-XX-9"]
    result = CliRunner().invoke(app, [*args, *reports(tmp_path)])
    assert_refused(result.output, result.exit_code, tmp_path, "unknown case id 'MOAPI-XX-9'")


def test_an_unreadable_certificate_is_refused(operator: Misbehaving, tmp_path: Path) -> None:
    document = json.loads(operator.target_yaml())
    document["tls"]["client_certificate"] = str(tmp_path / "missing.pem")
    missing = _write(tmp_path / "missing.yaml", json.dumps(document, indent=1))
    result = CliRunner().invoke(
        app, ["conformance", "run", "--target", str(missing), *reports(tmp_path)]
    )
    assert_refused(result.output, result.exit_code, tmp_path, "tls.client_certificate: cannot read")
    document["tls"]["client_certificate"] = str(_write(tmp_path / "junk.pem", "not a PEM"))
    junk = _write(tmp_path / "junk.yaml", json.dumps(document, indent=1))
    result = CliRunner().invoke(
        app, ["conformance", "run", "--target", str(junk), *reports(tmp_path)]
    )
    assert_refused(result.output, result.exit_code, tmp_path, "unusable with its key")
    assert "line 7" in result.output  # client_certificate's line in the indented JSON


def test_an_iccid_file_with_an_invalid_line(operator: Misbehaving, tmp_path: Path) -> None:
    target = write_target(tmp_path, operator)
    iccids = _write(tmp_path / "iccids.txt", f"# test SIMs\n{ACTIVE}\n\n{ZERO}\n8901-oops\n")
    args = ["conformance", "load", "--target", str(target), "--iccids", str(iccids)]
    result = CliRunner().invoke(app, [*args, "--duration", "2", *reports(tmp_path)])
    assert_refused(result.output, result.exit_code, tmp_path, "iccids.txt line 5: '8901-oops'")


def test_neither_or_both_target_sources_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["conformance", "run", *reports(tmp_path)])
    assert_refused(result.output, result.exit_code, tmp_path, "give either --target")


def test_durations_and_mixes(operator: Misbehaving) -> None:
    assert [parse_duration(t) for t in ("60", "90s", "5m", "1h", "0.5")] == [60, 90, 300, 3600, 0.5]
    for bad in ("", "-1", "1d", "h"):
        with pytest.raises(LoadInputError):
            parse_duration(bad)
    target = parse_target(operator.target_yaml(), source="t")
    assert parse_mix("getbalance=96,getoffers=2,getnotifications=2", target) == {
        "getbalance": 96.0,
        "getoffers": 2.0,
        "getnotifications": 2.0,
    }
    no_offers = target.model_copy(
        update={"apis": target.apis.model_copy(update={"get_offers": False})}
    )
    for bad, source in (
        ("getorders=2", target),
        ("getbalance=x", target),
        ("getoffers=1", no_offers),
    ):
        with pytest.raises(LoadInputError):
            parse_mix(bad, source)


def test_load_fails_on_average_latency_against_a_slow_operator(
    operator: Misbehaving, tmp_path: Path
) -> None:
    target = write_target(tmp_path, operator)
    iccids = _write(tmp_path / "iccids.txt", f"{ACTIVE}\n{ZERO}\n")
    args = ["conformance", "load", "--target", str(target), "--iccids", str(iccids)]
    args += ["--duration", "2", "--rate", "3", "--mix", "getbalance=90,getoffers=10"]
    operator.faults.add("slow")
    try:
        result = CliRunner().invoke(app, [*args, *reports(tmp_path)])
    finally:
        operator.faults.clear()
    assert result.exit_code == 1, result.output
    evidence = json.loads((tmp_path / "r.json").read_text())
    outcomes = {c["id"]: c["outcome"] for c in evidence["cases"]}
    assert outcomes == {"LOAD-001": "pass", "LOAD-002": "fail"}
    assert evidence["figures"]["successPercent"] == 100.0
    assert evidence["figures"]["averageMs"] >= 500
    junit = (tmp_path / "r.xml").read_text()
    assert 'name="LOAD-002 average latency"' in junit
    assert "<failure" in junit


def test_run_prints_a_result_table_in_80_columns_and_exits_by_verdict(
    operator: Misbehaving, tmp_path: Path
) -> None:
    target = write_target(tmp_path, operator)
    args = ["conformance", "run", "--target", str(target), "--only", "moapi-gb-00*,PORTAL-*"]
    result = CliRunner().invoke(app, args, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "MOAPI-GB-009" in result.output
    assert "PORTAL-003" in result.output
    assert "MOAPI-TX-001" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    operator.faults.add("location_not_validated")
    try:
        failed = CliRunner().invoke(app, args, terminal_width=80)
    finally:
        operator.faults.clear()
    assert failed.exit_code == 1, failed.output
    assert "sent:     GET" in failed.output
    assert "got:      HTTP 200" in failed.output
    assert "expected: HTTP 400 (4.1.1: bad location)" in failed.output
    assert max(len(line) for line in failed.output.splitlines()) <= 80


def test_the_docs_describe_every_case() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    for case in ALL_CASES:
        assert f"`{case.id}`" in docs, case.id
    for criterion in ("`LOAD-001`", "`LOAD-002`"):
        assert criterion in docs


def test_the_documented_target_file_is_valid(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from mobileplans.kit import certs

    docs = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    now = datetime.now(UTC)
    ca = certs.make_ca("CN=Northwind Test CA", now=now)
    ca.write(tmp_path / "certs", "test-ca")
    ca.write(tmp_path / "certs", "ca")
    certs.issue_client(ca, certs.BROKER_SUBJECT, now=now).write(tmp_path / "certs", "service")
    target = load_target(_write(tmp_path / "northwind.yaml", example))
    assert target.operator == "northwind"
    assert target.api_base("offers") == "https://mo.staging.northwind.example/v1"
    assert target.tls.client_key == tmp_path / "certs" / "service-key.pem"
    assert target.device is not None
    assert target.device.plans.prepaid == "nw-5gb"


def test_mutual_tls_is_not_applicable_to_an_http_target(
    operator: Misbehaving, tmp_path: Path
) -> None:
    """Plain ``up`` (D166): an http:// MO API has no TLS, and a production operator must
    use https (spec 3.1), so the mutual-TLS cases are skipped with that reason in the
    table and in all three reports, and the run's verdict does not count them."""
    document = json.loads(operator.target_yaml())
    for key in ("mo_base_url", "portal_url"):
        document[key] = document[key].replace("https://", "http://", 1)
    target = _write(tmp_path / "plain.yaml", json.dumps(document, indent=1))
    args = ["conformance", "run", "--target", str(target), "--only", "MOAPI-TLS-*"]
    result = CliRunner().invoke(app, [*args, *reports(tmp_path)], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert result.output.count("not applicable") == 4
    evidence = json.loads((tmp_path / "r.json").read_text())
    assert [c["outcome"] for c in evidence["cases"]] == ["skip"] * 4
    assert evidence["verdict"] == "pass"
    assert all("spec 3.1" in c["detail"] and not c["exchanges"] for c in evidence["cases"])
    assert (tmp_path / "r.xml").read_text().count('<skipped message="not applicable') == 4
    assert "not applicable: an http:// MO API has no TLS" in (tmp_path / "r.html").read_text()
    operator.faults.add("accepts_missing_certificate")  # over https it still fails
    try:
        https = CliRunner().invoke(
            app,
            [
                "conformance",
                "run",
                "--target",
                str(write_target(tmp_path, operator)),
                "--only",
                "MOAPI-TLS-001",
            ],
        )
    finally:
        operator.faults.clear()
    assert https.exit_code == 1, https.output
