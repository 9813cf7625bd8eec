//! Dual-LLM sanitisation of the tool results a `sanitize_with_dual_llm` policy names (DESIGN
//! §5.3), as the request sees it: which results need a summary, the summaries cached in shared data
//! for every worker, the requests to the sidecar's `DualLlm.Sanitize`, and what the answers do to
//! the body and the context's trust.
//!
//! Fail closed: a result that cannot be sanitised (no `dual_llm` in the profile, sidecar down, a
//! model error, the deadline) is withheld — a notice takes its place — and the context becomes
//! untrusted, so a tool call that needs trust is blocked in the same conversation.

use crate::config::DualLlm;
use crate::providers::{self, Body};
use crate::store::SharedStore;
use crate::view::{self, Api, Role};

/// Summaries kept per Envoy (shared data never forgets a key, so they live in a ring of slots; a
/// slot holds the digest it was written for, and an entry for another digest is a miss).
pub const CACHE_SLOTS: u64 = 4096;
/// A cached summary older than this is asked for again.
pub const CACHE_TTL_MS: u64 = 3_600_000;

/// One result the sidecar is asked to sanitise.
#[derive(Debug, Clone)]
pub struct Job {
    /// Where the result is in the body.
    pub pointer: String,
    pub tool: String,
    /// SHA-256 of everything the summary depends on (hex).
    pub digest: String,
    pub request: warden_proto::v1::SanitizeRequest,
    pub outcome: Option<Result<warden_proto::v1::SanitizeReply, String>>,
}

/// A cached summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Cached {
    digest: String,
    summary: String,
    rounds: u32,
    at_ms: u64,
}

pub use crate::meter::record::DualLlmEntry as Entry;

/// The latest user request of a conversation: what the privileged model is told the user wants.
/// An Anthropic user turn that only carries `tool_result` blocks has no text of its own: it is
/// not the request (taking it would tell the privileged model nothing).
pub fn user_request(request: &view::Request) -> String {
    request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User && !m.text.trim().is_empty())
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

/// The digest a summary is cached under.
///
/// BLAKE3 rather than SHA-256: a cache key an attacker's tool result goes into must be
/// collision-resistant, and in wasm (no SHA instructions) BLAKE3 is several times faster.
pub fn digest(dual: &DualLlm, profile: &str, tool: &str, result: &str, user: &str) -> String {
    let mut h = blake3::Hasher::new();
    let quarantined = dual.quarantined_model.as_deref().unwrap_or(&dual.model);
    for part in [tool, result, user, &dual.provider, profile, &dual.model, quarantined] {
        // Length-prefixed, so no two different tuples hash the same text.
        h.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(&dual.max_rounds.to_le_bytes());
    h.finalize().to_hex().to_string()
}

fn slot_key(digest: &str) -> String {
    let slot = u64::from_str_radix(digest.get(..12).unwrap_or("0"), 16).unwrap_or(0) % CACHE_SLOTS;
    format!("warden:dual:{slot}")
}

/// The cached summary for `digest`, when there is a fresh one.
pub fn cached(store: &dyn SharedStore, digest: &str, now_ms: u64) -> Option<(String, u32)> {
    let (bytes, _) = store.get(&slot_key(digest)).ok()??;
    let entry: Cached = serde_json::from_slice(&bytes).ok()?;
    (entry.digest == digest && now_ms.saturating_sub(entry.at_ms) < CACHE_TTL_MS)
        .then_some((entry.summary, entry.rounds))
}

/// Remembers a summary for every worker.
pub fn remember(store: &dyn SharedStore, digest: &str, summary: &str, rounds: u32, now_ms: u64) {
    let entry = Cached { digest: digest.to_owned(), summary: summary.to_owned(), rounds, at_ms: now_ms };
    if let Ok(bytes) = serde_json::to_vec(&entry) {
        let _ = store.set(&slot_key(digest), &bytes, None);
    }
}

/// A request body paused while its results are sanitised: everything decided so far, and what is
/// still to decide once the answers are in.
#[derive(Debug)]
pub struct Sanitizing {
    pub(super) api: Api,
    pub(super) body: Body,
    pub(super) view: view::Request,
    /// Pointers of results already replaced (blocked, cached summaries): TOON leaves them alone.
    pub(super) replaced: Vec<String>,
    pub jobs: Vec<Job>,
}

impl Sanitizing {
    /// Records the sidecar's answer for job `index`.
    pub fn complete(&mut self, index: usize, outcome: Result<warden_proto::v1::SanitizeReply, String>) {
        if let Some(job) = self.jobs.get_mut(index) {
            job.outcome.get_or_insert(outcome);
        }
    }

    /// Gives every job still without an answer `why` as its failure (the deadline passed).
    pub fn fail_pending(&mut self, why: &str) {
        for job in &mut self.jobs {
            job.outcome.get_or_insert_with(|| Err(why.to_owned()));
        }
    }

    pub fn all_done(&self) -> bool {
        self.jobs.iter().all(|j| j.outcome.is_some())
    }
}

/// Puts a summary (or a notice) where the result was, in the provider's own shape.
pub(super) fn replace(api: Api, body: &mut Body, pointer: &str, text: &str) -> bool {
    providers::edit_result(api, body, pointer, text)
}

/// What the model sees in place of a sanitised result.
pub fn summary_text(tool: &str, summary: &str) -> String {
    let tool = if tool.is_empty() { String::new() } else { format!(" of the {tool} tool") };
    format!("[The Warden gateway replaced this result{tool} with a sanitised summary.]\n{summary}")
}

/// What the model sees in place of a result that could not be sanitised.
pub fn withheld_text(tool: &str, why: &str) -> String {
    let tool = if tool.is_empty() { String::new() } else { format!(" of the {tool} tool") };
    format!(
        "[The Warden gateway withheld this result{tool}: policy requires it to be sanitised first, and sanitisation failed ({why}). Its content was not shown to the model.]"
    )
}
