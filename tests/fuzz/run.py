"""Run the fuzz harnesses under libFuzzer (atheris), each in its own process.

    python -m tests.fuzz.run --list
    python -m tests.fuzz.run --runs 2000 --seed 1            # every harness, bounded
    python -m tests.fuzz.run --minutes 10 identifiers launch  # a longer run
    python -m tests.fuzz.run --minutes 60 --corpus-out /tmp/corpus identifiers

The committed seed corpus (tests/fuzz/corpus/<harness>/) is copied to a work directory
first, so a run never writes into the repository; ``--corpus-out`` keeps what the run
found. A crash leaves its input as ``crash-<sha1>`` in ``--artifacts`` (default:
``$TMPDIR/mobileplans-fuzz/<harness>/``) and the exit status is non-zero.
docs/fuzzing.md explains the rest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.fuzz.support import INSTRUMENT_ENV

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"
DICTS = HERE / "dicts"
MAX_LEN = {"config_yaml": 8192, "conformance_target": 8192, "yaml_lines": 8192}
DEFAULT_MAX_LEN = 4096
ARTIFACTS = Path(tempfile.gettempdir()) / "mobileplans-fuzz"
TIMEOUT_S = 10  # one input taking longer than this is a hang, reported like a crash


def harnesses() -> list[str]:
    """Every harness module, by name (``_``-prefixed modules are the runner's self-tests)."""
    return sorted(p.stem for p in (HERE / "harnesses").glob("[!_]*.py"))


@dataclass(frozen=True)
class Result:
    harness: str
    returncode: int
    output: str
    artifacts: list[Path]

    @property
    def crashed(self) -> bool:
        return self.returncode != 0

    def report(self) -> str:
        """The Python traceback (or libFuzzer's reason) and the crash inputs' paths."""
        lines = self.output.splitlines()
        start = next(
            (
                i
                for i, line in enumerate(lines)
                if "Uncaught Python exception" in line or "ERROR: libFuzzer" in line
            ),
            max(0, len(lines) - 40),
        )
        inputs = [f"  input: {path}" for path in self.artifacts]
        return "\n".join([*lines[start : start + 60], *inputs])


def command(
    harness: str, corpus: Path, artifacts: Path, *, runs: int | None, seconds: int | None, seed: int
) -> list[str]:
    """The libFuzzer command line of one harness."""
    args = [
        sys.executable,
        "-m",
        f"tests.fuzz.harnesses.{harness}",
        f"-seed={seed}",
        f"-timeout={TIMEOUT_S}",
        "-rss_limit_mb=2048",
        f"-max_len={MAX_LEN.get(harness, DEFAULT_MAX_LEN)}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        # One process per harness: nothing else writes to its corpus directory, so the
        # re-read libFuzzer does every second by default only re-runs inputs it already
        # knows, at moments that depend on the machine's speed (a bounded run then
        # executed 2002 inputs instead of 2000).
        "-reload=0",
    ]
    if runs is not None:
        args.append(f"-runs={runs}")
    if seconds is not None:
        args.append(f"-max_total_time={seconds}")
    dictionary = DICTS / f"{harness}.dict"
    if dictionary.exists():
        args.append(f"-dict={dictionary}")
    return [*args, str(corpus)]


def run_harness(
    harness: str,
    workdir: Path,
    *,
    runs: int | None = None,
    seconds: int | None = None,
    seed: int = 1,
    artifacts: Path | None = None,
) -> Result:
    """Fuzz one harness over a copy of its seed corpus; ``workdir`` receives the copy."""
    corpus = workdir / "corpus" / harness
    shutil.copytree(CORPUS / harness, corpus, dirs_exist_ok=True)
    artifacts = artifacts or workdir / "artifacts" / harness
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    cmd = command(harness, corpus, artifacts, runs=runs, seconds=seconds, seed=seed)
    env = {**os.environ, INSTRUMENT_ENV: "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    found = sorted(set(artifacts.iterdir()) - before)
    return Result(harness, done.returncode, done.stdout + done.stderr, found)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("harness", nargs="*", help="harness names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the harness names")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--runs", type=int, help="executions per harness")
    bound.add_argument("--minutes", type=float, help="minutes per harness")
    parser.add_argument("--seed", type=int, default=1, help="libFuzzer -seed (default 1)")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=ARTIFACTS,
        help=f"where crash inputs are written (default {ARTIFACTS})",
    )
    parser.add_argument("--corpus-out", type=Path, help="keep the grown corpus here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    names = args.harness or harnesses()
    unknown = sorted(set(names) - set(harnesses()))
    if args.list or unknown:
        print("\n".join(harnesses()))
        return 2 if unknown else 0
    seconds = round(args.minutes * 60) if args.minutes else None
    runs = args.runs if args.runs or seconds else 2000
    failed = 0
    with tempfile.TemporaryDirectory(prefix="mp-fuzz-") as tmp:
        for name in names:
            artifacts = args.artifacts / name
            result = run_harness(
                name, Path(tmp), runs=runs, seconds=seconds, seed=args.seed, artifacts=artifacts
            )
            stats = [line for line in result.output.splitlines() if line.startswith("stat::")]
            verdict = "CRASH" if result.crashed else "ok"
            execs = next((s.split()[-1] for s in stats if "number_of_executed_units" in s), "?")
            print(f"{name:24} {verdict:6} executions={execs}")
            if result.crashed:
                failed += 1
                print(result.report())
            if args.corpus_out:
                shutil.copytree(
                    Path(tmp) / "corpus" / name, args.corpus_out / name, dirs_exist_ok=True
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
