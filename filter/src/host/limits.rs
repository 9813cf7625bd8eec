//! `limits_store: sidecar`: cost-limit counters in the sidecar's Redis, shared by every Envoy that
//! shares the sidecar's Redis (DESIGN §5.4).
//!
//! A request reads its counters with one `warden.v1.Limits/Read` while it waits (http context). What
//! it cost is added after it is logged, with `warden.v1.Limits/Add` — from the root context, because
//! Envoy cancels an http context's gRPC calls when the request ends, which is right after `on_log`.
//! The http context hands its increments over through a proxy-wasm shared queue; the root context
//! that registered the queue drains it and sends one `Add` per drain.

use super::metrics;
use super::{log, sidecar};
use crate::config::SidecarSettings;
use crate::exchange::limits_not_recorded;
use crate::meter::limits::Increment;
use proxy_wasm::hostcalls;
use proxy_wasm::types::LogLevel;
use std::collections::HashMap;

/// Every worker's root context registers this name; Envoy keys queues by VM id and name, so they
/// all get the same queue, and its readiness goes to one root context.
const QUEUE: &str = "warden.limits.adds";

/// One request's increments, as queued.
#[derive(serde::Serialize, serde::Deserialize)]
struct Queued {
    profile: String,
    increments: Vec<Increment>,
}

/// Registers the queue; its id, or why there is none (then every add is counted as not recorded).
pub fn register() -> Result<u32, String> {
    hostcalls::register_shared_queue(QUEUE).map_err(|status| format!("{status:?}"))
}

/// Hands a logged request's increments to the root context. False when they could not be queued
/// (the caller counts the usage as not recorded).
pub fn enqueue(queue: Option<u32>, profile: &str, increments: Vec<Increment>) -> bool {
    let Some(queue) = queue else { return false };
    let Ok(bytes) = serde_json::to_vec(&Queued { profile: profile.to_owned(), increments }) else { return false };
    hostcalls::enqueue_shared_queue(queue, Some(&bytes)).is_ok()
}

/// Asks the sidecar for the micro-USD in `keys` (in their order).
pub fn dispatch_read(sidecar: &SidecarSettings, keys: Vec<String>) -> Result<u32, String> {
    sidecar::call(
        sidecar,
        warden_proto::LIMITS_SERVICE,
        warden_proto::LIMITS_READ,
        &warden_proto::v1::CounterRead { keys },
    )
}

/// The sidecar's answer to a read, by key; an answer that does not match the keys asked is no
/// answer.
pub fn read_reply(keys: Vec<String>, status_code: u32, response_size: usize) -> Result<HashMap<String, u64>, String> {
    let reply: warden_proto::v1::CounterValues = sidecar::answer(status_code, response_size)?;
    if reply.micro_usd.len() != keys.len() {
        return Err(format!("the sidecar read {} counters for {} keys", reply.micro_usd.len(), keys.len()));
    }
    Ok(keys.into_iter().zip(reply.micro_usd).collect())
}

/// The root context's side: drains the queue into `Limits/Add` calls and counts the adds that fail.
#[derive(Debug, Default)]
pub struct Adder {
    queue: Option<u32>,
    sidecar: SidecarSettings,
    /// gRPC call token → the profile of each request whose cost the call adds.
    in_flight: HashMap<u32, Vec<String>>,
}

impl Adder {
    pub fn new(queue: u32, sidecar: &SidecarSettings) -> Adder {
        Adder { queue: Some(queue), sidecar: sidecar.clone(), in_flight: HashMap::new() }
    }

    /// Everything queued so far goes to the sidecar in one call.
    pub fn drain(&mut self, queue: u32) {
        if self.queue != Some(queue) {
            return;
        }
        let mut profiles = Vec::new();
        let mut increments = Vec::new();
        while let Ok(Some(bytes)) = hostcalls::dequeue_shared_queue(queue) {
            match serde_json::from_slice::<Queued>(&bytes) {
                Ok(item) => {
                    increments.extend(item.increments.into_iter().map(|i| warden_proto::v1::CounterIncrement {
                        key: i.key,
                        micro_usd: i.micro_usd,
                        ttl_secs: i.ttl_secs,
                    }));
                    profiles.push(item.profile);
                }
                // Only this module writes the queue; an item it cannot read is still a lost add.
                Err(_) => profiles.push(String::new()),
            }
        }
        if increments.is_empty() {
            self.not_recorded(&profiles, "no readable increments");
            return;
        }
        let add = warden_proto::v1::CounterAdd { increments };
        match sidecar::call(&self.sidecar, warden_proto::LIMITS_SERVICE, warden_proto::LIMITS_ADD, &add) {
            Ok(token) => {
                self.in_flight.insert(token, profiles);
            }
            Err(detail) => self.not_recorded(&profiles, &detail),
        }
    }

    /// Takes the answer to one of this adder's calls; false when the call is not its own.
    pub fn answered(&mut self, token: u32, status_code: u32, response_size: usize) -> bool {
        let Some(profiles) = self.in_flight.remove(&token) else { return false };
        if let Err(detail) = sidecar::answer::<warden_proto::v1::CounterValues>(status_code, response_size) {
            self.not_recorded(&profiles, &detail);
        }
        true
    }

    fn not_recorded(&self, profiles: &[String], detail: &str) {
        if profiles.is_empty() {
            return;
        }
        log(
            LogLevel::Warn,
            &format!("warden: the cost of {} request(s) was not added to the limits: {detail}", profiles.len()),
        );
        let updates: Vec<_> = profiles.iter().map(|p| limits_not_recorded(p)).collect();
        metrics::apply(&updates);
    }
}
