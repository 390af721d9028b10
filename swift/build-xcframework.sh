#!/usr/bin/env bash
# Builds swift/SipSimpleFFI.xcframework (the binary target of Package.swift)
# from the Rust workspace. macOS with Xcode and rustup only.
#
# Each slice holds the static libsipsimple.a of the root `sipsimple` package
# (core + C ABI + uniffi scaffolding) and, under Headers/SipSimpleFFI/, the
# generated C interface (SipSimpleFFI.h + module.modulemap) from
# swift/Sources/SipSimpleFFI/include. The sub-directory keeps the module map
# from colliding with other XCFrameworks' in Xcode's shared include folder.
#
# Slices:
#   ios-arm64                    aarch64-apple-ios
#   ios-arm64_x86_64-simulator   aarch64-apple-ios-sim + x86_64-apple-ios (lipo)
#   macos-arm64_x86_64           aarch64-apple-darwin + x86_64-apple-darwin (lipo)
#
# Usage: swift/build-xcframework.sh [--debug] [--macos-only] [--skip-check]
#   --debug       build the Rust library without optimizations
#   --macos-only  build only the macOS slice (enough for `swift test`)
#   --skip-check  do not verify that the checked-in generated sources are current
set -euo pipefail

self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
root=$(pwd)

profile=release
macos_only=0
check=1
for arg in "$@"; do
    case "$arg" in
        --debug) profile=debug ;;
        --macos-only) macos_only=1 ;;
        --skip-check) check=0 ;;
        -h | --help)
            sed -n '2,20p' "$self" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown option: $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

if [ "$(uname -s)" != "Darwin" ]; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)" >&2
    exit 1
fi
for tool in cargo rustup xcodebuild lipo; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sipsimple-target}"
# Keep in step with `platforms` in Package.swift.
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"

# The Swift sources and the header must match the library being packaged.
if [ "$check" -eq 1 ]; then
    bindings/generate.sh --check
fi

ffi_include="$root/swift/Sources/SipSimpleFFI/include"
for f in SipSimpleFFI.h module.modulemap; do
    [ -f "$ffi_include/$f" ] || { echo "missing $ffi_include/$f: run bindings/generate.sh" >&2; exit 1; }
done

if [ "$macos_only" -eq 1 ]; then
    targets=(aarch64-apple-darwin x86_64-apple-darwin)
else
    targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
fi

cargo_flags=(-p sipsimple --lib)
[ "$profile" = release ] && cargo_flags+=(--release)

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        rustup target add "$target"
    fi
    echo "building libsipsimple.a for $target ($profile)"
    cargo build "${cargo_flags[@]}" --target "$target"
done

lib() { echo "$CARGO_TARGET_DIR/$1/$profile/libsipsimple.a"; }

work="$root/swift/build"
rm -rf "$work"
mkdir -p "$work/headers/SipSimpleFFI"
cp "$ffi_include/SipSimpleFFI.h" "$ffi_include/module.modulemap" "$work/headers/SipSimpleFFI/"

xcframework_args=()
add_slice() { # name, libraries...
    local name=$1
    shift
    mkdir -p "$work/$name"
    if [ $# -eq 1 ]; then
        cp "$1" "$work/$name/libsipsimple.a"
    else
        lipo -create "$@" -output "$work/$name/libsipsimple.a"
    fi
    xcframework_args+=(-library "$work/$name/libsipsimple.a" -headers "$work/headers")
}

if [ "$macos_only" -eq 0 ]; then
    add_slice ios "$(lib aarch64-apple-ios)"
    add_slice ios-simulator "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)"
fi
add_slice macos "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)"

output="$root/swift/SipSimpleFFI.xcframework"
rm -rf "$output"
xcodebuild -create-xcframework "${xcframework_args[@]}" -output "$output"
rm -rf "$work"
echo "wrote $output"
