//! Gemini streams: every frame (an `alt=sse` event or a JSON-array element) is one complete
//! `GenerateContentResponse`, and function calls arrive whole, so folding is appending.

use crate::providers::json::{array_at, str_at};
use crate::providers::lenient::{Skip, Text};
use crate::providers::typed::{object_reader, read_whole, List};
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::view;
use serde::de;
use serde_json::value::RawValue;
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
    /// `usageMetadata` as the upstream wrote it: kept as text, not as a tree, because every chunk
    /// carries a new one and only a refusal reads it.
    pub(super) usage_metadata: Option<Box<RawValue>>,
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
/// is taken only when a tree takes it, skipped ones read as a tree reads them; the ids are kept
/// as the small trees the refusal reuses, the usage as its text) instead of as one `Value` tree; a function
/// call (either spelling, whatever its value), a second candidate or one at another index,
/// `promptFeedback`, a key given twice or a field of an unexpected type takes the general path.
#[derive(Default)]
struct TextChunk<'a> {
    candidates: Option<Vec<Candidate<'a>>>,
    model_version: Option<Value>,
    response_id: Option<Value>,
    usage_metadata: Option<&'a RawValue>,
}

object_reader!(TextChunk, "a response chunk", |this, key, map| {
    "candidates" => this.candidates = Some(map.next_value::<List<Candidate<'a>>>()?.0),
    "modelVersion" => this.model_version = Some(map.next_value()?),
    "responseId" => this.response_id = Some(map.next_value()?),
    "usageMetadata" => this.usage_metadata = Some(map.next_value()?),
    "promptFeedback" => return Err(de::Error::custom("promptFeedback")),
});

#[derive(Default)]
struct Candidate<'a> {
    index: Option<u64>,
    parts: Vec<Part<'a>>,
    finish_reason: Text<'a>,
}

object_reader!(Candidate, "a candidate", |this, key, map| {
    "index" => this.index = map.next_value()?,
    "content" => this.parts = map.next_value::<Content<'a>>()?.parts,
    "finishReason" => this.finish_reason = map.next_value()?,
});

#[derive(Default)]
struct Content<'a> {
    parts: Vec<Part<'a>>,
}

object_reader!(Content, "a content object", |this, key, map| {
    "parts" => this.parts = map.next_value::<List<Part<'a>>>()?.0,
});

/// A text part; a function call (either spelling) is not read here.
#[derive(Default)]
struct Part<'a> {
    text: Text<'a>,
    thought: Option<Value>,
}

object_reader!(Part, "a part", |this, key, map| {
    "text" => this.text = map.next_value()?,
    "thought" => this.thought = Some(map.next_value()?),
    "functionCall" | "function_call" => return Err(de::Error::custom("a function call")),
});

/// The counts of a `usageMetadata` object (any other field skipped, read as a tree reads it):
/// a count that is not a non-negative integer reads as 0, as the tree's `u64_at` reads it.
#[derive(Default)]
struct UsageCounts<'a> {
    counts: Vec<(&'static str, u64)>,
    /// `object_reader!` readers borrow from the text they read; this one keeps nothing of it.
    text: std::marker::PhantomData<&'a str>,
}

object_reader!(UsageCounts, "a usage object", read_field);

impl UsageCounts<'_> {
    fn read_field<'de, A: de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        const COUNTS: [&str; 4] =
            ["promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount", "thoughtsTokenCount"];
        match COUNTS.iter().find(|k| **k == key) {
            Some(k) => {
                let value: Value = map.next_value()?;
                self.counts.push((k, value.as_u64().unwrap_or(0)));
            }
            None => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> u64 {
        self.counts.iter().find(|(k, _)| *k == key).map_or(0, |(_, n)| *n)
    }
}

/// A chunk's `usageMetadata` text, for a chunk read as a tree (the slot keeps text either way).
#[derive(Default)]
struct UsageText<'a> {
    usage_metadata: Option<&'a RawValue>,
}

object_reader!(UsageText, "a response chunk", |this, key, map| {
    "usageMetadata" => this.usage_metadata = Some(map.next_value()?),
});

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
        for (key, slot) in [("modelVersion", &mut self.model_version), ("responseId", &mut self.response_id)] {
            if let Some(v) = chunk.get(key) {
                *slot = Some(v.clone());
            }
        }
        if let Some(v) = chunk.get("usageMetadata") {
            // The text as sent; a chunk whose text cannot be picked out (a key given twice) keeps
            // the tree's reading, written back.
            let sent = read_whole::<UsageText>(&frame.data).and_then(|u| u.usage_metadata).map(RawValue::to_owned);
            self.usage_metadata = sent.or_else(|| serde_json::value::to_raw_value(v).ok());
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
        // The usage's counts, read here as a tree would have read them with the rest: only from an
        // object (`apply_chunk` keeps a usage only from one); anything else is the general path's.
        let usage = match chunk.usage_metadata {
            Some(raw) => Some((raw, read_whole::<UsageCounts>(raw.get().as_bytes())?)),
            None => None,
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
        if let Some((usage, counts)) = usage {
            self.response.usage = Some(super::response::usage_of(|key| counts.get(key)));
            self.usage_metadata = Some(usage.to_owned());
        }
        for (value, slot) in
            [(chunk.model_version, &mut self.model_version), (chunk.response_id, &mut self.response_id)]
        {
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
    // Line ends found with memchr: this runs on every event of a Gemini stream.
    let mut start = 0;
    memchr::memchr2_iter(b'\n', b'\r', raw).chain(std::iter::once(raw.len())).any(|end| {
        let line = raw.get(start..end).unwrap_or_default();
        start = end.saturating_add(1);
        !line.is_empty() && !line.starts_with(b":") && !line.starts_with(b"data:")
    })
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
