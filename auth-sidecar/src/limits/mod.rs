//! Cost-limit counters in Redis (DESIGN §5.4, `limits_store: sidecar`), shared by every Envoy
//! that uses this Redis. The filter computes the counter keys and buckets; the sidecar reads them
//! (`MGET`, a missing key is 0) and adds to them (`INCRBY` + `EXPIRE` per key, all increments of
//! one call in one `MULTI`/`EXEC` round trip, so concurrent adds never lose one).
//!
//! The connection is made lazily and re-made by `redis`' connection manager after Redis goes
//! away, so the sidecar starts without Redis and recovers when it returns. Every operation has a
//! deadline: the filter waits on the request path.

pub mod grpc;

use crate::config;
use crate::error::LimitsError;
use crate::metrics::Metrics;
use crate::redact::Redactor;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// One command's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// The whole operation, reconnect attempts included: well under the filter's sidecar timeout.
const OP_DEADLINE: Duration = Duration::from_millis(1_000);

/// Keys the filter writes live under this prefix; nothing else in Redis can be touched through
/// the sidecar.
pub const KEY_PREFIX: &str = "warden:";
/// A request past these is not one the filter makes.
pub const MAX_KEYS: usize = 4_096;
pub const MAX_KEY_BYTES: usize = 1_024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid redis.url: {0}")]
pub struct SetupError(String);

/// One addition: micro-USD to a key, which then expires `ttl_secs` from now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub key: String,
    pub micro_usd: u64,
    pub ttl_secs: u64,
}

pub struct Counters {
    manager: ConnectionManager,
    /// `host:port`, for messages: never the URL, which may carry a password.
    address: String,
    redactor: Redactor,
    metrics: Arc<Metrics>,
    /// Whether the last operation reached Redis: it is logged when this changes, not once per
    /// failed request (hundreds a second while Redis is away).
    reachable: AtomicBool,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Read,
    Add,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Add => "add",
        }
    }
}

impl Counters {
    /// Prepares the client; no connection is made until the first operation. Must run inside
    /// the tokio runtime.
    pub fn new(config: &config::Redis, metrics: Arc<Metrics>) -> Result<Counters, SetupError> {
        // The parser's own message may quote the URL; say what is wrong in our words.
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| SetupError(format!("not a Redis URL ({:?})", e.kind())))?;
        let info = client.get_connection_info();
        let address = info.addr().to_string();
        let redactor = Redactor::with_secrets(
            [info.redis_settings().password(), info.redis_settings().username()]
                .into_iter()
                .flatten()
                .map(String::from),
        );
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // A request waits for a reconnect in progress; keep that short, the next request
            // starts another.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| SetupError(redactor.clean(&e.to_string())))?;
        tracing::info!(redis = %address, "cost-limit counters in redis");
        Ok(Counters { manager, address, redactor, metrics, reachable: AtomicBool::new(true) })
    }

    /// The counters' values in micro-USD, in the order of `keys`; 0 for a key that does not exist.
    pub async fn read(&self, keys: &[String]) -> Result<Vec<u64>, LimitsError> {
        check_keys(keys.iter().map(String::as_str))?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = redis::cmd("MGET");
        command.arg(keys);
        let mut conn = self.manager.clone();
        self.run(Op::Read, async move { command.query_async::<Vec<Option<i64>>>(&mut conn).await })
            .await
            .map(|values| values.into_iter().map(|v| clamp(v.unwrap_or(0))).collect())
    }

    /// Adds every increment atomically and returns the new values, in the order given.
    pub async fn add(&self, increments: &[Increment]) -> Result<Vec<u64>, LimitsError> {
        check_keys(increments.iter().map(|i| i.key.as_str()))?;
        if increments.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (n, inc) in increments.iter().enumerate() {
            let micro = i64::try_from(inc.micro_usd)
                .map_err(|_| LimitsError::BadRequest(format!("increments[{n}]: micro_usd is out of range")))?;
            // A counter without a TTL would stay in Redis for ever; EXPIRE 0 would delete it.
            let ttl = i64::try_from(inc.ttl_secs)
                .ok()
                .filter(|t| *t > 0)
                .ok_or_else(|| LimitsError::BadRequest(format!("increments[{n}]: ttl_secs must be at least 1")))?;
            pipe.incr(&inc.key, micro).expire(&inc.key, ttl).ignore();
        }
        let mut conn = self.manager.clone();
        self.run(Op::Add, async move { pipe.query_async::<Vec<i64>>(&mut conn).await })
            .await
            .map(|values| values.into_iter().map(clamp).collect())
    }

    async fn run<T>(
        &self,
        op: Op,
        command: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, LimitsError> {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(OP_DEADLINE, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.classify(&e)),
            Err(_) => Err(LimitsError::Unavailable {
                what: format!("no answer from {} within {} ms", self.address, OP_DEADLINE.as_millis()),
            }),
        };
        let result = match &outcome {
            Ok(_) => "ok",
            Err(LimitsError::Unavailable { .. }) => "unavailable",
            Err(_) => "error",
        };
        self.metrics.limits_op(op.name(), result, started.elapsed());
        match &outcome {
            Err(e @ LimitsError::Unavailable { .. }) => {
                if self.reachable.swap(false, Ordering::Relaxed) {
                    tracing::warn!(op = op.name(), error = %e, "redis unavailable: limit counters cannot be used");
                }
            }
            Err(e) => tracing::warn!(op = op.name(), error = %e, "limits counter operation failed"),
            Ok(_) => {
                if !self.reachable.swap(true, Ordering::Relaxed) {
                    tracing::info!(redis = %self.address, "redis reachable again");
                }
            }
        }
        outcome
    }

    /// Redis refused the data (a key that does not hold an integer, an overflow): an error of
    /// ours. Anything else — unreachable, timed out, loading, read-only, auth — means Redis
    /// cannot serve now, which `sidecar.on_failure` decides about.
    fn classify(&self, e: &redis::RedisError) -> LimitsError {
        use redis::{ErrorKind, ServerErrorKind};
        let text = self.redactor.clean(&e.to_string());
        match e.kind() {
            ErrorKind::Parse
            | ErrorKind::UnexpectedReturnType
            | ErrorKind::Server(ServerErrorKind::ResponseError | ServerErrorKind::ExecAbort) => {
                LimitsError::Failed { what: format!("{} refused the operation: {text}", self.address) }
            }
            _ => LimitsError::Unavailable { what: format!("cannot use {}: {text}", self.address) },
        }
    }
}

/// Counters only grow; a negative value (an operator's DECRBY) counts as nothing spent.
fn clamp(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn check_keys<'a>(keys: impl ExactSizeIterator<Item = &'a str>) -> Result<(), LimitsError> {
    if keys.len() > MAX_KEYS {
        return Err(LimitsError::BadRequest(format!("at most {MAX_KEYS} keys per call (got {})", keys.len())));
    }
    for (n, key) in keys.enumerate() {
        if key.len() > MAX_KEY_BYTES || !key.starts_with(KEY_PREFIX) || key.len() == KEY_PREFIX.len() {
            return Err(LimitsError::BadRequest(format!(
                "key {n}: counter keys start with {KEY_PREFIX:?} and are at most {MAX_KEY_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_outside_the_warden_prefix_or_too_many_are_refused() {
        assert!(check_keys(["warden:limit:a:1"].into_iter()).is_ok());
        let long = format!("warden:{}", "x".repeat(MAX_KEY_BYTES));
        for bad in ["", "warden:", "other:key", long.as_str()] {
            assert!(matches!(check_keys([bad].into_iter()), Err(LimitsError::BadRequest(_))), "{bad:?}");
        }
        let many = vec!["warden:k"; MAX_KEYS + 1];
        assert!(matches!(check_keys(many.into_iter()), Err(LimitsError::BadRequest(_))));
    }

    #[test]
    fn negative_counters_read_as_zero() {
        assert_eq!((clamp(-5), clamp(0), clamp(7)), (0, 0, 7));
    }

    #[tokio::test]
    async fn a_url_that_is_not_redis_is_a_setup_error_without_the_password() {
        let metrics = Arc::new(Metrics::default());
        let err = Counters::new(&config::Redis { url: "redis://user:hunter2-pass@host:notaport".into() }, metrics)
            .err()
            .expect("an invalid URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn an_increment_without_a_ttl_is_refused_before_redis_is_asked() {
        let metrics = Arc::new(Metrics::default());
        // Nothing listens on port 1: the request must fail on its arguments first.
        let counters = Counters::new(&config::Redis { url: "redis://127.0.0.1:1".into() }, metrics).unwrap();
        let err = counters.add(&[Increment { key: "warden:k".into(), micro_usd: 1, ttl_secs: 0 }]).await.unwrap_err();
        assert!(matches!(err, LimitsError::BadRequest(_)), "{err}");
        let err =
            counters.add(&[Increment { key: "warden:k".into(), micro_usd: u64::MAX, ttl_secs: 60 }]).await.unwrap_err();
        assert!(matches!(err, LimitsError::BadRequest(_)), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_unavailable_naming_its_address_only() {
        let metrics = Arc::new(Metrics::default());
        let counters =
            Counters::new(&config::Redis { url: "redis://:s3cret-password@127.0.0.1:1".into() }, metrics.clone())
                .unwrap();
        let err = counters.read(&["warden:k".into()]).await.unwrap_err();
        let LimitsError::Unavailable { what } = &err else { panic!("{err}") };
        assert!(what.contains("127.0.0.1:1") && !what.contains("s3cret"), "{what}");
        assert!(metrics.render().contains("warden_sidecar_limits_ops_total{op=\"read\",result=\"unavailable\"} 1"));
    }
}
