# syntax=docker/dockerfile:1
# The filter as an OCI artifact for Istio (`oci://…` in examples/istio/warden-filter.yaml): Istio's
# "compat" Wasm image format, a Docker image whose single layer holds `plugin.wasm`. `make wasm-oci`.
FROM scratch
COPY dist/warden.wasm ./plugin.wasm
