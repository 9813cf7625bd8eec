//! cl100k token counts, the way the reference counts them (its §5.2 and §7): a message is
//! `role + text` run through cl100k with special tokens treated as ordinary text, and the count of a
//! request is the sum over its turns plus one pseudo user message holding the tool definitions.
//!
//! The tables are built once per VM (`Tokenizer::new` at configure time, ~0.2 s inside V8); after
//! that a `Tokenizer` is a cheap handle. Counting is the costly part of the hot path (~10 MB/s in
//! V8), so callers count only what a feature needs and use `count_request_within` when they only
//! have to compare against a limit.

use crate::view::{Request, Role, ToolDecl};
use bpe_openai::Normalizable;

/// A cl100k tokenizer. `bpe-openai` gives the same counts as tiktoken (checked on every fixture in
/// the tests) and is about three times faster; its tables are a process-wide static, so copies of
/// this handle share them.
#[derive(Clone, Copy)]
pub struct Tokenizer {
    bpe: &'static bpe_openai::Tokenizer,
}

/// Building the tokenizer failed. The tables are compiled in, so this is not expected in practice;
/// it exists so the host can report a failure at configure time instead of assuming success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    #[error("the cl100k tokenizer could not be built: {0}")]
    Build(String),
}

/// Every handle points at the same process-wide tables.
impl PartialEq for Tokenizer {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokenizer(cl100k_base)")
    }
}

impl Tokenizer {
    /// Builds (first call in the process) or reuses the cl100k tables. Call it from `on_configure`:
    /// the first build takes a noticeable fraction of a second.
    pub fn new() -> Result<Tokenizer, TokenizerError> {
        let bpe = bpe_openai::cl100k_base();
        // A probe forces the lazily built tables now, not on the first request.
        if bpe.count("probe") == 0 {
            return Err(TokenizerError::Build("probe text counted as zero tokens".to_string()));
        }
        Ok(Tokenizer { bpe })
    }

    /// Tokens in `text`, special-token markers (`<|endoftext|>`) counted as ordinary text.
    pub fn count(&self, text: &str) -> usize {
        self.bpe.count(text)
    }

    /// Tokens in one message as the reference counts it: `role` and `text` run together
    /// (`"user" + text`), so the role's token is included.
    pub fn count_message(&self, role: &str, text: &str) -> u64 {
        to_u64(self.count(&joined(role, text)))
    }

    /// Like `count_message`, but gives up once the count passes `limit`: `None` means "more than
    /// `limit`". Cheaper than a full count when the text is much longer than the limit.
    pub fn count_message_within(&self, role: &str, text: &str, limit: u64) -> Option<u64> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let text = joined(role, text);
        self.bpe.count_till_limit(&text.as_str().normalize(false), limit).map(to_u64)
    }
}

/// The role names the reference prefixes (the provider's own; Gemini's `model` becomes `assistant`).
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Tokens in a request for the model-optimisation `max_tokens` condition (DESIGN §5.4): every turn
/// (`role + text`), every system prompt kept outside the turns (`"system" + text`; the reference
/// leaves these out, DESIGN counts them) and the tool definitions as one user message.
pub fn count_request(tok: &Tokenizer, req: &Request) -> u64 {
    parts(req).fold(0u64, |sum, (role, text)| sum.saturating_add(tok.count_message(role, &text)))
}

/// `Some(count_request(..))` when it is at most `limit`, otherwise `None`, stopping as soon as the
/// limit is passed: long conversations against a small limit cost only the first `limit` tokens.
pub fn count_request_within(tok: &Tokenizer, req: &Request, limit: u64) -> Option<u64> {
    let mut sum = 0u64;
    for (role, text) in parts(req) {
        let left = limit.checked_sub(sum)?;
        sum = sum.saturating_add(tok.count_message_within(role, &text, left)?);
    }
    Some(sum)
}

/// The text the reference builds for tool definitions: per tool `name`, then ` description` when
/// non-empty, then ` <parameters as JSON>` when present and not null; tools joined by one space.
pub fn tool_definitions_text(tools: &[ToolDecl]) -> String {
    let mut text = String::new();
    for (i, tool) in tools.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&tool.name);
        if let Some(description) = tool.description.as_deref().filter(|d| !d.is_empty()) {
            text.push(' ');
            text.push_str(description);
        }
        if let Some(parameters) = tool.parameters.as_ref().filter(|p| !p.is_null()) {
            text.push(' ');
            text.push_str(&parameters.to_string());
        }
    }
    text
}

/// Every (role, text) the request count is made of, in order.
fn parts(req: &Request) -> impl Iterator<Item = (&'static str, std::borrow::Cow<'_, str>)> {
    let system = req.system.iter().map(|text| ("system", text.as_str().into()));
    let turns = req.messages.iter().map(|m| (role_name(m.role), m.text.as_str().into()));
    let tools = (!req.tools.is_empty()).then(|| ("user", tool_definitions_text(&req.tools).into()));
    system.chain(turns).chain(tools)
}

fn joined(role: &str, text: &str) -> String {
    let mut s = String::with_capacity(role.len().saturating_add(text.len()));
    s.push_str(role);
    s.push_str(text);
    s
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
