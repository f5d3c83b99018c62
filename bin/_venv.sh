# Sourced by bin/demo and bin/test: create or reuse .venv in the checkout and install
# the project into it. Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "flowtrail needs Python 3.11 or newer; '$PY' is $("$PY" --version 2>&1)." >&2
    echo "Set PYTHON=/path/to/python3.11 and try again." >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.flowtrail-installed"
WANT="$(cat "$ROOT/pyproject.toml" | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')-${FLOWTRAIL_EXTRAS:-dev}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "==> installing flowtrail[${FLOWTRAIL_EXTRAS:-dev}] into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[${FLOWTRAIL_EXTRAS:-dev}]"
    echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
