"""kit/yaml_lines: hostile YAML is a line-precise YamlFileError, never another exception.

Each case was found by fuzzing (tests/fuzz/harnesses/yaml_lines.py, config_yaml.py,
conformance_target.py): before the fix a bad date raised a bare ValueError and an anchor
used inside itself a RecursionError.
"""

from __future__ import annotations

import pytest

from mobileplans.kit import yaml_lines
from mobileplans.kit.yaml_lines import MAX_VALUES, YamlFileError


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(YamlFileError) as caught:
        yaml_lines.parse(text, "f.yaml")
    return [(p.line, p.path, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\nwhen: 2001-13-45\n", 2, "month must be in 1..12"),
        ("a: 1\nb: !!timestamp 2001-02-30\n", 2, "day is out of range"),
        ("a: !!int x\n", 1, "int value 'x' is invalid"),
        ("a: !!bool maybe\n", 1, "bool value 'maybe' is invalid"),
        ("a:\n  - !!float x\n", 2, "float value 'x' is invalid"),
        ("a: !!timestamp x\n", 1, "timestamp value 'x' is invalid"),
    ],
)
def test_a_value_its_tag_cannot_hold_is_a_problem_with_its_line(
    text: str, line: int, words: str
) -> None:
    [(at, _, message)] = problems(text)
    assert at == line
    assert words in message


def test_an_anchor_used_inside_itself_is_a_problem_not_a_recursion() -> None:
    assert problems("a: 1\nb: &x [1, *x]\n") == [(2, "b[1]", "an anchor is used inside itself")]
    assert problems("a: {b: &x {c: *x}}\n") == [(1, "a.b.c", "an anchor is used inside itself")]


def test_aliases_that_expand_past_the_limit_are_refused() -> None:
    lines = ["l0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    [(line, path, message)] = problems("\n".join(lines) + "\n")
    assert (line, path) == (1, "")
    assert message == f"aliases expand to more than {MAX_VALUES} values"


def test_an_alias_used_twice_still_loads_with_lines() -> None:
    data, lines = yaml_lines.parse("a: &x [1, 2]\nb: [*x, *x]\n", "f.yaml")
    assert data == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    assert lines[("b",)] == 2
    assert yaml_lines.line_for(("b", 1, 0), lines) == 1  # the anchor's line


def test_nesting_past_the_recursion_limit_is_a_problem() -> None:
    """Found by fuzzing: 1,000 nested flow sequences raised RecursionError."""
    assert problems("a: " + "[" * 1000 + "]" * 1000) == [(None, "", "values nested too deeply")]
    block = "".join("  " * depth + "k:\n" for depth in range(1000))
    assert problems(block) == [(None, "", "values nested too deeply")]
    data, _ = yaml_lines.parse("a: " + "[" * 50 + "]" * 50, "f.yaml")
    assert data is not None
