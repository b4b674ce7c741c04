"""The import-linter contracts in pyproject.toml cover every app and every domain."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mobileplans"


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _packages(parent: Path) -> list[str]:
    """Sub-packages of ``parent``; each must be a regular package (with ``__init__.py``),
    or import-linter does not see it at all."""
    found = sorted(p.name for p in parent.iterdir() if p.is_dir() and p.name != "__pycache__")
    missing = [name for name in found if not (parent / name / "__init__.py").exists()]
    assert missing == [], f"packages without __init__.py escape the contracts: {missing}"
    return found


def test_every_domain_repository_is_protected_for_its_own_domain() -> None:
    protected = {
        (tuple(c["protected_modules"]), tuple(c["allowed_importers"]))
        for c in _contracts()
        if c["type"] == "protected"
    }
    for domain in _packages(PACKAGE / "domains"):
        module = f"mobileplans.domains.{domain}"
        assert ((f"{module}.repository",), (module,)) in protected, f"no contract for {domain}"


def test_apps_are_independent_including_later_ones() -> None:
    [contract] = [c for c in _contracts() if c["name"] == "Apps never import each other"]
    assert contract["type"] == "independence"
    assert contract["modules"] == ["mobileplans.apps.*"]
    assert {"broker", "operator", "smdp"} <= set(_packages(PACKAGE / "apps"))


def test_domains_may_not_open_sessions() -> None:
    forbidden = [
        c
        for c in _contracts()
        if c["type"] == "forbidden" and "mobileplans.db.session" in c["forbidden_modules"]
    ]
    assert [c["source_modules"] for c in forbidden] == [["mobileplans.domains"]]
