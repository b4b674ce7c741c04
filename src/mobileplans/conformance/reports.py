"""Report files: JUnit XML (CI systems), JSON evidence (SHA-256 sealed), and the HTML page
(:mod:`.html_report`). Every writer takes the report's wire form (``RunReport.wire()`` or
``LoadReport.wire()``), so ``run`` and ``load`` share them.

JSON evidence: the report document plus ``"sha256"``, the hex SHA-256 of the document
without that key, serialised canonically (sorted keys, no spaces, UTF-8). It carries
``evidence: {operator, environment, source}`` so the onboarding domain can file it as
evidence for that operator's milestone (issue #9) once it exists.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from mobileplans.conformance.html_report import render_html


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its ``sha256`` (over everything else)."""
    content = {k: v for k, v in document.items() if k != "sha256"}
    return {**content, "sha256": hashlib.sha256(canonical(content)).hexdigest()}


def verify_seal(document: dict[str, Any]) -> bool:
    return bool(seal(document)["sha256"] == document.get("sha256"))


def _case_element(suite: ET.Element, case: dict[str, Any]) -> None:
    element = ET.SubElement(
        suite,
        "testcase",
        classname=f"conformance.{case['id'].split('-')[0].lower()}",
        name=f"{case['id']} {case['title']}",
        time=f"{case['ms'] / 1000:.3f}",
    )
    properties = ET.SubElement(element, "properties")
    ET.SubElement(properties, "property", name="spec", value=case["spec"])
    ET.SubElement(properties, "property", name="mandatory", value=str(case["mandatory"]).lower())
    if case["outcome"] == "fail":
        failures = case["failures"] or [{"sent": "", "got": case["detail"], "expected": ""}]
        first = failures[0]
        failure = ET.SubElement(
            element,
            "failure",
            message=f"expected {first['expected']}; got {first['got']}"[:500],
            type="mandatory" if case["mandatory"] else "advisory",
        )
        failure.text = "\n".join(
            f"sent: {f['sent']}\ngot: {f['got']}\nexpected: {f['expected']}\n" for f in failures
        )
    elif case["outcome"] == "skip":
        ET.SubElement(element, "skipped", message=case["detail"][:500])
    if case["detail"]:
        ET.SubElement(element, "system-out").text = case["detail"]


def junit_xml(document: dict[str, Any]) -> bytes:
    cases = document.get("cases") or []
    counts = {o: sum(1 for c in cases if c["outcome"] == o) for o in ("fail", "skip")}
    total_ms = sum(c["ms"] for c in cases)
    root = ET.Element("testsuites", name="mobileplans conformance")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"{document['kind']} {document['target'].get('operator', '')}".strip(),
        tests=str(len(cases)),
        failures=str(counts["fail"]),
        errors="0",
        skipped=str(counts["skip"]),
        time=f"{total_ms / 1000:.3f}",
        timestamp=document["startedAt"],
    )
    for case in cases:
        _case_element(suite, case)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def write_reports(
    document: dict[str, Any],
    *,
    junit: Path | None = None,
    html: Path | None = None,
    json_path: Path | None = None,
) -> list[Path]:
    """Write the asked-for files; returns their paths."""
    written = []
    if junit is not None:
        junit.write_bytes(junit_xml(document))
        written.append(junit)
    if html is not None:
        html.write_text(render_html(document), encoding="utf-8")
        written.append(html)
    if json_path is not None:
        json_path.write_text(json.dumps(seal(document), indent=1, ensure_ascii=False) + "\n")
        written.append(json_path)
    return written


def check_writable(*paths: Path | None) -> None:
    """Fail before the run if a report could not be written (its folder is missing)."""
    for path in paths:
        if path is not None and not path.parent.is_dir():
            raise OSError(f"cannot write {path}: folder {path.parent} does not exist")
