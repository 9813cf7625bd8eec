//! Which agents get their own `agent_id` metric label, and which execution ids were seen before
//! (DESIGN §4.3). Both are decided once per Envoy, in proxy-wasm shared data that every worker
//! reads, so that the bound and the "once per execution" hold across workers. Shared data can
//! never delete a key, so both use a fixed set of keys: one list of admitted agents, and
//! `EXECUTION_SHARDS` small rings of execution digests. Each VM keeps what it learnt, so a known
//! agent or a recently seen execution costs no host call at all.

use crate::store::{SharedStore, StoreError};
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};

/// The label of every agent beyond the configured number of distinct ones.
pub const OTHER: &str = "other";
/// Longest agent label (bytes, after sanitising): ids are client-chosen, and every byte is part of
/// each metric name the agent appears in.
pub const MAX_AGENT_LABEL_LEN: usize = 64;
/// Most distinct agents the config may allow: the admitted list is one shared-data value.
pub const MAX_AGENT_IDS_LIMIT: usize = 1000;

const AGENTS_KEY: &str = "warden:metrics:agents";
const EXECUTIONS_KEY: &str = "warden:metrics:executions:";
/// Shared-data keys the execution digests are spread over.
pub const EXECUTION_SHARDS: u64 = 64;
/// Digests one shard remembers; the oldest is forgotten first. With the shards this makes a window
/// of about 2048 recent executions per Envoy.
pub const EXECUTIONS_PER_SHARD: usize = 32;
/// Digests one VM remembers, so that an execution's later requests skip shared data.
const EXECUTIONS_PER_VM: usize = 256;
/// Compare-and-swap rounds before giving up on a contended key.
const ATTEMPTS: usize = 4;

/// What the Envoy-wide registries say about a request's caller, for its metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    /// The caller's `agent_id` label: its sanitised id, or `other` past the bound; `None` without
    /// an agent id.
    pub agent: Option<String>,
    /// This request is the first this Envoy saw with its execution id.
    pub first_execution: bool,
}

/// `id` as a label value: what the metric-name encoding cannot carry becomes `_` (the same rule
/// as `metrics::encode`, so the registry holds exactly what the label shows), cut to
/// `MAX_AGENT_LABEL_LEN` bytes.
pub fn agent_label(id: &str) -> String {
    id.chars().map(super::metrics::label_char).take(MAX_AGENT_LABEL_LEN).collect()
}

/// One VM's view of the admitted agents. Admission is never revoked (shared data cannot delete),
/// so once the shared list is full the VM knows every admitted id and needs no more lookups.
#[derive(Debug, Default)]
pub struct AgentLabels {
    known: HashSet<String>,
    full: bool,
}

impl AgentLabels {
    /// The label for `id` under a bound of `max` distinct agents. A store that cannot answer
    /// folds the agent into `other` (it is asked again on the agent's next request).
    pub fn label(&mut self, id: &str, max: usize, store: &dyn SharedStore) -> String {
        let label = agent_label(id);
        if self.known.contains(&label) {
            return label;
        }
        if self.full || max == 0 {
            return OTHER.to_owned();
        }
        match self.admit(&label, max, store) {
            Ok(true) => label,
            Ok(false) | Err(_) => OTHER.to_owned(),
        }
    }

    fn admit(&mut self, label: &str, max: usize, store: &dyn SharedStore) -> Result<bool, StoreError> {
        update(store, AGENTS_KEY, |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let listed: Vec<&str> = text.lines().filter(|l| !l.is_empty()).take(max).collect();
            for id in &listed {
                if !self.known.contains(*id) {
                    self.known.insert((*id).to_owned());
                }
            }
            self.full = listed.len() >= max;
            if self.known.contains(label) {
                return Edit::Keep(true);
            }
            if self.full {
                return Edit::Keep(false);
            }
            let mut next = listed.join("\n");
            if !next.is_empty() {
                next.push('\n');
            }
            next.push_str(label);
            Edit::Write(next.into_bytes(), true)
        })
        .inspect(|admitted| {
            if *admitted {
                self.known.insert(label.to_owned());
                self.full = self.known.len() >= max;
            }
        })
    }
}

/// One VM's memory of recent execution digests, in front of the shared rings.
#[derive(Debug, Default)]
pub struct Executions {
    recent: VecDeque<u64>,
}

impl Executions {
    /// True the first time this Envoy sees `execution_id` within the window. When shared data
    /// cannot answer, this VM's own memory decides (a later worker may count the id again).
    pub fn first_sighting(&mut self, execution_id: &str, store: &dyn SharedStore) -> bool {
        let digest = digest(execution_id);
        if self.recent.contains(&digest) {
            return false;
        }
        if self.recent.len() >= EXECUTIONS_PER_VM {
            self.recent.pop_front();
        }
        self.recent.push_back(digest);
        let key = format!("{EXECUTIONS_KEY}{}", digest % EXECUTION_SHARDS);
        let first = update(store, &key, |bytes| {
            let mut ring: Vec<u64> =
                bytes.chunks_exact(8).filter_map(|c| <[u8; 8]>::try_from(c).ok()).map(u64::from_le_bytes).collect();
            if ring.contains(&digest) {
                return Edit::Keep(false);
            }
            ring.push(digest);
            let drop = ring.len().saturating_sub(EXECUTIONS_PER_SHARD);
            let next: Vec<u8> = ring.iter().skip(drop).flat_map(|d| d.to_le_bytes()).collect();
            Edit::Write(next, true)
        });
        first.unwrap_or(true)
    }
}

/// Execution ids are client-chosen and unbounded in length: the rings hold 8 bytes of their
/// SHA-256 instead (stable across workers and Envoy restarts, unlike a seeded hasher).
fn digest(id: &str) -> u64 {
    let hash = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    for (to, from) in first.iter_mut().zip(hash.iter()) {
        *to = *from;
    }
    u64::from_le_bytes(first)
}

enum Edit<R> {
    /// The stored value already says it: the answer, nothing to write.
    Keep(R),
    /// Write this value; the answer once it is stored.
    Write(Vec<u8>, R),
}

/// Read-modify-write of one shared-data key under its CAS token. A write that created the key had
/// no token to guard it (another worker may have created it at the same moment and one write
/// lost), so it is read back once: the edit then finds its own entry, or writes again.
fn update<R>(store: &dyn SharedStore, key: &str, mut edit: impl FnMut(&[u8]) -> Edit<R>) -> Result<R, StoreError> {
    let mut created: Option<R> = None;
    for _ in 0..ATTEMPTS {
        let (bytes, cas) = store.get(key)?.unwrap_or_default();
        match edit(&bytes) {
            Edit::Keep(answer) => return Ok(created.unwrap_or(answer)),
            Edit::Write(next, answer) => match store.set(key, &next, cas) {
                Ok(()) if cas.is_some() => return Ok(answer),
                Ok(()) => created = Some(answer),
                Err(StoreError::CasMismatch) => {}
                Err(e) => return Err(e),
            },
        }
    }
    created.ok_or(StoreError::CasMismatch)
}

#[cfg(test)]
#[path = "agents_tests.rs"]
mod tests;
