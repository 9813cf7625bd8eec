//! Streams cut into frames by the filter's own decoders (`stream::Decoder`), and frames built by
//! hand for synthetic streams.

use crate::providers::StreamFold;
use crate::stream::{sse, Decoder, Frame, Framing, StreamError};
use crate::view::Api;

/// Decodes `input` pushed in pieces cut at `cuts` (any order, out-of-range points ignored): the
/// frames, then the bytes that belong to no frame.
pub fn decode_cut(mut decoder: Decoder, input: &[u8], cuts: &[usize]) -> Result<(Vec<Frame>, Vec<u8>), StreamError> {
    let mut points: Vec<usize> = cuts.iter().copied().filter(|&c| c <= input.len()).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut frames = Vec::new();
    let mut from = 0;
    for to in points {
        decoder.push(&input[from..to], &mut frames)?;
        from = to;
    }
    let rest = decoder.finish(&mut frames)?;
    Ok((frames, rest))
}

/// Decodes `input` one byte per push.
pub fn decode_bytewise(decoder: Decoder, input: &[u8]) -> Result<(Vec<Frame>, Vec<u8>), StreamError> {
    let cuts: Vec<usize> = (0..input.len()).collect();
    decode_cut(decoder, input, &cuts)
}

/// Decodes a whole stream in one push with the standard frame limit.
pub fn decode(framing: Framing, input: &[u8]) -> (Vec<Frame>, Vec<u8>) {
    decode_cut(Decoder::new(framing), input, &[]).unwrap_or_else(|e| panic!("{framing:?} stream: {e}"))
}

/// The frames of a whole recorded stream, as the filter would see them.
pub fn frames(framing: Framing, input: &[u8]) -> Vec<Frame> {
    decode(framing, input).0
}

/// The frames of the recorded stream `tests/fixtures/<rel>`.
pub fn read_frames(framing: Framing, rel: &str) -> Vec<Frame> {
    frames(framing, &super::read(rel))
}

/// Frames of a recording that kept one SSE data payload per line and dropped the SSE framing: the
/// framing is put back and the SSE decoder reads it.
pub fn jsonl_frames(input: &[u8]) -> Vec<Frame> {
    let text = std::str::from_utf8(input).unwrap();
    let sse: Vec<u8> =
        text.lines().filter(|l| !l.trim().is_empty()).flat_map(|payload| sse::encode(None, payload)).collect();
    frames(Framing::Sse, &sse)
}

/// Folds `frames` with the stream fold of `api`, asserting that every frame goes to the client.
pub fn fold_forwarding(api: Api, frames: &[Frame]) -> StreamFold {
    let framing = crate::providers::stream_framing(api, true);
    let mut fold = StreamFold::new(api, false, framing).unwrap_or_else(|| panic!("{api:?} has no stream fold"));
    for frame in frames {
        assert!(!fold.on_frame(frame).drop, "{api:?}: every frame goes to the client");
    }
    fold
}

/// A stream event named `name` whose data is `data` as JSON text. `raw` is its SSE encoding; folds
/// never read `raw`, so the same frame serves eventstream tests.
pub fn event(name: &str, data: serde_json::Value) -> Frame {
    let data = data.to_string();
    Frame { name: Some(name.to_owned()), raw: sse::encode(Some(name), &data), data: data.into_bytes() }
}

/// An unnamed event (a bare `data:` line) carrying `data`.
pub fn data_frame(data: &str) -> Frame {
    Frame { name: None, raw: sse::encode(None, data), data: data.as_bytes().to_vec() }
}

/// The raw bytes of every frame, then the leftover.
pub fn reassemble(frames: &[Frame], rest: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = frames.iter().flat_map(|f| f.raw.iter().copied()).collect();
    out.extend_from_slice(rest);
    out
}

pub fn names(frames: &[Frame]) -> Vec<Option<&str>> {
    frames.iter().map(|f| f.name.as_deref()).collect()
}

pub fn datas(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| std::str::from_utf8(&f.data).unwrap()).collect()
}
