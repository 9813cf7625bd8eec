//! Incremental framing of provider streams. These modules cut bytes into frames and know nothing of
//! what the frames mean; a provider's `stream.rs` gives them meaning.
//!
//! Every decoder keeps this contract, whatever the chunking of its input:
//! - the concatenation of the `raw` bytes of every frame it yields, followed by the bytes `finish`
//!   returns, is exactly the input (so pass-through is byte-exact);
//! - the frames it yields do not depend on where the input was cut;
//! - buffered state is capped: a frame larger than the cap is `StreamError::FrameTooLarge`.

pub mod eventstream;
pub mod json_array;
pub mod sse;

/// One frame of a provider stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// SSE `event:` field; eventstream `:event-type` (or `:exception-type` for exception frames);
    /// `None` for JSON-array elements and SSE events without an `event:` line.
    pub name: Option<String>,
    /// SSE data lines joined with `\n`; eventstream payload; the JSON text of an array element.
    pub data: Vec<u8>,
    /// The exact input bytes that made this frame (separators and comments included).
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("stream frame of {actual} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { actual: usize, limit: usize },
    #[error("eventstream {which} CRC mismatch (expected {expected:#010x}, computed {computed:#010x})")]
    Crc { which: &'static str, expected: u32, computed: u32 },
    #[error("malformed stream: {0}")]
    Malformed(&'static str),
}

/// Largest frame any decoder buffers (a single stream event; whole streams are never buffered).
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Default cap on the bytes a stream may hold back while tool calls are judged, and on the
/// argument text kept per call (`max_held_bytes` in the plugin configuration). Reaching it refuses
/// the calls; it never releases them unchecked.
pub const DEFAULT_MAX_HELD_BYTES: usize = 8 * 1024 * 1024;

/// The framing a stream uses on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Sse,
    JsonArray,
    EventStream,
}

/// A decoder for any of the three framings.
#[derive(Debug)]
pub enum Decoder {
    Sse(sse::Decoder),
    JsonArray(json_array::Decoder),
    EventStream(eventstream::Decoder),
}

impl Decoder {
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Sse => Decoder::Sse(sse::Decoder::new(MAX_FRAME_BYTES)),
            Framing::JsonArray => Decoder::JsonArray(json_array::Decoder::new(MAX_FRAME_BYTES)),
            Framing::EventStream => Decoder::EventStream(eventstream::Decoder::new(MAX_FRAME_BYTES)),
        }
    }

    /// Feeds a chunk; complete frames are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
        match self {
            Decoder::Sse(d) => d.push(chunk, out),
            Decoder::JsonArray(d) => d.push(chunk, out),
            Decoder::EventStream(d) => d.push(chunk, out),
        }
    }

    /// Bytes pushed that belong to no frame yet, where the decoder can say (SSE).
    pub fn buffered(&self) -> Option<usize> {
        match self {
            Decoder::Sse(d) => Some(d.buffered()),
            Decoder::JsonArray(_) | Decoder::EventStream(_) => None,
        }
    }

    /// Takes back a frame this decoder made once nothing reads it any more, so its buffers serve
    /// the next frames (SSE; the other framings drop it).
    pub fn recycle(&mut self, frame: Frame) {
        if let Decoder::Sse(d) = self {
            d.recycle(frame);
        }
    }

    /// Ends the input. Frames completed by the end are appended to `out`; the bytes that belong to
    /// no frame (a closing `]`, a trailing partial frame of a cut stream) are returned.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError> {
        match self {
            Decoder::Sse(d) => d.finish(out),
            Decoder::JsonArray(d) => d.finish(out),
            Decoder::EventStream(d) => d.finish(out),
        }
    }
}

impl Frame {
    /// A new frame in `framing` carrying `data` (JSON text): how transforms add frames to a stream.
    /// JSON-array frames are built as a later element (`,` separator), never the first.
    pub fn build(framing: Framing, name: Option<&str>, data: &[u8]) -> Frame {
        let raw = match framing {
            Framing::Sse => sse::encode(name, &String::from_utf8_lossy(data)),
            Framing::EventStream => eventstream::encode_event(name.unwrap_or_default(), data),
            Framing::JsonArray => {
                let mut raw = b",\r\n".to_vec();
                raw.extend_from_slice(data);
                raw
            }
        };
        Frame { name: name.map(str::to_string), data: data.to_vec(), raw }
    }

    /// This frame with its data replaced. A JSON-array element keeps the separator bytes that came
    /// before it, so the array stays well formed.
    pub fn with_data(&self, framing: Framing, data: &[u8]) -> Frame {
        if framing == Framing::JsonArray {
            let prefix_len = self.raw.len().saturating_sub(self.data.len());
            if self.raw.ends_with(&self.data) {
                let mut raw = self.raw.get(..prefix_len).unwrap_or_default().to_vec();
                raw.extend_from_slice(data);
                return Frame { name: self.name.clone(), data: data.to_vec(), raw };
            }
        }
        Frame::build(framing, self.name.as_deref(), data)
    }
}
