# Warden — build, test and demo. `make setup && make demo` runs it; `make test` tests everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
export WARDEN_VENV := $(abspath $(VENV))
export WARDEN_WASM := $(abspath dist/warden.wasm)
CARGO ?= cargo
FUZZ_SECONDS ?= 4
# A CI run builds once from a clean clone: incremental caches only cost it disk and time, and so
# does debug info (a failing test still names its file and line; backtraces keep function names).
ifeq ($(CI),true)
export CARGO_INCREMENTAL := 0
export CARGO_PROFILE_DEV_DEBUG := 0
endif

.PHONY: help setup build wasm sidecar sidecar-test test unit schema e2e clients playground playground-serve playground-check deploy-check toolchain-check fuzz-smoke lint fmt demo bench clean image wasm-oci

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

setup: ## install everything a fresh Debian machine lacks (wasm target, Envoy 1.40, SDKs, redis-server)
	bash scripts/setup.sh

.work/setup.stamp: scripts/setup.sh requirements-dev.txt
	@start=$$SECONDS; bash scripts/setup.sh && echo "== stage setup: $$((SECONDS - start)) s"
	touch $@

build: ## build the native crates (filter as rlib, e2e harness, mock provider)
	$(CARGO) build --locked --workspace --bins

wasm: .work/setup.stamp ## build the filter module into dist/warden.wasm
	bash scripts/build-wasm.sh

# The debug sidecar the tests run: the sidecar's own tests (`make sidecar-test`) leave it in
# target/debug; a plain `cargo build -p warden-sidecar` would rebuild it with other features.
SIDECAR_DEBUG = test -x target/debug/warden-sidecar || $(CARGO) build --locked -p warden-sidecar

sidecar: ## build the optimised sidecar for deployments into dist/warden-sidecar
	$(CARGO) build --locked --profile sidecar -p warden-sidecar
	mkdir -p dist && cp target/sidecar/warden-sidecar dist/warden-sidecar

sidecar-test: ## the sidecar's and the injector's tests; injected pods checked against the Kubernetes schema
	$(CARGO) test --locked -p warden-sidecar -p warden-proto -p warden-injector
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/deploy/test_injection.py

unit: ## unit, golden and property tests (native), and the config schema against every config in the repo
	$(CARGO) test --locked -p warden-filter -p warden-passive-data --features warden-filter/schema

schema: ## regenerate schema/warden-config.schema.json from the configuration types
	UPDATE_SCHEMA=1 $(CARGO) test --locked -p warden-filter --features schema --test config_schema

# The injector binary tests/tests/deploy.rs renders the injected pod's bootstrap with. Rebuilt only
# when its sources are newer: `make sidecar-test` leaves one built with its tests' dependency
# features, which a plain `cargo build -p warden-injector` would rebuild with other features.
target/debug/warden-injector: $(shell find injector/src -name '*.rs') injector/Cargo.toml examples/kubernetes/injection/envoy-bootstrap.template.yaml
	$(CARGO) build --locked -p warden-injector

e2e: wasm target/debug/warden-injector ## end-to-end tests: real Envoy + dist/warden.wasm + mock provider + the sidecar and injector binaries
	$(SIDECAR_DEBUG)
	$(CARGO) test --locked -p warden-e2e -- --test-threads=2

clients: wasm ## the official Python SDKs driven through Envoy
	$(CARGO) build --locked -p warden-e2e --bins
	$(SIDECAR_DEBUG)
	$(VENV)/bin/python -m pytest -q tests/clients

deploy-check: ## deployment manifests: Kubernetes schema, Istio/ServiceMonitor fields, kustomize renders, generated configs in sync
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/deploy --ignore=tests/deploy/test_injection.py

playground: .work/setup.stamp ## build the policy playground (the filter compiled for the browser) into dist/playground/
	bash scripts/build-playground.sh

PLAYGROUND_PORT ?= 8765
playground-serve: playground ## serve dist/playground/ on http://127.0.0.1:$(PLAYGROUND_PORT)/
	@echo "==> http://127.0.0.1:$(PLAYGROUND_PORT)/"
	$(VENV)/bin/python -m http.server $(PLAYGROUND_PORT) --bind 127.0.0.1 --directory dist/playground

playground-check: playground ## the playground's views natively, then the built page in headless Chromium (screenshots in target/playground-screenshots/)
	$(CARGO) test --locked -p warden-playground
	$(VENV)/bin/python -m pytest -q tests/playground

toolchain-check: ## build with the Debian rustc-web fallback and run e2e record tests on that module
	bash scripts/check-debian-toolchain.sh

fuzz-smoke: ## a short run of every fuzz target
	bash scripts/fuzz-smoke.sh $(FUZZ_SECONDS)

lint: ## clippy with the panic-freedom lints, rustfmt check
	$(CARGO) clippy --locked -p warden-filter -p warden-playground -p warden-bindgen --features warden-filter/schema --all-targets -- -D warnings
	$(CARGO) clippy --locked -p warden-sidecar -p warden-proto -p warden-e2e -p warden-injector -p warden-passive-data -p warden-floor --all-targets -- -D warnings
	if [ "$$(cat .work/wasm-toolchain 2>/dev/null)" = rustup ]; then $(CARGO) clippy --locked -p warden-filter -p warden-floor --target wasm32-wasip1 -- -D warnings; fi
	if [ "$$(cat .work/wasm-toolchain 2>/dev/null)" = rustup ]; then $(CARGO) build --locked -p warden-proto --no-default-features --target wasm32-wasip1; fi
	$(CARGO) fmt --all -- --check

fmt: ## format the code
	$(CARGO) fmt --all

# Images (a machine with a container engine: Docker, or DOCKER=podman). REGISTRY empty = local
# names (warden-envoy:VERSION); wasm-oci pushes, so it needs REGISTRY.
DOCKER ?= docker
REGISTRY ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_PREFIX = $(if $(REGISTRY),$(REGISTRY)/,)
ENGINE_CHECK = $(DOCKER) info >/dev/null 2>&1 || { echo "make $@: no container engine answers ('$(DOCKER) info' failed). Build images where Docker or Podman runs (DOCKER=podman), see docs/release.md." >&2; exit 1; }

image: ## build the warden-sidecar and warden-envoy (Envoy + filter) images: REGISTRY=… VERSION=…
	@$(ENGINE_CHECK)
	$(MAKE) --no-print-directory wasm
	$(DOCKER) build -f auth-sidecar/Dockerfile -t $(IMAGE_PREFIX)warden-sidecar:$(VERSION) .
	$(DOCKER) build -f envoy/Dockerfile -t $(IMAGE_PREFIX)warden-envoy:$(VERSION) .

wasm-oci: ## build and push the filter as an Istio Wasm OCI image REGISTRY/warden-wasm:VERSION
	@$(ENGINE_CHECK)
	@test -n "$(REGISTRY)" || { echo "make wasm-oci: set REGISTRY (e.g. REGISTRY=ghcr.io/you): the image is pushed for istio-agent to pull" >&2; exit 1; }
	$(MAKE) --no-print-directory wasm
	$(DOCKER) build -f envoy/wasm-oci.Dockerfile -t $(REGISTRY)/warden-wasm:$(VERSION) .
	$(DOCKER) push $(REGISTRY)/warden-wasm:$(VERSION)

test: .work/setup.stamp ## everything CI runs: lint, unit, sidecar tests, wasm, e2e, SDK clients, deploy manifests, playground, fallback toolchain, fuzz smoke
	@MAKE="$(MAKE)" bash scripts/stages.sh lint unit sidecar-test e2e clients deploy-check playground-check toolchain-check fuzz-smoke

demo: wasm ## run Envoy + warden + the sidecar against the mock provider and print example calls
	$(CARGO) build --locked -p warden-e2e --bins
	$(CARGO) build --locked -p warden-sidecar
	bash scripts/demo.sh

bench: wasm ## plain Envoy vs Envoy + warden against the same mock (numbers for BENCHMARKS.md)
	bash scripts/bench.sh

clean:
	rm -rf dist .work target/wasm32-wasip1 target/debian-wasm
