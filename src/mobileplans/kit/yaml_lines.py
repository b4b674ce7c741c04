"""YAML with line numbers: every value's line, duplicate keys refused, YAML 1.2 booleans.

Shared by the registry's configuration file and the conformance kit's target file:
compose the node tree to learn where each path starts, load the data with a SafeLoader
whose booleans are only ``true``/``false`` (so a country ``NO`` stays a string), and map
pydantic error locations back to lines with :func:`line_for`.

Hostile shapes are problems with a line too, never an exception of another type: a value
its tag cannot hold (``2001-02-30``, ``!!int x``), an anchor used inside itself
(``a: &x [*x]``), aliases that expand past :data:`MAX_VALUES` values ("billion
laughs") and nesting deeper than the interpreter's recursion limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import yaml

Path = tuple[str | int, ...]
MAX_VALUES: Final = 100_000
"""Values a document may expand to through aliases (far above any real file's count)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2), not yes/no/on/off."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value its tag cannot hold (``2001-02-30``, ``!!int x``, ``!!timestamp x``): a YAML
        error at its node. PyYAML's constructors raise whatever their conversion raises."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError, IndexError) as exc:
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"{tag} value {node.value!r} is invalid: {exc}", node.start_mark
            ) from exc


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


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem],
          sizes: dict[int, int]) -> int:  # fmt: skip
    """Record the line of every path; return how many values ``node`` expands to.

    ``sizes`` holds the nodes walked (an alias of one is not walked again) and ``-1`` for
    those being walked, so an anchor used inside itself is found instead of recursing."""
    lines[path] = node.start_mark.line + 1
    known = sizes.get(id(node))
    if known is not None:
        if known < 0:
            problems.append(Problem(lines[path], dotted(path), "an anchor is used inside itself"))
            return 1
        return known
    sizes[id(node)] = -1
    size = 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(key_node.start_mark.line + 1, dotted((*path, key)), "duplicate key")
                )
            seen.add(key)
            size += _walk(value_node, (*path, key), lines, problems, sizes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            size += _walk(item, (*path, index), lines, problems, sizes)
    sizes[id(node)] = size
    return size


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
    except RecursionError as exc:  # PyYAML composes and constructs recursively
        raise YamlFileError(source, [Problem(None, "", "values nested too deeply")]) from exc
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    if node is not None and _walk(node, (), lines, problems, {}) > MAX_VALUES:
        problems.append(Problem(1, "", f"aliases expand to more than {MAX_VALUES} values"))
    if problems:
        raise YamlFileError(source, problems)
    return data, lines
