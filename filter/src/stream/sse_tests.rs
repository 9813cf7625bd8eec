use super::{encode, Decoder};
use crate::stream::{self, Frame, Framing, StreamError};
use crate::testutil::*;
use proptest::prelude::*;

fn decoder() -> stream::Decoder {
    stream::Decoder::new(Framing::Sse)
}

fn one_shot(input: &[u8]) -> (Vec<Frame>, Vec<u8>) {
    decode(Framing::Sse, input)
}

/// The stream fixtures the brief names, all of which must be present and decode cleanly.
const NAMED: &[&str] = &[
    "openai-chat/agw__completions-stream.sse",
    "anthropic-messages/agw__anthropic-stream_basic.sse",
    "anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse",
    "openai-responses/agw__responses-stream-image.sse",
];

fn sse_fixtures() -> Vec<(String, Vec<u8>)> {
    let all = fixtures_ending(".sse");
    for name in NAMED {
        assert!(all.iter().any(|(p, _)| p == name), "missing fixture {name}");
    }
    assert!(all.iter().filter(|(p, _)| p.contains("/extracted/")).count() >= 8);
    all
}

#[test]
fn events_are_split_on_blank_lines_with_name_and_data() {
    let (frames, rest) = one_shot(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
    assert_eq!(names(&frames), [Some("a"), Some("b")]);
    assert_eq!(datas(&frames), ["1", "2"]);
    assert_eq!(frames[0].raw, b"event: a\ndata: 1\n\n");
    assert!(rest.is_empty());
}

#[test]
fn crlf_and_lone_cr_end_lines_like_lf() {
    for input in [&b"event: x\r\ndata: y\r\n\r\n"[..], b"event: x\rdata: y\r\r", b"event: x\ndata: y\r\n\r"] {
        let (frames, rest) = one_shot(input);
        assert_eq!(names(&frames), [Some("x")], "{input:?}");
        assert_eq!(datas(&frames), ["y"]);
        assert_eq!(reassemble(&frames, &rest), input);
    }
}

#[test]
fn a_cr_at_the_end_of_a_chunk_keeps_the_following_lf_in_the_same_frame() {
    let input = b"data: a\r\n\r\ndata: b\r\n\r\n";
    let whole = one_shot(input);
    for cut in 0..=input.len() {
        let split = decode_cut(decoder(), input, &[cut]).unwrap();
        assert_eq!(split, whole, "cut at {cut}");
    }
    assert_eq!(whole.0[0].raw, b"data: a\r\n\r\n");
}

#[test]
fn a_lone_cr_split_from_the_next_line_still_ends_the_line() {
    let input = b"data: a\r\rdata: b\r\r";
    let (frames, rest) = decode_bytewise(decoder(), input).unwrap();
    assert_eq!(datas(&frames), ["a", "b"]);
    assert_eq!(frames[0].raw, b"data: a\r\r");
    assert!(rest.is_empty());
}

#[test]
fn a_frame_waits_only_for_the_byte_after_a_trailing_cr() {
    let mut d = decoder();
    let mut out = Vec::new();
    d.push(b"data: a\n\r", &mut out).unwrap();
    assert!(out.is_empty());
    d.push(b"d", &mut out).unwrap();
    assert_eq!(datas(&out), ["a"]);
    assert_eq!(out[0].raw, b"data: a\n\r");
}

#[test]
fn data_lines_are_joined_with_newlines_and_lose_one_leading_space() {
    let (frames, _) = one_shot(b"data: one\ndata:two\ndata:  three\ndata\n\n");
    assert_eq!(datas(&frames), ["one\ntwo\n three\n"]);
}

#[test]
fn comments_ids_and_retries_stay_in_raw_but_not_in_data() {
    let input = b": keep-alive\nid: 7\nretry: 100\nevent: e\ndata: x\n\n";
    let (frames, _) = one_shot(input);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].name.as_deref(), Some("e"));
    assert_eq!(frames[0].data, b"x");
    assert_eq!(frames[0].raw, input);
}

#[test]
fn a_block_of_only_comments_is_a_frame_without_name_or_data() {
    let (frames, _) = one_shot(b": ping\n: ping\n\ndata: x\n\n");
    assert_eq!(frames[0], Frame { name: None, data: Vec::new(), raw: b": ping\n: ping\n\n".to_vec() });
    assert_eq!(datas(&frames), ["", "x"]);
}

#[test]
fn extra_blank_lines_go_to_the_next_frame_or_the_leftover() {
    let (frames, rest) = one_shot(b"data: a\n\n\n\ndata: b\n\n\n");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].raw, b"\n\ndata: b\n\n");
    assert_eq!(rest, b"\n");
}

#[test]
fn a_stream_cut_before_its_blank_line_still_yields_its_last_event() {
    let (frames, rest) = one_shot(b"data: a\n\nevent: end\ndata: b\ndata: partial");
    assert_eq!(names(&frames), [None, Some("end")]);
    assert_eq!(datas(&frames), ["a", "b"]);
    assert_eq!(frames[1].raw, b"event: end\ndata: b\ndata: partial");
    assert!(rest.is_empty());
}

#[test]
fn a_lone_partial_line_at_the_end_is_left_over() {
    let (frames, rest) = one_shot(b"data: a\n\ndata: par");
    assert_eq!(frames.len(), 1);
    assert_eq!(rest, b"data: par");
}

#[test]
fn a_trailing_cr_ends_the_last_line_at_finish() {
    let (frames, rest) = one_shot(b"data: a\r");
    assert_eq!(datas(&frames), ["a"]);
    assert!(rest.is_empty());
}

#[test]
fn a_leading_bom_is_ignored_in_the_first_line() {
    let (frames, _) = one_shot(b"\xEF\xBB\xBFevent: x\ndata: y\n\n");
    assert_eq!(names(&frames), [Some("x")]);
    assert_eq!(frames[0].raw.len(), 21);
}

#[test]
fn an_event_larger_than_the_limit_is_rejected_however_it_arrives() {
    frame_limit_is_exact(Framing::Sse, b"data: 0123456789\n\n", 18, &[5, 17]);
}

#[test]
fn a_line_that_never_ends_is_rejected_once_past_the_limit() {
    let mut d = Decoder::new(64);
    let mut out = Vec::new();
    d.push(&[b'x'; 60], &mut out).unwrap();
    assert_eq!(d.push(&[b'x'; 10], &mut out), Err(StreamError::FrameTooLarge { actual: 70, limit: 64 }));
}

#[test]
fn encode_writes_one_data_line_per_line_and_a_blank_line() {
    assert_eq!(encode(Some("message_stop"), "{}"), b"event: message_stop\ndata: {}\n\n");
    assert_eq!(encode(None, "a\nb\r\nc"), b"data: a\ndata: b\ndata: c\n\n");
    let (frames, _) = one_shot(&encode(Some("x"), "one\n two\n"));
    assert_eq!(frames[0].name.as_deref(), Some("x"));
    assert_eq!(frames[0].data, b"one\n two\n");
}

#[test]
fn every_sse_fixture_decodes_to_frames_that_rebuild_it() {
    for (path, bytes) in sse_fixtures() {
        let (frames, rest) = one_shot(&bytes);
        assert!(!frames.is_empty(), "{path}");
        assert_eq!(reassemble(&frames, &rest), bytes, "{path}");
        assert!(rest.is_empty(), "{path}: leftover {rest:?}");
        assert_eq!(decode_bytewise(decoder(), &bytes).unwrap(), (frames, rest), "{path}");
    }
}

#[test]
fn openai_chat_fixture_has_one_frame_per_data_line() {
    let bytes = read("openai-chat/agw__completions-stream.sse");
    let (frames, _) = one_shot(&bytes);
    let data_lines = bytes.split(|&b| b == b'\n').filter(|l| l.starts_with(b"data:")).count();
    assert_eq!(frames.len(), data_lines);
    assert_eq!(frames.last().unwrap().data, b"[DONE]");
    for frame in &frames[..frames.len() - 1] {
        serde_json::from_slice::<serde_json::Value>(&frame.data).unwrap();
    }
}

#[test]
fn gemini_crlf_fixture_yields_json_data_frames() {
    let bytes = read("gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse");
    let (frames, _) = one_shot(&bytes);
    assert!(!frames.is_empty());
    for frame in &frames {
        assert!(frame.raw.ends_with(b"\r\n\r\n"));
        serde_json::from_slice::<serde_json::Value>(&frame.data).unwrap();
    }
}

#[test]
fn a_cut_anthropic_stream_ends_with_its_partial_event() {
    let bytes = read("anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse");
    let (frames, rest) = one_shot(&bytes);
    assert!(rest.is_empty());
    let last = frames.last().unwrap();
    assert_eq!(last.name.as_deref(), Some("message_stop"));
    assert!(last.data.is_empty());
}

proptest! {
    #[test]
    fn fixtures_decode_the_same_however_they_are_cut(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24)) {
        fixtures_survive_cuts(Framing::Sse, &sse_fixtures(), &cuts)?;
    }

    #[test]
    fn sse_like_bytes_decode_the_same_however_they_are_cut(
        input in prop::collection::vec(prop::sample::select(b"data: event:\r\n\r\n\xEF\xBB\xBFx".to_vec()), 0..200),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        limit in 1usize..64,
    ) {
        input_survives_cuts(Framing::Sse, &input, &cuts, limit)?;
    }

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..512), cut in any::<prop::sample::Index>()) {
        random_bytes_rebuild(Framing::Sse, &input, cut)?;
    }

    #[test]
    fn encoded_events_decode_to_their_name_and_data(name in "[a-z_.]{0,12}", data in "[ -~\n]{0,40}") {
        let name = if name.is_empty() { None } else { Some(name.as_str()) };
        let (frames, rest) = one_shot(&encode(name, &data));
        prop_assert!(rest.is_empty());
        prop_assert_eq!(frames.len(), 1);
        prop_assert_eq!(frames[0].name.as_deref(), name);
        prop_assert_eq!(&frames[0].data, data.as_bytes());
    }
}
