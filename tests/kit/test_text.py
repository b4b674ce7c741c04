"""``kit.text.printable``: what a peer sent, safe to store, log and show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mobileplans.kit.text import printable


def test_line_breaks_become_spaces_and_control_characters_question_marks() -> None:
    assert printable("SMTP -1 bad line:\r\n\x14\tC\x00ok", 100) == "SMTP -1 bad line:  ? C?ok"


def test_a_long_text_is_cut_with_an_ellipsis_at_the_limit() -> None:
    assert printable("x" * 10, 10) == "x" * 10
    assert printable("x" * 11, 10) == "x" * 9 + "…"


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_any_text_comes_out_printable_without_nul_and_bounded(text: str, limit: int) -> None:
    kept = printable(text, limit)
    assert kept.isprintable()
    assert "\x00" not in kept
    assert len(kept) <= limit
