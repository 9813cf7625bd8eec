//! Latency of the sidecar's `Keys.Resolve` and `Limits.Read`/`Add` at a fixed rate, for
//! BENCHMARKS numbers: starts a private `redis-server`, writes a keys file of `--keys` keys,
//! starts the given `warden-sidecar` binary with both, then for each call sends `--rps` calls per
//! second for `--seconds` on one HTTP/2 connection (as one Envoy worker would) and prints p50,
//! p99 and max. A Read asks for 24 counters (a `1d` sliding window), an Add two increments.
//!
//! `cargo run --release -p warden-e2e --bin keys_limits_load -- dist/warden-sidecar --rps 500 --seconds 20 --keys 1000`

use sha2::Digest;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use warden_e2e::redis::RedisServer;
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::keys_client::KeysClient;
use warden_proto::v1::limits_client::LimitsClient;
use warden_proto::v1::{resolve_request, CounterAdd, CounterIncrement, CounterRead, ResolveRequest};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends `make_call(n)` `rps` times a second for `seconds` and prints the latency of those that
/// succeeded.
async fn run<F, Fut>(name: &str, rps: u64, seconds: u64, make_call: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rps * seconds) as usize)));
    let errors = Arc::new(Mutex::new(0u64));
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rps.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..rps * seconds {
        ticker.tick().await;
        let call = make_call(n);
        let (latencies, errors) = (latencies.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = call.await;
            let us = t.elapsed().as_micros() as u64;
            if ok {
                latencies.lock().expect("latencies").push(us);
            } else {
                *errors.lock().expect("errors") += 1;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().expect("latencies").clone();
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "{name}: {} ok, {} errors in {elapsed:.1} s ({:.0}/s); p50 {} us, p99 {} us, max {} us",
        lat.len(),
        errors.lock().expect("errors"),
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or(0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args.get(1).cloned().unwrap_or_else(|| "dist/warden-sidecar".into());
    let rps: u64 = arg(&args, "--rps", 500);
    let seconds: u64 = arg(&args, "--seconds", 20);
    let key_count: u64 = arg(&args, "--keys", 1000);

    let redis = RedisServer::start();
    let dir = std::env::temp_dir().join(format!("keys-limits-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut yaml = String::from("keys:\n");
    for i in 0..key_count {
        yaml.push_str(&format!(
            "  - {{id: k{i}, key: wdn_load_{i}, providers: {{openai: {{api_key_env: OPENAI_API_KEY}}}}, limits: [{{usd: 5, window: 1d}}]}}\n"
        ));
    }
    let keys_file = dir.join("keys.yaml");
    std::fs::write(&keys_file, yaml).expect("keys file");
    let config = serde_json::json!({"keys": {"file": keys_file}, "redis": {"url": redis.url()}});
    let env = vec![("OPENAI_API_KEY".to_string(), "sk-load-test-key".to_string())];
    let sidecar = tokio::task::block_in_place(|| Sidecar::start(std::path::Path::new(&binary), &config, &env));
    let channel: Channel =
        tonic::transport::Endpoint::from_shared(sidecar.grpc_url()).expect("url").connect().await.expect("connect");
    println!("{key_count} keys, {rps} calls/s for {seconds} s per call, one HTTP/2 connection");

    let digests: Arc<Vec<Vec<u8>>> =
        Arc::new((0..key_count).map(|i| sha2::Sha256::digest(format!("wdn_load_{i}")).to_vec()).collect());
    let keys = KeysClient::new(channel.clone());
    // Warm the connection and the set.
    let warm = ResolveRequest {
        subject: Some(resolve_request::Subject::KeySha256(digests[0].clone())),
        provider: "openai".into(),
    };
    keys.clone().resolve(warm).await.expect("warm-up resolve");
    run("Keys.Resolve", rps, seconds, |n| {
        let (mut c, digests) = (keys.clone(), digests.clone());
        async move {
            let digest = digests[(n.wrapping_mul(7919) % digests.len() as u64) as usize].clone();
            let request = ResolveRequest {
                subject: Some(resolve_request::Subject::KeySha256(digest)),
                provider: "openai".into(),
            };
            c.resolve(request).await.is_ok_and(|r| r.into_inner().outcome == 1)
        }
    })
    .await;

    let limits = LimitsClient::new(channel);
    let bucket_keys: Arc<Vec<String>> =
        Arc::new((0..24).map(|slot| format!("warden:limit:default:profile:default:1d:all:{slot}")).collect());
    limits.clone().read(CounterRead { keys: bucket_keys.to_vec() }).await.expect("warm-up read");
    run("Limits.Read (24 keys)", rps, seconds, |_| {
        let (mut c, keys) = (limits.clone(), bucket_keys.clone());
        async move { c.read(CounterRead { keys: keys.to_vec() }).await.is_ok() }
    })
    .await;
    run("Limits.Add (2 increments)", rps, seconds, |n| {
        let mut c = limits.clone();
        async move {
            let increments = vec![
                CounterIncrement {
                    key: "warden:limit:default:profile:default:1d:all:0".into(),
                    micro_usd: 1_000,
                    ttl_secs: 90_000,
                },
                CounterIncrement {
                    key: format!("warden:limit:default:user:u{}:1h:all:0", n % 100),
                    micro_usd: 1_000,
                    ttl_secs: 7_200,
                },
            ];
            c.add(CounterAdd { increments }).await.is_ok()
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}
