"""The configuration file: YAML in, YAML out, with line-precise errors.

Parsing uses the YAML 1.2 core schema for booleans (only ``true``/``false``), so a
country code like ``NO`` stays the string ``"NO"``. Every problem (YAML syntax,
duplicate keys, schema rules, overlapping ICCID ranges) is reported with the line
it comes from; a file with any problem is rejected whole.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from mobileplans.domains.operator_registry.iccid_index import RangeRef, find_overlaps
from mobileplans.domains.operator_registry.schemas import RegistryDocument
from mobileplans.kit.yaml_lines import Path, Problem, YamlFileError, dotted, line_for, parse

ConfigProblem = Problem


class ConfigFileError(ValueError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _parse(text: str) -> tuple[Any, dict[Path, int]]:
    try:
        return parse(text, source="")
    except YamlFileError as exc:
        raise ConfigFileError(exc.problems) from exc


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
                    line_for(tuple(e["loc"]), lines),
                    dotted(tuple(e["loc"])),
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
        problems.append(ConfigProblem(lines.get(path), dotted(path), overlap.message()))
    if problems:
        raise ConfigFileError(problems)


def dump_document(document: RegistryDocument) -> str:
    body = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    header = "# mobileplans configuration (mobileplans config import FILE)\n"
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
