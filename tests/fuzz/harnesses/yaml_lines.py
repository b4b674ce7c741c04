"""YAML with line numbers (kit/yaml_lines.py ``parse``), under the configuration file and
the conformance target file.

Contract: ``(data, lines)`` or ``YamlFileError`` whose problems each carry a message.
Properties: every recorded line is within the text; the root path is recorded whenever
the document is not empty.
"""

from __future__ import annotations

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.kit import yaml_lines


def TestOneInput(data: bytes) -> None:
    source = text(data)
    try:
        value, lines = yaml_lines.parse(source, "fuzz.yaml")
    except yaml_lines.YamlFileError as exc:
        check(bool(exc.problems) and all(p.message for p in exc.problems), "no problem", source)
        return
    last = source.count("\n") + source.count("\r") + 1
    check(all(1 <= line <= last for line in lines.values()), "line out of the text", source)
    check(value is None or () in lines, "root path has no line", source)


if __name__ == "__main__":
    main(TestOneInput)
