#!/usr/bin/env bash
# The main demo: starts the middleware, prints every notification, creates an
# account, stops, restarts and finds it again. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/setup.sh
cargo run -q -p sipsimple-core --example demo "$@"
