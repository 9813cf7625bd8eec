//! TOON compression of one tool result (DESIGN §5.4, reference §5.2): a result whose content is
//! JSON is re-encoded as TOON and the TOON kept only when it is fewer tokens.
//!
//! Tokens are counted the reference's way, cl100k over `"user" + text`, for both sides. "Before"
//! is the content as it would be sent: where the reference counts the unwrapped text of a
//! `[{"type":"text","text":…}]` wrapper, we count the wrapper, since that is what the TOON replaces.

mod encode;

pub use encode::encode;

use crate::cache::TextCache;
use crate::meter::tokens::Tokenizer;
use serde_json::Value;

/// What TOON did to one request, for the record and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToonStats {
    pub tokens_before: u64,
    pub tokens_after: u64,
    /// Why nothing was compressed (`not_enabled`, `no_tool_results`, `not_effective`); `None` when
    /// at least one result was replaced.
    pub skip_reason: Option<&'static str>,
}

impl ToonStats {
    pub fn skipped(reason: &'static str) -> Self {
        ToonStats { skip_reason: Some(reason), ..ToonStats::default() }
    }

    pub fn saved(&self) -> u64 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// One tool result as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToonInput<'a> {
    /// The result's text (`view::ToolResult::content`).
    pub content: &'a str,
    /// The provider marks the result as an error (Anthropic `is_error`, Bedrock `status: error`).
    pub is_error: bool,
    /// A trusted-data policy or Dual LLM replaced the content; it must be left as it is.
    pub policy_replaced: bool,
}

/// Why a result was left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    NotJson,
    /// The TOON text was not fewer tokens (or was empty, which providers reject as content).
    NotSmaller,
    ErrorResult,
    PolicyReplaced,
}

impl SkipReason {
    /// The label for records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotJson => "not_json",
            SkipReason::NotSmaller => "not_smaller",
            SkipReason::ErrorResult => "error_result",
            SkipReason::PolicyReplaced => "policy_replaced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToonOutcome {
    /// Replace the result's content with `text`.
    Replaced { text: String, tokens_before: u64, tokens_after: u64 },
    /// Keep the content. `tokens` is its count when it was measured (only for `NotSmaller`: the
    /// other reasons are decided without tokenizing, and the reference leaves them out of totals).
    Skipped { reason: SkipReason, tokens: Option<u64> },
}

impl ToonOutcome {
    /// What this result adds to the request's (before, after) totals, as the reference sums them:
    /// JSON results only, an unchanged one counting the same on both sides.
    pub fn totals(&self) -> Option<(u64, u64)> {
        match self {
            ToonOutcome::Replaced { tokens_before, tokens_after, .. } => Some((*tokens_before, *tokens_after)),
            ToonOutcome::Skipped { tokens: Some(t), .. } => Some((*t, *t)),
            ToonOutcome::Skipped { tokens: None, .. } => None,
        }
    }
}

/// Decides one tool result. Pure apart from the tokenizer's CPU time: two cl100k counts for a JSON
/// result, none otherwise.
pub fn compress(tok: &Tokenizer, input: ToonInput<'_>) -> ToonOutcome {
    let skipped = |reason, tokens| ToonOutcome::Skipped { reason, tokens };
    if input.policy_replaced {
        return skipped(SkipReason::PolicyReplaced, None);
    }
    if input.is_error {
        return skipped(SkipReason::ErrorResult, None);
    }
    let Some(value) = parse(input.content) else {
        return skipped(SkipReason::NotJson, None);
    };
    let text = encode(&value);
    let tokens_before = tok.count_message("user", input.content);
    if text.is_empty() {
        return skipped(SkipReason::NotSmaller, Some(tokens_before));
    }
    let tokens_after = tok.count_message("user", &text);
    if tokens_after < tokens_before {
        ToonOutcome::Replaced { text, tokens_before, tokens_after }
    } else {
        skipped(SkipReason::NotSmaller, Some(tokens_before))
    }
}

/// Results decided recently. Agents resend the whole history every turn, so the same tool results
/// come back again and again; tokenizing them twice each time is the most expensive thing the
/// gateway does. Per VM (thread), bounded (entries, and bytes of content kept), flushed when full.
const CACHE_ENTRIES: usize = 512;
const CACHE_BYTES: usize = 2 << 20;

thread_local! {
    static CACHE: std::cell::RefCell<TextCache<ToonOutcome>> =
        std::cell::RefCell::new(TextCache::new(CACHE_ENTRIES, CACHE_BYTES));
}

/// `compress`, remembering the outcome for contents seen before. Only JSON results are cached:
/// the other skip reasons are decided without tokenizing.
pub fn compress_cached(tok: &Tokenizer, input: ToonInput<'_>) -> ToonOutcome {
    if input.policy_replaced || input.is_error {
        return compress(tok, input);
    }
    let hit = CACHE.with(|c| c.try_borrow().ok()?.get("toon", input.content).cloned());
    if let Some(outcome) = hit {
        return outcome;
    }
    let content = input.content;
    let outcome = compress(tok, input);
    CACHE.with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            c.insert("toon", content, outcome.clone());
        }
    });
    outcome
}

/// The JSON value behind the content. A content that is itself one serialised text block
/// (`[{"type":"text","text":"{…}"}]`, as some SDKs send) is unwrapped first. Unlike the reference,
/// which takes the first block of any longer list and drops the rest, only a lone block is unwrapped.
fn parse(content: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(content).ok()?;
    match lone_text_block(&value) {
        Some(text) => serde_json::from_str(text).ok(),
        None => Some(value),
    }
}

fn lone_text_block(value: &Value) -> Option<&str> {
    let [block] = value.as_array()?.as_slice() else {
        return None;
    };
    if block.get("type")?.as_str()? != "text" {
        return None;
    }
    block.get("text")?.as_str()
}

#[cfg(test)]
mod tests;
