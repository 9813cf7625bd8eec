//! The real binary keeping cost-limit counters (`warden.v1.Limits`) in a real `redis-server` of
//! the test's own: reads and adds, TTLs, exact sums under concurrent adds, Redis going away
//! (UNAVAILABLE, naming Redis and never its password) and coming back (works again, no restart).

use crate::common;

use common::{eventually, metric, start};
use serde_json::json;
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use warden_e2e::redis::RedisServer;
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::limits_client::LimitsClient;
use warden_proto::v1::{CounterAdd, CounterIncrement, CounterRead};

const PASSWORD: &str = "redis-test-password-0123456789";

async fn client(sidecar: &Sidecar) -> LimitsClient<Channel> {
    LimitsClient::connect(sidecar.grpc_url()).await.expect("connect to the sidecar")
}

fn with_redis(url: String) -> Sidecar {
    start(json!({"redis": {"url": url}}), &[])
}

async fn read(c: &mut LimitsClient<Channel>, keys: &[&str]) -> Result<Vec<u64>, tonic::Status> {
    let keys = keys.iter().map(|k| k.to_string()).collect();
    c.read(CounterRead { keys }).await.map(|r| r.into_inner().micro_usd)
}

async fn add(c: &mut LimitsClient<Channel>, increments: &[(&str, u64)]) -> Result<Vec<u64>, tonic::Status> {
    let increments = increments
        .iter()
        .map(|(key, micro_usd)| CounterIncrement { key: key.to_string(), micro_usd: *micro_usd, ttl_secs: 3_600 })
        .collect();
    c.add(CounterAdd { increments }).await.map(|r| r.into_inner().micro_usd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_counters_read_as_zero_and_an_add_returns_the_new_values() {
    let redis = RedisServer::start();
    let sidecar = with_redis(redis.url());
    let mut c = client(&sidecar).await;
    let (a, b) = ("warden:limit:team-a:profile:team-a:1d:all:5", "warden:limit:team-a:user:u1:1h:all:3");
    assert_eq!(read(&mut c, &[a, b]).await.unwrap(), [0, 0]);
    assert_eq!(add(&mut c, &[(a, 5), (b, 7), (a, 3)]).await.unwrap(), [5, 7, 8], "in request order, running");
    assert_eq!(read(&mut c, &[a, "warden:limit:never-written", b]).await.unwrap(), [8, 0, 7]);
    assert_eq!(read(&mut c, &[]).await.unwrap(), Vec::<u64>::new());
    assert_eq!(metric(&sidecar, "warden_sidecar_limits_ops_total{op=\"add\",result=\"ok\"}"), 1.0);
    // The empty read never reaches Redis, so it is not an operation.
    assert_eq!(metric(&sidecar, "warden_sidecar_limits_ops_total{op=\"read\",result=\"ok\"}"), 2.0);
    assert!(metric(&sidecar, "warden_sidecar_limits_op_duration_seconds_count{op=\"read\"}") >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_add_sets_the_ttl_the_increment_asks_for() {
    let redis = RedisServer::start();
    let sidecar = with_redis(redis.url());
    let mut c = client(&sidecar).await;
    let key = "warden:limit:p:profile:p:calendar_day:all:0";
    let inc = |ttl_secs| CounterAdd { increments: vec![CounterIncrement { key: key.into(), micro_usd: 10, ttl_secs }] };
    c.add(inc(90_000)).await.unwrap();
    let ttl = |reply: String| reply.trim().trim_start_matches(':').parse::<i64>().unwrap();
    let first = ttl(redis.command(&format!("TTL {key}")));
    assert!((89_990..=90_000).contains(&first), "TTL {first}");
    // A later add moves the expiry to what that add asks for.
    c.add(inc(120)).await.unwrap();
    let second = ttl(redis.command(&format!("TTL {key}")));
    assert!((110..=120).contains(&second), "TTL {second}");
    assert_eq!(redis.command(&format!("GET {key}")).lines().nth(1), Some("20"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_from_many_tasks_and_connections_sum_exactly() {
    let redis = RedisServer::start();
    let sidecar = with_redis(redis.url());
    // Four connections, as four Envoys would hold, 32 tasks, 40 adds each to two shared keys.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(client(&sidecar).await);
    }
    let (a, b) = ("warden:limit:shared:a", "warden:limit:shared:b");
    let mut tasks = Vec::new();
    for t in 0..32u64 {
        let mut c = clients[(t % 4) as usize].clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40u64 {
                add(&mut c, &[(a, t * 1_000 + i), (b, 1)]).await.expect("add");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let expected_a: u64 = (0..32u64).flat_map(|t| (0..40u64).map(move |i| t * 1_000 + i)).sum();
    assert_eq!(read(&mut clients[0], &[a, b]).await.unwrap(), [expected_a, 32 * 40]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_unavailable_naming_redis_and_its_return_needs_no_restart() {
    let mut redis = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let sidecar = with_redis(format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port()));
    let mut c = client(&sidecar).await;
    let key = "warden:limit:p:profile:p:1d:all:1";
    assert_eq!(add(&mut c, &[(key, 42)]).await.unwrap(), [42]);

    redis.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let status = read(&mut c, &[key]).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert!(status.message().starts_with("redis: "), "{}", status.message());
        assert!(status.message().contains(&format!("127.0.0.1:{}", redis.port())), "{}", status.message());
        assert!(started.elapsed() < Duration::from_secs(3), "the request path waited {:?}", started.elapsed());
        common::assert_no_secret(&sidecar, &status, &[PASSWORD]);
    }
    let status = add(&mut c, &[(key, 1)]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(metric(&sidecar, "warden_sidecar_limits_ops_total{op=\"read\",result=\"unavailable\"}") >= 3.0);

    // Back (empty: the test server keeps nothing): the same sidecar and connection work again.
    redis.restart();
    let works = || {
        let mut c = c.clone();
        async move { add(&mut c, &[(key, 5)]).await.is_ok() }
    };
    assert!(eventually(Duration::from_secs(10), works).await, "no recovery after Redis came back");
    assert!(read(&mut c, &[key]).await.unwrap()[0] >= 5);
    assert!(!sidecar.stderr().contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_started_while_redis_is_down_serves_once_it_is_up() {
    let mut redis = RedisServer::start();
    redis.stop();
    let sidecar = with_redis(redis.url());
    let mut c = client(&sidecar).await;
    let status = read(&mut c, &["warden:limit:x"]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    redis.restart();
    let works = || {
        let mut c = c.clone();
        async move { read(&mut c, &["warden:limit:x"]).await.is_ok_and(|v| v == [0]) }
    };
    assert!(eventually(Duration::from_secs(10), works).await, "never connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_invalid_argument_and_no_redis_configured_is_failed_precondition() {
    let redis = RedisServer::start();
    let sidecar = with_redis(redis.url());
    let mut c = client(&sidecar).await;
    let status = read(&mut c, &["session:abc"]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "keys outside warden: are refused");
    let no_ttl =
        CounterAdd { increments: vec![CounterIncrement { key: "warden:limit:k".into(), micro_usd: 1, ttl_secs: 0 }] };
    assert_eq!(c.add(no_ttl).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    assert_eq!(redis.command("EXISTS warden:limit:k").trim(), ":0", "nothing was written");

    // A counter that does not hold an integer is an error, never a silent zero.
    redis.command("SET warden:limit:odd not-a-number");
    let status = read(&mut c, &["warden:limit:odd"]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");

    let bare = start(json!({}), &[]);
    let status = read(&mut client(&bare).await, &["warden:limit:k"]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(status.message(), "redis: not configured in the sidecar (add redis.url to its configuration)");
}
