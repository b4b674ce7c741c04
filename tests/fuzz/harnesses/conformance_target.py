"""The conformance kit's target file (docs/conformance.md; conformance/target.py
``parse_target``).

Contract: a ``Target`` or ``YamlFileError`` with line-precise problems. The file names
certificate files, which are read at load time: relative paths resolve in an empty
directory, and inputs that mention ``dev``, ``proc`` or ``sys`` are skipped (a device file
such as ``/dev/zero`` never ends: the operator's own file, outside the contract).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.conformance.target import parse_target
    from mobileplans.kit.identifiers import parse_iccid
    from mobileplans.kit.yaml_lines import YamlFileError

EMPTY = Path(tempfile.mkdtemp(prefix="mp-fuzz-target-"))
SPECIAL = (b"dev", b"proc", b"sys")


def TestOneInput(data: bytes) -> None:
    if any(word in data.lower() for word in SPECIAL):
        return
    source = text(data)
    try:
        target = parse_target(source, source="target.yaml", base_dir=EMPTY)
    except YamlFileError as exc:
        check(bool(exc.problems) and all(p.message for p in exc.problems), "no problem", source)
        return
    check(parse_iccid(target.iccids.active) == target.iccids.active, "ICCID", source)
    check(bool(target.locations.served), "no served location", source)
    check(not target.mo_base_url.endswith("/"), "trailing /", source)


if __name__ == "__main__":
    main(TestOneInput)
