"""The runner's self-test (tests/test_fuzz.py): an input containing ``boom`` raises a
``KeyError``, which no contract allows, so the run must fail and keep the input."""

from __future__ import annotations

from tests.fuzz.support import main


def TestOneInput(data: bytes) -> None:
    if b"boom" in data:
        raise KeyError("boom")


if __name__ == "__main__":
    main(TestOneInput)
