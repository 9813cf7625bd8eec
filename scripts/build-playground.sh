#!/usr/bin/env bash
# Builds the policy playground into dist/playground/: the filter's logic compiled for the browser
# (wasm32-unknown-unknown) with wasm-bindgen's JS glue, the static page and the config schema.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "the wasm32-unknown-unknown target is missing (make setup: rustup target add wasm32-unknown-unknown)" >&2
  exit 1
fi
cargo build --locked --profile playground --target wasm32-unknown-unknown -p warden-playground
out=dist/playground
rm -rf "$out" && mkdir -p "$out"
# wasm-bindgen's generator (crate warden-bindgen: the same library as the CLI, at the version
# Cargo.lock pins for both it and the playground's wasm-bindgen crate).
cargo run --locked -q -p warden-bindgen -- target/wasm32-unknown-unknown/playground/warden_playground.wasm "$out"
cp playground/web/index.html playground/web/app.js playground/web/style.css "$out/"
cp schema/warden-config.schema.json "$out/"
echo "==> $out ($(stat -c %s "$out/warden_playground_bg.wasm") bytes of wasm)"
