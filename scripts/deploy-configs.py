#!/usr/bin/env python3
"""Writes the Envoy configurations the deployments ship, from envoy/envoy.yaml (the reference
config) and examples/plugin-config.json (the plugin config they all run), so the copies never drift:

  examples/docker-compose/envoy.yaml       real providers over TLS, sidecar at `sidecar:50051`
  examples/docker-compose/envoy.mock.yaml  every provider cluster on the compose `mock` service
  examples/kubernetes/gateway/base/envoy.yaml  sidecar in the same pod, /stats/prometheus on :9102
  examples/kubernetes/gateway/monitoring/grafana-dashboard.yaml  examples/grafana/warden.json
  examples/kubernetes/injection/configmap.yaml  only the `envoy.plugin_config` between its markers
    (the plugin config with the injection's local limits store and Bedrock signing)
  examples/istio/{providers,warden-filter,routing}.yaml and the same under egress-gateway/: one
    ServiceEntry + DestinationRule and one route per TLS provider of envoy/envoy.yaml, the filter
    with the plugin config 

`python3 scripts/deploy-configs.py` rewrites them; `--check` exits 1 when a committed file differs
(tests/deploy runs that).
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "envoy/envoy.yaml").read_text()
PLUGIN = json.loads((ROOT / "examples/plugin-config.json").read_text())

BODY = REFERENCE[REFERENCE.index("admin:\n"):]


def replace(text, old, new, count=1):
    if text.count(old) < count:
        raise SystemExit(f"deploy-configs: {old!r} not found {count} time(s) in envoy/envoy.yaml")
    return text.replace(old, new)


def common(text):
    text = replace(text, "socket_address: { address: 127.0.0.1, port_value: 10000 }",
                   "socket_address: { address: 0.0.0.0, port_value: 10000 }")
    text = re.sub(r"value: '\{.*\}'\n", "value: '" + json.dumps(PLUGIN, separators=(",", ":")) + "'\n", text, count=1)
    text = replace(text, "filename: dist/warden.wasm", "filename: /etc/warden/warden.wasm")
    return text


def self_hosted(text, vllm, ollama):
    text = replace(text, "address: 127.0.0.1, port_value: 8000 }", f"address: {vllm}, port_value: 8000 }}")
    return replace(text, "address: 127.0.0.1, port_value: 11434 }", f"address: {ollama}, port_value: 11434 }}")


def compose(text):
    text = common(text)
    # Inside the container; compose publishes it on the host's loopback only.
    text = replace(text, "socket_address: { address: 127.0.0.1, port_value: 9901 }",
                   "socket_address: { address: 0.0.0.0, port_value: 9901 }")
    text = self_hosted(text, "host.docker.internal", "host.docker.internal")
    sidecar = text.index("  - name: warden_sidecar\n")
    head, tail = text[:sidecar], text[sidecar:]
    tail = replace(tail, "    type: STATIC\n", "    type: STRICT_DNS\n")
    tail = replace(tail, "address: 127.0.0.1, port_value: 50051", "address: sidecar, port_value: 50051")
    return head + tail


def compose_mock(text):
    text = compose(text)
    sidecar = text.index("  - name: warden_sidecar\n")
    head, tail = text[:sidecar], text[sidecar:]
    # Provider clusters: plain HTTP to the mock service, no TLS.
    head = re.sub(r"    transport_socket:\n(?:      .*\n|        .*\n)+", "", head)
    head = re.sub(r"endpoint: \{ address: \{ socket_address: \{ address: [^,]+, port_value: \d+ \}",
                  "endpoint: { address: { socket_address: { address: mock, port_value: 8080 }", head)
    head = head.replace("type: LOGICAL_DNS", "type: STRICT_DNS")
    return head + tail


GATEWAY_STATS = """  # /stats/prometheus for the ServiceMonitor and /ready for the kubelet on the pod IP, without exposing the rest of the admin
  # interface (which stays on loopback): the Istio way (its :15090 listener).
  - name: stats
    address:
      socket_address: { address: 0.0.0.0, port_value: 9102 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: stats
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          route_config:
            virtual_hosts:
            - name: stats
              domains: ["*"]
              routes:
              - match: { path: /stats/prometheus }
                route: { cluster: envoy_admin }
              # The kubelet's readiness probe: Envoy's own /ready (LIVE once initialised).
              - match: { path: /ready }
                route: { cluster: envoy_admin }
              - match: { prefix: "/" }
                direct_response: { status: 404 }

"""

GATEWAY_ADMIN_CLUSTER = """  - name: envoy_admin
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: envoy_admin
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9901 } } } }] }]
"""


def gateway(text):
    text = common(text)
    text = self_hosted(text, "vllm", "ollama")
    text = replace(text, "\n  clusters:\n", "\n" + GATEWAY_STATS + "  clusters:\n")
    return text.rstrip("\n") + "\n" + GATEWAY_ADMIN_CLUSTER


def header(lines):
    return "".join(f"# {line}".rstrip() + "\n" for line in lines) + "\n"


GENERATED = "Generated by scripts/deploy-configs.py from envoy/envoy.yaml and examples/plugin-config.json."

OUTPUTS = {
    "examples/docker-compose/envoy.yaml": header([
        "Warden in docker-compose, real providers (set WARDEN_ENVOY_CONFIG=envoy.yaml in .env).",
        GENERATED,
        "Differences from envoy/envoy.yaml: listener and admin on 0.0.0.0 inside the container (compose",
        "publishes them on the host's loopback), the filter at /etc/warden/warden.wasm, the plugin config",
        "of examples/plugin-config.json, the sidecar at `sidecar:50051`, vLLM/Ollama on the Docker host.",
        "Azure: replace YOUR-RESOURCE with your resource name.",
    ]) + compose(BODY),
    "examples/docker-compose/envoy.mock.yaml": header([
        "Warden in docker-compose against the mock provider (the default: `docker compose up`).",
        GENERATED,
        "Like envoy.yaml beside it, but every provider cluster is plain HTTP to the `mock` service.",
    ]) + compose_mock(BODY),
    "examples/kubernetes/gateway/base/envoy.yaml": header([
        "Warden as a central egress gateway: Envoy in the gateway pod (examples/kubernetes/gateway).",
        GENERATED,
        "Differences from envoy/envoy.yaml: listener on 0.0.0.0:10000, the filter at",
        "/etc/warden/warden.wasm (the warden-envoy image), the plugin config of",
        "examples/plugin-config.json, the sidecar in the same pod (127.0.0.1:50051), vLLM/Ollama as",
        "in-cluster Services `vllm`/`ollama`, and a `stats` listener on :9102 that serves only",
        "/stats/prometheus and /ready from the admin interface (which stays on 127.0.0.1:9901).",
        "Azure: replace YOUR-RESOURCE with your resource name.",
    ]) + gateway(BODY),
}


PROVIDERS = re.findall(
    r"- name: provider_(\w+)\n(?:.*\n)*?.*socket_address: \{ address: ([^,]+), port_value: 443 \}", BODY)
# The port apps send LLM calls to. Its own port, because the filter sees every request of the HTTP
# listener it is inserted in (Istio has one outbound listener per port) and answers paths it does
# not know with a 404: on port 80 it would stand in front of all the pod's plain-HTTP traffic.
WARDEN_PORT = 10000
PLUGIN_LITERAL = json.dumps(PLUGIN, separators=(",", ":"))
ISTIO = "Generated by scripts/deploy-configs.py (providers from envoy/envoy.yaml, plugin config from examples/plugin-config.json)."


def service_entries(namespace, export_to):
    out = [f"# Provider hosts and TLS origination for Warden in Istio. {ISTIO}",
           "# Apps (and the filter's routes) talk plain HTTP on port 80; the DestinationRule originates TLS",
           "# to port 443 with SNI and the system CA bundle, as envoy/envoy.yaml does.", ""]
    for name, host in PROVIDERS:
        out += [
            "---", "apiVersion: networking.istio.io/v1", "kind: ServiceEntry", "metadata:",
            f"  name: {name}", f"  namespace: {namespace}", "spec:", f"  hosts: [{host}]",
            f"  exportTo: [{export_to}]", "  location: MESH_EXTERNAL", "  resolution: DNS", "  ports:",
            "  - {number: 80, name: http, protocol: HTTP, targetPort: 443}",
            "---", "apiVersion: networking.istio.io/v1", "kind: DestinationRule", "metadata:",
            f"  name: {name}", f"  namespace: {namespace}", "spec:", f"  host: {host}",
            f"  exportTo: [{export_to}]", "  trafficPolicy:", "    portLevelSettings:",
            "    - port: {number: 80}", f"      tls: {{mode: SIMPLE, sni: {host}}}",
        ]
    return "\n".join(out) + "\n"


def routes(indent):
    pad = " " * indent
    out = []
    for name, host in PROVIDERS:
        out += [
            f"{pad}- name: {name}",
            f"{pad}  match: [{{headers: {{x-warden-upstream: {{exact: {name}}}}}}}]",
            f"{pad}  route: [{{destination: {{host: {host}, port: {{number: 80}}}}}}]",
            f"{pad}  rewrite: {{authority: {host}}}",
            f"{pad}  headers: {{request: {{remove: [x-warden-upstream]}}}}",
            f"{pad}  timeout: 0s",
        ]
    out += [
        f"{pad}# The filter answers paths it does not know itself; nothing else may leave unrouted.",
        f"{pad}- name: unrouted",
        f"{pad}  directResponse:",
        f"{pad}    status: 404",
        f"{pad}    body: {{string: '{{\"error\":{{\"message\":\"no upstream selected for this path\",\"type\":\"invalid_request_error\",\"code\":\"unknown_route\"}}}}'}}",
    ]
    return "\n".join(out) + "\n"


def filter_patch(namespace, selector, context, port):
    return f"""# The Warden filter in Istio's proxies. {ISTIO}
#
# Not a WasmPlugin: Warden needs `allow_on_headers_stop_iteration: true` (it holds the request
# headers until it has read the body, then sets :path and x-warden-upstream), and WasmPlugin has no
# field for it; without it Envoy turns the filter's StopIteration into StopAllIteration and every
# request hangs (measured: tests/tests/deploy.rs). This EnvoyFilter gives Envoy what a WasmPlugin
# would (an ECDS extension config, fetched by istio-agent from the same oci:// URL) plus that
# flag. WasmPlugin → here: selector → workloadSelector, phase → INSERT_BEFORE the router (after
# Istio's authn/authz filters), pluginConfig → configuration, failStrategy: FAIL_CLOSE →
# failure_policy: FAIL_CLOSED, url → vm_config.code.remote.
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: warden-filter
  namespace: {namespace}
spec:
  workloadSelector:
    labels: {selector}
  configPatches:
  - applyTo: EXTENSION_CONFIG
    patch:
      operation: ADD
      value:
        name: {namespace}.warden
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
          config:
            name: warden
            root_id: warden
            allow_on_headers_stop_iteration: true
            failure_policy: FAIL_CLOSED
            configuration:
              "@type": type.googleapis.com/google.protobuf.StringValue
              value: '{PLUGIN_LITERAL}'
            vm_config:
              vm_id: warden
              runtime: envoy.wasm.runtime.v8
              code:
                remote:
                  # `make wasm-oci REGISTRY=… VERSION=…` pushes it; istio-agent pulls it.
                  http_uri: {{uri: "oci://ghcr.io/OWNER/warden-wasm:VERSION", timeout: 60s}}
  # Envoy's buffer limit above the filter's max_body_bytes (+ 1 MiB, as envoy/envoy.yaml): Istio
  # leaves the 1 MiB default, and Envoy would answer a larger request with its own plain 413.
  - applyTo: LISTENER
    match:
      context: {context}
      listener: {{portNumber: {port}}}
    patch:
      operation: MERGE
      value: {{per_connection_buffer_limit_bytes: {PLUGIN["max_body_bytes"] + 1024 * 1024}}}
  - applyTo: HTTP_FILTER
    match:
      context: {context}
      listener:
        portNumber: {port}
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {{name: envoy.filters.http.router}}
    patch:
      operation: INSERT_BEFORE
      value:
        name: {namespace}.warden
        config_discovery:
          config_source: {{ads: {{}}, initial_fetch_timeout: 0s}}
          type_urls: [type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm]
"""


ISTIO_OUTPUTS = {
    "examples/istio/providers.yaml": service_entries("agents", '"."'),
    "examples/istio/warden-filter.yaml": filter_patch("agents", "{llm-egress: warden}", "SIDECAR_OUTBOUND", WARDEN_PORT),
    "examples/istio/egress-gateway/providers.yaml": service_entries("istio-system", '"."'),
    "examples/istio/egress-gateway/warden-filter.yaml": filter_patch(
        "istio-system", "{istio: egressgateway}", "GATEWAY", WARDEN_PORT),
}
MESH_ROUTING = f"""# Routing for Warden in the mesh. {ISTIO}
# Apps send LLM calls to http://llm.warden.internal:{WARDEN_PORT}/v1/<provider>/… (their SDK base
# URL; a port of its own, see warden-filter.yaml); the filter in their own proxy classifies the
# request, rewrites :path and sets
# x-warden-upstream. Envoy clears the route cache when a wasm filter changes request headers, so
# the router then picks the route below that matches the header: the provider host, on port 80 of
# its ServiceEntry, TLS originated by its DestinationRule (providers.yaml).
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: warden-llm
  namespace: agents
spec:
  # A name only the mesh knows: with Istio's DNS proxying (ISTIO_META_DNS_CAPTURE and
  # ISTIO_META_DNS_AUTO_ALLOCATE, on by default since 1.23) apps resolve it to an auto-allocated VIP.
  hosts: [llm.warden.internal]
  exportTo: ["."]
  location: MESH_EXTERNAL
  resolution: NONE
  ports:
  - {{number: {WARDEN_PORT}, name: http-warden, protocol: HTTP}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: warden-llm
  namespace: agents
spec:
  hosts: [llm.warden.internal]
  exportTo: ["."]
  http:
{routes(2)}"""

EGRESS_ROUTING = f"""# Routing for Warden on the egress gateway. {ISTIO}
# Apps send LLM calls to http://llm.warden.internal:{WARDEN_PORT}/v1/<provider>/…; their proxies send them to
# the egress gateway (first VirtualService, `mesh`), where the filter (warden-filter.yaml, on the
# gateway only) classifies them and sets x-warden-upstream, and the second VirtualService (bound to
# the gateway) sends them to the provider with TLS originated by the provider's DestinationRule.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: warden-llm
  namespace: istio-system
spec:
  hosts: [llm.warden.internal]
  location: MESH_EXTERNAL
  resolution: NONE
  ports:
  - {{number: {WARDEN_PORT}, name: http-warden, protocol: HTTP}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: warden-egress
  namespace: istio-system
spec:
  selector: {{istio: egressgateway}}
  servers:
  # The egress gateway's Service needs this port (egress-gateway/install.yaml).
  - port: {{number: {WARDEN_PORT}, name: http-warden, protocol: HTTP}}
    hosts: [llm.warden.internal]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: warden-llm-to-egress
  namespace: istio-system
spec:
  hosts: [llm.warden.internal]
  gateways: [mesh]
  http:
  - route: [{{destination: {{host: istio-egressgateway.istio-system.svc.cluster.local, port: {{number: {WARDEN_PORT}}}}}}}]
    timeout: 0s
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: warden-llm-providers
  namespace: istio-system
spec:
  hosts: [llm.warden.internal]
  gateways: [warden-egress]
  http:
{routes(2)}"""

ISTIO_OUTPUTS["examples/istio/routing.yaml"] = MESH_ROUTING
ISTIO_OUTPUTS["examples/istio/egress-gateway/routing.yaml"] = EGRESS_ROUTING


def sidecar_cluster(namespace, selector, context):
    return f"""# The cluster the Warden filter calls the sidecar through (plugin config sidecar.cluster:
# warden_sidecar): gRPC over HTTP/2 to the warden-sidecar Service (sidecar.yaml), with Istio mTLS
# from the proxy's own workload certificate (SDS `default`, root `ROOTCA`), since the sidecar
# hands out cloud credentials. {ISTIO}
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: warden-sidecar-cluster
  namespace: {namespace}
spec:
  workloadSelector:
    labels: {selector}
  configPatches:
  - applyTo: CLUSTER
    match:
      context: {context}
    patch:
      operation: ADD
      value:
        name: warden_sidecar
        type: STRICT_DNS
        connect_timeout: 1s
        typed_extension_protocol_options:
          envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
            "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
            explicit_http_config:
              http2_protocol_options: {{}}
        health_checks:
        - timeout: 1s
          interval: 5s
          no_traffic_interval: 5s
          unhealthy_threshold: 2
          healthy_threshold: 1
          grpc_health_check: {{}}
        load_assignment:
          cluster_name: warden_sidecar
          endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: warden-sidecar.warden.svc.cluster.local, port_value: 50051}}}}}}}}]}}]
        transport_socket:
          name: envoy.transport_sockets.tls
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
            sni: outbound_.50051_._.warden-sidecar.warden.svc.cluster.local
            common_tls_context:
              alpn_protocols: [istio-peer-exchange, istio, h2]
              tls_certificate_sds_secret_configs:
              - name: default
                sds_config:
                  resource_api_version: V3
                  api_config_source:
                    api_type: GRPC
                    transport_api_version: V3
                    grpc_services: [{{envoy_grpc: {{cluster_name: sds-grpc}}}}]
              combined_validation_context:
                default_validation_context:
                  match_typed_subject_alt_names:
                  - san_type: URI
                    matcher: {{exact: spiffe://cluster.local/ns/warden/sa/warden-sidecar}}
                validation_context_sds_secret_config:
                  name: ROOTCA
                  sds_config:
                    resource_api_version: V3
                    api_config_source:
                      api_type: GRPC
                      transport_api_version: V3
                      grpc_services: [{{envoy_grpc: {{cluster_name: sds-grpc}}}}]
"""


def stats_bootstrap(namespace):
    """The stats_config of envoy/envoy.yaml as an Istio bootstrap override."""
    import yaml  # PyYAML, in the project venv (requirements-dev.txt pins it with kubernetes-validate)

    stats = yaml.safe_load(BODY[BODY.index("stats_config:\n"):BODY.index("\nstatic_resources:")])
    release = yaml.safe_load(BODY[BODY.index("memory_allocator_manager:\n"):BODY.index("\n\n", BODY.index("memory_allocator_manager:\n"))])
    body = "\n".join("    " + line for line in json.dumps({**release, **stats}, indent=2).splitlines())
    return f"""# Prometheus labels for the warden_* metrics in Istio's proxies, and the memory release of
# envoy/envoy.yaml (tcmalloc keeps what V8's compiler freed at start otherwise). {ISTIO}
# Istio's `extraStatTags` generate `(<tag>=\\.=(.*?);\\.;)`, which leaves the `;.;` after the
# metric name behind (Envoy then exposes `warden_requests_total___{{…}}`), so the extractors of
# envoy/envoy.yaml come in through a bootstrap override instead: annotate the pods (or the egress
# gateway) with `sidecar.istio.io/bootstrapOverride: warden-stats-bootstrap`; istio-agent merges
# this into the bootstrap it generates (lists are appended to Istio's own).
apiVersion: v1
kind: ConfigMap
metadata:
  name: warden-stats-bootstrap
  namespace: {namespace}
data:
  custom_bootstrap.json: |
{body}
"""


ISTIO_OUTPUTS["examples/istio/sidecar-cluster.yaml"] = sidecar_cluster("agents", "{llm-egress: warden}", "SIDECAR_OUTBOUND")
ISTIO_OUTPUTS["examples/istio/egress-gateway/sidecar-cluster.yaml"] = sidecar_cluster(
    "istio-system", "{istio: egressgateway}", "GATEWAY")
ISTIO_OUTPUTS["examples/istio/stats-bootstrap.yaml"] = stats_bootstrap("agents")
ISTIO_OUTPUTS["examples/istio/egress-gateway/stats-bootstrap.yaml"] = stats_bootstrap("istio-system")
OUTPUTS.update(ISTIO_OUTPUTS)


def grafana_dashboard():
    text = (ROOT / "examples/grafana/warden.json").read_text()
    body = "\n".join(("    " + line) if line else "" for line in text.rstrip("\n").splitlines())
    return f"""# examples/grafana/warden.json for Grafana's dashboard sidecar. Generated by scripts/deploy-configs.py.
apiVersion: v1
kind: ConfigMap
metadata:
  name: warden-grafana-dashboard
  labels:
    grafana_dashboard: "1"
data:
  warden.json: |
{body}
"""


OUTPUTS["examples/kubernetes/gateway/monitoring/grafana-dashboard.yaml"] = grafana_dashboard()


INJECTION_CONFIGMAP = "examples/kubernetes/injection/configmap.yaml"
# What the sidecar-injection webhook gives every pod's Envoy differs from examples/plugin-config.json
# only here (the ConfigMap's comment above the markers says why).
INJECTION_PLUGIN = {
    **PLUGIN,
    "limits_store": "local",
    "providers": {**PLUGIN.get("providers", {}), "bedrock": {"auth": "sigv4", "region": "us-east-1"}},
}
PLUGIN_BEGIN, PLUGIN_END = "      # BEGIN plugin_config\n", "      # END plugin_config\n"


def injection_configmap():
    """The injector's ConfigMap with the lines between its plugin_config markers rewritten; the
    rest of the file is written by hand."""
    import yaml

    text = (ROOT / INJECTION_CONFIGMAP).read_text()
    if text.count(PLUGIN_BEGIN) != 1 or text.count(PLUGIN_END) != 1:
        raise SystemExit(f"deploy-configs: {INJECTION_CONFIGMAP} needs one {PLUGIN_BEGIN.strip()!r} and one {PLUGIN_END.strip()!r}")
    start = text.index(PLUGIN_BEGIN) + len(PLUGIN_BEGIN)
    end = text.index(PLUGIN_END)
    body = yaml.safe_dump({"plugin_config": INJECTION_PLUGIN}, sort_keys=False, default_flow_style=None, width=1000)
    out = text[:start] + "".join("      " + line + "\n" for line in body.splitlines()) + text[end:]
    # The block sits inside the ConfigMap's `config.yaml: |` string: check that it reads back as
    # the injector will read it.
    config = yaml.safe_load(yaml.safe_load(out)["data"]["config.yaml"])
    if config["envoy"]["plugin_config"] != INJECTION_PLUGIN:
        raise SystemExit(f"deploy-configs: {INJECTION_CONFIGMAP}: the plugin_config markers are not inside `envoy:`")
    return out


OUTPUTS[INJECTION_CONFIGMAP] = injection_configmap()


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in OUTPUTS.items():
        target = ROOT / path
        current = target.read_text() if target.exists() else None
        if current == text:
            continue
        if check:
            stale.append(path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("out of date (run python3 scripts/deploy-configs.py): " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
