#!/usr/bin/env bash
# Regenerates the Kotlin and Swift sources of the uniffi bindings from the
# built libsipsimple (library mode), with the workspace's pinned
# uniffi-bindgen (bindings/uniffi-bindgen), and places them:
#
#   kotlin/src/main/kotlin/org/sipsimple/sipsimple.kt
#   swift/Sources/SipSimple/SipSimple.swift
#   swift/Sources/SipSimpleFFI/include/SipSimpleFFI.h
#   swift/Sources/SipSimpleFFI/include/module.modulemap
#
# The output depends only on the Rust sources and bindings/uniffi.toml (no
# formatter is run), so CI can regenerate and compare.
#
# Usage: bindings/generate.sh          regenerate the checked-in files
#        bindings/generate.sh --check  regenerate into a temporary directory and
#                                      exit 1 if the checked-in files differ
set -euo pipefail

self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
root=$(pwd)

check=0
case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    -h | --help)
        sed -n '2,16p' "$self" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sipsimple-target}"

case "$(uname -s)" in
    Darwin) library="$CARGO_TARGET_DIR/debug/libsipsimple.dylib" ;;
    *) library="$CARGO_TARGET_DIR/debug/libsipsimple.so" ;;
esac
bindgen="$CARGO_TARGET_DIR/debug/uniffi-bindgen"

cargo build --quiet -p sipsimple -p uniffi-bindgen

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Library mode: the interface comes from the metadata in the library, the
# configuration from bindings/uniffi.toml (found through cargo metadata).
"$bindgen" generate --no-format --language kotlin --out-dir "$work/kotlin" "$library" >/dev/null
"$bindgen" generate --no-format --language swift --out-dir "$work/swift" "$library" >/dev/null

# Generated file -> checked-in location.
files=(
    "kotlin/org/sipsimple/sipsimple.kt=kotlin/src/main/kotlin/org/sipsimple/sipsimple.kt"
    "swift/SipSimple.swift=swift/Sources/SipSimple/SipSimple.swift"
    "swift/SipSimpleFFI.h=swift/Sources/SipSimpleFFI/include/SipSimpleFFI.h"
    "swift/SipSimpleFFI.modulemap=swift/Sources/SipSimpleFFI/include/module.modulemap"
)

status=0
for entry in "${files[@]}"; do
    generated="$work/${entry%%=*}"
    target="$root/${entry#*=}"
    if [ ! -f "$generated" ]; then
        echo "uniffi-bindgen did not produce ${entry%%=*}" >&2
        exit 1
    fi
    if [ "$check" -eq 1 ]; then
        if ! diff -u "$target" "$generated" >"$work/diff" 2>&1; then
            echo "${entry#*=} is out of date (run bindings/generate.sh):" >&2
            head -n 40 "$work/diff" >&2
            status=1
        fi
    else
        mkdir -p "$(dirname "$target")"
        cp "$generated" "$target"
    fi
done

if [ "$check" -eq 1 ]; then
    if [ "$status" -eq 0 ]; then
        echo "generated Swift and Kotlin sources are current"
    fi
    exit "$status"
fi
echo "generated Kotlin and Swift sources written"
