//! Runs an Envoy bootstrap (and sidecar config) a deployment ships, as shipped, and the smoke suite
//! every deployment passes.
//!
//! [`substitute_envoy`] changes only what cannot work on a test machine, and reports each change:
//! - `admin` → 127.0.0.1 on a free port; every listener → 127.0.0.1, port 0 (Envoy picks);
//! - the `vm_config.code` of every wasm filter → the module under test (a `remote` source, as Istio
//!   fetches it, becomes that local file);
//! - every cluster a route sends to (the provider clusters) → the mock provider, with its
//!   `transport_socket` (TLS origination) removed, since the mock speaks plain HTTP;
//! - the sidecar cluster (`sidecar.cluster` of the plugin config, default `warden_sidecar`) → the
//!   test's sidecar; a cluster that points at the shipped admin address → the test's admin port;
//! - every file access logger → the test's access log (the harness reads the records there);
//! - virtual host `domains` → `*` (the test client connects to 127.0.0.1, not the mesh host name);
//!   the sidecar cluster's `transport_socket` (Istio mTLS through SDS) is dropped.
//!
//! Everything else reaches Envoy as parsed from the shipped file. [`substitute_sidecar`] drops the
//! sidecar's `listen`/`admin_listen` (the harness picks free ports) and points `redis.url` at the
//! test's private Redis; [`start_with_sidecar_env`] adds what a platform would put in the
//! sidecar's environment (a pod's cloud identity).

use crate::cases::{self, Case};
use crate::policy::{self, PolicyRecord, Refusal, SYSTEM_FILES_REASON};
use crate::prom;
use crate::redis::RedisServer;
use crate::run::{self, Failures, Via};
use crate::sidecar::{self, Sidecar};
use crate::stack::{self, Parts, Stack};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A deployment's configuration as shipped.
#[derive(Debug, Clone)]
pub struct Shipped {
    /// Names it in failures: the shipped file (or rendering) it came from.
    pub label: String,
    /// The Envoy bootstrap.
    pub envoy: Value,
    /// The sidecar configuration, when the deployment runs the sidecar.
    pub sidecar: Option<Value>,
}

/// Reads a YAML (or JSON) file into a value.
pub fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Shipped {
    /// The files at `envoy` and `sidecar` (paths relative to the repository root).
    pub fn load(envoy: &str, sidecar: Option<&str>) -> Shipped {
        let root = stack::repo_root();
        Shipped {
            label: envoy.to_string(),
            envoy: read_yaml(&root.join(envoy)),
            sidecar: sidecar.map(|s| read_yaml(&root.join(s))),
        }
    }
}

/// Where the substituted configuration points.
#[derive(Debug, Clone)]
pub struct Targets {
    pub admin_port: u16,
    pub wasm: PathBuf,
    pub mock_port: u16,
    pub sidecar_port: Option<u16>,
    pub access_log: PathBuf,
}

fn socket(address: &str, port: u16) -> Value {
    json!({"socket_address": {"address": address, "port_value": port}})
}

fn mock_endpoints(name: &str, port: u16) -> Value {
    json!({"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket("127.0.0.1", port)}}]}]})
}

/// Every object anywhere in `value`, depth first.
fn visit_objects(value: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            for v in map.values_mut() {
                visit_objects(v, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| visit_objects(v, f)),
        _ => {}
    }
}

/// The clusters the routes of every listener send to.
fn routed_clusters(config: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut listeners = config.pointer("/static_resources/listeners").cloned().unwrap_or(Value::Null);
    visit_objects(&mut listeners, &mut |obj| {
        if let Some(route) = obj.get("route") {
            if let Some(c) = route.get("cluster").and_then(Value::as_str) {
                names.insert(c.to_string());
            }
            for w in route.pointer("/weighted_clusters/clusters").and_then(Value::as_array).into_iter().flatten() {
                if let Some(c) = w.get("name").and_then(Value::as_str) {
                    names.insert(c.to_string());
                }
            }
        }
    });
    names
}

/// The plugin config (JSON) of the first wasm filter, if any.
pub fn plugin_config(config: &Value) -> Option<Value> {
    let mut found = None;
    let mut copy = config.clone();
    visit_objects(&mut copy, &mut |obj| {
        if found.is_none() && obj.contains_key("vm_config") {
            found = obj
                .get("configuration")
                .and_then(|c| c.get("value"))
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str(s).ok());
        }
    });
    found
}

/// The shipped endpoint `host:port` of a cluster's first endpoint.
fn first_endpoint(cluster: &Value) -> Option<(String, u64)> {
    let sa = cluster.pointer("/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address")?;
    Some((sa.get("address")?.as_str()?.to_string(), sa.get("port_value")?.as_u64()?))
}

/// Applies the documented substitutions (module docs) and lists each one applied.
pub fn substitute_envoy(shipped: &Value, to: &Targets) -> Result<(Value, Vec<String>), String> {
    let mut config = shipped.clone();
    let mut applied = Vec::new();
    let shipped_admin = config
        .pointer("/admin/address/socket_address")
        .and_then(|sa| Some((sa.get("address")?.as_str()?.to_string(), sa.get("port_value")?.as_u64()?)));
    let admin = config.pointer_mut("/admin/address").ok_or("no admin.address")?;
    *admin = socket("127.0.0.1", to.admin_port);
    applied.push("admin address".to_string());

    let listeners = config.pointer_mut("/static_resources/listeners").and_then(Value::as_array_mut);
    for listener in listeners.ok_or("no static_resources.listeners")? {
        let name = listener.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
        listener["address"] = socket("127.0.0.1", 0);
        applied.push(format!("listener {name} address"));
    }

    let wasm = to.wasm.display().to_string();
    let mut modules = 0;
    visit_objects(&mut config, &mut |obj| {
        if let Some(vm) = obj.get_mut("vm_config").and_then(Value::as_object_mut) {
            vm.insert("code".into(), json!({"local": {"filename": wasm}}));
            modules += 1;
        }
    });
    if modules == 0 {
        return Err("no wasm filter (vm_config) in the configuration".into());
    }
    applied.push(format!("wasm module path ({modules} filter(s))"));

    let mut loggers = 0;
    let log = to.access_log.display().to_string();
    visit_objects(&mut config, &mut |obj| {
        if obj.get("name").and_then(Value::as_str) == Some("envoy.access_loggers.file") {
            if let Some(tc) = obj.get_mut("typed_config").and_then(Value::as_object_mut) {
                tc.insert("path".into(), Value::String(log.clone()));
                loggers += 1;
            }
        }
    });
    if loggers > 0 {
        applied.push(format!("access log path ({loggers} logger(s))"));
    }

    let mut domains = 0;
    visit_objects(&mut config, &mut |obj| {
        if obj.contains_key("routes") && obj.get("domains").is_some_and(|d| d != &json!(["*"])) {
            obj.insert("domains".into(), json!(["*"]));
            domains += 1;
        }
    });
    if domains > 0 {
        applied.push(format!("virtual host domains → * ({domains} host(s); the test connects by IP)"));
    }

    let routed = routed_clusters(&config);
    let sidecar_cluster = plugin_config(&config)
        .and_then(|p| p.pointer("/sidecar/cluster").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "warden_sidecar".into());
    let clusters = config.pointer_mut("/static_resources/clusters").and_then(Value::as_array_mut);
    for cluster in clusters.ok_or("no static_resources.clusters")? {
        let name = cluster.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let Some(obj) = cluster.as_object_mut() else { continue };
        // First: a listener that forwards to the admin API (the gateway's `stats`, the injected
        // pod's `health`) routes to this cluster too, and must reach the test's admin, not the mock.
        if shipped_admin.is_some() && first_endpoint(&Value::Object(obj.clone())) == shipped_admin {
            obj.insert("load_assignment".into(), mock_endpoints(&name, to.admin_port));
            applied.push(format!("cluster {name} → the test's admin port"));
        } else if routed.contains(&name) {
            obj.insert("load_assignment".into(), mock_endpoints(&name, to.mock_port));
            if obj.remove("transport_socket").is_some() {
                applied.push(format!("cluster {name} → mock, TLS origination dropped"));
            } else {
                applied.push(format!("cluster {name} → mock"));
            }
        } else if name == sidecar_cluster {
            let port =
                to.sidecar_port.ok_or_else(|| format!("the configuration has cluster {name} but no sidecar runs"))?;
            obj.insert("load_assignment".into(), mock_endpoints(&name, port));
            if obj.remove("transport_socket").is_some() {
                applied.push(format!("cluster {name} → the test's sidecar, mesh mTLS dropped"));
            } else {
                applied.push(format!("cluster {name} → the test's sidecar"));
            }
        }
    }
    if routed.is_empty() {
        return Err("no route sends to a cluster".into());
    }
    Ok((config, applied))
}

/// The sidecar config with free ports and the test's Redis (module docs).
pub fn substitute_sidecar(shipped: &Value, redis_url: Option<&str>) -> (Value, Vec<String>) {
    let mut config = shipped.clone();
    let mut applied = Vec::new();
    if let Some(obj) = config.as_object_mut() {
        for key in ["listen", "admin_listen"] {
            if obj.remove(key).is_some() {
                applied.push(format!("sidecar {key} → a free port"));
            }
        }
        if let (Some(url), Some(redis)) = (redis_url, obj.get_mut("redis").and_then(Value::as_object_mut)) {
            redis.insert("url".into(), Value::String(url.to_string()));
            applied.push("sidecar redis.url → the test's Redis".into());
        }
    }
    (config, applied)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// A shipped deployment running: Envoy, the mock, the sidecar and its Redis.
pub struct ShippedStack {
    pub stack: Stack,
    /// What was changed from the shipped files.
    pub applied: Vec<String>,
    /// Kept alive for the stack's lifetime.
    pub redis: Option<RedisServer>,
}

/// Starts `shipped` with the documented substitutions.
pub fn start(shipped: &Shipped) -> ShippedStack {
    start_with_sidecar_env(shipped, &[])
}

/// [`start`], with `env` in the sidecar's environment: what the deployment's platform would give
/// it (a pod's cloud identity). Each variable counts as a substitution (listed by name only).
pub fn start_with_sidecar_env(shipped: &Shipped, env: &[(&str, &str)]) -> ShippedStack {
    let label = &shipped.label;
    let (dir, id) = stack::new_dir();
    let (mock, mock_port) = stack::start_default_mock(None);
    let mut applied = Vec::new();
    let mut redis = None;
    let sidecar = shipped.sidecar.as_ref().map(|config| {
        if config.get("redis").is_some() {
            redis = Some(RedisServer::start());
        }
        let (config, changes) = substitute_sidecar(config, redis.as_ref().map(RedisServer::url).as_deref());
        applied.extend(changes);
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        applied.extend(env.iter().map(|(k, _)| format!("sidecar environment {k} (the platform's)")));
        Sidecar::start(&sidecar::binary(), &config, &env)
    });
    let targets = Targets {
        admin_port: free_port(),
        wasm: stack::wasm_path(),
        mock_port,
        sidecar_port: sidecar.as_ref().map(|s| s.grpc.port()),
        access_log: dir.join("access.log"),
    };
    let (config, changes) = substitute_envoy(&shipped.envoy, &targets).unwrap_or_else(|e| panic!("{label}: {e}"));
    applied.extend(changes);
    let text = serde_json::to_string_pretty(&config).unwrap_or_default();
    let parts = Parts { dir, id, mock, mock_port, sidecar };
    ShippedStack { stack: Stack::launch(parts, &text, true, false, 1, "warning"), applied, redis }
}

/// One request per native provider API (non-streaming and streaming where the API has both).
pub fn native_cases() -> Vec<Case> {
    vec![
        cases::openai_chat("openai", "/v1", "gpt-4o-mini", false),
        cases::openai_chat("openai", "/v1", "gpt-4o-mini", true),
        cases::openai_responses(false),
        cases::anthropic(false),
        cases::anthropic(true),
        cases::gemini(Some(false)),
        cases::bedrock(false),
        cases::cohere(false, false),
    ]
}

/// The smoke suite: each native API answers byte for byte through the deployment, a 2 MiB request
/// goes through (Envoy's buffer limits are above 1 MiB), a `read_file`
/// call on `/etc/passwd` is refused (the shipped plugin config of examples/plugin-config.json
/// blocks it), and `warden_requests_total` is in /stats/prometheus with its `provider` label.
pub fn smoke(stack: &Stack, label: &str) -> Failures {
    let mut f = Failures::default();
    let mut providers = BTreeSet::new();
    for case in native_cases() {
        let mut o = run::send(stack, &case, Via::Filter, "text", None, &[]);
        o.label = format!("{label}: {}", o.label);
        run::check_bytes(&mut f, &o, Via::Filter);
        providers.insert(case.provider);
    }

    // A body past Envoy's default 1 MiB buffer limit: the deployment must raise it above the
    // filter's max_body_bytes (docs/decisions.md), or Envoy answers 413 before the filter reads it.
    let mut big = cases::openai_chat("openai", "/v1", "gpt-4o-mini", false);
    if let Some(body) = big.body.as_mut() {
        body["messages"] = json!([{"role": "user", "content": "x".repeat(2 * 1024 * 1024)}]);
    }
    let mut o = run::send(stack, &big, Via::Filter, "text", None, &[]);
    o.label = format!("{label}: 2 MiB request body");
    f.check(o.reply.status == 200, || format!("{}: status {} ({})", o.label, o.reply.status, o.reply.text()));
    let upstream_len = o.upstream.as_ref().and_then(|u| u.get("body")).and_then(Value::as_str).map_or(0, str::len);
    f.check(upstream_len > 2 * 1024 * 1024, || format!("{}: the upstream got {upstream_len} bytes of body", o.label));

    let case = policy::with_tools(cases::openai_chat("openai", "/v1", "gpt-4o-mini", false), &["read_file"]);
    let calls = policy::calls_header(&[("read_file", json!({"path": "/etc/passwd"}))]);
    let mut o = run::send(stack, &case, Via::Filter, "text", None, &[("x-mock-tool-calls", &calls)]);
    o.label = format!("{label}: blocked read_file");
    let refusal = Refusal {
        tools: vec!["read_file"],
        mentions: vec!["/etc/passwd".into(), SYSTEM_FILES_REASON.into()],
        kept_text: None,
        batch: vec![],
    };
    policy::check_refusal(&mut f, &o, &refusal);
    let record = PolicyRecord {
        context_trusted: true,
        blocked_tools: vec!["read_file"],
        block_mentions: Some(SYSTEM_FILES_REASON.into()),
        ..PolicyRecord::default()
    };
    policy::check_policy_record(&mut f, stack, &o, &record);

    let text = stack.prometheus();
    let samples = prom::parse(&text);
    let warden_lines: Vec<&str> = text.lines().filter(|l| l.contains("warden_")).take(8).collect();
    for provider in providers {
        let n = prom::sum(&samples, "warden_requests_total", &[("provider", provider)]);
        f.check(n >= 1.0, || {
            format!("{label}: no warden_requests_total{{provider=\"{provider}\"}} in /stats/prometheus; it has {warden_lines:#?}")
        });
    }
    let blocked = prom::sum(&samples, "warden_blocked_tool_calls_total", &[("tool", "read_file")]);
    f.check(blocked >= 1.0, || format!("{label}: no warden_blocked_tool_calls_total{{tool=\"read_file\"}}"));
    f
}
