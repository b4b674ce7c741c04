#!/usr/bin/env python3
"""SQL lives in repositories: fail on SQL outside ``repository.py`` modules and ``db/``.

Run by ``scripts/test`` after the import-linter contracts (docs/architecture.md,
"Transactions" and "Layers"). It parses every module with :mod:`ast`, so a word in a
comment or a string never triggers it, and reports each finding as ``file:line: why``:

- a call of ``select``/``insert``/``update``/``delete``/``text`` imported from SQLAlchemy
  (``from sqlalchemy import select``, ``sqlalchemy.dialects.postgresql.insert``,
  ``sa.select(...)`` after ``import sqlalchemy as sa``);
- a statement run on a session or connection (``session.execute``, ``.executemany``,
  ``.exec_driver_sql``, ``.scalars``, ``.scalar``, ``.stream``, ``.stream_scalars``, the
  driver's ``.fetch``/``.fetchrow``/``.fetchval``, and ``session.get(Model, key)``); outside
  ``domains`` a literal ``PRAGMA``/``BEGIN``/``COMMIT``/``ROLLBACK``/``SAVEPOINT``/``RELEASE``
  is connection plumbing, not SQL on a table, and is allowed;
- inside ``mobileplans.domains``: opening a transaction of its own (an import of
  ``mobileplans.db.session``, any use of ``async_sessionmaker`` or ``session_scope``,
  ``session.commit()``/``.rollback()``/``.begin()``). Only the edge opens sessions; work
  with network calls between database steps receives ``db.transactions.Transactions``.

Exempt: ``repository.py`` modules, ``db/`` and ``migrations/`` (schema changes).

Usage: ``python scripts/check_sql.py [ROOT]`` (ROOT defaults to ``src/mobileplans``);
exit status 1 when something is found, 0 otherwise.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})
STATEMENT_METHODS = frozenset(
    {"execute", "executemany", "exec_driver_sql", "scalars", "scalar", "stream", "stream_scalars",
     "fetch", "fetchrow", "fetchval"}
)  # fmt: skip
TRANSACTION_METHODS = frozenset({"commit", "rollback", "begin"})
SESSION_FACTORIES = frozenset({"async_sessionmaker", "session_scope", "sessionmaker"})
CONNECTION_CONTROL = frozenset({"PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})
"""Statements that set up a connection or delimit a transaction, not SQL on a table: allowed
at the edge as a literal (``connection.execute("BEGIN IMMEDIATE")``), never in a domain."""
SESSION_MODULE = "a domain imports mobileplans.db.session (only the edge opens sessions)"


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.why}"


def _is_sessionish(node: ast.expr) -> bool:
    """A receiver that names a database session or connection (``session``,
    ``self.session``, ``db_session``, ``conn``, ``connection``)."""
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    else:
        return False
    name = name.lower().lstrip("_")
    return name.endswith("session") or name in {"conn", "connection", "db"}


def _is_connection_control(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return False
    words = first.value.split(maxsplit=1)
    return bool(words) and words[0].upper() in CONNECTION_CONTROL


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: Path, in_domain: bool) -> None:
        self.path = path
        self.in_domain = in_domain
        self.findings: list[Finding] = []
        self.sql_names: dict[str, str] = {}  # local name -> sqlalchemy builder
        self.sa_modules: set[str] = set()  # local names bound to a sqlalchemy module

    def _add(self, node: ast.AST, why: str) -> None:
        self.findings.append(Finding(self.path, getattr(node, "lineno", 0), why))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy."):
                self.sa_modules.add(alias.asname or alias.name.split(".")[0])
            if self.in_domain and alias.name == "mobileplans.db.session":
                self._add(
                    node, "a domain imports mobileplans.db.session (only the edge opens sessions)"
                )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if self.in_domain and module == "mobileplans.db.session":
            self._add(
                node, "a domain imports mobileplans.db.session (only the edge opens sessions)"
            )
        for alias in node.names:
            if module == "sqlalchemy" or module.startswith("sqlalchemy."):
                if alias.name in SQL_BUILDERS:
                    self.sql_names[alias.asname or alias.name] = alias.name
            if not self.in_domain:
                continue
            if alias.name in SESSION_FACTORIES:
                self._add(node, f"a domain imports {alias.name} (only the edge opens sessions)")
            elif module == "mobileplans.db" and alias.name == "session":
                self._add(
                    node, "a domain imports mobileplans.db.session (only the edge opens sessions)"
                )

    def visit_Name(self, node: ast.Name) -> None:
        if self.in_domain and node.id in SESSION_FACTORIES:
            self._add(node, f"a domain uses {node.id} (take a session or a Transactions instead)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.in_domain and node.attr in SESSION_FACTORIES:
            self._add(node, f"a domain uses {node.attr} (take a session or a Transactions instead)")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.sql_names:
            self._add(node, f"SQL outside a repository: {self.sql_names[func.id]}(...)")
        elif isinstance(func, ast.Attribute):
            self._check_attribute_call(node, func)
        self.generic_visit(node)

    def _check_attribute_call(self, node: ast.Call, func: ast.Attribute) -> None:
        root = func.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if func.attr in SQL_BUILDERS and isinstance(root, ast.Name) and root.id in self.sa_modules:
            self._add(node, f"SQL outside a repository: {ast.unparse(func)}(...)")
        elif func.attr in STATEMENT_METHODS and _is_sessionish(func.value):
            if self.in_domain or not _is_connection_control(node):
                self._add(node, f"a statement outside a repository: {ast.unparse(func)}(...)")
        elif (
            func.attr == "get"
            and _is_sessionish(func.value)
            and len(node.args) >= 2
            and not isinstance(node.args[0], ast.Constant)
        ):
            self._add(node, f"a row read outside a repository: {ast.unparse(func)}(...)")
        elif self.in_domain and func.attr in TRANSACTION_METHODS and _is_sessionish(func.value):
            self._add(node, f"a domain ends a transaction: {ast.unparse(func)}() (the edge does)")


def _exempt(relative: Path) -> bool:
    """Repositories, the database package and the schema migrations hold SQL by design."""
    return relative.name == "repository.py" or relative.parts[:1] in {("db",), ("migrations",)}


def check_file(path: Path, root: Path) -> list[Finding]:
    relative = path.relative_to(root)
    if _exempt(relative):
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    visitor = _Visitor(path, in_domain=relative.parts[:1] == ("domains",))
    visitor.visit(tree)
    return visitor.findings


def iter_modules(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def check_tree(root: Path) -> list[Finding]:
    findings: list[Finding] = []
    for path in iter_modules(root):
        findings.extend(check_file(path, root))
    return findings


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path("src/mobileplans")
    if not root.is_dir():
        sys.stderr.write(f"check_sql: {root} is not a directory\n")
        return 2
    findings = check_tree(root)
    sys.stdout.writelines(f"{finding}\n" for finding in findings)
    if findings:
        sys.stderr.write(
            f"check_sql: {len(findings)} finding(s): SQL belongs in a domain's repository.py "
            "(or src/mobileplans/db/), transactions to the edge (docs/architecture.md)\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
