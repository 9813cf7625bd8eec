"""Every Kubernetes object the deployments ship (examples/) is valid: built-in kinds against the
Kubernetes API schema (kubernetes-validate, offline, schema version pinned below), the custom
resources (Istio, Prometheus Operator) against the fields Warden relies on (their CRD schemas are
not installable offline here: see docs/deploy.md), the gateway's kustomize overlays render, and the
files scripts/deploy-configs.py generates are up to date. The Envoy and sidecar configs inside them
are run by the e2e suite (tests/tests/deploy.rs)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GATEWAY = EXAMPLES / "kubernetes" / "gateway"
# The oldest Kubernetes the manifests are for (preStop `sleep` needs 1.30; 1.33 is the oldest
# release still supported upstream when this was written).
KUBERNETES_VERSION = "1.33"
OVERLAYS = ["default", "external-redis"]


def manifests():
    """(path, document) for every YAML file under examples/ that holds Kubernetes objects. The
    Envoy, sidecar and compose files are not Kubernetes objects (no apiVersion/kind); the
    injection webhook's files are tested by its own suite."""
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        if "injection" in path.parts:
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if docs and all(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in docs):
            for doc in docs:
                if doc["kind"] != "Kustomization":
                    yield path.relative_to(ROOT), doc


def kubectl():
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl not found: `make setup` installs Debian's kubernetes-client")
    return binary


def render(overlay):
    out = subprocess.run([kubectl(), "kustomize", str(GATEWAY / "overlays" / overlay)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


# --- Custom resources: the fields (and values) Warden's files use, nothing else allowed. -------
# A tree: dict = object with exactly these optional keys ("*" = any key), list of one = array of
# that, set = enum, type = scalar type, None = any value (Envoy config inside an EnvoyFilter, which
# the e2e suite loads into Envoy).
PORT = {"number": int, "name": str, "protocol": {"HTTP", "HTTPS", "GRPC", "HTTP2", "TCP", "TLS"},
        "targetPort": int}
METADATA = {"name": str, "namespace": str, "labels": {"*": str}, "annotations": {"*": str}}
CRDS = {
    ("networking.istio.io/v1", "ServiceEntry"): {
        "hosts": [str], "exportTo": [str], "location": {"MESH_EXTERNAL", "MESH_INTERNAL"},
        "resolution": {"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"}, "ports": [PORT]},
    ("networking.istio.io/v1", "DestinationRule"): {
        "host": str, "exportTo": [str],
        "trafficPolicy": {"portLevelSettings": [{"port": {"number": int},
                                                 "tls": {"mode": {"SIMPLE"}, "sni": str}}]}},
    ("networking.istio.io/v1", "VirtualService"): {
        "hosts": [str], "gateways": [str], "exportTo": [str],
        "http": [{
            "name": str, "match": [{"headers": {"*": {"exact": str}}}],
            "route": [{"destination": {"host": str, "port": {"number": int}}}],
            "rewrite": {"authority": str}, "headers": {"request": {"remove": [str]}}, "timeout": str,
            "directResponse": {"status": int, "body": {"string": str}}}]},
    ("networking.istio.io/v1", "Gateway"): {
        "selector": {"*": str}, "servers": [{"port": PORT, "hosts": [str]}]},
    ("networking.istio.io/v1alpha3", "EnvoyFilter"): {
        "workloadSelector": {"labels": {"*": str}},
        "configPatches": [{
            "applyTo": {"EXTENSION_CONFIG", "HTTP_FILTER", "CLUSTER", "LISTENER", "ROUTE_CONFIGURATION"},
            "match": {"context": {"ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY"},
                      "listener": {"portNumber": int, "filterChain": {"filter": {
                          "name": str, "subFilter": {"name": str}}}}},
            "patch": {"operation": {"ADD", "MERGE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST",
                                    "REPLACE", "REMOVE"},
                      "value": None}}]},
    ("install.istio.io/v1alpha1", "IstioOperator"): {
        "components": {"egressGateways": [{
            "name": str, "enabled": bool,
            "k8s": {"podAnnotations": {"*": str},
                    "service": {"ports": [{"name": str, "port": int, "targetPort": int}]}}}]},
        "meshConfig": {"accessLogFile": str, "accessLogEncoding": {"JSON", "TEXT"}, "accessLogFormat": str,
                       "defaultConfig": {"proxyStatsMatcher": {"inclusionPrefixes": [str],
                                                               "inclusionSuffixes": [str],
                                                               "inclusionRegexps": [str]}}}},
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "selector": {"matchLabels": {"*": str}},
        "endpoints": [{"port": str, "path": str, "interval": str}]},
}


def conforms(value, shape, where):
    """Mismatches between value and shape (see above)."""
    if shape is None:
        return []
    if isinstance(shape, set):
        return [] if value in shape else [f"{where}: {value!r} not one of {sorted(shape)}"]
    if shape is bool:
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if isinstance(shape, type):
        return [] if isinstance(value, shape) and not isinstance(value, bool) else [
            f"{where}: {value!r} is not {shape.__name__}"]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [e for i, v in enumerate(value) for e in conforms(v, shape[0], f"{where}[{i}]")]
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    errors = []
    for key, v in value.items():
        if key in shape:
            errors += conforms(v, shape[key], f"{where}.{key}")
        elif "*" in shape:
            errors += conforms(v, shape["*"], f"{where}.{key}")
        else:
            errors.append(f"{where}: unknown field {key!r}")
    return errors


def check(doc):
    key = (doc["apiVersion"], doc["kind"])
    if key in CRDS:
        errors = conforms(doc.get("metadata"), METADATA, "metadata") + conforms(doc.get("spec"), CRDS[key], "spec")
        errors += [f"unknown top-level field {k!r}" for k in doc if k not in ("apiVersion", "kind", "metadata", "spec")]
        assert not errors, "\n".join(errors)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("path,doc", list(manifests()),
                         ids=lambda v: str(v) if isinstance(v, Path) else f"{v['kind']}/{v['metadata']['name']}")
def test_every_object_in_examples_is_valid(path, doc):
    check(doc)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_the_gateway_overlays_render_is_valid(overlay):
    docs = render(overlay)
    kinds = sorted(d["kind"] for d in docs)
    for want in ("ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service",
                 "ServiceMonitor"):
        assert want in kinds, f"{overlay}: no {want} in {kinds}"
    for doc in docs:
        check(doc)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_pod_runs_the_envoy_config_the_e2e_suite_smoke_tested(overlay):
    docs = render(overlay)
    configs = {d["metadata"]["name"].rsplit("-", 1)[0]: d for d in docs if d["kind"] == "ConfigMap"}
    envoy = configs["warden-envoy"]["data"]["envoy.yaml"]
    assert envoy == (GATEWAY / "base" / "envoy.yaml").read_text()
    pod = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "warden-gateway")
    volumes = {v["name"]: v["configMap"]["name"] for v in pod["spec"]["template"]["spec"]["volumes"]}
    # kustomize renamed the ConfigMaps (hash suffix) and the pod's references with them.
    assert volumes["envoy-config"] == configs["warden-envoy"]["metadata"]["name"]
    assert volumes["sidecar-config"] == configs["warden-sidecar"]["metadata"]["name"]
    sidecar = yaml.safe_load(configs["warden-sidecar"]["data"]["sidecar.yaml"])
    redis_services = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "warden-redis"]
    if overlay == "default":
        assert sidecar["redis"]["url"] == "redis://warden-redis:6379" and redis_services
    else:
        assert not redis_services and sidecar["redis"]["url"].startswith("rediss://")


def test_the_grafana_dashboard_config_map_is_the_dashboard():
    docs = render("default")
    dashboard = next(d for d in docs if d["metadata"]["name"] == "warden-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["warden.json"]) == json.loads((EXAMPLES / "grafana" / "warden.json").read_text())


def test_the_generated_deployment_files_are_up_to_date():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "deploy-configs.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_the_schema_check_rejects_what_the_api_server_would():
    # The checks must be able to fail: an unknown field, a wrong enum, a wrong type.
    deployment = next(d for _, d in manifests() if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        check(broken)
    entry = next(d for _, d in manifests() if d["kind"] == "ServiceEntry")
    for mutate in (lambda e: e["spec"].update(resolution="DNS_ROUNDROBIN"),
                   lambda e: e["spec"]["ports"][0].update(number="80"),
                   lambda e: e["spec"].update(host="x")):
        broken = json.loads(json.dumps(entry))
        mutate(broken)
        with pytest.raises(AssertionError):
            check(broken)
