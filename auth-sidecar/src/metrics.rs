//! Prometheus metrics of the sidecar, served as text on the admin port (`GET /metrics`). Labels
//! carry the cloud, the Dual-LLM side, operation and outcome only, never a credential, a key or
//! its id, a prompt or a tool result.

use crate::credentials::Cloud;
use crate::dual_llm::client::Side;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CloudLabel {
    cloud: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FetchLabels {
    cloud: &'static str,
    /// `ok` or `error`.
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    /// `privileged` or `quarantined`.
    role: &'static str,
    /// What the reply was: `question`, `done`, `out_of_form`, `summary`, `empty_summary` for the
    /// privileged side, `answer` or `catch_all` for the quarantined one, `error` for either.
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// `warden_sidecar_dual_llm_*`: the Dual-LLM sanitiser (the filter's own `warden_dual_llm_*`
/// count results per request).
pub struct DualLlmMetrics {
    calls: Family<CallLabels, Counter>,
    cache_hits: Counter,
    failures: Family<ReasonLabel, Counter>,
    duration: Histogram,
}

impl DualLlmMetrics {
    fn register(registry: &mut Registry) -> DualLlmMetrics {
        let metrics = DualLlmMetrics {
            calls: Family::default(),
            cache_hits: Counter::default(),
            failures: Family::default(),
            // 1 ms … ~16 s.
            duration: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        };
        registry.register("calls", "Dual-LLM model calls, by role and result", metrics.calls.clone());
        registry.register(
            "cache_hits",
            "Sanitize calls answered without model calls (from the cache or by joining a running sanitisation)",
            metrics.cache_hits.clone(),
        );
        registry.register("failures", "Sanitize calls answered with an error, by reason", metrics.failures.clone());
        registry.register(
            "sanitize_duration_seconds",
            "Time each sanitisation the sidecar ran took (cache hits excluded), failed ones included",
            metrics.duration.clone(),
        );
        metrics
    }

    pub fn call(&self, side: Side, result: &'static str) {
        self.calls.get_or_create(&CallLabels { role: side.name(), result }).inc();
    }

    pub fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    pub fn failure(&self, reason: &'static str) {
        self.failures.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub fn sanitised(&self, took: Duration) {
        self.duration.observe(took.as_secs_f64());
    }
}

impl Default for DualLlmMetrics {
    /// Unregistered, for tests of code that reports to it.
    fn default() -> Self {
        DualLlmMetrics::register(&mut Registry::default())
    }
}

pub struct Metrics {
    registry: Registry,
    pub dual_llm: DualLlmMetrics,
    fetches: Family<FetchLabels, Counter>,
    failures: Family<CloudLabel, Counter>,
    cache_hits: Family<CloudLabel, Counter>,
    fetch_seconds: Family<CloudLabel, Histogram>,
    keys: KeyMetrics,
    limits: LimitMetrics,
}

fn fetch_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("warden_sidecar");
        let fetches = Family::<FetchLabels, Counter>::default();
        let failures = Family::<CloudLabel, Counter>::default();
        let cache_hits = Family::<CloudLabel, Counter>::default();
        let fetch_seconds = Family::<CloudLabel, Histogram>::new_with_constructor(fetch_histogram as fn() -> Histogram);
        registry.register(
            "token_fetches",
            "Credential fetches from a cloud's identity source, by cloud and result",
            fetches.clone(),
        );
        registry.register(
            "credential_failures",
            "Credentials.Get calls answered with an error, by cloud",
            failures.clone(),
        );
        registry.register("cache_hits", "Credentials.Get calls served from the cache, by cloud", cache_hits.clone());
        registry.register(
            "token_fetch_duration_seconds",
            "Time a credential fetch took, by cloud",
            fetch_seconds.clone(),
        );
        let dual_llm = DualLlmMetrics::register(registry.sub_registry_with_prefix("dual_llm"));
        let keys = KeyMetrics::register(&mut registry);
        let limits = LimitMetrics::register(&mut registry);
        Metrics { registry, dual_llm, fetches, failures, cache_hits, fetch_seconds, keys, limits }
    }
}

impl Metrics {
    pub fn fetch(&self, cloud: Cloud, ok: bool, took: Duration) {
        let result = if ok { "ok" } else { "error" };
        self.fetches.get_or_create(&FetchLabels { cloud: cloud.name(), result }).inc();
        self.fetch_seconds.get_or_create(&CloudLabel { cloud: cloud.name() }).observe(took.as_secs_f64());
    }

    pub fn failure(&self, cloud: Cloud) {
        self.failures.get_or_create(&CloudLabel { cloud: cloud.name() }).inc();
    }

    pub fn cache_hit(&self, cloud: Cloud) {
        self.cache_hits.get_or_create(&CloudLabel { cloud: cloud.name() }).inc();
    }

    /// One `Keys.Resolve` answered: `ok`, `unknown`, `expired`, `not_mapped`, or `error` (a bad
    /// request, keys not configured).
    pub fn key_resolve(&self, outcome: &'static str) {
        self.keys.resolves.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// A load of the keys file (at start or after a change) that succeeded or failed.
    pub fn keys_reload(&self, ok: bool) {
        if ok { &self.keys.reloads } else { &self.keys.reload_failures }.inc();
    }

    pub fn keys_loaded(&self, keys: usize, oauth_clients: usize) {
        for (kind, n) in [("key", keys), ("oauth_client", oauth_clients)] {
            self.keys.loaded.get_or_create(&KindLabel { kind }).set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// One `Limits` operation: `read` or `add`; `ok`, `unavailable` (Redis) or `error`.
    pub fn limits_op(&self, op: &'static str, result: &'static str, took: Duration) {
        self.limits.ops.get_or_create(&OpResultLabels { op, result }).inc();
        self.limits.op_seconds.get_or_create(&OpLabel { op }).observe(took.as_secs_f64());
    }

    /// The OpenMetrics text exposition (which Prometheus reads as its text format).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

// ---- virtual keys and cost-limit counters ----

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OpResultLabels {
    op: &'static str,
    result: &'static str,
}

struct KeyMetrics {
    resolves: Family<OutcomeLabel, Counter>,
    reloads: Counter,
    reload_failures: Counter,
    loaded: Family<KindLabel, Gauge>,
}

impl KeyMetrics {
    fn register(registry: &mut Registry) -> KeyMetrics {
        let m = KeyMetrics {
            resolves: Family::default(),
            reloads: Counter::default(),
            reload_failures: Counter::default(),
            loaded: Family::default(),
        };
        registry.register("key_resolves", "Keys.Resolve answers, by outcome", m.resolves.clone());
        registry.register(
            "keys_reloads",
            "Loads of the keys file that succeeded (the first included)",
            m.reloads.clone(),
        );
        registry.register(
            "keys_reload_failures",
            "Loads of the keys file that failed; the last good set stayed in force",
            m.reload_failures.clone(),
        );
        registry.register("keys_loaded", "Virtual keys and OAuth clients in force, by kind", m.loaded.clone());
        m
    }
}

struct LimitMetrics {
    ops: Family<OpResultLabels, Counter>,
    op_seconds: Family<OpLabel, Histogram>,
}

fn op_histogram() -> Histogram {
    // 100 µs … ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl LimitMetrics {
    fn register(registry: &mut Registry) -> LimitMetrics {
        let m = LimitMetrics {
            ops: Family::default(),
            op_seconds: Family::new_with_constructor(op_histogram as fn() -> Histogram),
        };
        registry.register("limits_ops", "Limits.Read and Limits.Add calls, by operation and result", m.ops.clone());
        registry.register(
            "limits_op_duration_seconds",
            "Time a Limits operation took against Redis, by operation",
            m.op_seconds.clone(),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_hits_failures_and_latency_are_exposed_by_cloud() {
        let m = Metrics::default();
        m.fetch(Cloud::Gcp, true, Duration::from_millis(3));
        m.fetch(Cloud::Gcp, false, Duration::from_millis(3));
        m.cache_hit(Cloud::Gcp);
        m.cache_hit(Cloud::Gcp);
        m.failure(Cloud::Aws);
        let text = m.render();
        for line in [
            "warden_sidecar_token_fetches_total{cloud=\"gcp\",result=\"ok\"} 1",
            "warden_sidecar_token_fetches_total{cloud=\"gcp\",result=\"error\"} 1",
            "warden_sidecar_cache_hits_total{cloud=\"gcp\"} 2",
            "warden_sidecar_credential_failures_total{cloud=\"aws\"} 1",
            "warden_sidecar_token_fetch_duration_seconds_count{cloud=\"gcp\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn dual_llm_calls_hits_failures_and_durations_are_exposed_under_their_own_prefix() {
        let m = Metrics::default();
        m.dual_llm.call(Side::Privileged, "question");
        m.dual_llm.call(Side::Quarantined, "catch_all");
        m.dual_llm.call(Side::Quarantined, "catch_all");
        m.dual_llm.cache_hit();
        m.dual_llm.failure("deadline");
        m.dual_llm.sanitised(Duration::from_millis(40));
        let text = m.render();
        for line in [
            "warden_sidecar_dual_llm_calls_total{role=\"privileged\",result=\"question\"} 1",
            "warden_sidecar_dual_llm_calls_total{role=\"quarantined\",result=\"catch_all\"} 2",
            "warden_sidecar_dual_llm_cache_hits_total 1",
            "warden_sidecar_dual_llm_failures_total{reason=\"deadline\"} 1",
            "warden_sidecar_dual_llm_sanitize_duration_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn key_resolves_reloads_and_limit_operations_are_exposed() {
        let m = Metrics::default();
        m.key_resolve("ok");
        m.key_resolve("not_mapped");
        m.keys_reload(true);
        m.keys_reload(false);
        m.keys_loaded(3, 1);
        m.limits_op("add", "ok", Duration::from_micros(300));
        m.limits_op("read", "unavailable", Duration::from_millis(2));
        let text = m.render();
        for line in [
            "warden_sidecar_key_resolves_total{outcome=\"ok\"} 1",
            "warden_sidecar_key_resolves_total{outcome=\"not_mapped\"} 1",
            "warden_sidecar_keys_reloads_total 1",
            "warden_sidecar_keys_reload_failures_total 1",
            "warden_sidecar_keys_loaded{kind=\"key\"} 3",
            "warden_sidecar_keys_loaded{kind=\"oauth_client\"} 1",
            "warden_sidecar_limits_ops_total{op=\"add\",result=\"ok\"} 1",
            "warden_sidecar_limits_ops_total{op=\"read\",result=\"unavailable\"} 1",
            "warden_sidecar_limits_op_duration_seconds_count{op=\"add\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }
}
