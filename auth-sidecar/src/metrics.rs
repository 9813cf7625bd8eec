//! Prometheus metrics of the sidecar, served as text on the admin port (`GET /metrics`). Labels
//! carry the cloud, the Dual-LLM side and outcomes only, never a credential, a prompt or a tool
//! result.

use crate::credentials::Cloud;
use crate::dual_llm::client::Side;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
        Metrics { registry, dual_llm, fetches, failures, cache_hits, fetch_seconds }
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

    /// The OpenMetrics text exposition (which Prometheus reads as its text format).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
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
}
