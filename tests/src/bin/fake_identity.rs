//! Runs the fake identity endpoints (Google metadata server, Entra authority over HTTPS with a
//! test CA, AWS container credentials) for tests outside Rust — the Python SDK suite — until
//! SIGTERM/SIGINT or stdin closes.
//!
//! `fake_identity DIR`: writes the test CA to `DIR/test-ca.pem`, then `DIR/ready.json`:
//! `{"sidecar_env": [[name, value], …], "sidecar_config": {…}}` — the environment and the
//! `credentials` block a `warden-sidecar` needs to mint Vertex, Entra and AWS credentials from
//! these fakes (the shape of `StackOptions.sidecar_env` / `.sidecar`). Every second it rewrites
//! `DIR/issued.json`, `{"google": n, "entra": n, "aws": n}`: the credentials each fake has issued
//! (what the benchmark reports as token fetches).

use serde_json::json;
use warden_e2e::fake_identity::aws::{self, Aws};
use warden_e2e::fake_identity::entra::{self, Entra};
use warden_e2e::fake_identity::google::Google;

fn main() {
    let Some(dir) = std::env::args().nth(1).map(std::path::PathBuf::from) else {
        exit("usage: fake_identity DIR");
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| exit(&e.to_string()));
    runtime.block_on(async {
        let (google, entra, aws) = (Google::start().await, Entra::start().await, Aws::start().await);
        let ca = dir.join("test-ca.pem");
        entra.ca.write_ca(&ca);
        let env = [
            ("GCE_METADATA_HOST", google.metadata_host()),
            ("AZURE_TENANT_ID", entra::TENANT_ID.to_string()),
            ("AZURE_CLIENT_ID", entra::CLIENT_ID.to_string()),
            ("AZURE_CLIENT_SECRET", entra::CLIENT_SECRET.to_string()),
            ("AZURE_AUTHORITY_HOST", entra.authority_host()),
            ("SSL_CERT_FILE", ca.display().to_string()),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", aws.container_uri()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", aws::CONTAINER_TOKEN.to_string()),
        ];
        let ready = json!({
            "sidecar_env": env.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "sidecar_config": {"credentials": {"gcp": {}, "azure": {}, "aws": {"region": "us-east-1"}}},
        });
        let path = dir.join("ready.json");
        let tmp = dir.join("ready.json.tmp");
        // Write then rename, so a reader polling for the file never sees half of it.
        if std::fs::write(&tmp, ready.to_string()).and_then(|()| std::fs::rename(&tmp, &path)).is_err() {
            exit(&format!("cannot write {}", path.display()));
        }
        let (g, e, a) = (google.server.control.clone(), entra.server.control.clone(), aws.server.control.clone());
        let counts = dir.join("issued.json");
        tokio::spawn(async move {
            loop {
                let issued = json!({"google": g.issued(), "entra": e.issued(), "aws": a.issued()}).to_string();
                let tmp = counts.with_extension("json.tmp");
                let _ = std::fs::write(&tmp, issued).and_then(|()| std::fs::rename(&tmp, &counts));
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        // The parent closing stdin (or dying) ends the fakes too.
        std::thread::spawn(|| {
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
            std::process::exit(0);
        });
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            exit("cannot install signal handlers");
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        drop((google, entra, aws));
    });
}

fn exit(message: &str) -> ! {
    eprintln!("fake_identity: {message}");
    std::process::exit(2)
}
