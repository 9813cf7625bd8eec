#!/usr/bin/env bash
# Builds the filter for wasm32-wasip1 and leaves it at dist/warden.wasm, with the toolchain that
# `make setup` found (rustup target, or Debian rustc-web + build-std).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${WARDEN_WASM_TOOLCHAIN:-$(cat .work/wasm-toolchain 2>/dev/null || echo rustup)}"
[ "$mode" = auto ] && mode=$(cat .work/wasm-toolchain 2>/dev/null || echo rustup)
mkdir -p dist
case "$mode" in
  rustup)
    echo "==> building warden.wasm with the rustup wasm32-wasip1 target"
    cargo build --locked --release --target wasm32-wasip1 -p warden-filter
    out=target/wasm32-wasip1/release/warden_filter.wasm
    ;;
  debian)
    echo "==> building warden.wasm with Debian rustc-web + build-std"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=target/debian-wasm /usr/bin/cargo build --locked --release \
      --target wasm32-wasip1 -Zbuild-std=std,panic_abort \
      --config 'target.wasm32-wasip1.linker="wasm-ld-19"' \
      --config 'target.wasm32-wasip1.rustflags=["-L","/usr/lib/wasm32-wasi"]' -p warden-filter
    out=target/debian-wasm/wasm32-wasip1/release/warden_filter.wasm
    ;;
  *) echo "unknown WARDEN_WASM_TOOLCHAIN '$mode' (rustup|debian)" >&2; exit 1 ;;
esac
dest="${WARDEN_WASM_OUT:-dist/warden.wasm}"
# The tokenizer tables go into a passive data segment, so only the VMs that build the tokenizer
# copy them into their memory (tools/passive-data, docs/efficiency.md). The name section is left
# out (~2 MiB of Envoy's memory, used only for a trap's backtrace); WARDEN_WASM_NAMES=1 keeps it.
cargo build --locked -q -p warden-passive-data
# The functions requests run come first, in the order they first run (filter/wasm-order.txt, made
# by scripts/wasm-order.sh; WARDEN_WASM_ORDER=none leaves walrus's order, largest first).
args=(); [ "${WARDEN_WASM_NAMES:-0}" = 1 ] && args=(--keep-names)
order="${WARDEN_WASM_ORDER:-filter/wasm-order.txt}"
[ "$order" != none ] && args+=(--order "$order")
target/debug/warden-passive-data "${args[@]}" "$out" "$dest"
echo "==> $dest ($(stat -c %s "$dest") bytes, toolchain: $mode)"
