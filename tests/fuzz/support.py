"""What every harness shares: atheris when installed, the contract check, text decoding.

A harness module imports the code under test inside :func:`instrumented` (so atheris
adds coverage feedback to ``mobileplans`` modules only), defines ``TestOneInput(data)``
and ends with ``if __name__ == "__main__": main(TestOneInput)``. ``TestOneInput`` calls
the parser; the documented error types are the contract, any other exception is a crash
(atheris writes the input to the artifact directory and exits non-zero).

Without atheris (a platform with no wheel) the harnesses still import: the seed corpus
replays in-process (tests/test_fuzz.py) and only the coverage-guided runs are skipped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

try:
    import atheris
except ImportError:  # pragma: no cover - atheris has Linux and macOS wheels only
    atheris = None

AVAILABLE = atheris is not None


INSTRUMENT_ENV = "MP_FUZZ_INSTRUMENT"


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    """Imports inside this block get coverage instrumentation (``mobileplans`` only), in a
    fuzzing process (``tests/fuzz/run.py`` sets ``MP_FUZZ_INSTRUMENT=1``); a pytest process
    that replays the seeds imports the code unchanged."""
    if atheris is None or os.environ.get(INSTRUMENT_ENV) != "1":
        yield
        return
    with atheris.instrument_imports(include=["mobileplans"]):
        yield


def text(data: bytes) -> str:
    """Bytes as the servers decode them (UTF-8, undecodable bytes replaced)."""
    return data.decode("utf-8", "replace")


class ContractBroken(AssertionError):
    """The parser returned something its contract does not allow (a property failed)."""


def check(condition: bool, message: str, *context: Any) -> None:
    if not condition:
        raise ContractBroken(f"{message}: {context!r}")


def main(test_one_input: Callable[[bytes], None]) -> None:
    """Run under libFuzzer with the command line's options (``-runs=``, corpus dirs...)."""
    if atheris is None:
        sys.exit("atheris is not installed (pip install -e '.[dev]')")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
