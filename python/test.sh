#!/usr/bin/env bash
# Builds the sipsimple wheel with maturin, installs it, and runs the Python
# suite, mypy on the tests and stubs, and stubtest against the installed wheel.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sipsimple-target}"
PYTHON="${PYTHON:-python3}"
wheels="$CARGO_TARGET_DIR/python-wheels"
rm -rf "$wheels"
maturin build -q -o "$wheels"
"$PYTHON" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/sipsimple-*.whl
# Run pytest as a command (not `python -m`) so ./sipsimple does not shadow the wheel.
pytest -q tests
mypy tests sipsimple
(cd "$(mktemp -d)" && "$PYTHON" -m mypy.stubtest sipsimple)
