//! The OpenAI-wire providers (OpenAI, Azure, the OpenAI-compatible family) for the model router:
//! they speak the hub format, so only the model is renamed. Their streams, bodies and errors are
//! the client's as they are.

use super::response::usage;
use crate::providers::translate::{Answer, ChunkTranslator, FromChat, NativeRequest, ReplyMeta, TranslateError};
use crate::stream::{Frame, Framing};
use crate::view;
use serde_json::Value;

pub struct OpenAiWire;

pub static OPENAI_WIRE: OpenAiWire = OpenAiWire;

impl FromChat for OpenAiWire {
    fn target(&self) -> &'static str {
        "openai"
    }

    fn request(&self, chat: &Value, model: &str) -> Result<NativeRequest, TranslateError> {
        let mut body = chat.clone();
        let Some(obj) = body.as_object_mut() else {
            return Err(TranslateError::invalid("body", "a chat completions request is a JSON object"));
        };
        obj.insert("model".into(), model.into());
        let stream = obj.get("stream").and_then(Value::as_bool) == Some(true);
        Ok(NativeRequest {
            path: "/chat/completions".into(),
            headers: Vec::new(),
            body: crate::providers::json::to_bytes(&body, 256),
            stream,
            framing: Framing::Sse,
        })
    }

    fn response(&self, _native: &[u8], _meta: &ReplyMeta) -> Result<Answer, TranslateError> {
        Ok(Answer::Chat)
    }

    /// Frames pass unchanged; a usage chunk the client did not ask for is the chat fold's to hide
    /// (`hide_usage_chunk`), as for native OpenAI traffic.
    fn stream(&self, _meta: ReplyMeta, _include_usage: bool) -> Box<dyn ChunkTranslator> {
        Box::new(PassThrough::default())
    }

    fn error(&self, status: u16, native: &[u8]) -> (u16, Vec<u8>) {
        (status, native.to_vec())
    }
}

/// A chat stream passed through; only its usage is read.
#[derive(Debug, Default)]
pub struct PassThrough {
    /// From the latest chunk that carried usage.
    usage: Option<view::Usage>,
}

impl ChunkTranslator for PassThrough {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        // Only the usage chunk is parsed; the rest is forwarded without a look.
        if frame.data.windows(8).any(|w| w == b"\"usage\":") {
            if let Ok(chunk) = serde_json::from_slice::<Value>(&frame.data) {
                if let Some(u) = chunk.get("usage").filter(|u| u.is_object()).and_then(usage) {
                    self.usage = Some(u);
                }
            }
        }
        out.push(frame.clone());
    }

    fn finish(&mut self, _out: &mut Vec<Frame>) {}

    fn usage(&self) -> Option<view::Usage> {
        self.usage
    }
}
