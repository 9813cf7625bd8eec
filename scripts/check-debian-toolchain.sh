#!/usr/bin/env bash
# Proves the fallback toolchain: builds the filter with Debian's rustc-web + build-std (what
# `make setup` uses when rustup cannot fetch the wasm target) and runs the e2e record tests
# against that module in real Envoy.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! { [ -x /usr/bin/rustc ] && dpkg -s rust-web-src wasi-libc lld-19 >/dev/null 2>&1; }; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rustc-web cargo-web rust-web-src lld-19 wasi-libc >/dev/null
fi
WARDEN_WASM_TOOLCHAIN=debian WARDEN_WASM_OUT=dist/warden-debian.wasm bash scripts/build-wasm.sh
WARDEN_WASM="$PWD/dist/warden-debian.wasm" cargo test --locked -p warden-e2e --test e2e records::
