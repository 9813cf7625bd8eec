//! Finished sanitisations, kept for a while, and the ones in flight, shared.
//!
//! - Keys are SHA-256 digests of everything that decides the outcome ([`key`]); the cache keeps no
//!   tool result.
//! - Successes are kept in an LRU of bounded size for a fixed time; failures are never kept.
//! - Identical requests that arrive while a sanitisation runs join it instead of starting another
//!   (single flight) and get its outcome, success or failure.
//! - The work runs in its own task, not in any caller's. It lives as long as somebody waits for
//!   it: each caller waits until its own deadline, the work is abandoned once the latest of the
//!   waiting callers' deadlines has passed or once every caller has gone (the filter gave up), and
//!   a later caller with more time left extends it instead of paying for a fresh start.

use lru::LruCache;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

pub type Key = [u8; 32];

/// SHA-256 over the parts, each prefixed with its length so that no two different lists of parts
/// hash the same bytes.
pub fn key(parts: &[&[u8]]) -> Key {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// How a caller got its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Its request started the work.
    Fresh,
    /// From a finished sanitisation in the cache.
    Cached,
    /// It joined work another request started.
    Joined,
}

/// Why a caller got no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// The work failed (shared with everyone who waited for it; not kept).
    Failed(E),
    /// This caller's deadline passed, or the work was abandoned because every deadline had.
    DeadlineExceeded,
    /// The work ended without an outcome (its task panicked).
    Lost,
}

#[derive(Debug, Clone, Copy)]
struct Interest {
    /// The latest deadline of the callers waiting.
    deadline: Instant,
    waiters: usize,
}

impl Interest {
    fn wanted(&self, now: Instant) -> bool {
        self.waiters > 0 && now < self.deadline
    }
}

struct Flight<V, E> {
    interest: watch::Sender<Interest>,
    /// `None` until the work ends.
    outcome: watch::Sender<Option<Result<V, Failure<E>>>>,
}

struct Inner<V, E> {
    done: LruCache<Key, (Instant, V)>,
    flights: HashMap<Key, Arc<Flight<V, E>>>,
}

pub struct Cache<V, E> {
    inner: Mutex<Inner<V, E>>,
    ttl: Duration,
}

/// One caller's registration with a flight; dropping it (the caller returned or was cancelled)
/// withdraws its interest.
struct Waiting<V, E>(Arc<Flight<V, E>>);

impl<V, E> Drop for Waiting<V, E> {
    fn drop(&mut self) {
        self.0.interest.send_modify(|i| i.waiters = i.waiters.saturating_sub(1));
    }
}

impl<V, E> Cache<V, E>
where
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    pub fn new(entries: NonZeroUsize, ttl: Duration) -> Cache<V, E> {
        Cache { inner: Mutex::new(Inner { done: LruCache::new(entries), flights: HashMap::new() }), ttl }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V, E>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value for `key`: from the cache, from the work in flight for it, or from `work`, started
    /// now in a task of its own. Waits until `deadline` at most.
    pub async fn get<F>(self: &Arc<Self>, key: Key, deadline: Instant, work: F) -> Result<(V, Served), Failure<E>>
    where
        F: Future<Output = Result<V, E>> + Send + 'static,
    {
        let (flight, served) = {
            let mut inner = self.lock();
            if let Some((stored, value)) = inner.done.get(&key) {
                if stored.elapsed() < self.ttl {
                    return Ok((value.clone(), Served::Cached));
                }
                inner.done.pop(&key);
            }
            match inner.flights.get(&key) {
                Some(flight) => {
                    flight.interest.send_modify(|i| {
                        i.deadline = i.deadline.max(deadline);
                        i.waiters += 1;
                    });
                    (flight.clone(), Served::Joined)
                }
                None => {
                    let flight = Arc::new(Flight {
                        interest: watch::Sender::new(Interest { deadline, waiters: 1 }),
                        outcome: watch::Sender::new(None),
                    });
                    inner.flights.insert(key, flight.clone());
                    tokio::spawn(self.clone().drive(key, flight.clone(), work));
                    (flight, Served::Fresh)
                }
            }
        };
        let waiting = Waiting(flight);
        let mut outcome = waiting.0.outcome.subscribe();
        let ended = tokio::time::timeout_at(deadline, outcome.wait_for(Option::is_some)).await;
        match ended {
            Err(_) => Err(Failure::DeadlineExceeded),
            // The flight holds the sender and this caller holds the flight: never closed.
            Ok(Err(_)) => Err(Failure::Lost),
            Ok(Ok(value)) => match value.as_ref() {
                Some(Ok(v)) => Ok((v.clone(), served)),
                Some(Err(e)) => Err(e.clone()),
                None => Err(Failure::Lost),
            },
        }
    }

    /// Runs the work until it ends or nobody wants it any more, then publishes the outcome.
    async fn drive<F>(self: Arc<Self>, key: Key, flight: Arc<Flight<V, E>>, work: F)
    where
        F: Future<Output = Result<V, E>> + Send + 'static,
    {
        let mut publish = Publish { cache: self.clone(), key, flight: flight.clone(), done: false };
        let mut work = std::pin::pin!(work);
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome.map_err(Failure::Failed),
                () = unwanted(&flight) => {
                    // Callers join under the lock: deciding and leaving the map under it means
                    // no caller can join work that is being abandoned.
                    let mut inner = self.lock();
                    if !flight.interest.borrow().wanted(Instant::now()) {
                        if inner.flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                            inner.flights.remove(&key);
                        }
                        break Err(Failure::DeadlineExceeded);
                    }
                }
            }
        };
        publish.finish(outcome);
    }
}

/// Returns once no caller waits for the flight or the latest deadline has passed.
async fn unwanted<V, E>(flight: &Flight<V, E>) {
    let mut interest = flight.interest.subscribe();
    loop {
        let now = *interest.borrow_and_update();
        if !now.wanted(Instant::now()) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(now.deadline) => {}
            changed = interest.changed() => if changed.is_err() { return },
        }
    }
}

/// Publishes a flight's outcome exactly once: the value or error it ended with, or
/// [`Failure::Lost`] if the task is torn down first (a panic in the work).
struct Publish<V, E>
where
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    cache: Arc<Cache<V, E>>,
    key: Key,
    flight: Arc<Flight<V, E>>,
    done: bool,
}

impl<V, E> Publish<V, E>
where
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    fn finish(&mut self, outcome: Result<V, Failure<E>>) {
        self.done = true;
        {
            let mut inner = self.cache.lock();
            if inner.flights.get(&self.key).is_some_and(|f| Arc::ptr_eq(f, &self.flight)) {
                inner.flights.remove(&self.key);
            }
            if let Ok(value) = &outcome {
                inner.done.put(self.key, (Instant::now(), value.clone()));
            }
        }
        self.flight.outcome.send_replace(Some(outcome));
    }
}

impl<V, E> Drop for Publish<V, E>
where
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        if !self.done {
            self.finish(Err(Failure::Lost));
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
