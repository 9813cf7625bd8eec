//! The response side of an exchange: how its body is handled, decided from its headers, and what
//! becomes of a whole (non-streaming) body.
//!
//! Fail closed: a successful response of an API the gateway polices must be readable. A body the
//! provider compressed although the gateway asked for none, or a whole body that is not the JSON
//! its API returns, is refused with a 502 in the provider's error shape, never passed on unread.

use super::hold_back::{self, HoldBack};
use super::router::TranslatedWhole;
use super::{Exchange, ResponseStream};
use crate::error::{Reply, WardenError};
use crate::policy::refusal;
use crate::policy::tools::Blocked;
use crate::providers::{self, StreamFold};
use crate::stream::Framing;
use crate::view::{self, Api};
use serde_json::Value;

/// What the host read from the response headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseHead<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
}

/// How the response body is handled.
#[derive(Debug)]
pub enum ResponsePlan {
    /// Not looked at (errors, APIs the gateway neither polices nor meters).
    PassThrough,
    /// Buffered whole and parsed at the end; the headers wait for it, so the body can still be
    /// replaced.
    Buffer,
    /// Decoded frame by frame as it arrives.
    Stream(Box<ResponseStream>),
    /// The gateway refuses the response instead of passing it on: send this reply in its place.
    Refuse(Reply),
}

/// What becomes of a whole response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buffered {
    /// The body goes to the client as it came.
    Unchanged,
    /// The tool calls were refused: this body replaces the upstream's, and `blocked` names the
    /// refused tools for `x-warden-blocked`.
    Refusal { body: Vec<u8>, blocked: String },
    /// The body could not be policed: this error replaces the whole response.
    Refused(Reply),
    /// The model router's answer in the client's API (a translated body, or an upstream error in
    /// the OpenAI shape): this body, as JSON, with `status` when it changes, and `blocked` when
    /// tool calls were refused.
    Translated { status: Option<u16>, body: Vec<u8>, blocked: Option<String> },
}

/// How a body is laid out on the wire, as far as the gateway reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Whole,
    Framed(Framing),
}

/// Which layout to read: the content type's word when it names one the gateway knows, else what
/// the request asked for. An upstream that answers a stream request with a whole JSON body (or a
/// whole request with a stream) is read as what it sent, so nothing escapes by changing shape.
fn shape(content_type: Option<&str>, stream: bool, expected: Framing) -> Shape {
    let media = content_type.and_then(|ct| ct.split(';').next()).map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("text/event-stream") => Shape::Framed(Framing::Sse),
        Some("application/vnd.amazon.eventstream") => Shape::Framed(Framing::EventStream),
        Some(m) if m == "application/json" || m.ends_with("+json") => {
            if stream && expected == Framing::JsonArray {
                Shape::Framed(Framing::JsonArray)
            } else {
                Shape::Whole
            }
        }
        _ if stream => Shape::Framed(expected),
        _ => Shape::Whole,
    }
}

/// Whether `api` carries tool calls the gateway must police.
fn policed(api: Api) -> bool {
    !matches!(api, Api::Embeddings | Api::Models)
}

impl Exchange {
    /// Decides how the response body is handled, from its status and headers.
    pub fn response_headers(&mut self, head: &ResponseHead) -> ResponsePlan {
        self.outcome.status = Some(head.status);
        let success = (200..300).contains(&head.status);
        let translated = self.translated_framing();
        let api = match self.wire_api() {
            Some(api) if success && api != Api::Models => api,
            // A target's error becomes an OpenAI error: read whole, then rewritten.
            Some(_) if translated.is_some() => return ResponsePlan::Buffer,
            _ => return ResponsePlan::PassThrough,
        };
        let encoded =
            head.content_encoding.map(str::trim).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
        if let Some(encoding) = encoded {
            if !policed(api) {
                return ResponsePlan::PassThrough;
            }
            let reason = format!("it arrived compressed (content-encoding: {encoding}) although the gateway asked for an uncompressed body");
            return ResponsePlan::Refuse(self.refuse("compressed_response", reason));
        }
        let expected = translated.unwrap_or_else(|| providers::stream_framing(api, self.route.gemini_sse));
        match shape(head.content_type, self.facts.stream, expected) {
            Shape::Whole => ResponsePlan::Buffer,
            Shape::Framed(framing) => {
                let limit = self.config.max_held_bytes;
                // A translated stream is policed as the chat stream it becomes.
                let (translation, framing) = match self.stream_translation(framing) {
                    Some(t) => (Some(t), Framing::Sse),
                    None => (None, framing),
                };
                match StreamFold::with_limit(api, self.facts.hide_usage_chunk, framing, limit) {
                    Some(fold) => {
                        let hold_back = self.guard.take().map(|g| HoldBack::new(g, limit));
                        let stream = ResponseStream::new(framing, fold, hold_back).translated(translation);
                        ResponsePlan::Stream(Box::new(stream))
                    }
                    None => ResponsePlan::Buffer,
                }
            }
        }
    }

    /// A refusal of the whole response, noted for the record.
    fn refuse(&mut self, label: &'static str, reason: String) -> Reply {
        self.outcome.unpoliced = Some(label);
        self.outcome.complete = true;
        self.reject(&WardenError::UnpoliceableResponse { reason })
    }

    /// The whole body of a buffered (non-streaming) response.
    pub fn buffered_response(&mut self, body: &[u8]) -> Buffered {
        self.outcome.complete = true;
        let Some(api) = self.wire_api() else { return Buffered::Unchanged };
        if let Some(translated) = self.translate_whole(self.outcome.status.unwrap_or(200), body) {
            return self.translated_response(api, translated);
        }
        // Most answers carry no tool call: their view is read without a `Value` tree, and with
        // nothing to judge they go out unchanged.
        if let Some(view) = providers::parse_answer_without_calls(api, body) {
            self.outcome.response = Some(view);
            return Buffered::Unchanged;
        }
        let json = match serde_json::from_slice::<Value>(body) {
            Ok(json @ Value::Object(_)) => json,
            _ if !policed(api) => return Buffered::Unchanged,
            _ => {
                let reason = "its body is not the JSON object this API returns".to_owned();
                return Buffered::Refused(self.refuse("unreadable_body", reason));
            }
        };
        match self.police_whole(api, &json) {
            Ok(None) => Buffered::Unchanged,
            Ok(Some((refused, header))) => {
                Buffered::Refusal { body: crate::providers::json::to_bytes(&refused, 256), blocked: header }
            }
            Err(reply) => Buffered::Refused(reply),
        }
    }

    /// Reads a whole answer for the record and judges its tool calls: `Some((refusal, blocked
    /// tools))` when calls were refused.
    fn police_whole(&mut self, api: Api, json: &Value) -> Result<Option<(Value, String)>, Reply> {
        let Some(blocked) = self.judge(providers::parse_response(api, json)) else { return Ok(None) };
        self.refusal(api, json, blocked)
    }

    /// Keeps the answer's view for the record and judges its tool calls: the calls policy
    /// blocks, if any.
    fn judge(&mut self, response: Option<view::Response>) -> Option<Blocked> {
        self.outcome.response = response;
        let guard = self.guard.as_ref()?;
        let calls = self.outcome.response.as_ref().map(|r| r.tool_calls.as_slice()).unwrap_or_default();
        if calls.is_empty() {
            return None;
        }
        hold_back::evaluate(guard, calls)
    }

    /// The answer `json` with its blocked calls replaced by the refusal, and the blocked tools'
    /// header value.
    fn refusal(&mut self, api: Api, json: &Value, blocked: Blocked) -> Result<Option<(Value, String)>, Reply> {
        let message = refusal::message(&blocked.calls);
        let Some(refused) = providers::refusal_body(api, json, &message) else {
            return Err(self.refuse("no_refusal_shape", "it carries tool calls".to_owned()));
        };
        let header = blocked.tools.join(",");
        self.outcome.blocked = Some(blocked);
        Ok(Some((refused, header)))
    }

    /// A routed whole answer: the target's error in the OpenAI shape, or its answer as chat,
    /// policed like a native chat answer (from the view the translation built, the chat bytes are
    /// only read back to write a refusal), then in the client's API.
    fn translated_response(&mut self, api: Api, translated: Result<TranslatedWhole, WardenError>) -> Buffered {
        let (bytes, view) = match translated {
            Ok(TranslatedWhole::Error { status, body }) => {
                return Buffered::Translated { status: Some(status), body, blocked: None }
            }
            Ok(TranslatedWhole::Chat { bytes, view }) => (bytes, view),
            Err(err) => {
                self.outcome.unpoliced = Some("untranslatable_response");
                return Buffered::Refused(self.reject(&err));
            }
        };
        let (answer, blocked) = match self.judge(Some(view)) {
            None => (bytes, None),
            Some(blocked) => {
                let json = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
                match self.refusal(api, &json, blocked) {
                    Ok(Some((refused, header))) => (crate::providers::json::to_bytes(&refused, 256), Some(header)),
                    Ok(None) => (bytes, None),
                    Err(reply) => return Buffered::Refused(reply),
                }
            }
        };
        match self.to_client(answer) {
            Ok(body) => Buffered::Translated { status: None, body, blocked },
            Err(err) => Buffered::Refused(self.reject(&err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_type_decides_the_layout_when_it_names_one() {
        assert_eq!(shape(Some("text/event-stream; charset=utf-8"), false, Framing::Sse), Shape::Framed(Framing::Sse));
        assert_eq!(shape(Some("application/json"), true, Framing::Sse), Shape::Whole);
        assert_eq!(shape(Some("application/json"), true, Framing::JsonArray), Shape::Framed(Framing::JsonArray));
        assert_eq!(shape(Some("text/event-stream"), true, Framing::JsonArray), Shape::Framed(Framing::Sse));
        assert_eq!(
            shape(Some("application/vnd.amazon.eventstream"), true, Framing::EventStream),
            Shape::Framed(Framing::EventStream)
        );
        assert_eq!(shape(None, true, Framing::EventStream), Shape::Framed(Framing::EventStream));
        assert_eq!(shape(Some("text/plain"), false, Framing::Sse), Shape::Whole);
    }
}
