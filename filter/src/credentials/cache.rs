//! Credentials cached in shared data, one entry per cloud and scope, shared by every worker of an
//! Envoy. A credential is used until shortly before it expires; once it is past half its life (at
//! most five minutes before expiry) one worker's background refresh — the one that wins a short
//! lease — asks the sidecar for a new one while every request keeps using the current one, so a
//! refresh never makes a request wait. Only a missing or expiring credential makes a request wait
//! for the sidecar.

use super::{Credential, Need};
use crate::store::{SharedStore, StoreError};

/// A credential this close to expiry is not used: a request may take this long to be sent (a
/// quarter of a short-lived credential's life, at most this).
pub const EXPIRY_SKEW_MS: u64 = 30_000;
/// Refresh ahead of expiry at most this early.
const MAX_REFRESH_AHEAD_MS: u64 = 5 * 60_000;
/// How long a refresh lease holds before another request may try.
pub const LEASE_MS: u64 = 10_000;

/// What the cache holds for a need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// Use it.
    Fresh(Credential),
    /// Use it, and refresh it in the background.
    RefreshDue(Credential),
    /// Nothing usable: the request waits for the sidecar.
    Missing,
}

/// Reads the cached credential for `need` at `now_ms`. An entry that does not decode counts as
/// missing (it is overwritten by the next fetch).
pub fn read(store: &dyn SharedStore, need: &Need, now_ms: u64) -> Result<Cached, StoreError> {
    let Some((bytes, _)) = store.get(&need.key())? else { return Ok(Cached::Missing) };
    let Ok(cred) = serde_json::from_slice::<Credential>(&bytes) else { return Ok(Cached::Missing) };
    let life = cred.expires_at_ms.saturating_sub(cred.fetched_at_ms);
    if now_ms.saturating_add(EXPIRY_SKEW_MS.min(life / 4)) >= cred.expires_at_ms {
        return Ok(Cached::Missing);
    }
    let ahead = (life / 2).min(MAX_REFRESH_AHEAD_MS);
    if now_ms >= cred.expires_at_ms.saturating_sub(ahead) {
        Ok(Cached::RefreshDue(cred))
    } else {
        Ok(Cached::Fresh(cred))
    }
}

/// Stores a credential for every worker.
pub fn write(store: &dyn SharedStore, need: &Need, cred: &Credential) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(cred).map_err(|e| StoreError::Host { status: e.to_string() })?;
    store.set(&need.key(), &bytes, None)
}

/// Takes the refresh lease for `need` when nobody holds a live one; true when this caller may
/// refresh. Compare-and-swap, so two workers never both win.
pub fn take_lease(store: &dyn SharedStore, need: &Need, now_ms: u64) -> bool {
    let key = format!("{}:lease", need.key());
    let read = |store: &dyn SharedStore| store.get(&key).ok();
    let mut current = match read(store) {
        Some(current) => current,
        None => return false,
    };
    if current.is_none() {
        // A key that does not exist cannot be compared and swapped: create it expired first.
        if store.set(&key, &0u64.to_le_bytes(), None).is_err() {
            return false;
        }
        current = read(store).flatten().map(Some).unwrap_or(None);
    }
    let Some((bytes, cas)) = current else { return false };
    let held_until = bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_le_bytes);
    if held_until.is_some_and(|until| until > now_ms) {
        return false;
    }
    let until = now_ms.saturating_add(LEASE_MS).to_le_bytes();
    store.set(&key, &until, cas).is_ok()
}

/// Gives the refresh lease back once the refresh is done, so the next refresh of a short-lived
/// credential need not wait for the lease to run out.
pub fn release_lease(store: &dyn SharedStore, need: &Need) {
    let _ = store.set(&format!("{}:lease", need.key()), &0u64.to_le_bytes(), None);
}
