"""The documentation stands alone: README.md and docs/ point at nothing outside the
repository, every relative link and anchor in them resolves, and every interface section
the code cites ("spec 2.3", "spec 7.1 #6", "esim-rsp 1.3", "SGP.22 5.3.1") has its entry
in ``docs/reference/``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
MOBILE_PLANS = REFERENCE / "mobile-plans.md"
ESIM_RSP = REFERENCE / "esim-rsp.md"

CITING_TREES = ("src", "tests", "bench", "scripts", "docs")
"""Where citations are collected (README.md too); code and prose alike."""
CITING_SUFFIXES = {".py", ".md", ".html", ".js", ".j2", ".jinja", ".txt", ".yaml", ".toml"}

OUTSIDE = re.compile(
    r"\.\./shared|/work/shared|shared/(?:spec|design|seeds)/|\b(?:perf|style|ops)-anchors\b"
)
"""Mentions of the developers' source folder (or of its notes by name), which a user of the
project does not have."""


# --- markdown: files, headings, links -------------------------------------------------


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


_FENCE = re.compile(r"^(`{3,}|~{3,})")


def prose_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _FENCE.match(line.lstrip())
        if match:
            marker = match.group(1)[0] * 3
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
            continue
        if fence is None:
            yield number, line


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HTML_ID = re.compile(r"""<a\s+(?:name|id)=["']([^"']+)["']""")


def headings(path: Path) -> list[str]:
    found = []
    for _, line in prose_lines(path):
        match = _HEADING.match(line)
        if match:
            found.append(match.group(2))
    return found


def slug(text: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped,
    spaces to hyphens."""
    text = _INLINE_LINK.sub(r"\1", text)
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "-_ " or category[0] in "LN" or category == "Mn":
            kept.append("-" if char == " " else char)
    return "".join(kept)


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    result = set()
    for text in headings(path):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    for _, line in prose_lines(path):
        result.update(_HTML_ID.findall(line))
    return frozenset(result)


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"`[^`]*`")


@dataclass(frozen=True)
class Link:
    source: Path
    line: int
    target: str


def links(path: Path) -> Iterator[Link]:
    for number, line in prose_lines(path):
        for target in _LINK.findall(_CODE_SPAN.sub("", line)):
            yield Link(path, number, target)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target))


# --- citations -------------------------------------------------------------------------

_NUMBER = r"\d+(?:\.\d+)+"
_GAPS = r"#\d+(?:(?:\s*[,/]\s*|\s*[-–]\s*|\s+)#\d+)*"
_ITEM = rf"{_NUMBER}(?:\s*[-–]\s*{_NUMBER})?(?:\s+{_GAPS})?"
_SEP = r"(?:\s*[,;/]\s*|\s+and\s+|\s*,\s*and\s+)"
_LIST = rf"{_ITEM}(?:{_SEP}{_ITEM})*"

SPEC_CITATION = re.compile(
    rf"\bspec(?:ification)?\s+(?:`{{0,2}}mobile-plans(?:\.md)?`{{0,2}}\s+)?(?:section\s+|§\s*)?({_LIST})",
    re.IGNORECASE,
)
ESIM_CITATION = re.compile(rf"\besim-rsp(?:\.md)?`{{0,2}}\s+(?:section\s+|§\s*)?({_LIST})")
SGP22_CITATION = re.compile(rf"\bSGP\.22(?:\s+v\d+(?:\.\d+)*)?\s+(?:section\s+|§\s*)?({_LIST})")
GAP_CITATION = re.compile(rf"(?<![\d.])(7\.[12])\s+({_GAPS})")

_ITEM_PARTS = re.compile(rf"({_NUMBER})(?:\s*[-–]\s*({_NUMBER}))?(?:\s+({_GAPS}))?")


def expand(first: str, last: str | None) -> list[str]:
    """``5.1-5.3`` → 5.1, 5.2, 5.3 (ranges within one parent section)."""
    if last is None:
        return [first]
    head, _, start = first.rpartition(".")
    last_head, _, end = last.rpartition(".")
    if head != last_head or int(end) < int(start):
        return [first, last]
    return [f"{head}.{n}" for n in range(int(start), int(end) + 1)]


def parse_gaps(text: str) -> list[int]:
    """``#6/#20`` → 6, 20; ``#13-#15`` → 13, 14, 15; ``#1 #7``, ``#8, #9`` alike."""
    numbers: list[int] = []
    for dash, number in re.findall(r"([-–]\s*)?#(\d+)", text):
        if dash and numbers:
            numbers.extend(range(numbers[-1] + 1, int(number) + 1))
        else:
            numbers.append(int(number))
    return numbers


def parse_list(text: str) -> list[str]:
    """Section numbers and gap entries ("7.1 #6") of one citation list."""
    found: list[str] = []
    for first, last, gaps in _ITEM_PARTS.findall(text):
        if gaps:
            found.extend(f"{first} #{gap}" for gap in parse_gaps(gaps))
        else:
            found.extend(expand(first, last or None))
    return found


@dataclass(frozen=True)
class Citation:
    document: str  # "mobile-plans", "esim-rsp" or "SGP.22"
    section: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.document} {self.section}"


def citations_in(text: str, where: str) -> list[Citation]:
    """Every citation in one line, each once."""
    return list(dict.fromkeys(_citations(text, where)))


def _citations(text: str, where: str) -> Iterator[Citation]:
    for match in SPEC_CITATION.finditer(text):
        for section in parse_list(match.group(1)):
            yield Citation("mobile-plans", section, where)
    for match in ESIM_CITATION.finditer(text):
        for section in parse_list(match.group(1)):
            yield Citation("esim-rsp", section, where)
    for match in SGP22_CITATION.finditer(text):
        for section in parse_list(match.group(1)):
            yield Citation("SGP.22", section, where)
    for match in GAP_CITATION.finditer(text):
        for gap in parse_gaps(match.group(2)):
            yield Citation("mobile-plans", f"{match.group(1)} #{gap}", where)


def citing_files() -> Iterator[Path]:
    yield ROOT / "README.md"
    for tree in CITING_TREES:
        for path in sorted((ROOT / tree).rglob("*")):
            if (
                path.suffix in CITING_SUFFIXES
                and path.is_file()
                and "egg-info" not in str(path)
                and path != Path(__file__).resolve()
            ):
                yield path


def all_citations() -> list[Citation]:
    found = []
    for path in citing_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), start=1):
            found.extend(citations_in(line, f"{rel}:{number}"))
    return found


# --- what the reference offers ------------------------------------------------------------

_SECTION_HEADING = re.compile(rf"^({_NUMBER}|\d+)\.?(?:\s+({_GAPS}))?(?:\s|$)")
_SGP22_HEADING = re.compile(rf"SGP\.22\s+({_LIST})")


@cache
def reference_entries(path: Path) -> frozenset[str]:
    """Section numbers ("2.3") and gap entries ("7.1 #6") that open a heading."""
    entries = set()
    for text in headings(path):
        match = _SECTION_HEADING.match(text.replace("`", ""))
        if match:
            entries.add(match.group(1))
            for gap in re.findall(r"#(\d+)", match.group(2) or ""):
                entries.add(f"{match.group(1)} #{gap}")
    return frozenset(entries)


@cache
def sgp22_entries() -> frozenset[str]:
    entries = set()
    for text in headings(ESIM_RSP):
        for match in _SGP22_HEADING.finditer(text):
            entries.update(parse_list(match.group(1)))
    return frozenset(entries)


def resolves(citation: Citation) -> bool:
    if citation.document == "mobile-plans":
        return citation.section in reference_entries(MOBILE_PLANS)
    if citation.document == "esim-rsp":
        return citation.section in reference_entries(ESIM_RSP)
    return citation.section in sgp22_entries()


# --- the checks ----------------------------------------------------------------------------


def outside_mentions(paths: list[Path], root: Path = ROOT) -> list[str]:
    """Lines naming the developers' folder, and links that leave ``root``."""
    bad = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in paths
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    bad += [
        f"{link.source.relative_to(root)}:{link.line}: ({link.target})"
        for path in paths
        for link in links(path)
        if not is_external(link.target)
        and not link.target.startswith("#")
        and not (path.parent / link.target.split("#")[0]).resolve().is_relative_to(root)
    ]
    return bad


def broken_links(paths: list[Path]) -> list[str]:
    """Relative links whose file or heading anchor does not exist."""
    bad = []
    for path in paths:
        for link in links(path):
            if is_external(link.target):
                continue
            file_part, _, anchor = link.target.partition("#")
            target = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.name}:{link.line}: ({link.target})"
            if not target.exists():
                bad.append(f"{where}: no such file")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                bad.append(f"{where}: no heading with anchor #{anchor} in {target.name}")
    return bad


def test_docs_point_at_nothing_outside_the_repository() -> None:
    bad = outside_mentions(markdown_files())
    assert not bad, "README/docs point outside the repository:\n" + "\n".join(bad)


def test_code_points_at_nothing_outside_the_repository() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in citing_files()
        if path.suffix != ".md" and path != Path(__file__).resolve()
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        )
        if OUTSIDE.search(line)
    ]
    assert not bad, "code points at the developers' folder:\n" + "\n".join(bad)


def test_relative_links_reach_a_file_and_an_anchor() -> None:
    bad = broken_links(markdown_files())
    assert not bad, "broken links in README/docs:\n" + "\n".join(bad)


def test_the_link_checks_find_what_they_should(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## 2.3 GetBalance\n")
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#23-getbalance) [ok](#page) [web](https://example.org/x)\n"
        "[gone](missing.md) [no anchor](other.md#24-nothing) [self](#nowhere)\n"
        "[escape](../../elsewhere.md) and `../shared/spec/mobile-plans.md`\n"
        "```\n[in code](missing-too.md)\n```\n"
    )
    outside = outside_mentions([page], root=tmp_path)
    assert outside == [
        "docs/page.md:5: [escape](../../elsewhere.md) and `../shared/spec/mobile-plans.md`",
        "docs/page.md:5: (../../elsewhere.md)",
    ]
    broken = broken_links([page])
    assert [entry.split(": ", 1)[0] for entry in broken] == [
        "page.md:4",
        "page.md:4",
        "page.md:4",
        "page.md:5",
    ]
    assert "missing.md" in broken[0]
    assert "24-nothing" in broken[1]
    assert "nowhere" in broken[2]


def test_every_cited_section_has_its_reference_entry() -> None:
    found = all_citations()
    assert len(found) > 300, "the citation parser found too few citations; is it broken?"
    missing = sorted({str(c) for c in found if not resolves(c)})
    assert not missing, (
        "citations without an entry in docs/reference/ (add the section there, or fix the "
        "citation):\n" + "\n".join(missing)
    )


# --- the parser and the checker themselves -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(spec 2.3)", ["mobile-plans 2.3"]),
        ("spec 2.3, 2.8, 2.9)", ["mobile-plans 2.3", "mobile-plans 2.8", "mobile-plans 2.9"]),
        ("Spec 5.4 and 5.5", ["mobile-plans 5.4", "mobile-plans 5.5"]),
        ("spec 5.1-5.3, 5.5", [f"mobile-plans 5.{n}" for n in (1, 2, 3, 5)]),
        ("spec 2.3, 1.5; 7.1 #8", ["mobile-plans 2.3", "mobile-plans 1.5", "mobile-plans 7.1 #8"]),
        ("spec 2.8 / 7.1 #5", ["mobile-plans 2.8", "mobile-plans 7.1 #5"]),
        ("spec 2.1.1.", ["mobile-plans 2.1.1"]),
        ("spec ``mobile-plans.md`` 2.1.1, 3.2", ["mobile-plans 2.1.1", "mobile-plans 3.2"]),
        ("(7.2 #39, 7.1 #20)", ["mobile-plans 7.2 #39", "mobile-plans 7.1 #20"]),
        ("7.1 #6/#20", ["mobile-plans 7.1 #6", "mobile-plans 7.1 #20"]),
        ("(7.1 #8, #9)", ["mobile-plans 7.1 #8", "mobile-plans 7.1 #9"]),
        ("7.1 #1 #7", ["mobile-plans 7.1 #1", "mobile-plans 7.1 #7"]),
        ("7.1 #13-#15", [f"mobile-plans 7.1 #{n}" for n in (13, 14, 15)]),
        (
            "spec 2.3, 7.1 #1, #6-#8",
            [f"mobile-plans 7.1 #{n}" for n in (1, 6, 7, 8)] + ["mobile-plans 2.3"],
        ),
        ("esim-rsp 1.2-1.4", ["esim-rsp 1.2", "esim-rsp 1.3", "esim-rsp 1.4"]),
        ("esim-rsp 1.5 and 1.7", ["esim-rsp 1.5", "esim-rsp 1.7"]),
        ("(SGP.22 5.3.1; esim-rsp 1.3)", ["SGP.22 5.3.1", "esim-rsp 1.3"]),
        ("SGP.22 v2.5 5.3.1-5.3.2", ["SGP.22 5.3.1", "SGP.22 5.3.2"]),
        ("SGP.22 ES2+ functions", []),
        ("spec says 200", []),
        ("RFC 7231 5.3.5", []),
    ],
)
def test_citation_parser(text: str, expected: list[str]) -> None:
    found = [f"{c.document} {c.section}" for c in citations_in(text, "x")]
    assert sorted(found) == sorted(expected)


def test_a_section_the_reference_lacks_is_reported() -> None:
    assert not resolves(Citation("mobile-plans", "9.9", "x"))
    assert not resolves(Citation("mobile-plans", "7.1 #99", "x"))
    assert not resolves(Citation("SGP.22", "9.9.9", "x"))
    assert resolves(Citation("mobile-plans", "2.3", "x"))
    assert resolves(Citation("mobile-plans", "7.2 #31", "x"))


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("2.3 GetBalance", "23-getbalance"),
        ("7.1 #6 `location`: case, `UK`", "71-6-location-case-uk"),
        ("ES2+ DownloadOrder (SGP.22 5.3.1)", "es2-downloadorder-sgp22-531"),
        ("Flows — overview", "flows--overview"),
    ],
)
def test_slug_matches_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
