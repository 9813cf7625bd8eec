//! One test stack: the mock provider, optionally the sidecar, and a real Envoy (with or without
//! the warden module), each on ports of its own, torn down on drop (also when a test panics).

use crate::client;
use crate::sidecar::{self, Sidecar};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The repository root (the harness crate is `<repo>/tests`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The venv holding Envoy and the SDKs: `WARDEN_VENV`, default `<repo>/.venv`.
pub fn venv() -> PathBuf {
    std::env::var_os("WARDEN_VENV").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv"))
}

/// The filter module: `WARDEN_WASM`, default `<repo>/dist/warden.wasm`.
pub fn wasm_path() -> PathBuf {
    std::env::var_os("WARDEN_WASM").map(PathBuf::from).unwrap_or_else(|| repo_root().join("dist/warden.wasm"))
}

/// The plugin config the e2e tests use unless they say otherwise.
pub fn test_plugin_config() -> Value {
    json!({"default_profile": "default", "profiles": {"default": {}, "team-a": {}}})
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StackOptions {
    pub plugin_config: Value,
    /// Envoy worker threads.
    pub concurrency: u32,
    /// Written into the plugin config (unless it sets its own) and sizes Envoy's buffers.
    pub max_body_bytes: Option<usize>,
    /// Load the warden module; false renders the template without it (routing by the
    /// `x-warden-upstream` header the test sends itself).
    pub wasm: bool,
    pub wasm_path: Option<PathBuf>,
    pub template: Option<PathBuf>,
    pub mock_binary: Option<PathBuf>,
    /// Envoy's log level (`--log-level`).
    pub log_level: String,
    /// Fixed ports (0 = pick free ones): the demo uses 10000 / 9901 like envoy/envoy.yaml.
    pub listen_port: u16,
    pub admin_port: u16,
    pub mock_port: u16,
    /// PEM certificate and key: adds an HTTPS listener with the same filters and routes.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_port: u16,
    /// Run `warden-sidecar` with this configuration (its YAML as JSON; `listen` and
    /// `admin_listen` are filled in with free ports) and add the `warden_sidecar` cluster.
    pub sidecar: Option<Value>,
    /// The sidecar's whole environment besides `PATH`, `HOME` and the safety defaults of
    /// [`crate::sidecar`] (identity endpoints are configured through the standard variables).
    pub sidecar_env: Vec<(String, String)>,
    /// Default: [`crate::sidecar::binary`].
    pub sidecar_binary: Option<PathBuf>,
    /// The gRPC port of a sidecar the test runs itself (e.g. one shared by two stacks): adds the
    /// `warden_sidecar` cluster for it; ignored when `sidecar` starts the stack's own.
    pub sidecar_port: u16,
    /// A JWKS (JSON text): puts Envoy's `jwt_authn` in front of Warden, trusting these keys for
    /// tokens in `x-warden-identity` (issuer `https://idp.warden.test`, audience `warden`).
    pub jwks: Option<String>,
    /// Port of an OTLP/gRPC trace receiver: Envoy traces every request and exports its spans
    /// there, with Warden's `gen_ai.*` attributes (0 = no tracing).
    pub otlp_port: u16,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            plugin_config: test_plugin_config(),
            concurrency: 1,
            max_body_bytes: None,
            wasm: true,
            wasm_path: None,
            template: None,
            mock_binary: None,
            log_level: "warning".into(),
            listen_port: 0,
            admin_port: 0,
            mock_port: 0,
            tls_cert: None,
            tls_key: None,
            tls_port: 0,
            sidecar: None,
            sidecar_env: Vec::new(),
            sidecar_binary: None,
            sidecar_port: 0,
            jwks: None,
            otlp_port: 0,
        }
    }
}

pub struct Stack {
    wasm: bool,
    pub envoy_port: u16,
    /// The HTTPS listener's port, 0 without one.
    pub tls_port: u16,
    pub admin_port: u16,
    pub mock_port: u16,
    dir: PathBuf,
    envoy: Child,
    mock: Child,
    sidecar: Option<Sidecar>,
}

/// The listener a rendered Istio configuration serves Warden on (Istio names listeners by address;
/// examples/istio gives Warden port 10000 in the apps' proxies and on the egress gateway).
pub const ISTIO_LISTENER: &str = "0.0.0.0_10000";

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

fn fail(what: &str) -> ! {
    panic!("warden e2e stack: {what}")
}

/// The mock binary: given, else beside the current executable or one level up (integration
/// tests run from `target/<profile>/deps/`).
fn mock_binary(given: Option<&Path>) -> PathBuf {
    if let Some(p) = given {
        return p.to_path_buf();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = format!("mock_provider{}", std::env::consts::EXE_SUFFIX);
    [dir.join(&name), dir.join("..").join(&name)].into_iter().find(|p| p.exists()).unwrap_or_else(|| {
        fail(&format!("mock_provider binary not found next to {}; run `cargo build -p warden-e2e`", exe.display()))
    })
}

fn start_mock(binary: &Path, port: u16) -> (Child, u16) {
    let mut child = Command::new(binary)
        .args([port.to_string().as_str(), "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", binary.display())));
    let stdout = child.stdout.take().unwrap_or_else(|| fail("mock stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let port = line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok());
    match port {
        Some(p) => (child, p),
        None => {
            let _ = child.kill();
            fail(&format!("mock provider did not report its port (got {line:?})"))
        }
    }
}

/// A fresh temp directory for one stack, and the stack's sequence number.
pub(crate) fn new_dir() -> (PathBuf, u32) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("warden-e2e-{}-{id}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("temp dir {}: {e}", dir.display())));
    (dir, id)
}

/// Starts the mock provider (`binary`, else the one beside the test) on a free port.
pub(crate) fn start_default_mock(binary: Option<&Path>) -> (Child, u16) {
    start_mock(&mock_binary(binary), 0)
}

/// What runs before Envoy: its directory, the mock and the sidecar.
pub(crate) struct Parts {
    pub dir: PathBuf,
    pub id: u32,
    pub mock: Child,
    pub mock_port: u16,
    pub sidecar: Option<Sidecar>,
}

/// Renders `{{NAME}}` placeholders and keeps a `# BEGIN X` … `# END X` block only if `X` is in
/// `blocks` (`WASM`, `TLS`, `SIDECAR`, `JWT`, `TRACING`).
pub fn render(template: &str, vars: &[(&str, String)], blocks: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut skipping = false;
    for line in template.lines() {
        let marker = line.trim();
        if let Some(name) = marker.strip_prefix("# BEGIN ") {
            skipping = !blocks.contains(&name);
            continue;
        }
        if marker.starts_with("# END ") {
            skipping = false;
            continue;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

impl Stack {
    pub fn start(options: StackOptions) -> Stack {
        let envoy_bin = venv().join("bin/envoy");
        if !envoy_bin.exists() {
            fail(&format!("no Envoy at {} (set WARDEN_VENV or run `make setup`)", envoy_bin.display()));
        }
        let wasm = options.wasm_path.clone().unwrap_or_else(wasm_path);
        if options.wasm && !wasm.exists() {
            fail(&format!("no filter module at {} (run `make wasm` or set WARDEN_WASM)", wasm.display()));
        }
        let (dir, id) = new_dir();
        let (mock, mock_port) = start_mock(&mock_binary(options.mock_binary.as_deref()), options.mock_port);
        let sidecar = options.sidecar.as_ref().map(|config| {
            let binary = options.sidecar_binary.clone().unwrap_or_else(sidecar::binary);
            Sidecar::start(&binary, config, &options.sidecar_env)
        });

        let mut plugin_config = options.plugin_config.clone();
        let max_body = options.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if let (Some(limit), Some(obj)) = (options.max_body_bytes, plugin_config.as_object_mut()) {
            obj.entry("max_body_bytes").or_insert(json!(limit));
        }
        let template_path = options.template.clone().unwrap_or_else(|| repo_root().join("envoy/envoy.template.yaml"));
        let template = std::fs::read_to_string(&template_path)
            .unwrap_or_else(|e| fail(&format!("template {}: {e}", template_path.display())));
        let access_log = dir.join("access.log");
        // A JSON string literal is a valid YAML double-quoted scalar.
        let plugin_literal = serde_json::to_string(&plugin_config.to_string()).unwrap_or_default();
        let mut blocks = Vec::new();
        if options.wasm {
            blocks.push("WASM");
        }
        if options.tls_cert.is_some() && options.tls_key.is_some() {
            blocks.push("TLS");
        }
        let sidecar_port = sidecar.as_ref().map_or(options.sidecar_port, |s| s.grpc.port());
        if sidecar_port != 0 {
            blocks.push("SIDECAR");
        }
        if options.jwks.is_some() {
            blocks.push("JWT");
        }
        if options.otlp_port != 0 {
            blocks.push("TRACING");
        }
        let config = render(
            &template,
            &[
                ("ADMIN_PORT", options.admin_port.to_string()),
                ("LISTEN_PORT", options.listen_port.to_string()),
                ("BUFFER_LIMIT", (max_body + 1024 * 1024).to_string()),
                ("WASM", wasm.display().to_string()),
                ("PLUGIN_CONFIG", plugin_literal),
                ("MOCK_PORT", mock_port.to_string()),
                ("ACCESS_LOG", access_log.display().to_string()),
                ("TLS_PORT", options.tls_port.to_string()),
                ("TLS_CERT", options.tls_cert.as_deref().unwrap_or(Path::new("")).display().to_string()),
                ("TLS_KEY", options.tls_key.as_deref().unwrap_or(Path::new("")).display().to_string()),
                ("SIDECAR_PORT", sidecar_port.to_string()),
                ("OTLP_PORT", options.otlp_port.to_string()),
                ("JWKS", serde_json::to_string(options.jwks.as_deref().unwrap_or("")).unwrap_or_default()),
            ],
            &blocks,
        );
        let tls = options.tls_cert.is_some() && options.tls_key.is_some();
        let parts = Parts { dir, id, mock, mock_port, sidecar };
        Stack::launch(parts, &config, options.wasm, tls, options.concurrency, &options.log_level)
    }

    /// Starts Envoy on a finished configuration (`config`, YAML or JSON) with the mock and sidecar
    /// already running, and waits until its listener `warden` (or `plain`) is up.
    pub(crate) fn launch(
        parts: Parts,
        config: &str,
        wasm: bool,
        tls: bool,
        concurrency: u32,
        log_level: &str,
    ) -> Stack {
        let Parts { dir, id, mock, mock_port, sidecar } = parts;
        let envoy_bin = venv().join("bin/envoy");
        let access_log = dir.join("access.log");
        let config_path = dir.join("envoy.yaml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| fail(&format!("write config: {e}")));
        std::fs::write(&access_log, b"").unwrap_or_else(|e| fail(&format!("access log: {e}")));

        let admin_file = dir.join("admin.address");
        let envoy_log =
            std::fs::File::create(dir.join("envoy.log")).unwrap_or_else(|e| fail(&format!("envoy log: {e}")));
        // Unique per process and stack so parallel stacks never share hot-restart state.
        let base_id = (std::process::id() % 100_000) * 100 + id % 100;
        let envoy = Command::new(&envoy_bin)
            .arg("-c")
            .arg(&config_path)
            .args(["--concurrency", &concurrency.max(1).to_string()])
            .args(["--base-id", &base_id.to_string()])
            .arg("--disable-hot-restart")
            .args(["--file-flush-interval-msec", "20"])
            .args(["--log-level", log_level])
            .arg("--admin-address-path")
            .arg(&admin_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(envoy_log)
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", envoy_bin.display())));
        let mut stack = Stack { wasm, envoy_port: 0, tls_port: 0, admin_port: 0, mock_port, dir, envoy, mock, sidecar };
        stack.wait_ready(tls);
        stack
    }

    /// Waits for the admin address file, `/ready`, and the listeners' real ports.
    fn wait_ready(&mut self, tls: bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.envoy.try_wait() {
                fail(&format!("Envoy exited ({status}) during startup:\n{}", self.envoy_log()));
            }
            if self.admin_port == 0 {
                let addr = std::fs::read_to_string(self.dir.join("admin.address")).unwrap_or_default();
                self.admin_port = addr.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
            }
            if self.admin_port != 0 {
                let ready = client::send("GET", &self.admin_url("/ready"), &[], b"");
                if ready.map(|r| r.status == 200).unwrap_or(false) {
                    let listeners = client::get(&self.admin_url("/listeners?format=json"), &[]).json();
                    let port_of = |name: &str| {
                        listeners
                            .get("listener_statuses")
                            .and_then(Value::as_array)
                            .and_then(|all| all.iter().find(|l| l.get("name").and_then(Value::as_str) == Some(name)))
                            .and_then(|l| l.pointer("/local_address/socket_address/port_value"))
                            .and_then(Value::as_u64)
                            .and_then(|p| u16::try_from(p).ok())
                    };
                    // The plain baseline template names its listener differently.
                    let main = port_of("warden").or_else(|| port_of("plain")).or_else(|| port_of(ISTIO_LISTENER));
                    let https = port_of("warden_tls");
                    if let Some(port) = main {
                        if !tls || https.is_some() {
                            self.envoy_port = port;
                            self.tls_port = https.unwrap_or(0);
                            return;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        fail(&format!("Envoy not ready after 60 s:\n{}", self.envoy_log()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.envoy_port)
    }

    /// The HTTPS listener's URL (only with `tls_cert`/`tls_key`).
    pub fn https_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.tls_port)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    /// The sidecar's admin port (`/healthz`, `/metrics`); only with `StackOptions.sidecar`.
    pub fn sidecar_admin_url(&self, path: &str) -> String {
        match &self.sidecar {
            Some(s) => s.admin_url(path),
            None => fail("this stack runs no sidecar (set StackOptions.sidecar)"),
        }
    }

    /// The running sidecar, if the stack has one.
    pub fn sidecar(&self) -> Option<&Sidecar> {
        self.sidecar.as_ref()
    }

    /// The sidecar, to stop and restart it ([`Sidecar::stop`], [`Sidecar::restart`]: same ports,
    /// so Envoy's `warden_sidecar` cluster reaches it again).
    pub fn sidecar_mut(&mut self) -> &mut Sidecar {
        match &mut self.sidecar {
            Some(s) => s,
            None => fail("this stack runs no sidecar (set StackOptions.sidecar)"),
        }
    }

    pub fn mock_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.mock_port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every request the mock received since the last clear, oldest first.
    pub fn mock_requests(&self) -> Vec<Value> {
        match client::get(&self.mock_url("/__mock/requests"), &[]).json() {
            Value::Array(items) => items,
            _ => Vec::new(),
        }
    }

    pub fn clear_mock(&self) {
        client::send("DELETE", &self.mock_url("/__mock/requests"), &[], b"").unwrap_or_else(|e| fail(&e));
    }

    /// The bytes the mock sent for the last provider request.
    pub fn mock_last_response(&self) -> Vec<u8> {
        client::get(&self.mock_url("/__mock/last_response"), &[]).body
    }

    /// Access log lines so far, each a JSON object; the `warden` record is parsed from its string.
    pub fn access_log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        text.lines().filter(|l| !l.trim().is_empty()).map(parse_log_line).collect()
    }

    /// Waits (briefly: logs are flushed asynchronously) until at least `count` lines are there.
    pub fn wait_access_log(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.access_log();
            if lines.len() >= count || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn prometheus(&self) -> String {
        client::get(&self.admin_url("/stats/prometheus"), &[]).text()
    }

    pub fn stats_json(&self) -> Value {
        client::get(&self.admin_url("/stats?format=json"), &[]).json()
    }

    /// Panics and traps of the filter that Envoy logged. A panic kills the worker's VM and every
    /// later request on it fails (DESIGN §4.4), so any of these fails the test that owns the stack.
    pub fn filter_crashes(&self) -> Vec<String> {
        self.envoy_log()
            .lines()
            .filter(|l| l.contains("[wasm]") && (l.contains("panicked at") || l.contains("failed: Uncaught")))
            .map(str::to_string)
            .collect()
    }

    pub fn envoy_log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.join("envoy.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }
}

/// Parses one access-log line. Envoy writes the filter-state string as a JSON string (or `null`
/// when the filter set none); the record inside is parsed so tests can index into it.
pub fn parse_log_line(line: &str) -> Value {
    let mut value: Value = serde_json::from_str(line).unwrap_or_else(|_| json!({"unparsed": line}));
    if let Some(Value::String(inner)) = value.get("warden") {
        if let Ok(record) = serde_json::from_str::<Value>(inner) {
            value["warden"] = record;
        }
    }
    value
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.envoy.kill();
        let _ = self.envoy.wait();
        let _ = self.mock.kill();
        let _ = self.mock.wait();
        let crashes = if self.wasm { self.filter_crashes() } else { Vec::new() };
        if std::env::var_os("WARDEN_E2E_KEEP").is_none() && crashes.is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if !crashes.is_empty() && !std::thread::panicking() {
            panic!(
                "the warden filter panicked or trapped ({} time(s)); Envoy log kept in {}:\n{}",
                crashes.len(),
                self.dir.display(),
                crashes.join("\n")
            );
        }
    }
}
