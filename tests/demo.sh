#!/usr/bin/env bash
# The main demo. First in Rust: starts the middleware, prints every
# notification, creates an account, sends a SIP MESSAGE over loopback,
# restarts and finds the account again, then one account calls another with
# audio (a 440 Hz WAV plays into the call and the callee records it), they
# chat over MSRP and alice sends bob a file. Then
# the same call through the Python binding (python/examples/call_demo.py)
# and the chat and file transfer (python/examples/chat_demo.py),
# from a freshly built wheel. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/setup.sh
cargo run -q -p sipsimple-core --example demo "$@"

printf '\n==== the same call through the Python binding\n'
wheels="$CARGO_TARGET_DIR/python-wheels"
rm -rf "$wheels"
(cd python && maturin build -q -o "$wheels")
python3 -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/sipsimple-*.whl
(cd "$(mktemp -d)" && python3 "$OLDPWD/python/examples/call_demo.py")

printf '\n==== chat and a file through the Python binding\n'
(cd "$(mktemp -d)" && python3 "$OLDPWD/python/examples/chat_demo.py")
