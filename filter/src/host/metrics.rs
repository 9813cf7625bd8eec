//! Metric ids are defined once per name and VM and cached: `define_metric` is a host call and
//! label-encoded names repeat on every request.

use crate::meter::metrics::{Kind, Update};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static IDS: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
}

fn id(name: &str, kind: Kind) -> Option<u32> {
    IDS.with(|ids| {
        let mut ids = ids.try_borrow_mut().ok()?;
        if let Some(id) = ids.get(name) {
            return Some(*id);
        }
        let metric_type = match kind {
            Kind::Counter => MetricType::Counter,
            Kind::Histogram => MetricType::Histogram,
        };
        let id = hostcalls::define_metric(metric_type, name).ok()?;
        ids.insert(name.to_string(), id);
        Some(id)
    })
}

pub fn apply(updates: &[Update]) {
    for u in updates {
        let Some(id) = id(&u.name, u.kind) else { continue };
        let _ = match u.kind {
            Kind::Counter => hostcalls::increment_metric(id, i64::try_from(u.value).unwrap_or(i64::MAX)),
            Kind::Histogram => hostcalls::record_metric(id, u.value),
        };
    }
}
