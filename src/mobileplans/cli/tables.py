"""Tables that fit the terminal, 80 columns when the output is piped (CI logs).

Ids, names, kinds and states are never wrapped nor cut. The free-text columns named in
``wrap`` (titles, details, messages, URLs) take the room left and wrap at spaces, folding
inside a word only when the word is wider than the column; a time column (its header says
``(UTC)``, its cells ``YYYY-MM-DD HH:MM``) wraps at the space, date over time. No box
lines: the header is underlined, one space between columns.
"""

from __future__ import annotations

from rich import box
from rich.table import Table

TIME_WIDTH = len("HH:MM-HH:MM")


def fitted_table(*columns: str, wrap: tuple[str, ...] = (), title: str | None = None) -> Table:
    """A table whose ``wrap`` and time columns may wrap; every other column is shown whole."""
    unknown = set(wrap) - set(columns)
    if unknown:
        raise ValueError(f"wrap names no column: {sorted(unknown)}")
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),
        title=title,
        title_justify="left",
    )
    for name in columns:
        narrowest = max(len(word) for word in name.split())
        if "(UTC)" in name:
            table.add_column(name, overflow="fold", min_width=max(narrowest, TIME_WIDTH))
        elif name in wrap:
            table.add_column(name, overflow="fold", min_width=max(narrowest, 8), ratio=1)
        else:
            table.add_column(name, no_wrap=True)
    return table
