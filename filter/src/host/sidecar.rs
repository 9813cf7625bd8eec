//! Calls to the sidecar over Envoy's gRPC client — credentials (`warden.v1.Credentials/Get`), virtual
//! keys (`warden.v1.Keys/Resolve`) and
//! Dual-LLM sanitisation (`warden.v1.DualLlm/Sanitize`) — and the background refresh that keeps
//! the shared credential cache fresh.
//!
//! The refresh runs in the root context, on a timer: a gRPC call belongs to the context that made
//! it, and Envoy cancels an http context's calls when its request ends — a refresh started by a
//! request that finishes before the sidecar answers (most do) would be lost.

use super::log;
use super::shared_store::SharedDataStore;
use crate::config::{Config, SidecarSettings};
use crate::credentials::cache::{self, Cached};
use crate::credentials::{self, Credential, Need};
use prost::Message;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// How often each worker looks for a cached credential that is due for refresh. Refreshes start
/// at half a credential's life (at most five minutes before expiry) and the credential serves
/// until a quarter of its life (at most 30 s) before expiry, so a second is always in time.
pub const REFRESH_TICK: Duration = Duration::from_secs(1);

/// Calls `service`/`method` on the sidecar; the answer comes to the calling context's
/// `on_grpc_call_response`.
pub(super) fn call(
    sidecar: &SidecarSettings,
    service: &str,
    method: &str,
    message: &impl Message,
) -> Result<u32, String> {
    hostcalls::dispatch_grpc_call(
        &sidecar.cluster,
        service,
        method,
        Vec::new(),
        Some(&message.encode_to_vec()),
        Duration::from_millis(sidecar.timeout_ms),
    )
    .map_err(|status| format!("the call to the sidecar (cluster '{}') could not be made: {status:?}", sidecar.cluster))
}

/// The answer to a call, decoded, or why there is none.
pub(super) fn answer<M: Message + Default>(status_code: u32, response_size: usize) -> Result<M, String> {
    if status_code != 0 {
        let message = hostcalls::get_grpc_status().ok().and_then(|(_, m)| m).unwrap_or_default();
        return Err(credentials::failure::describe(status_code, &message));
    }
    let bytes =
        hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, response_size).ok().flatten().unwrap_or_default();
    M::decode(bytes.as_slice()).map_err(|e| format!("the sidecar's answer could not be read ({e})"))
}

/// Asks the sidecar for `need`'s credential.
pub fn dispatch(sidecar: &SidecarSettings, need: &Need) -> Result<u32, String> {
    call(sidecar, warden_proto::CREDENTIALS_SERVICE, warden_proto::CREDENTIALS_GET, &credentials::request(need))
}

/// The sidecar's answer to a credential call: a credential to cache, or why there is none.
pub fn reply(status_code: u32, response_size: usize) -> Result<Credential, String> {
    let reply: warden_proto::v1::Credential = answer(status_code, response_size)?;
    credentials::from_reply(reply, now_ms()).ok_or_else(|| "the sidecar's answer held no credential".to_owned())
}

/// Asks the sidecar to sanitise one tool result.
pub fn dispatch_sanitize(
    sidecar: &SidecarSettings,
    request: &warden_proto::v1::SanitizeRequest,
) -> Result<u32, String> {
    call(sidecar, warden_proto::DUAL_LLM_SERVICE, warden_proto::DUAL_LLM_SANITIZE, request)
}

/// The sidecar's Dual-LLM answer: a summary, or why there is none (never the tool result).
pub fn sanitize_reply(status_code: u32, response_size: usize) -> Result<warden_proto::v1::SanitizeReply, String> {
    answer(status_code, response_size)
}

/// gRPC `FAILED_PRECONDITION`: what `Keys.Resolve` answers when the sidecar has no keys file.
pub const FAILED_PRECONDITION: u32 = 9;

/// Asks the sidecar what a virtual key stands for (the request carries its SHA-256 only).
pub fn dispatch_resolve(sidecar: &SidecarSettings, request: &warden_proto::v1::ResolveRequest) -> Result<u32, String> {
    call(sidecar, warden_proto::KEYS_SERVICE, warden_proto::KEYS_RESOLVE, request)
}

/// The sidecar's answer about a virtual key (unknown, expired and not mapped are answers too).
pub fn resolve_reply(status_code: u32, response_size: usize) -> Result<warden_proto::v1::ResolveReply, String> {
    answer(status_code, response_size)
}

pub fn now_ms() -> u64 {
    epoch_ms(hostcalls::get_current_time().ok())
}

/// Milliseconds since the Unix epoch, 0 when the time is unknown.
pub fn epoch_ms(t: Option<SystemTime>) -> u64 {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// The root context's background refresh: every credential the configuration can need, and the
/// refreshes this worker has in flight.
#[derive(Debug, Default)]
pub struct Refresher {
    needs: Vec<Need>,
    sidecar: SidecarSettings,
    /// gRPC call token → the credential it fetches; at most one call per need.
    in_flight: HashMap<u32, Need>,
}

impl Refresher {
    pub fn new(config: &Config) -> Refresher {
        Refresher { needs: credentials::needs(config), sidecar: config.sidecar.clone(), in_flight: HashMap::new() }
    }

    /// Whether there is anything to keep fresh (else no timer is needed).
    pub fn has_work(&self) -> bool {
        !self.needs.is_empty()
    }

    /// Starts a refresh for each cached credential past its refresh point, when this worker wins
    /// the lease. A credential nobody has asked for yet is not fetched: only requests fetch.
    pub fn tick(&mut self) {
        let now = now_ms();
        for need in &self.needs {
            if self.in_flight.values().any(|n| n == need) {
                continue;
            }
            let Ok(Cached::RefreshDue(_)) = cache::read(&SharedDataStore, need, now) else { continue };
            if !cache::take_lease(&SharedDataStore, need, now) {
                continue;
            }
            match dispatch(&self.sidecar, need) {
                Ok(token) => {
                    self.in_flight.insert(token, need.clone());
                }
                Err(detail) => {
                    log(
                        LogLevel::Warn,
                        &format!("warden: {} credential refresh not started: {detail}", need.cloud.name()),
                    );
                    cache::release_lease(&SharedDataStore, need);
                }
            }
        }
    }

    /// Takes the answer to one of this refresher's calls; false when the call is not its own.
    pub fn answered(&mut self, token: u32, status_code: u32, response_size: usize) -> bool {
        let Some(need) = self.in_flight.remove(&token) else { return false };
        match reply(status_code, response_size) {
            Ok(cred) => {
                let _ = cache::write(&SharedDataStore, &need, &cred);
                cache::release_lease(&SharedDataStore, &need);
            }
            // The lease stays held: the next attempt waits for it to run out, so a sidecar that is
            // down is not called every tick. The current credential serves until it expires.
            Err(detail) => {
                log(LogLevel::Warn, &format!("warden: {} credential refresh failed: {detail}", need.cloud.name()));
            }
        }
        true
    }
}
