# syntax=docker/dockerfile:1
# The e2e suite's mock provider (tests/src/mock) as a service, so `docker compose up` works with no
# provider key: built from this repository (the same binary the tests run), with the recorded
# payloads of tests/fixtures it replays.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --locked --release -p warden-e2e --bin mock_provider \
    && install -D -m 0755 target/release/mock_provider /out/mock_provider

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/mock_provider /usr/local/bin/mock_provider
COPY tests/fixtures /fixtures
ENV WARDEN_FIXTURES=/fixtures MOCK_HOST=0.0.0.0 MOCK_PORT=8080
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mock_provider"]
