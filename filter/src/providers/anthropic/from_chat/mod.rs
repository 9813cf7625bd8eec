//! OpenAI chat ⇄ Anthropic Messages, for the model router (see `providers::translate`).

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

pub use request::DEFAULT_MAX_TOKENS;

use crate::providers::translate::{
    native_error, Answer, ChunkTranslator, FromChat, NativeRequest, ReplyMeta, TranslateError,
};
use serde_json::Value;

pub struct Anthropic;

pub static ANTHROPIC: Anthropic = Anthropic;

pub(crate) const TARGET: &str = "anthropic";

impl FromChat for Anthropic {
    fn target(&self) -> &'static str {
        TARGET
    }

    fn request(&self, chat: &Value, model: &str) -> Result<NativeRequest, TranslateError> {
        request::translate(chat, model)
    }

    fn response(&self, native: &[u8], meta: &ReplyMeta) -> Result<Answer, TranslateError> {
        response::translate(native, meta).map(|c| Answer::Translated(Box::new(c)))
    }

    fn stream(&self, meta: ReplyMeta, include_usage: bool) -> Box<dyn ChunkTranslator> {
        Box::new(stream::Stream::new(meta, include_usage))
    }

    /// `{"type":"error","error":{"type","message"}}`; the error type becomes the OpenAI `code`.
    fn error(&self, status: u16, native: &[u8]) -> (u16, Vec<u8>) {
        native_error::render(TARGET, status, native, native_error::read(native, "type"))
    }
}

/// Anthropic's stop reason as an OpenAI finish reason (reference §9.4; a refusal is a content
/// filter rather than a plain stop).
pub(crate) fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}
