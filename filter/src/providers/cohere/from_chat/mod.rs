//! OpenAI chat ⇄ Cohere v2 chat, for the model router (see `providers::translate`). Cohere's
//! `tool_plan` (the text it writes before its tool calls) is the assistant content of the chat
//! shape, and an assistant message with tool calls sends its content back as the plan.

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

use crate::providers::translate::{
    native_error, Answer, ChunkTranslator, FromChat, NativeRequest, ReplyMeta, TranslateError,
};
use serde_json::Value;

pub struct Cohere;

pub static COHERE: Cohere = Cohere;

pub(crate) const TARGET: &str = "cohere";

impl FromChat for Cohere {
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

    /// `{"message"}` (some answers add an `id`).
    fn error(&self, status: u16, native: &[u8]) -> (u16, Vec<u8>) {
        native_error::render(TARGET, status, native, native_error::read(native, "code"))
    }
}

/// Cohere's finish reason as an OpenAI one (reference §9.4).
pub(crate) fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some("TOOL_CALL") => "tool_calls",
        Some("ERROR" | "ERROR_TOXIC") => "content_filter",
        _ => "stop",
    }
}
