use super::*;
use crate::stream::Framing;
use serde_json::json;

#[test]
fn yaml_subset_reads_the_shapes_vcr_writes() {
    let text = "a:\n  b: 1\n  c:\n  - x: 'it''s\n      folded'\n    y: |-\n      line 1\n\n      line 2\n  - plain\n    continued\n  - !!binary |\n    QUJD\n  d: {}\ne: \"q\\\"\n  \\u00b0\"\n";
    assert_eq!(
        yaml::parse(text),
        json!({"a": {"b": 1, "c": [{"x": "it's folded", "y": "line 1\n\nline 2"}, "plain continued", "QUJD\n"], "d": {}}, "e": "q\" °"})
    );
}

#[test]
fn the_fixtures_dir_is_found_from_the_crate() {
    assert!(path("MANIFEST.md").is_file(), "{}", fixtures_dir().display());
}

#[test]
fn go_vcr_cassettes_give_text_and_json_bodies() {
    let rel = "openai-chat/envoy-aigw__chat-streaming.yaml";
    assert_eq!(cassette(rel)["version"], json!(2));
    assert!(cassette_request(rel, 0)["messages"].is_array());
    let sse = cassette_response_text(rel, 0);
    assert!(sse.starts_with("data: {"), "{sse:.40}");
    let frames = frames(Framing::Sse, sse.as_bytes());
    assert_eq!(frames.last().map(|f| f.data.as_slice()), Some(&b"[DONE]"[..]));
}

#[test]
fn jsonl_recordings_give_one_data_frame_per_line() {
    let bytes = read("openai-responses/vercel-ai__openai-error.1.chunks.jsonl");
    let frames = jsonl_frames(&bytes);
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(frames.iter().map(|f| f.data.as_slice()).collect::<Vec<_>>(), lines);
    assert!(frames.iter().all(|f| f.name.is_none()));
}

#[test]
fn built_events_decode_to_themselves() {
    for frame in [event("message_start", json!({"a": 1})), data_frame("[DONE]")] {
        assert_eq!(frames(Framing::Sse, &frame.raw), std::slice::from_ref(&frame));
    }
}
