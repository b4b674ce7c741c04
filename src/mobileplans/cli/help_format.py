"""Two fixes to Typer's Rich help, applied once when the CLI is imported (cli/main.py).

Typer 0.29's Rich help differs from its plain help in two ways that read as defects:

- a flag shows its Python type, ``--tls <bool>``, although a flag takes no value (the
  plain help leaves flags without a type);
- single line breaks of a docstring survive in every paragraph but the first, so a
  sentence wrapped at 100 columns in the source breaks mid-sentence on the terminal.

Both are checked for every command by tests/cli/test_help.py, which fails if a Typer
upgrade changes what is patched here.
"""

from __future__ import annotations

from typing import Any

from typer import rich_utils
from typer.core import TyperOption

_display_type_rich = TyperOption.display_type_rich


def _flag_without_type(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return _display_type_rich(self, ctx)


def _join_wrapped_lines(paragraphs: list[str], markup_mode: object) -> str:
    """Paragraphs joined by blank lines, each one's wrapped lines joined by spaces
    (a paragraph that starts with ``\\b`` keeps its lines, as in Click)."""
    return "\n\n".join(
        p.replace("\b\n", "") if p.startswith("\b") else " ".join(p.split()) for p in paragraphs
    )


def apply() -> None:
    TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]
    rich_utils._fix_linebreaks = _join_wrapped_lines
