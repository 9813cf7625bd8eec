//! Runs the real `warden-sidecar` binary for a test: its configuration written to a temp dir, its
//! environment only what the test gives (plus safety defaults that keep the SDKs away from real
//! metadata addresses), its ports read from the `LISTENING` line, stopped on drop. Also a small
//! gRPC client for `warden.v1.Credentials/Get`.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use warden_proto::v1::credentials_client::CredentialsClient;
use warden_proto::v1::{Cloud, Credential, CredentialRequest};

/// Environment the sidecar gets unless the test sets the same variable: no test may reach a real
/// cloud metadata address (169.254.169.254, metadata.google.internal) by falling through a chain.
const SAFETY_ENV: &[(&str, &str)] = &[
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("GCE_METADATA_HOST", "127.0.0.1:1"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials"),
];

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The sidecar binary: `WARDEN_SIDECAR`, else `dist/warden-sidecar`, else the cargo target dir
/// beside the running test (`target/<profile>/warden-sidecar`).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("WARDEN_SIDECAR") {
        return PathBuf::from(p);
    }
    let name = format!("warden-sidecar{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let candidates = [dir.join(&name), dir.join("..").join(&name), crate::stack::repo_root().join("dist").join(&name)];
    candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| {
        panic!("warden-sidecar binary not found (looked at {candidates:?}); run `cargo build -p warden-sidecar` or `make sidecar`")
    })
}

pub struct Sidecar {
    child: Child,
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
    dir: PathBuf,
    /// What it was started with, so [`Sidecar::restart`] can start it again on the same ports.
    binary: PathBuf,
    config: Value,
    env: Vec<(String, String)>,
}

impl Sidecar {
    /// Starts `binary` with `config` (the YAML config as JSON; `listen`/`admin_listen` default to
    /// free ports) and exactly the environment `env` plus [`SAFETY_ENV`], `PATH` and a private
    /// `HOME`.
    pub fn start(binary: &Path, config: &Value, env: &[(String, String)]) -> Sidecar {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("warden-sidecar-{}-{id}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("sidecar temp dir");
        let mut config = config.clone();
        if let Some(obj) = config.as_object_mut() {
            obj.entry("listen").or_insert_with(|| Value::from("127.0.0.1:0"));
            obj.entry("admin_listen").or_insert_with(|| Value::from("127.0.0.1:0"));
        }
        let (child, grpc, admin) = spawn(binary, &config, env, &dir);
        Sidecar { child, grpc, admin, dir, binary: binary.to_path_buf(), config, env: env.to_vec() }
    }

    /// Stops the process (SIGKILL: a sidecar that crashed or was evicted, not a graceful exit).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the stopped sidecar again, same binary, configuration, environment and ports (the
    /// Envoy cluster keeps pointing at it); its stderr goes on in the same log file.
    pub fn restart(&mut self) {
        self.stop();
        let mut config = self.config.clone();
        if let Some(obj) = config.as_object_mut() {
            obj.insert("listen".into(), Value::from(self.grpc.to_string()));
            obj.insert("admin_listen".into(), Value::from(self.admin.to_string()));
        }
        let (child, grpc, admin) = spawn(&self.binary, &config, &self.env, &self.dir);
        self.child = child;
        assert_eq!((grpc, admin), (self.grpc, self.admin), "the sidecar came back on other ports");
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Everything the sidecar wrote to stderr so far (its logs).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `warden.v1.Credentials/Get` on a fresh connection.
    pub async fn get(&self, cloud: Cloud, scope: &str) -> Result<Credential, tonic::Status> {
        let mut client = CredentialsClient::connect(self.grpc_url())
            .await
            .map_err(|e| tonic::Status::unavailable(format!("cannot connect to the sidecar: {e}")))?;
        client.get(CredentialRequest { cloud: cloud as i32, scope: scope.to_string() }).await.map(|r| r.into_inner())
    }

    /// The sidecar's process id (for resource measurements).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Runs `binary serve` with `config` in `dir` and waits for its `LISTENING` line.
fn spawn(binary: &Path, config: &Value, env: &[(String, String)], dir: &Path) -> (Child, SocketAddr, SocketAddr) {
    // JSON is YAML.
    let config_path = dir.join("sidecar.yaml");
    std::fs::write(&config_path, config.to_string()).expect("write sidecar config");
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .expect("sidecar stderr file");

    let mut command = Command::new(binary);
    command.arg("serve").arg("--config").arg(&config_path).env_clear();
    command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("HOME", dir);
    for (k, v) in SAFETY_ENV {
        if !env.iter().any(|(name, _)| name == k) {
            command.env(k, v);
        }
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let stdout = child.stdout.take().expect("sidecar stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .and_then(|addr| addr.parse::<SocketAddr>().ok())
    };
    match (field("grpc"), field("admin")) {
        (Some(grpc), Some(admin)) => (child, grpc, admin),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            panic!("warden-sidecar did not report its ports (got {line:?}); stderr:\n{log}")
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("WARDEN_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
