"""The configuration file: every problem is reported with its line (issue #2)."""

from __future__ import annotations

import textwrap

import pytest

from mobileplans.domains.operator_registry.schemas import RegistryDocument
from mobileplans.domains.operator_registry.yaml_io import (
    ConfigFileError,
    dump_document,
    load_document,
)
from tests.support import operator_data

GOOD = textwrap.dedent(
    """\
    version: 1
    operators:
      - id: contoso
        brandName: Contoso Cellular
        countries: [US, NO]
        environments:
          production:
            portalUrl: https://portal.contoso.example/mp
        iccidRanges:
          - environment: production
            start: 8901999000000000000
            end: 8901999099999999999
            kind: full
    """
)


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigFileError) as caught:
        load_document(text)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_a_valid_file_loads_and_norway_stays_a_country() -> None:
    document = load_document(GOOD)
    assert document.operators[0].countries == ["NO", "US"]
    assert document.operators[0].iccid_ranges[0].start == "8901999000000000000"


def test_yaml_syntax_error_has_its_line() -> None:
    broken = GOOD.replace("  - id: contoso", "  - id: [contoso")
    [(line, _, message)] = problems(broken)
    assert line is not None
    assert line >= 3
    assert message.startswith("YAML syntax")


def test_duplicate_key_is_reported_at_the_second_occurrence() -> None:
    duplicated = GOOD.replace(
        "    brandName: Contoso Cellular\n", "    brandName: A\n    brandName: B\n"
    )
    assert problems(duplicated) == [(5, "operators[0].brandName", "duplicate key")]


def test_schema_error_points_at_the_offending_line() -> None:
    [(line, path, message)] = problems(GOOD.replace("[US, NO]", "[US, XX]"))
    assert (line, path) == (5, "operators[0].countries[1]")
    assert "XX" in message


def test_error_in_a_nested_range_points_at_that_range_field() -> None:
    [(line, path, message)] = problems(GOOD.replace("kind: full", "kind: partial"))
    assert (line, path) == (13, "operators[0].iccidRanges[0].kind")
    assert "test" in message
    assert "full" in message


def test_every_problem_is_reported_not_just_the_first() -> None:
    bad = GOOD.replace("[US, NO]", "[XX]").replace("https://portal", "http://portal")
    assert [p[0] for p in problems(bad)] == [5, 8]


def test_overlapping_ranges_name_both_and_the_line() -> None:
    text = GOOD + (
        "  - id: fabrikam\n"
        "    brandName: Fabrikam Mobile\n"
        "    countries: [GB]\n"
        "    environments:\n"
        "      production:\n"
        "        portalUrl: https://portal.fabrikam.example/\n"
        "    iccidRanges:\n"
        "      - environment: production\n"
        '        start: "8901999050000000000"\n'
        '        end: "8901999150000000000"\n'
    )
    [(line, path, message)] = problems(text)
    assert (line, path) == (21, "operators[1].iccidRanges[0]")
    assert "contoso" in message
    assert "fabrikam" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "mapping"), ("- a\n- b\n", "mapping"), ("operators: 3\n", "list")],
)
def test_wrong_shapes_are_rejected(text: str, expected: str) -> None:
    assert expected in " ".join(p[2] for p in problems(text))


def test_export_then_import_round_trips() -> None:
    document = RegistryDocument.model_validate(
        {
            "operators": [
                operator_data(countries=["NO", "US"]),
                operator_data("fabrikam", brand="Fabrikam", prefix="8944999"),
            ]
        }
    )
    text = dump_document(document)
    assert "'NO'" in text or '"NO"' in text or "- NO" in text
    assert load_document(text) == document


def test_hostile_yaml_is_a_config_file_error_with_its_line() -> None:
    """Found by fuzzing (tests/fuzz/harnesses/config_yaml.py): these raised ValueError and
    RecursionError instead of ConfigFileError."""
    [(line, _, message)] = problems(GOOD + "when: 2001-02-30\n")
    assert line == 14
    assert "day is out of range for month" in message
    [(line, path, message)] = problems("version: 1\noperators: &ops [*ops]\n")
    assert (line, path, message) == (2, "operators[0]", "an anchor is used inside itself")
