//! Metric ids are defined once per name and VM and cached: `define_metric` is a host call and
//! label-encoded names repeat on every request. The cache is keyed by the encoded labels and the
//! metric's name apart, so a request looks its metrics up without building their names. The agent and execution registries' per-VM
//! memory lives here too.

use super::shared_store::SharedDataStore;
use crate::exchange::Exchange;
use crate::meter::agents::{AgentLabels, Executions, Sighting};
use crate::meter::metrics::{Kind, Labels, Update};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;

thread_local! {
    /// Metric ids by encoded labels, then metric name; defined once per VM. Bounded by the names
    /// Envoy keeps anyway: `define_metric` gives a new id (and keeps another entry) for a name
    /// defined again, so ids are never forgotten.
    static IDS: RefCell<Ids> = RefCell::new(Ids::default());
    /// This VM's memory of the Envoy-wide agent and execution registries (`meter::agents`).
    static SEEN: RefCell<(AgentLabels, Executions)> = RefCell::new(Default::default());
    /// The memory size the gauge last got.
    static RECORDED_MEMORY: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The request's agent label and whether its execution is new, from shared data (one store for
/// every worker of this Envoy) behind this VM's memory.
pub fn sighting(exchange: &Exchange) -> Sighting {
    SEEN.with(|seen| match seen.try_borrow_mut() {
        Ok(mut seen) => {
            let (agents, executions) = &mut *seen;
            exchange.sighting(agents, executions, &SharedDataStore)
        }
        Err(_) => Sighting::default(),
    })
}

/// Metric ids by encoded labels, then by metric name. A request's updates share a few label
/// sets: each set is looked up once per request (by its text), each metric then by its name.
#[derive(Default)]
struct Ids {
    labels: crate::cache::FastMap<Box<str>, usize>,
    by_name: Vec<crate::cache::FastMap<&'static str, u32>>,
}

impl Ids {
    /// Where the ids of metrics with `labels` are.
    fn labels_at(&mut self, labels: &str) -> usize {
        if let Some(at) = self.labels.get(labels) {
            return *at;
        }
        let at = self.by_name.len();
        self.by_name.push(crate::cache::fast_map());
        self.labels.insert(Box::from(labels), at);
        at
    }

    /// The id of `metric` with the labels at `at`, defined in Envoy the first time.
    fn id(&mut self, at: usize, labels: &Labels, metric: &'static str, metric_type: MetricType) -> Option<u32> {
        let by_name = self.by_name.get_mut(at)?;
        if let Some(id) = by_name.get(metric) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(metric_type, &labels.name(metric)).ok()?;
        by_name.insert(metric, id);
        Some(id)
    }
}

/// Records the VM's linear memory size when it changed. Wasm memory only grows, so the gauge is
/// also the peak.
pub fn record_memory() {
    let bytes = (core::arch::wasm32::memory_size(0) as u64).saturating_mul(65_536);
    if RECORDED_MEMORY.with(|recorded| recorded.replace(bytes)) == bytes {
        return;
    }
    let labels = Labels::new(&[]);
    let id = IDS.with(|ids| {
        let mut ids = ids.try_borrow_mut().ok()?;
        let at = ids.labels_at(labels.as_str());
        ids.id(at, &labels, "warden_vm_memory_bytes", MetricType::Gauge)
    });
    if let Some(id) = id {
        let _ = hostcalls::record_metric(id, bytes);
    }
}

pub fn apply(updates: &[Update]) {
    IDS.with(|ids| {
        let Ok(mut ids) = ids.try_borrow_mut() else { return };
        // The label sets of these updates already looked up (most updates share one).
        let mut resolved: Vec<(&Labels, usize)> = Vec::new();
        for u in updates {
            let at = match resolved.iter().find(|(labels, _)| labels.same(&u.labels)) {
                Some((_, at)) => *at,
                None => {
                    let at = ids.labels_at(u.labels.as_str());
                    resolved.push((&u.labels, at));
                    at
                }
            };
            let metric_type = match u.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Histogram => MetricType::Histogram,
            };
            let Some(id) = ids.id(at, &u.labels, u.metric, metric_type) else { continue };
            let _ = match u.kind {
                Kind::Counter => hostcalls::increment_metric(id, i64::try_from(u.value).unwrap_or(i64::MAX)),
                Kind::Histogram => hostcalls::record_metric(id, u.value),
            };
        }
    });
}
