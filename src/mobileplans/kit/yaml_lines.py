"""YAML with line numbers: every value's line, duplicate keys refused, YAML 1.2 booleans.

Shared by the registry's configuration file and the conformance kit's target file:
compose the node tree to learn where each path starts, load the data with a SafeLoader
whose booleans are only ``true``/``false`` (so a country ``NO`` stays a string), and map
pydantic error locations back to lines with :func:`line_for`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2), not yes/no/on/off."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class Problem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class YamlFileError(ValueError):
    """The file has problems; ``str()`` is one line per problem, each with its line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("; ".join(f"{source} {p}" for p in problems))


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_for(loc: Path, lines: dict[Path, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(key_node.start_mark.line + 1, dotted((*path, key)), "duplicate key")
                )
            seen.add(key)
            _walk(value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, problems)


def parse(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """The data and the line of every path, or :class:`YamlFileError`."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlFileError(source, [Problem(line, "", f"YAML syntax: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise YamlFileError(source, [Problem(None, "", f"YAML error: {exc}")]) from exc
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, problems)
    if problems:
        raise YamlFileError(source, problems)
    return data, lines
