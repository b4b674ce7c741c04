"""The configuration file: YAML in, YAML out, with line-precise errors.

Parsing uses the YAML 1.2 core schema for booleans (only ``true``/``false``), so a
country code like ``NO`` stays the string ``"NO"``. Every problem (YAML syntax,
duplicate keys, schema rules, overlapping ICCID ranges) is reported with the line
it comes from; a file with any problem is rejected whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from mobileplans.domains.operator_registry.iccid_index import RangeRef, find_overlaps
from mobileplans.domains.operator_registry.schemas import RegistryDocument

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


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigFileError(ValueError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _walk(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[ConfigProblem]
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    ConfigProblem(
                        key_node.start_mark.line + 1,
                        _dotted((*path, key)),
                        "duplicate key",
                    )
                )
            seen.add(key)
            _walk(value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, problems)


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(loc: Path, lines: dict[Path, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _parse(text: str) -> tuple[Any, dict[Path, int]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigFileError([ConfigProblem(line, "", f"YAML syntax: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError([ConfigProblem(None, "", f"YAML error: {exc}")]) from exc
    lines: dict[Path, int] = {}
    problems: list[ConfigProblem] = []
    if node is not None:
        _walk(node, (), lines, problems)
    if problems:
        raise ConfigFileError(problems)
    return data, lines


def load_document(text: str, *, url_policy: str = "strict") -> RegistryDocument:
    """Parse and validate a configuration file, or raise :class:`ConfigFileError`."""
    data, lines = _parse(text)
    if not isinstance(data, dict):
        raise ConfigFileError([ConfigProblem(1, "", "the file must be a mapping with 'operators'")])
    try:
        document = RegistryDocument.model_validate(data, context={"url_policy": url_policy})
    except ValidationError as exc:
        raise ConfigFileError(
            [
                ConfigProblem(
                    _line_for(tuple(e["loc"]), lines),
                    _dotted(tuple(e["loc"])),
                    e["msg"],
                )
                for e in exc.errors()
            ]
        ) from exc
    _check_overlaps(document, lines)
    return document


def _check_overlaps(document: RegistryDocument, lines: dict[Path, int]) -> None:
    refs: list[RangeRef] = []
    where: list[Path] = []
    for i, op in enumerate(document.operators):
        for j, rng in enumerate(op.iccid_ranges):
            refs.append(
                RangeRef(
                    op.id,
                    rng.environment.value,
                    rng.start,
                    rng.end,
                    rng.kind.value,
                    len(refs),
                )
            )
            where.append(("operators", i, "iccidRanges", j))
    problems = []
    for overlap in find_overlaps(refs):
        path = where[overlap.second.range_id or 0]
        problems.append(ConfigProblem(lines.get(path), _dotted(path), overlap.message()))
    if problems:
        raise ConfigFileError(problems)


def dump_document(document: RegistryDocument) -> str:
    body = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    header = "# mobileplans configuration (mobileplans config import FILE)\n"
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
