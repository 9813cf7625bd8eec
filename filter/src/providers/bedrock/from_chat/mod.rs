//! OpenAI chat ⇄ Bedrock Converse / ConverseStream, for the model router (see
//! `providers::translate`).

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

use crate::providers::translate::{
    native_error, Answer, ChunkTranslator, FromChat, NativeRequest, ReplyMeta, TranslateError,
};
use serde_json::Value;

pub struct Bedrock;

pub static BEDROCK: Bedrock = Bedrock;

pub(crate) const TARGET: &str = "bedrock";

impl FromChat for Bedrock {
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

    /// `{"message"}`; the error type is in the `x-amzn-errortype` header, so the status speaks.
    fn error(&self, status: u16, native: &[u8]) -> (u16, Vec<u8>) {
        native_error::render(TARGET, status, native, native_error::read(native, "__type"))
    }
}

/// Converse's stop reason as an OpenAI finish reason (reference §9.4).
pub(crate) fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("tool_use") => "tool_calls",
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("guardrail_intervened" | "content_filtered") => "content_filter",
        _ => "stop",
    }
}
