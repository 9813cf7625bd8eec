//! OpenAI chat ⇄ Gemini generateContent (AI Studio paths), for the model router (see
//! `providers::translate`).
//!
//! Gemini 3 rejects a history whose function calls lost their thought signature, and the chat
//! shape has no place for one. The signature therefore travels in the tool-call id the client
//! echoes back (`<id>~sig~<signature>`), and calls without one (a history begun on another model)
//! get Google's documented bypass value on Gemini 3 models.

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

use crate::providers::translate::{
    native_error, Answer, ChunkTranslator, FromChat, NativeRequest, ReplyMeta, TranslateError,
};
use serde_json::Value;

pub struct Gemini;

pub static GEMINI: Gemini = Gemini;

pub(crate) const TARGET: &str = "gemini";

/// Separates a tool-call id from the thought signature it carries.
pub(crate) const SIGNATURE_MARK: &str = "~sig~";

impl FromChat for Gemini {
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

    /// `{"error":{"code","message","status"}}`; the status name becomes the OpenAI `code`.
    fn error(&self, status: u16, native: &[u8]) -> (u16, Vec<u8>) {
        native_error::render(TARGET, status, native, native_error::read(native, "status"))
    }
}

/// The OpenAI id of the `n`th call of the answer `answer_id`, carrying its thought signature.
pub(crate) fn call_id(answer_id: &str, n: u32, signature: Option<&str>) -> String {
    let mut id = format!("call_{answer_id}_{n}");
    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
        id.push_str(SIGNATURE_MARK);
        id.push_str(signature);
    }
    id
}

/// Gemini's finish reason as an OpenAI one (reference §9.4): any function call makes it
/// `tool_calls`; the malformed-call reasons too; every other non-STOP reason is a content filter.
pub(crate) fn finish_reason(reason: Option<&str>, has_calls: bool) -> &'static str {
    match reason {
        _ if has_calls => "tool_calls",
        None | Some("STOP") => "stop",
        Some("MAX_TOKENS") => "length",
        Some("MALFORMED_FUNCTION_CALL" | "TOO_MANY_TOOL_CALLS" | "UNEXPECTED_TOOL_CALL") => "tool_calls",
        Some(_) => "content_filter",
    }
}
