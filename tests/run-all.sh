#!/usr/bin/env bash
# Runs every test of libsipsimple: formatting and lints, the Rust workspace
# (unit, behaviour and C ABI tests, benchmarks in test mode), the checks that
# the committed header and generated Swift/Kotlin sources are current, the
# Python suite against a freshly built wheel, the Kotlin suite on the JVM, and
# a bounded run of the fuzz targets (tests/fuzz.sh).
# Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/setup.sh

step() { printf '\n==== %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --exclude sipsimple-python --all-targets -q -- -D warnings

step "rust tests (one workspace pass; includes the C ABI test and benches in test mode)"
cargo test --workspace --exclude sipsimple-python --all-targets
cargo test --workspace --exclude sipsimple-python --doc -q

step "fuzzing: the MSRP parser and session, CPIM and is-composing (${FUZZ_SECONDS:-30} s per target)"
tests/fuzz.sh

step "generated C header is current"
git diff --exit-code -- include/sipsimple.h || { echo "include/sipsimple.h is out of date: commit the regenerated header"; exit 1; }

step "generated Swift/Kotlin sources are current"
bindings/generate.sh --check

step "python"
python/test.sh

step "kotlin"
(cd kotlin && mvn -q -B test -Dsipsimple.lib.dir="$CARGO_TARGET_DIR/debug")

printf '\nall tests passed\n'
