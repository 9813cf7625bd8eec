//! Gemini streams: every frame (an `alt=sse` event or a JSON-array element) is one complete
//! `GenerateContentResponse`, and function calls arrive whole, so folding is appending.

use crate::providers::json::{array_at, str_at};
use crate::providers::lenient::{Skip, Text};
use crate::providers::typed::{object_reader, read_whole, List};
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::view;
use serde::de::{self, MapAccess};
use serde_json::Value;

#[derive(Debug)]
pub struct Fold {
    /// Everything the frames so far said; usage and finish reason are those of the latest frame
    /// that carried them.
    response: view::Response,
    /// How the frames are framed on the wire: frames the refusal builds must be framed the same.
    pub(super) framing: Framing,
    /// The latest `modelVersion`, `responseId` and `usageMetadata` seen, so a refusal chunk built
    /// from nothing (the stream ended without a finish) still names the model and the usage.
    pub(super) model_version: Option<Value>,
    pub(super) response_id: Option<Value>,
    pub(super) usage_metadata: Option<Value>,
    /// The bytes before a JSON-array element that `strip_tools` dropped whole, when they open the
    /// array (`[`): the next frame that goes out carries them in place of its own `,` separator.
    pub(super) carried_prefix: Option<Vec<u8>>,
    /// Every candidate index seen, and whether its finish reason has arrived.
    candidates: Vec<(u64, bool)>,
    /// Tests and the `response_path` fuzz target compare the typed fast path (`fold_text_chunk`)
    /// with the general one.
    #[cfg(any(test, fuzzing))]
    pub(crate) general_only: bool,
}

/// The chunk nearly every frame of a streamed answer is: text parts of one candidate (index 0),
/// with the model, the response id and the usage so far. Read typed (`providers::typed`: a value
/// is taken only when a tree takes it, skipped ones read as a tree reads them; the usage and the
/// ids are kept as the small trees the refusal reuses) instead of as one `Value` tree; a function
/// call, another part, a second candidate, `promptFeedback`, a key given twice or a field of an
/// unexpected type takes the general path.
#[derive(Default)]
struct TextChunk<'a> {
    candidates: Option<Vec<Candidate<'a>>>,
    model_version: Option<Value>,
    response_id: Option<Value>,
    usage_metadata: Option<Value>,
}

object_reader!(TextChunk, "a response chunk", read_field);

impl<'a> TextChunk<'a> {
    fn read_field<'de: 'a, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "candidates" => self.candidates = Some(map.next_value::<List<Candidate<'a>>>()?.0),
            "modelVersion" => self.model_version = Some(map.next_value()?),
            "responseId" => self.response_id = Some(map.next_value()?),
            "usageMetadata" => self.usage_metadata = Some(map.next_value()?),
            "promptFeedback" => return Err(de::Error::custom("promptFeedback")),
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Candidate<'a> {
    index: Option<u64>,
    parts: Vec<Part<'a>>,
    finish_reason: Text<'a>,
}

object_reader!(Candidate, "a candidate", read_field);

impl<'a> Candidate<'a> {
    fn read_field<'de: 'a, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "index" => self.index = map.next_value()?,
            "content" => self.parts = map.next_value::<Content<'a>>()?.parts,
            "finishReason" => self.finish_reason = map.next_value()?,
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Content<'a> {
    parts: Vec<Part<'a>>,
}

object_reader!(Content, "a content object", read_field);

impl<'a> Content<'a> {
    fn read_field<'de: 'a, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "parts" => self.parts = map.next_value::<List<Part<'a>>>()?.0,
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

/// A text part; a function call (either spelling) is not read here.
#[derive(Default)]
struct Part<'a> {
    text: Text<'a>,
    thought: Option<Value>,
}

object_reader!(Part, "a part", read_field);

impl<'a> Part<'a> {
    fn read_field<'de: 'a, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "text" => self.text = map.next_value()?,
            "thought" => self.thought = Some(map.next_value()?),
            "functionCall" | "function_call" => return Err(de::Error::custom("a function call")),
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

impl Fold {
    pub fn new(framing: Framing) -> Self {
        Fold {
            response: view::Response::default(),
            framing,
            model_version: None,
            response_id: None,
            usage_metadata: None,
            carried_prefix: None,
            candidates: Vec::new(),
            #[cfg(any(test, fuzzing))]
            general_only: false,
        }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        // A JSON-array element's raw bytes end with its data; an SSE event's end with its blank line.
        let sse_event = frame.data.is_empty() || !frame.raw.ends_with(&frame.data);
        if self.framing == Framing::Sse && sse_event && has_bare_line(&frame.raw) {
            return FrameInfo { unreadable: true, ..FrameInfo::default() };
        }
        if let Some(info) = self.fold_text_chunk(&frame.data) {
            return info;
        }
        // A frame that is not JSON says nothing the gateway can read; unless blank, it is unreadable.
        let Ok(chunk) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameInfo::unparsed(&frame.data);
        };
        super::response::apply_chunk(&mut self.response, &chunk);
        for (key, slot) in [
            ("modelVersion", &mut self.model_version),
            ("responseId", &mut self.response_id),
            ("usageMetadata", &mut self.usage_metadata),
        ] {
            if let Some(v) = chunk.get(key) {
                *slot = Some(v.clone());
            }
        }
        let candidates = array_at(&chunk, "candidates");
        // Each call arrives whole, so every call in a chunk also starts in it.
        let started_tools: Vec<String> = candidates
            .iter()
            .flat_map(super::response::calls)
            .map(|call| str_at(call, "name").unwrap_or_default().to_string())
            .collect();
        let mut finishes = false;
        for candidate in candidates {
            let index = candidate.get("index").and_then(Value::as_u64).unwrap_or(0);
            let finished = str_at(candidate, "finishReason").is_some_and(|r| r != "FINISH_REASON_UNSPECIFIED");
            finishes |= finished;
            match self.candidates.iter_mut().find(|(i, _)| *i == index) {
                Some((_, done)) => *done |= finished,
                None => self.candidates.push((index, finished)),
            }
        }
        // A prompt blocked before generation ends the stream with no candidate at all.
        let blocked_prompt =
            candidates.is_empty() && chunk.get("promptFeedback").and_then(|f| f.get("blockReason")).is_some();
        FrameInfo {
            drop: false,
            tool: !started_tools.is_empty(),
            started_tools,
            // The message ends once every candidate seen has finished.
            ends_message: (finishes && self.candidates.iter().all(|(_, done)| *done)) || blocked_prompt,
            unreadable: false,
        }
    }

    /// The general path's effect for a `TextChunk`, without building a tree of the whole chunk;
    /// `None` when the frame is not one.
    fn fold_text_chunk(&mut self, data: &[u8]) -> Option<FrameInfo> {
        #[cfg(any(test, fuzzing))]
        if self.general_only {
            return None;
        }
        let chunk = read_whole::<TextChunk>(data)?;
        let candidates = chunk.candidates.unwrap_or_default();
        // One candidate, the answer (index 0): `apply_chunk` reads its text and finish reason.
        let candidate = match candidates.as_slice() {
            [] => None,
            [one] if one.index.unwrap_or(0) == 0 => Some(one),
            _ => return None,
        };
        if let Some(Value::String(model)) = &chunk.model_version {
            self.response.model = Some(model.clone());
        }
        let mut finishes = false;
        if let Some(candidate) = candidate {
            for part in &candidate.parts {
                if let Some(text) = part.text.as_deref() {
                    if !matches!(part.thought, Some(Value::Bool(true))) {
                        self.response.text.push_str(text);
                    }
                }
            }
            let reason = candidate.finish_reason.as_deref();
            if let Some(reason) = reason {
                self.response.finish_reason = Some(reason.to_string());
            }
            finishes = reason.is_some_and(|r| r != "FINISH_REASON_UNSPECIFIED");
            match self.candidates.iter_mut().find(|(i, _)| *i == 0) {
                Some((_, done)) => *done |= finishes,
                None => self.candidates.push((0, finishes)),
            }
        }
        if let Some(meta @ Value::Object(_)) = &chunk.usage_metadata {
            self.response.usage = Some(super::response::usage(meta));
        }
        for (value, slot) in [
            (chunk.model_version, &mut self.model_version),
            (chunk.response_id, &mut self.response_id),
            (chunk.usage_metadata, &mut self.usage_metadata),
        ] {
            if value.is_some() {
                *slot = value;
            }
        }
        Some(FrameInfo {
            ends_message: finishes && self.candidates.iter().all(|(_, done)| *done),
            ..FrameInfo::default()
        })
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }
}

/// Whether an SSE event has a line that is neither blank, a comment nor a `data:` line. Gemini sends
/// only data lines, and google-genai reads any other line as raw JSON (it takes error objects that
/// way): a call on such a line reaches the client without ever being a frame's data here.
fn has_bare_line(raw: &[u8]) -> bool {
    raw.split(|b| *b == b'\n' || *b == b'\r')
        .any(|line| !line.is_empty() && !line.starts_with(b":") && !line.starts_with(b"data:"))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
