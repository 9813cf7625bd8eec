//! The bodies of the fuzz targets in `filter/fuzz/fuzz_targets/`, built only under `cfg(fuzzing)`.
//! A failed assertion here is a finding, so asserting is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::providers::{parse_request, parse_response, stream_framing, StreamFold};
use crate::stream::{eventstream, json_array, sse, Frame, StreamError, MAX_FRAME_BYTES};
use crate::view::Api;

const APIS: [Api; 8] = [
    Api::ChatCompletions,
    Api::Responses,
    Api::Embeddings,
    Api::Models,
    Api::Messages,
    Api::GenerateContent,
    Api::Converse,
    Api::Chat,
];

/// Fails to compile when `Api` gains a variant, so `APIS` stays complete.
const _: fn(Api) = |api| match api {
    Api::ChatCompletions
    | Api::Responses
    | Api::Embeddings
    | Api::Models
    | Api::Messages
    | Api::GenerateContent
    | Api::Converse
    | Api::Chat => {}
};

pub fn sse(data: &[u8]) {
    check_decoder(data, sse::Decoder::new, sse::Decoder::push, sse::Decoder::finish);
}

pub fn json_array(data: &[u8]) {
    check_decoder(data, json_array::Decoder::new, json_array::Decoder::push, json_array::Decoder::finish);
}

pub fn eventstream(data: &[u8]) {
    check_decoder(data, eventstream::Decoder::new, eventstream::Decoder::push, eventstream::Decoder::finish);
    if let Ok(message) = eventstream::decode_message(data) {
        assert_eq!(eventstream::encode(&message.headers, &message.payload), data, "decode→encode is not the identity");
    }
}

/// Every request and response parser over any JSON, and every stream fold over the frames of the
/// input decoded as each framing.
pub fn request_parsers(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        for api in APIS {
            let _ = parse_request(api, &value);
            let _ = parse_response(api, &value);
        }
    }
    let sse_frames = frames(data, sse::Decoder::new(MAX_FRAME_BYTES), sse::Decoder::push, sse::Decoder::finish);
    let array_frames =
        frames(data, json_array::Decoder::new(MAX_FRAME_BYTES), json_array::Decoder::push, json_array::Decoder::finish);
    let event_frames = frames(
        data,
        eventstream::Decoder::new(MAX_FRAME_BYTES),
        eventstream::Decoder::push,
        eventstream::Decoder::finish,
    );
    let hide_usage_chunk = data.first().is_some_and(|b| b & 1 == 1);
    for api in APIS {
        // Every fold sees SSE frames (what a confused upstream may send), plus its own framing.
        let own = match stream_framing(api, false) {
            crate::stream::Framing::EventStream => Some(&event_frames),
            crate::stream::Framing::JsonArray => Some(&array_frames),
            crate::stream::Framing::Sse => None,
        };
        for (framing, batch) in std::iter::once((crate::stream::Framing::Sse, &sse_frames))
            .chain(own.map(|frames| (stream_framing(api, false), frames)))
        {
            if let Some(mut fold) = StreamFold::new(api, hide_usage_chunk, framing) {
                // Every frame is also stripped and the stream refused, as the hold-back would.
                let mut last = None;
                for frame in batch {
                    let _ = fold.on_frame(frame);
                    let _ = fold.strip_tools(frame);
                    last = Some(frame);
                }
                let _ = fold.refusal("blocked", last);
                let _ = fold.response();
            }
        }
    }
}

/// The last three bytes steer the run: a cut point (u16, taken modulo the body length) and a frame
/// cap (0 = the production cap, else 8 × the byte). Trailing rather than leading, so a recorded
/// stream used as a seed keeps its framing.
fn controls(data: &[u8]) -> (&[u8], usize, usize) {
    let Some((body, ctl)) = data.split_last_chunk::<3>() else { return (data, 0, MAX_FRAME_BYTES) };
    let cut = usize::from(u16::from_be_bytes([ctl[0], ctl[1]])) % (body.len() + 1);
    let limit = if ctl[2] == 0 { MAX_FRAME_BYTES } else { usize::from(ctl[2]) * 8 };
    (body, cut, limit)
}

type Decoded = Result<(Vec<Frame>, Vec<u8>), StreamError>;

fn run<D>(
    mut decoder: D,
    pieces: &[&[u8]],
    push: fn(&mut D, &[u8], &mut Vec<Frame>) -> Result<(), StreamError>,
    finish: fn(&mut D, &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>,
) -> Decoded {
    let mut out = Vec::new();
    for piece in pieces {
        push(&mut decoder, piece, &mut out)?;
    }
    let rest = finish(&mut decoder, &mut out)?;
    Ok((out, rest))
}

fn frames<D>(
    data: &[u8],
    decoder: D,
    push: fn(&mut D, &[u8], &mut Vec<Frame>) -> Result<(), StreamError>,
    finish: fn(&mut D, &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>,
) -> Vec<Frame> {
    run(decoder, &[data], push, finish).map(|(frames, _)| frames).unwrap_or_default()
}

/// The decoder contract: one-shot and cut input give the same frames (or both fail), and the raw
/// bytes of the frames plus the leftover are the input.
fn check_decoder<D>(
    data: &[u8],
    new: fn(usize) -> D,
    push: fn(&mut D, &[u8], &mut Vec<Frame>) -> Result<(), StreamError>,
    finish: fn(&mut D, &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>,
) {
    let (body, cut, limit) = controls(data);
    let (head, tail) = body.split_at(cut);
    let whole = run(new(limit), &[body], push, finish);
    let split = run(new(limit), &[head, tail], push, finish);
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    let single = run(new(limit), &bytewise, push, finish);
    assert_eq!(whole.is_ok(), split.is_ok(), "cutting at {cut} changed the outcome: {whole:?} vs {split:?}");
    assert_eq!(whole.is_ok(), single.is_ok(), "byte-wise pushes changed the outcome");
    if let (Ok(whole), Ok(split), Ok(single)) = (whole, split, single) {
        let mut raw: Vec<u8> = whole.0.iter().flat_map(|f| f.raw.iter().copied()).collect();
        raw.extend_from_slice(&whole.1);
        assert_eq!(raw, body, "raw bytes do not rebuild the input");
        assert_eq!(whole, split, "cutting at {cut} changed the frames");
        assert_eq!(whole, single, "byte-wise pushes changed the frames");
    }
}
