"""Text from another party, made safe to keep: error messages quote what a peer sent.

A garbled answer (a proxy's random bytes, a bad SMTP greeting, a truncated body) ends up in
the exception's text; stored as is it can hold a NUL, which PostgreSQL's ``text`` refuses
(the whole write fails), and control characters that garble a log line or a page.
"""

from __future__ import annotations

SPACES = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def printable(text: str, limit: int) -> str:
    """``text`` with line breaks as spaces, every other unprintable character as ``?``,
    at most ``limit`` characters (the last one ``…`` when cut)."""
    flat = text.translate(SPACES)
    clean = flat if flat.isprintable() else "".join(c if c.isprintable() else "?" for c in flat)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
