"""Help texts and docs agree with the code (issue #8): every command's ``--help`` renders
without the defects a new user met, and every ``mobileplans ...`` command written in the
README, docs/ and the help texts exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mobileplans.cli.demo_operator import demo_summary
from mobileplans.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"COLUMNS": "1000"}  # one help paragraph, one line: a break left in it is a defect
runner = CliRunner()
tree = typer.main.get_command(app)


def commands(
    command: Any = tree, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, child in sorted(_children(command).items()):
        yield from commands(child, (*path, name))


def _children(command: Any) -> dict[str, Any]:
    """A group's commands (Typer's groups are not ``click.Group`` subclasses)."""
    children = getattr(command, "commands", None)
    return dict(children) if isinstance(children, dict) else {}


ALL = list(commands())


def _flat(text: str) -> str:
    return " ".join(text.split())


def _help_lines(output: str) -> list[str]:
    """The help output's lines without the panels' box characters."""
    return [_flat(re.sub(r"[│╭╮╰╯─]", " ", line)) for line in output.splitlines()]


@pytest.mark.parametrize(
    ("path", "command"), ALL, ids=[" ".join(p) or "mobileplans" for p, _ in ALL]
)
def test_help_renders_without_defects(path: tuple[str, ...], command: Any) -> None:
    shown = runner.invoke(app, [*path, "--help"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    output = shown.output
    assert "<bool>" not in output, "a flag takes no value"
    assert not re.search(r"\(required\)\s*\[required\]", _flat(output))
    lines = _help_lines(output)
    paragraphs = [_flat(p) for p in (command.help or "").split("\f")[0].split("\n\n")]
    options = [_flat(p.help) for p in command.params if getattr(p, "help", None)]
    for text in [p for p in paragraphs if p] + options:
        assert any(text in line for line in lines), f"broken over lines: {text!r}\n{output}"


def _code(text: str) -> list[str]:
    """Fenced code blocks and inline code spans of a Markdown text."""
    fenced = re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)
    rest = re.sub(r"```.*?```", "", text, flags=re.S)
    return fenced + re.findall(r"`([^`\n]+)`", rest)


def written_commands() -> Iterator[tuple[str, str]]:
    """``(where, "mobileplans a b|c ...")`` from the README, docs/ and every help text."""
    sources = {str(p.relative_to(ROOT)): p.read_text() for p in [ROOT / "README.md"]}
    sources |= {
        str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))
    }
    pattern = re.compile(r"\bmobileplans((?: +[a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*)+)")
    command_line = re.compile(r"^\s*(?:\$ )?(?:[\w./-]*/)?mobileplans ")  # not prose
    for where, text in sources.items():
        for code in _code(text):
            for line in code.replace("\\|", "|").splitlines():
                found = pattern.search(line) if command_line.match(line) else None
                if found:
                    yield where, found[0]
    for path, command in ALL:
        for match in pattern.finditer(_flat(command.help or "")):
            yield "mobileplans " + " ".join(path) + " --help", match[0]


def _resolve(words: list[str]) -> str | None:
    """None when the words name commands that exist, else what is wrong."""
    current: Any = tree
    for word in words:
        children = _children(current)
        if not children:
            return None  # the rest are arguments
        names = word.split("|")
        missing = [n for n in names if n not in children]
        if missing:
            return f"no command {' '.join(missing)!r} (there are {', '.join(children)})"
        if len(names) > 1:
            return None
        current = children[names[0]]
    return None


@pytest.mark.parametrize(("path", "group"), [(p, c) for p, c in ALL if _children(c)])
def test_a_group_help_lists_only_its_commands(path: tuple[str, ...], group: Any) -> None:
    """A list of bare command names in a group's help (``list, sync, run, tune``) names
    commands of that group."""
    for listed in re.findall(r": ((?:[a-z-]+, )+[a-z-]+)\.", _flat(group.help or "")):
        assert set(listed.split(", ")) <= set(_children(group)), listed


def test_every_command_written_in_docs_and_help_exists() -> None:
    problems = []
    for where, written in written_commands():
        problem = _resolve(written.split()[1:])
        if problem:
            problems.append(f"{where}: `{written}`: {problem}")
    assert not problems, "\n".join(problems)


def test_the_port_layout_is_the_same_in_help_and_readme() -> None:
    """up: broker N, operator N+1, SM-DP+ N+2, console N+3, mail N+9 (decision D100)."""
    shown = _flat(runner.invoke(app, ["up", "--help"], env=WIDE).output)
    assert "console N+3" in shown
    assert "mail server N+9" in shown
    readme = _flat((ROOT / "README.md").read_text())
    assert "a local mail server (8709" in readme
    assert "mail server (8703" not in readme


def test_readme_uses_no_macos_only_command() -> None:
    for line in (ROOT / "README.md").read_text().splitlines():
        assert not re.match(r"\s*open\s", line), line


def test_demo_sim_roles_written_in_docs_are_in_endpoints_json() -> None:
    """`warm_sim` (one SIM) and `warm_sims` (the pool) both exist, and the docs name no
    other role than those endpoints.json carries."""
    roles = set(demo_summary("contoso")["sims"])
    assert {"warm_sim", "warm_sims"} <= roles
    texts = [(ROOT / "README.md").read_text()] + [
        p.read_text() for p in (ROOT / "docs").glob("*.md")
    ]
    named = {m for text in texts for m in re.findall(r"\bsims\.([a-z_]+)", text)}
    sample = re.search(r'"sims": \{(.*?)\}', (ROOT / "README.md").read_text(), flags=re.S)
    assert sample is not None
    named |= set(re.findall(r'"([a-z_]+)":', sample[1]))
    assert {"warm_sim", "warm_sims"} <= named
    assert named <= roles, named - roles
