//! The sidecar's answers about virtual keys and OAuth clients, cached in shared data for every
//! worker of the Envoy: one entry per key digest (or client id) and provider,
//! `cached until (u64 LE, Unix ms) ‖ ResolveReply`.
//!
//! An entry serves until the key's expiry or [`TTL_MS`], whichever is first, so that a key removed
//! from the keys file stops working within the 10 s DESIGN §4.6 allows (the sidecar re-reads the
//! file every second). Only answers that name a key are cached: an unknown key is asked about
//! every time, so a key added to the file works as soon as the sidecar has read it, and guessed
//! keys cannot fill the cache (proxy-wasm shared data never forgets a key).
//!
//! An OAuth client that is not in the keys file is cached too: most verified tokens (users'
//! tokens carry their front end's `azp`) name such a client, and asking the sidecar about each
//! would put a round trip on every request. That cannot fill the cache: a client id comes only
//! from a token the IdP signed, so there are as many as the IdP has clients.

use super::Subject;
use crate::providers::Provider;
use crate::store::SharedStore;
use prost::Message;
use warden_proto::v1::{self as pb, resolve_reply::Outcome};

/// How long an answer serves at most.
pub const TTL_MS: u64 = 5_000;

fn key(subject: Subject, provider: Provider) -> String {
    match subject {
        // Hex by table (`hex`): formatting 32 bytes one `{:02x}` at a time cost more than the
        // rest of the cache lookup, on every request with a key.
        Subject::Key(presented) => format!("warden:vkey:{}:{}", provider.name(), hex::encode(presented.sha256)),
        Subject::Client(id) => format!("warden:oauth:{}:{id}", provider.name()),
    }
}

/// The cached answer for `subject` on `provider`, while it serves.
pub fn read(store: &dyn SharedStore, subject: Subject, provider: Provider, now_ms: u64) -> Option<pb::ResolveReply> {
    let (bytes, _) = store.get(&key(subject, provider)).ok().flatten()?;
    let until = bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_le_bytes)?;
    if now_ms >= until {
        return None;
    }
    pb::ResolveReply::decode(bytes.get(8..)?).ok()
}

/// Caches `reply` when it names a key (OK or not mapped), or says a client is unknown.
pub fn write(store: &dyn SharedStore, subject: Subject, provider: Provider, reply: &pb::ResolveReply, now_ms: u64) {
    let cacheable = matches!(
        (Outcome::try_from(reply.outcome), subject),
        (Ok(Outcome::Ok | Outcome::NotMapped), _) | (Ok(Outcome::Unknown), Subject::Client(_))
    );
    if !cacheable {
        return;
    }
    let mut until = now_ms.saturating_add(TTL_MS);
    if let Ok(expiry) = u64::try_from(reply.expires_at_unix_ms) {
        if expiry > 0 {
            until = until.min(expiry);
        }
    }
    let mut value = until.to_le_bytes().to_vec();
    value.extend_from_slice(&reply.encode_to_vec());
    // A failed write only costs the next request a sidecar call.
    let _ = store.set(&key(subject, provider), &value, None);
}
