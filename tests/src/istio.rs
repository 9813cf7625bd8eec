//! Istio's resources (examples/istio) rendered into the Envoy configuration istiod and istio-agent
//! hand the proxy, as far as that can be reproduced without a cluster:
//! - the listener of Warden's port (`0.0.0.0_10000`, in the apps' proxies or the egress gateway) with the HTTP filters the `EnvoyFilter`
//!   inserts before the router — the ECDS extension config inlined, as the proxy holds it once
//!   delivered (istio-agent turns its `remote` code into a local file; the shipped-config
//!   substitution puts the module under test there);
//!   and the `LISTENER` patches (MERGE) for that port;
//! - routes from the `VirtualService` http entries bound to the rendered proxy (`mesh`, or the
//!   egress `Gateway`): header matches, `outbound|<port>||<host>` destinations, `rewrite.authority`,
//!   `headers.request.remove`, `timeout`, `directResponse`;
//! - clusters from each `ServiceEntry` port (endpoint `host:targetPort`, STRICT_DNS for
//!   `resolution: DNS`) with the `DestinationRule` port-level `tls: SIMPLE` as an
//!   `UpstreamTlsContext` (SNI, system CA bundle); clusters the `EnvoyFilter` adds, as written;
//! - `stats_config`: Istio's tag extractors that could touch wasm metric names, then the bootstrap
//!   override's (lists appended, as istio-agent merges them), and the inclusion list from
//!   `proxyStatsMatcher`; the access log from `accessLogFile`/`accessLogEncoding: JSON`/
//!   `accessLogFormat` of the mesh config.
//!
//! Not reproduced: Istio's own HTTP filters (authn, authz, stats, metadata exchange) and the
//! inbound side, which Warden does not touch.

use crate::shipped::Shipped;
use crate::stack::repo_root;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;

/// Every document in a multi-document YAML file.
pub fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    docs.iter().filter(move |d| d.get("kind").and_then(Value::as_str) == Some(kind))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn array_at<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// The `EnvoyFilter` patches of `apply_to`.
fn patches<'a>(docs: &'a [Value], apply_to: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    kind(docs, "EnvoyFilter")
        .flat_map(|f| array_at(f, "/spec/configPatches").iter())
        .filter(move |p| p.get("applyTo").and_then(Value::as_str) == Some(apply_to))
}

fn cluster_name(host: &str, port: u64) -> String {
    format!("outbound|{port}||{host}")
}

/// The HTTP filters: each `HTTP_FILTER` patch inserted before the router, its ECDS config inlined.
fn http_filters(docs: &[Value]) -> Vec<Value> {
    let mut filters = Vec::new();
    for patch in patches(docs, "HTTP_FILTER") {
        assert_eq!(str_at(patch, "/patch/operation"), "INSERT_BEFORE", "HTTP_FILTER patch: {patch}");
        assert_eq!(str_at(patch, "/match/listener/filterChain/filter/subFilter/name"), "envoy.filters.http.router");
        let value = patch.pointer("/patch/value").cloned().unwrap_or(Value::Null);
        let name = str_at(&value, "/name");
        let extension = patches(docs, "EXTENSION_CONFIG")
            .filter_map(|p| p.pointer("/patch/value"))
            .find(|v| str_at(v, "/name") == name)
            .unwrap_or_else(|| panic!("no EXTENSION_CONFIG named {name}"));
        let type_url = str_at(extension, "/typed_config/@type");
        let wanted = array_at(&value, "/config_discovery/type_urls");
        assert!(
            wanted.iter().any(|t| t.as_str() == Some(type_url)),
            "filter {name} discovers {wanted:?}, its extension config is {type_url}"
        );
        filters.push(json!({"name": name, "typed_config": extension["typed_config"]}));
    }
    filters.push(json!({"name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}));
    filters
}

fn route(http: &Value) -> Value {
    let mut matcher = json!({"prefix": "/"});
    if let Some(headers) = http.pointer("/match/0/headers").and_then(Value::as_object) {
        let list: Vec<Value> = headers
            .iter()
            .map(|(name, m)| json!({"name": name, "string_match": {"exact": m.get("exact").cloned().unwrap_or(Value::Null)}}))
            .collect();
        matcher["headers"] = Value::Array(list);
    }
    let mut out = json!({"match": matcher});
    if let Some(name) = http.get("name") {
        out["name"] = name.clone();
    }
    if let Some(direct) = http.get("directResponse") {
        out["direct_response"] =
            json!({"status": direct["status"], "body": {"inline_string": str_at(direct, "/body/string")}});
        return out;
    }
    let destination = http.pointer("/route/0/destination").cloned().unwrap_or(Value::Null);
    let port = destination.pointer("/port/number").and_then(Value::as_u64).unwrap_or(80);
    let mut action = json!({"cluster": cluster_name(str_at(&destination, "/host"), port)});
    if let Some(authority) = http.pointer("/rewrite/authority") {
        action["host_rewrite_literal"] = authority.clone();
    }
    if let Some(timeout) = http.get("timeout") {
        action["timeout"] = timeout.clone();
    }
    out["route"] = action;
    if let Some(remove) = http.pointer("/headers/request/remove") {
        out["request_headers_to_remove"] = remove.clone();
    }
    out
}

/// The virtual hosts of the VirtualServices bound to `gateway` (`mesh` when they name none).
fn virtual_hosts(docs: &[Value], gateway: &str, port: u16) -> Vec<Value> {
    kind(docs, "VirtualService")
        .filter(|vs| {
            let gateways = array_at(vs, "/spec/gateways");
            (gateways.is_empty() && gateway == "mesh") || gateways.iter().any(|g| g.as_str() == Some(gateway))
        })
        .map(|vs| {
            let hosts = array_at(vs, "/spec/hosts");
            let domains: Vec<Value> = hosts
                .iter()
                .filter_map(Value::as_str)
                .flat_map(|h| [Value::from(h), Value::from(format!("{h}:{port}"))])
                .collect();
            let routes: Vec<Value> = array_at(vs, "/spec/http").iter().map(route).collect();
            json!({"name": format!("{}:{port}", str_at(vs, "/spec/hosts/0")), "domains": domains, "routes": routes})
        })
        .collect()
}

fn tls_for(docs: &[Value], host: &str, port: u64) -> Option<Value> {
    let rule = kind(docs, "DestinationRule").find(|d| str_at(d, "/spec/host") == host)?;
    let setting = array_at(rule, "/spec/trafficPolicy/portLevelSettings")
        .iter()
        .find(|s| s.pointer("/port/number").and_then(Value::as_u64) == Some(port))?;
    assert_eq!(str_at(setting, "/tls/mode"), "SIMPLE", "DestinationRule {host}: only SIMPLE origination is rendered");
    Some(json!({
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": str_at(setting, "/tls/sni"),
            "common_tls_context": {"validation_context": {"trusted_ca": {"filename": "/etc/ssl/certs/ca-certificates.crt"}}}
        }
    }))
}

fn clusters(docs: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in kind(docs, "ServiceEntry") {
        let resolution = str_at(entry, "/spec/resolution");
        if resolution == "NONE" {
            continue;
        }
        assert_eq!(resolution, "DNS", "ServiceEntry: only DNS resolution is rendered");
        for host in array_at(entry, "/spec/hosts").iter().filter_map(Value::as_str) {
            for port in array_at(entry, "/spec/ports") {
                let number = port.get("number").and_then(Value::as_u64).unwrap_or(0);
                let target = port.get("targetPort").and_then(Value::as_u64).unwrap_or(number);
                let name = cluster_name(host, number);
                let mut cluster = json!({
                    "name": name, "type": "STRICT_DNS", "connect_timeout": "10s",
                    "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                        {"endpoint": {"address": {"socket_address": {"address": host, "port_value": target}}}}]}]}
                });
                if let Some(tls) = tls_for(docs, host, number) {
                    cluster["transport_socket"] = tls;
                }
                out.push(cluster);
            }
        }
    }
    out.extend(patches(docs, "CLUSTER").filter_map(|p| p.pointer("/patch/value")).cloned());
    out
}

/// Istio's own tag extractors that could match a wasm metric's name (its bootstrap template).
fn istio_stats_tags() -> Vec<Value> {
    [
        ("cache", r"(cache\.(.+?)\.)"),
        ("component", r"(component\.(.+?)\.)"),
        ("tag", r"(tag\.(.+?);\.)"),
        ("wasm_filter", r"(wasm_filter\.(.+?)\.)"),
    ]
    .iter()
    .map(|(name, regex)| json!({"tag_name": name, "regex": regex}))
    .collect()
}

/// The top-level fields of every bootstrap override (`custom_bootstrap.json`) in the files.
fn bootstrap_overrides(docs: &[Value]) -> Vec<(String, Value)> {
    let mut fields = Vec::new();
    for map in kind(docs, "ConfigMap") {
        if let Some(text) = map.pointer("/data/custom_bootstrap.json").and_then(Value::as_str) {
            let overlay: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("custom_bootstrap.json: {e}"));
            fields.extend(overlay.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    fields
}

fn stats_config(docs: &[Value], mesh: &Value) -> Value {
    let mut tags = istio_stats_tags();
    let mut buckets = Vec::new();
    for (_, overlay) in bootstrap_overrides(docs).into_iter().filter(|(key, _)| key == "stats_config") {
        tags.extend(array_at(&overlay, "/stats_tags").iter().cloned());
        buckets.extend(array_at(&overlay, "/histogram_bucket_settings").iter().cloned());
    }
    let mut patterns = vec![json!({"prefix": "reporter="})];
    let matcher = mesh.pointer("/defaultConfig/proxyStatsMatcher").cloned().unwrap_or(Value::Null);
    patterns.extend(array_at(&matcher, "/inclusionPrefixes").iter().map(|p| json!({"prefix": p})));
    patterns.extend(array_at(&matcher, "/inclusionSuffixes").iter().map(|s| json!({"suffix": s})));
    patterns.extend(array_at(&matcher, "/inclusionRegexps").iter().map(|r| json!({"safe_regex": {"regex": r}})));
    patterns.extend([json!({"prefix": "component"}), json!({"prefix": "istio"})]);
    json!({
        "use_all_default_tags": false,
        "stats_tags": tags,
        "histogram_bucket_settings": buckets,
        "stats_matcher": {"inclusion_list": {"patterns": patterns}}
    })
}

fn access_log(mesh: &Value) -> Vec<Value> {
    let file = str_at(mesh, "/accessLogFile");
    if file.is_empty() {
        return Vec::new();
    }
    assert_eq!(str_at(mesh, "/accessLogEncoding"), "JSON", "only JSON access logs are rendered");
    let format: Value =
        serde_json::from_str(str_at(mesh, "/accessLogFormat")).unwrap_or_else(|e| panic!("accessLogFormat: {e}"));
    vec![json!({"name": "envoy.access_loggers.file", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
        "path": file, "log_format": {"json_format": format}}})]
}

/// Renders the proxy of `gateway` (`mesh`: the apps' sidecars; else the `Gateway` name) from the
/// files under examples/istio given, plus the sidecar config of its `warden-sidecar` ConfigMap.
pub fn render(files: &[&str], gateway: &str, port: u16) -> Shipped {
    let root = repo_root();
    let docs: Vec<Value> = files.iter().flat_map(|f| documents(&root.join(f))).collect();
    let mesh =
        kind(&docs, "IstioOperator").next().and_then(|o| o.pointer("/spec/meshConfig")).cloned().unwrap_or(Value::Null);
    let sidecar = kind(&docs, "ConfigMap")
        .find(|m| str_at(m, "/metadata/name") == "warden-sidecar")
        .and_then(|m| m.pointer("/data/sidecar.yaml").and_then(Value::as_str))
        .map(|text| serde_yaml_ng::from_str::<Value>(text).unwrap_or_else(|e| panic!("sidecar.yaml: {e}")));
    let listener_name = format!("0.0.0.0_{port}");
    let hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": format!("outbound_0.0.0.0_{port}"),
        "access_log": access_log(&mesh),
        "http_filters": http_filters(&docs),
        "route_config": {"name": port.to_string(), "virtual_hosts": virtual_hosts(&docs, gateway, port)}
    });
    let mut listener = json!({
        "name": listener_name,
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]
    });
    // LISTENER patches on this port: MERGE their top-level fields (all the shipped ones use).
    for patch in patches(&docs, "LISTENER") {
        assert_eq!(str_at(patch, "/patch/operation"), "MERGE", "LISTENER patch: {patch}");
        if patch.pointer("/match/listener/portNumber").and_then(Value::as_u64) == Some(u64::from(port)) {
            for (key, value) in patch.pointer("/patch/value").and_then(Value::as_object).into_iter().flatten() {
                listener[key] = value.clone();
            }
        }
    }
    let mut envoy = json!({
        // Istio's node identity (`<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`).
        "node": {"id": format!("{}~10.0.0.1~warden-test.agents~agents.svc.cluster.local", if gateway == "mesh" { "sidecar" } else { "router" }),
                 "cluster": "warden-test.agents"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 15000}}},
        "stats_config": stats_config(&docs, &mesh),
        "static_resources": {
            "listeners": [listener],
            "clusters": clusters(&docs)
        }
    });
    // The rest of a bootstrap override (stats_config is merged above): istio-agent sets its
    // top-level fields over its own bootstrap.
    for (key, value) in bootstrap_overrides(&docs) {
        if key != "stats_config" {
            envoy[key] = value;
        }
    }
    Shipped { label: format!("istio, proxy of {gateway}"), envoy, sidecar }
}
