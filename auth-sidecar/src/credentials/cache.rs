//! Keeps each credential until shortly before it expires, with at most one fetch in flight per
//! cloud and scope: callers that arrive while a fetch runs wait for it and share its result (a
//! success or the error), so a burst of requests costs one fetch.

use super::{Cloud, Minted};
use crate::error::CredentialError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A credential is refreshed once less than this much of its life is left (or half its life, for
/// short-lived ones).
const REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// Credentials without an expiry (static AWS keys) are re-read this often.
const NO_EXPIRY_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub cloud: Cloud,
    pub scope: String,
}

/// Whether a call was served from the cache or paid for a fetch (for the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Cached,
    Fetched,
}

#[derive(Debug, Default)]
pub struct Cache {
    slots: Mutex<HashMap<Key, Arc<Slot>>>,
}

#[derive(Debug, Default)]
struct Slot {
    /// The last good credential and when it must be refreshed.
    current: Mutex<Option<(Minted, SystemTime)>>,
    /// Held while a fetch runs; the number counts finished fetches.
    gate: tokio::sync::Mutex<u64>,
    /// The outcome of the last finished fetch if it failed: (fetch number, error).
    last_failure: Mutex<Option<(u64, CredentialError)>>,
}

/// When a credential fetched at `fetched_at` must be replaced.
fn refresh_at(minted: &Minted, fetched_at: SystemTime) -> SystemTime {
    match minted.expires_at {
        None => fetched_at + NO_EXPIRY_TTL,
        Some(expiry) => {
            let life = expiry.duration_since(fetched_at).unwrap_or_default();
            expiry - REFRESH_AHEAD.min(life / 2)
        }
    }
}

impl Slot {
    fn fresh(&self, now: SystemTime) -> Option<Minted> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().filter(|(_, refresh)| now < *refresh).map(|(m, _)| m.clone())
    }
}

impl Cache {
    /// The cached credential for `key` while it is fresh, else the result of `fetch` (run once
    /// however many callers are waiting for it).
    pub async fn get<F, Fut>(&self, key: Key, fetch: F) -> Result<(Minted, Served), CredentialError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Minted, CredentialError>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(key).or_default().clone()
        };
        if let Some(minted) = slot.fresh(SystemTime::now()) {
            return Ok((minted, Served::Cached));
        }
        let seen = slot.gate.try_lock().map(|g| *g).ok();
        let mut finished = slot.gate.lock().await;
        if let Some(minted) = slot.fresh(SystemTime::now()) {
            return Ok((minted, Served::Cached));
        }
        // A fetch finished while this caller waited (or was already running when it came) and
        // failed: share its error rather than start another fetch at once.
        if seen.is_none_or(|s| s < *finished) {
            let failure = slot.last_failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some((n, err)) = failure {
                if n == *finished {
                    return Err(err);
                }
            }
        }
        let outcome = fetch().await;
        *finished += 1;
        match &outcome {
            Ok(minted) => {
                let refresh = refresh_at(minted, SystemTime::now());
                *slot.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((minted.clone(), refresh));
                *slot.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Err(err) => {
                *slot.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some((*finished, err.clone()));
            }
        }
        outcome.map(|m| (m, Served::Fetched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Kind;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn bearer(token: &str, expires_in: Option<Duration>) -> Minted {
        Minted { kind: Kind::Bearer(token.to_string()), expires_at: expires_in.map(|d| SystemTime::now() + d) }
    }

    fn key() -> Key {
        Key { cloud: Cloud::Gcp, scope: "s".into() }
    }

    #[tokio::test]
    async fn a_fresh_credential_is_served_without_a_fetch() {
        let cache = Cache::default();
        let fetches = AtomicU32::new(0);
        for _ in 0..5 {
            let (m, _) = cache
                .get(key(), || async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(bearer("t1", Some(Duration::from_secs(3600))))
                })
                .await
                .unwrap();
            assert_eq!(m.kind, Kind::Bearer("t1".into()));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_credential_is_refetched_once_half_its_short_life_is_gone() {
        let cache = Cache::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            Ok(bearer(&format!("t{n}"), Some(Duration::from_millis(400))))
        };
        assert_eq!(cache.get(key(), fetch).await.unwrap().1, Served::Fetched);
        assert_eq!(cache.get(key(), fetch).await.unwrap().1, Served::Cached);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (m, served) = cache.get(key(), fetch).await.unwrap();
        assert_eq!((m.kind, served), (Kind::Bearer("t1".into()), Served::Fetched));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(Cache::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(key(), || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(bearer("t", Some(Duration::from_secs(3600))))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn callers_waiting_on_a_failed_fetch_share_its_error_and_a_later_call_retries() {
        let cache = Arc::new(Cache::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let failing = |fetches: Arc<AtomicU32>| async move {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(CredentialError::Unavailable { cloud: Cloud::Gcp, what: "down".into() })
        };
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move { cache.get(key(), || failing(fetches)).await }));
        }
        for t in tasks {
            assert!(matches!(t.await.unwrap(), Err(CredentialError::Unavailable { .. })));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let again = cache.get(key(), || async { Ok(bearer("t", Some(Duration::from_secs(3600)))) }).await;
        assert!(again.is_ok());
    }

    #[tokio::test]
    async fn different_scopes_are_cached_apart() {
        let cache = Cache::default();
        let other = Key { cloud: Cloud::Gcp, scope: "other".into() };
        cache.get(key(), || async { Ok(bearer("a", Some(Duration::from_secs(3600)))) }).await.unwrap();
        let (m, served) =
            cache.get(other, || async { Ok(bearer("b", Some(Duration::from_secs(3600)))) }).await.unwrap();
        assert_eq!((m.kind, served), (Kind::Bearer("b".into()), Served::Fetched));
    }

    #[test]
    fn long_lived_credentials_refresh_five_minutes_ahead_and_static_ones_hourly() {
        let now = SystemTime::now();
        let hour = Minted { kind: Kind::Bearer("t".into()), expires_at: Some(now + Duration::from_secs(3600)) };
        assert_eq!(refresh_at(&hour, now), now + Duration::from_secs(3300));
        let forever = Minted { kind: Kind::Bearer("t".into()), expires_at: None };
        assert_eq!(refresh_at(&forever, now), now + NO_EXPIRY_TTL);
    }
}
