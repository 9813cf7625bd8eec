"""Sidecar injection, checked against the Kubernetes schema offline (kubernetes-validate).

Every AdmissionReview fixture of the injector (injector/tests/reviews/) is answered by the real
`warden-injector review` binary with the shipped configuration; the patch it returns is applied
with python-jsonpatch, as the API server would, and the patched pod must validate (strictly: no
unknown fields) against the schema of Kubernetes 1.29 (the first with native sidecars) and of the
newest release kubernetes-validate knows. Every object in examples/kubernetes/injection/ validates
too; cert-manager's Issuer and Certificate are CRDs no offline schema covers, so their fields and
their references to the other objects are checked here instead.

Needs target/debug/warden-injector and target/debug/warden-sidecar (`make sidecar-test` builds
both before running this file).
"""

import base64
import json
import subprocess
from pathlib import Path

import jsonpatch
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INJECTOR = ROOT / "target" / "debug" / "warden-injector"
SIDECAR = ROOT / "target" / "debug" / "warden-sidecar"
MANIFESTS = ROOT / "examples" / "kubernetes" / "injection"
REVIEWS = sorted((ROOT / "injector" / "tests" / "reviews").glob("*.json"))
# Native sidecars (init containers with restartPolicy: Always) are on by default from 1.29.
VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]
NOT_MANIFESTS = {"envoy-bootstrap.template.yaml", "kustomization.yaml"}


def load_manifests():
    objects = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name in NOT_MANIFESTS:
            continue
        objects += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def find(kind, name=None):
    matches = [doc for _, doc in load_manifests() if doc["kind"] == kind and name in (None, doc["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="module")
def shipped_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("injector") / "config.yaml"
    path.write_text(find("ConfigMap", "warden-injector")["data"]["config.yaml"])
    return path


def answer(config, review_path, namespace_enabled=False):
    assert INJECTOR.exists(), f"{INJECTOR} is missing: run `cargo test -p warden-injector` first"
    args = [str(INJECTOR), "review", "--config", str(config), str(review_path)]
    if namespace_enabled:
        args.insert(2, "--namespace-enabled")
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def patched_pod(review, response):
    pod = review["request"]["object"]
    if "patch" not in response:
        return pod, []
    assert response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"], validate=True))
    return jsonpatch.apply_patch(pod, ops), ops


def validate(obj):
    for version in VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("namespace_enabled", [False, True], ids=["pod-label", "namespace-label"])
@pytest.mark.parametrize("review_path", REVIEWS, ids=[p.stem for p in REVIEWS])
def test_every_patched_pod_validates_against_the_kubernetes_schema(shipped_config, review_path, namespace_enabled):
    review = json.loads(review_path.read_text())
    response = answer(shipped_config, review_path, namespace_enabled)["response"]
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is True
    pod, ops = patched_pod(review, response)
    validate(pod)
    labels = review["request"]["object"]["metadata"].get("labels", {})
    wanted = labels.get("warden.io/inject") == "true" or (namespace_enabled and labels.get("warden.io/inject") != "false")
    assert bool(ops) == wanted, f"patched={bool(ops)} but the pod {'asked' if wanted else 'did not ask'} for Warden"
    if not wanted:
        return
    init = pod["spec"]["initContainers"]
    assert [c["name"] for c in init[:2]] == ["warden-sidecar", "warden-envoy"]
    for sidecar in init[:2]:
        assert sidecar["restartPolicy"] == "Always"
        # The restricted Pod Security Standard's container fields.
        security = sidecar["securityContext"]
        assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"] and security["seccompProfile"]["type"] == "RuntimeDefault"
        assert sidecar["startupProbe"] and sidecar["readinessProbe"] and sidecar["livenessProbe"]
        assert sidecar["resources"]["limits"]["memory"]
    for container in pod["spec"]["containers"]:
        names = [e["name"] for e in container.get("env", [])]
        assert len(names) == len(set(names)), f"{container['name']} has a variable twice: {names}"
        assert "OPENAI_BASE_URL" in names and "CO_API_URL" in names


def test_the_schema_check_can_fail(shipped_config):
    """The validator is strict: a misspelt field in an injected container is caught."""
    review_path = next(p for p in REVIEWS if p.stem == "labelled")
    review = json.loads(review_path.read_text())
    pod, _ = patched_pod(review, answer(shipped_config, review_path)["response"])
    pod["spec"]["initContainers"][0]["restartPolicyy"] = pod["spec"]["initContainers"][0].pop("restartPolicy")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(pod)


def test_a_reviewed_pod_submitted_again_is_left_as_it_is(shipped_config, tmp_path):
    for review_path in REVIEWS:
        review = json.loads(review_path.read_text())
        pod, _ = patched_pod(review, answer(shipped_config, review_path, namespace_enabled=True)["response"])
        review["request"]["object"] = pod
        again = tmp_path / review_path.name
        again.write_text(json.dumps(review))
        assert "patch" not in answer(shipped_config, again, namespace_enabled=True)["response"], review_path.name


@pytest.mark.parametrize("name,obj", load_manifests(), ids=[f"{n}:{d['kind']}" for n, d in load_manifests()])
def test_every_shipped_object_validates(name, obj):
    if obj["apiVersion"].startswith("cert-manager.io/"):
        pytest.skip("a cert-manager CRD: no offline schema; test_cert_manager_objects checks it")
    validate(obj)


def test_cert_manager_objects_fit_the_service_and_the_webhook():
    issuer = find("Issuer")
    certificate = find("Certificate")
    service = find("Service", "warden-injector")
    webhook = find("MutatingWebhookConfiguration")
    deployment = find("Deployment", "warden-injector")
    assert issuer["apiVersion"] == certificate["apiVersion"] == "cert-manager.io/v1"
    assert issuer["spec"] == {"selfSigned": {}}
    spec = certificate["spec"]
    assert set(spec) <= {"secretName", "commonName", "dnsNames", "duration", "renewBefore", "privateKey", "usages", "issuerRef"}
    assert spec["issuerRef"] == {"name": issuer["metadata"]["name"], "kind": "Issuer", "group": "cert-manager.io"}
    assert issuer["metadata"]["namespace"] == certificate["metadata"]["namespace"]
    service_dns = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    assert service_dns in spec["dnsNames"]
    assert "server auth" in spec["usages"]
    assert spec["privateKey"]["algorithm"] in {"RSA", "ECDSA", "Ed25519"}
    annotation = webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert annotation == f"{certificate['metadata']['namespace']}/{certificate['metadata']['name']}"
    secrets = [v["secret"]["secretName"] for v in deployment["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    assert secrets == [spec["secretName"]]


def test_the_webhooks_reach_the_service_and_never_the_injectors_own_namespace():
    service = find("Service", "warden-injector")
    webhook = find("MutatingWebhookConfiguration")
    deployment = find("Deployment", "warden-injector")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert service["spec"]["ports"][0]["targetPort"] in [p["name"] for p in container["ports"]]
    paths = set()
    for hook in webhook["webhooks"]:
        target = hook["clientConfig"]["service"]
        assert (target["name"], target["namespace"], target["port"]) == (
            service["metadata"]["name"], service["metadata"]["namespace"], service["spec"]["ports"][0]["port"])
        paths.add(target["path"])
        assert hook["sideEffects"] == "None" and hook["failurePolicy"] == "Fail"
        assert hook["reinvocationPolicy"] == "IfNeeded" and hook["timeoutSeconds"] <= 10
        assert hook["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                  "resources": ["pods"], "scope": "Namespaced"}]
        excluded = [e for e in hook["namespaceSelector"]["matchExpressions"] if e["key"] == "kubernetes.io/metadata.name"]
        assert excluded and service["metadata"]["namespace"] in excluded[0]["values"]
    assert paths == {"/inject", "/inject-namespace"}


def test_the_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    shipped = {p.name for p in MANIFESTS.glob("*.yaml")} - NOT_MANIFESTS
    assert set(kustomization["resources"]) == shipped


def test_the_shipped_plugin_config_passes_the_filters_own_check(tmp_path):
    assert SIDECAR.exists(), f"{SIDECAR} is missing: run `cargo test -p warden-sidecar` first"
    config = yaml.safe_load(find("ConfigMap", "warden-injector")["data"]["config.yaml"])
    plugin = tmp_path / "plugin.json"
    plugin.write_text(json.dumps(config["envoy"]["plugin_config"]))
    done = subprocess.run([str(SIDECAR), "check-config", str(plugin)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_render_bootstrap_writes_what_the_injected_envoy_runs(shipped_config, tmp_path):
    """The file the e2e harness loads is the injected container's --config-yaml, with its overrides."""
    review_path = next(p for p in REVIEWS if p.stem == "labelled")
    review = json.loads(review_path.read_text())
    pod, _ = patched_pod(review, answer(shipped_config, review_path)["response"])
    envoy = next(c for c in pod["spec"]["initContainers"] if c["name"] == "warden-envoy")
    injected = json.loads(envoy["args"][envoy["args"].index("--config-yaml") + 1])

    out = tmp_path / "bootstrap.yaml"
    subprocess.run([str(INJECTOR), "render-bootstrap", "--config", str(shipped_config), "--out", str(out)],
                   check=True, timeout=60)
    assert yaml.safe_load(out.read_text()) == injected

    subprocess.run([str(INJECTOR), "render-bootstrap", "--config", str(shipped_config), "--out", str(out),
                    "--wasm", "/tmp/w.wasm", "--listen-port", "0", "--admin-port", "19001"], check=True, timeout=60)
    local = yaml.safe_load(out.read_text())
    assert local["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 0
    assert local["admin"]["address"]["socket_address"]["port_value"] == 19001
    assert "/tmp/w.wasm" in out.read_text()
