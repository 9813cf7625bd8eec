//! Load for the sidecar's Credentials service, for BENCHMARKS numbers: starts the fake identity
//! endpoints and the given `warden-sidecar` binary (GCP via the metadata server, Azure via a client
//! secret, AWS via container credentials), then sends `--rps` Credentials.Get calls per second
//! for `--seconds`, spread over the three clouds, on one HTTP/2 connection. Prints the sidecar's
//! RSS idle and under load, the latency of the calls, and the token fetches it made.
//!
//! `cargo run -p warden-e2e --bin sidecar_load -- dist/warden-sidecar --rps 1000 --seconds 60`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warden_e2e::fake_identity::{aws::Aws, entra::Entra, google::Google};
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::credentials_client::CredentialsClient;
use warden_proto::v1::{Cloud, CredentialRequest};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fetches(sidecar: &Sidecar) -> f64 {
    let text = warden_e2e::client::get(&sidecar.admin_url("/metrics"), &[]).text();
    text.lines()
        .filter(|l| l.starts_with("warden_sidecar_token_fetches_total{"))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args.get(1).cloned().unwrap_or_else(|| "dist/warden-sidecar".into());
    let rps: u64 = arg(&args, "--rps", 1000);
    let seconds: u64 = arg(&args, "--seconds", 60);

    let (google, entra, aws) = (Google::start().await, Entra::start().await, Aws::start().await);
    let dir = std::env::temp_dir().join(format!("sidecar-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca = dir.join("ca.pem");
    entra.ca.write_ca(&ca);
    let env: Vec<(String, String)> = [
        ("GCE_METADATA_HOST", google.metadata_host()),
        ("AZURE_TENANT_ID", warden_e2e::fake_identity::entra::TENANT_ID.into()),
        ("AZURE_CLIENT_ID", warden_e2e::fake_identity::entra::CLIENT_ID.into()),
        ("AZURE_CLIENT_SECRET", warden_e2e::fake_identity::entra::CLIENT_SECRET.into()),
        ("AZURE_AUTHORITY_HOST", entra.authority_host()),
        ("SSL_CERT_FILE", ca.display().to_string()),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", aws.container_uri()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", warden_e2e::fake_identity::aws::CONTAINER_TOKEN.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = serde_json::json!({"credentials": {"gcp": {}, "azure": {}, "aws": {"region": "us-east-1"}}});
    let sidecar = tokio::task::block_in_place(|| Sidecar::start(std::path::Path::new(&binary), &config, &env));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(sidecar.pid());

    let channel =
        tonic::transport::Endpoint::from_shared(sidecar.grpc_url()).expect("url").connect().await.expect("connect");
    let client = CredentialsClient::new(channel);
    let calls = [(Cloud::Gcp, ""), (Cloud::Azure, "https://cognitiveservices.azure.com/.default"), (Cloud::Aws, "")];
    // Warm: the first call per cloud fetches.
    for (cloud, scope) in calls {
        let mut c = client.clone();
        c.get(CredentialRequest { cloud: cloud as i32, scope: scope.into() }).await.expect("warm-up call");
    }
    let fetches_before = tokio::task::block_in_place(|| fetches(&sidecar));

    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rps * seconds) as usize)));
    let errors = Arc::new(Mutex::new(0u64));
    let mut peak = idle;
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rps.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0u64;
    let mut last_sample = Instant::now();
    while sent < rps * seconds {
        ticker.tick().await;
        let (cloud, scope) = calls[(sent % 3) as usize];
        let (mut c, latencies, errors) = (client.clone(), latencies.clone(), errors.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let ok = c.get(CredentialRequest { cloud: cloud as i32, scope: scope.into() }).await.is_ok();
            let us = t.elapsed().as_micros() as u64;
            if ok {
                latencies.lock().expect("latencies").push(us);
            } else {
                *errors.lock().expect("errors") += 1;
            }
        });
        sent += 1;
        if last_sample.elapsed() >= Duration::from_secs(1) {
            peak = peak.max(rss_kib(sidecar.pid()));
            last_sample = Instant::now();
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let loaded = rss_kib(sidecar.pid());
    let fetched = tokio::task::block_in_place(|| fetches(&sidecar)) - fetches_before;
    let mut lat = latencies.lock().expect("latencies").clone();
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "calls: {} ok, {} errors in {elapsed:.1} s ({:.0}/s)",
        lat.len(),
        errors.lock().expect("errors"),
        lat.len() as f64 / elapsed
    );
    println!("latency: p50 {} us, p99 {} us, max {} us", pct(0.50), pct(0.99), lat.last().copied().unwrap_or(0));
    println!("sidecar RSS: idle {} KiB, peak under load {} KiB, at end {} KiB", idle, peak.max(loaded), loaded);
    println!("token fetches during the run: {fetched} ({:.2} per minute)", fetched / elapsed * 60.0);
    println!(
        "identity endpoints issued: gcp {} azure {} aws {}",
        google.server.control.issued(),
        entra.server.control.issued(),
        aws.server.control.issued()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
