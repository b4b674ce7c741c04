# Sourced by scripts/up and scripts/test: make .venv hold this checkout's dependencies.
# Reinstalls only when pyproject.toml or the C extension's source changed since the last
# install (the install compiles src/mobileplans/_iccid.c).
set -euo pipefail

PYTHON_BIN="${PYTHON:-python3}"
if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "mobileplans needs Python 3.11 or newer (found: $("$PYTHON_BIN" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON_BIN" -m venv .venv
fi
stamp=".venv/.mobileplans-installed"
want="$(cat pyproject.toml src/mobileplans/_iccid.c | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing mobileplans and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
