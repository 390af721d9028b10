#!/usr/bin/env bash
# Runs the fuzz targets of sipsimple-core (core/fuzz: the MSRP parser and
# session endpoint, CPIM and is-composing) for a bounded time each, starting
# from the seed corpora, and fails on a crash (a panic, an out-of-memory or a
# timeout; a memory error too with FUZZ_SANITIZER=address). The input that crashed
# is printed in base64 so that it can be replayed from the log:
#   base64 -d > crash && cargo +nightly fuzz run <target> crash   (in core/)
#
# Installs cargo-fuzz when missing. libFuzzer needs nightly rustc flags: the
# nightly toolchain is used when rustup has it, else the stable one with
# RUSTC_BOOTSTRAP=1.
#
# Settings (environment):
#   FUZZ_SECONDS     seconds per target (default 30)
#   FUZZ_TARGETS     the targets to run, space-separated (default: all)
#   FUZZ_SANITIZER   none (default: the code fuzzed is safe Rust, and without
#                    AddressSanitizer the build is a third shorter and the
#                    fuzzing five times faster) or address
#   FUZZ_TARGET_DIR  build directory (default $HOME/.cache/sipsimple-fuzz-target,
#                    apart from the main one so that the builds do not clash)
#   FUZZ_CORPUS_DIR  where the corpora grow from run to run
#                    (default $HOME/.cache/sipsimple-fuzz-corpus)
set -euo pipefail
cd "$(dirname "$0")/../core"

seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
targets="${FUZZ_TARGETS:-msrp_parser cpim}"
corpus_root="${FUZZ_CORPUS_DIR:-$HOME/.cache/sipsimple-fuzz-corpus}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/sipsimple-fuzz-target}"

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    echo "fuzz: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi

started=$SECONDS
for target in $targets; do
    cargo "${toolchain[@]}" fuzz build --sanitizer "$sanitizer" "$target"
done
echo "fuzz: built in $((SECONDS - started)) s (sanitizer: $sanitizer)"

status=0
for target in $targets; do
    corpus="$corpus_root/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    dict=()
    case "$target" in
        msrp_parser) dict=(-dict=fuzz/msrp.dict) ;;
        cpim) dict=(-dict=fuzz/cpim.dict) ;;
    esac
    before=$(ls "fuzz/artifacts/$target" | wc -l)
    echo "fuzz: $target for $seconds s"
    if ! cargo "${toolchain[@]}" fuzz run --sanitizer "$sanitizer" "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        >"$CARGO_TARGET_DIR/fuzz-$target.log" 2>&1; then
        status=1
        echo "fuzz: $target FAILED; the end of its log:"
        tail -n 80 "$CARGO_TARGET_DIR/fuzz-$target.log"
        if [ "$(ls "fuzz/artifacts/$target" | wc -l)" -gt "$before" ]; then
            for artifact in $(ls -t "fuzz/artifacts/$target" | head -n 3); do
                echo "fuzz: $target input fuzz/artifacts/$target/$artifact (base64):"
                base64 "fuzz/artifacts/$target/$artifact"
            done
        fi
    else
        grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$CARGO_TARGET_DIR/fuzz-$target.log" | tail -n 1 || true
        echo "fuzz: $target passed"
    fi
done
exit $status
