use super::*;
use crate::stream::Framing;
use crate::testutil;
use crate::view::{Api, ToolCall, Usage};
use serde_json::json;

fn fold(frames: &[Frame]) -> view::Response {
    testutil::fold_forwarding(Api::GenerateContent, frames).response().clone()
}

fn json_array(rel: &str) -> view::Response {
    fold(&testutil::read_frames(Framing::JsonArray, rel))
}

fn sse(rel: &str) -> view::Response {
    fold(&testutil::read_frames(Framing::Sse, rel))
}

#[test]
fn json_array_stream_with_a_thought_and_a_call_is_folded() {
    let resp = json_array("gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json");

    assert_eq!(resp.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(resp.text, "", "the thought summary is not answer text");
    assert_eq!(
        resp.tool_calls,
        [ToolCall { id: None, name: "pelican_name_generator".into(), arguments: json!({}).into() }]
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    // The last chunk's usageMetadata is the total.
    assert_eq!(resp.usage, Some(Usage { input: 32, output: 12, reasoning: 42, ..Usage::default() }));
}

#[test]
fn json_array_text_chunks_are_concatenated() {
    let resp = json_array("gemini/extracted/llm-gemini__test_tools.i2.response.jsonarray.json");

    assert_eq!(resp.text, "How about Charles and Sammy?");
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.usage, Some(Usage { input: 137, output: 6, ..Usage::default() }));
}

#[test]
fn gemini_3_call_with_arguments_is_folded() {
    let resp = json_array("gemini/extracted/llm-gemini__gemini3_thought_signatures.i0.response.jsonarray.json");

    assert_eq!(resp.model.as_deref(), Some("gemini-3-flash-preview"));
    assert_eq!(resp.tool_calls[0].name, "multiply");
    assert_eq!(resp.tool_calls[0].arguments, json!({"x": 5, "y": 3}));
    assert_eq!(resp.usage, Some(Usage { input: 60, output: 16, reasoning: 32, ..Usage::default() }));
}

#[test]
fn sse_stream_with_crlf_separators_is_folded() {
    let frames =
        testutil::read_frames(Framing::Sse, "gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse");
    assert_eq!(frames.len(), 2);
    let resp = fold(&frames);

    assert_eq!(resp.model.as_deref(), Some("gemini-3-pro-preview"));
    assert_eq!(resp.tool_calls, [ToolCall { id: None, name: "get_country".into(), arguments: json!({}).into() }]);
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(resp.usage, Some(Usage { input: 29, output: 10, reasoning: 202, ..Usage::default() }));
}

#[test]
fn single_event_sse_stream_is_folded() {
    let resp = sse("gemini/louter__streaming_function_calling_response_0.sse");

    assert_eq!(resp.tool_calls[0].name, "getWeather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "Tokyo"}));
    assert_eq!(resp.usage, Some(Usage { input: 83, output: 14, reasoning: 104, ..Usage::default() }));
}

#[test]
fn calls_from_several_chunks_are_all_kept() {
    let chunk = |name: &str| {
        Frame {
        name: None,
        data: serde_json::to_vec(&json!({"candidates": [{"content": {"parts": [{"functionCall": {"id": name, "name": name, "args": {"n": 1}}}]}}]}))
            .unwrap(),
        raw: Vec::new(),
    }
    };
    let resp = fold(&[chunk("a"), chunk("b")]);
    let ids: Vec<Option<&str>> = resp.tool_calls.iter().map(|c| c.id.as_deref()).collect();
    assert_eq!(ids, [Some("a"), Some("b")]);
}

#[test]
fn frames_that_are_not_json_are_forwarded_and_ignored() {
    let resp = fold(&[
        Frame { name: None, data: b"not json".to_vec(), raw: Vec::new() },
        Frame { name: None, data: b"{\"usageMetadata\":{\"promptTokenCount\":3}}".to_vec(), raw: Vec::new() },
        Frame { name: None, data: Vec::new(), raw: Vec::new() },
    ]);
    assert_eq!(resp.usage, Some(Usage { input: 3, ..Usage::default() }));
}

#[test]
fn an_sse_event_with_a_bare_json_line_is_unreadable() {
    // google-genai parses a line without `data:` as JSON on its own.
    let raw =
        b"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"read_file\"}}]}}]}\n\n".to_vec();
    let frame = Frame { name: None, data: Vec::new(), raw };
    let mut fold = Fold::new(Framing::Sse);
    assert!(fold.on_frame(&frame).unreadable);
    let keep_alive = Frame { name: None, data: Vec::new(), raw: b": ping\n\n".to_vec() };
    assert!(!fold.on_frame(&keep_alive).unreadable);
}

/// `fast_path_agrees` for this fold: the typed text-chunk path against the general one.
fn typed_agrees(frames: &[Frame], framing: Framing) -> Result<(), proptest::test_runner::TestCaseError> {
    crate::providers::fast_path_agrees(frames, Fold::new(framing), Fold::new(framing), Fold::on_frame, |f| {
        &mut f.general_only
    })
    .map_err(proptest::test_runner::TestCaseError::fail)
}

#[test]
fn the_typed_text_path_folds_every_recorded_stream_like_the_general_one() {
    let (mut checked, mut typed) = (0, 0);
    let recorded = testutil::fixtures_ending(".sse").into_iter().map(|f| (f, Framing::Sse));
    let arrays = testutil::fixtures_ending(".jsonarray.json").into_iter().map(|f| (f, Framing::JsonArray));
    for ((path, bytes), framing) in recorded.chain(arrays) {
        if !path.contains("gemini") {
            continue;
        }
        let frames = testutil::frames(framing, &bytes);
        typed_agrees(&frames, framing).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut probe = Fold::new(framing);
        typed += frames.iter().filter(|f| probe.fold_text_chunk(&f.data).is_some()).count();
        checked += 1;
    }
    assert!(checked > 0 && typed > 0, "{checked} recorded streams, {typed} typed chunks");
}

#[test]
fn text_chunks_take_the_typed_path_and_nothing_else_does() {
    let mut fold = Fold::new(Framing::Sse);
    for data in [
        r#"{"candidates":[{"content":{"parts":[{"text":"h\u00e9"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":3,"promptTokensDetails":[{"modality":"TEXT","tokenCount":3}]},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"x","thought":true},{"text":"!","thoughtSignature":"c2ln"}],"role":"model"},"finishReason":"STOP"}],"modelVersion":"gemini-2.5-flash"}"#,
        r#"{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2}}"#,
    ] {
        assert!(fold.fold_text_chunk(data.as_bytes()).is_some(), "{data}");
    }
    assert_eq!(fold.response().text, "hé!");
    for data in [
        r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get","args":{}}}]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"a"},{"function_call":{"name":"get"}}]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"a"}]},"index":0},{"content":{"parts":[{"text":"b"}]},"index":1}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"a"}]},"index":1}]}"#,
        r#"{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}"#,
        r#"{"candidates":null}"#,
        r#"{"candidates":[{"content":{"parts":["a"]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"modelVersion":"m","modelVersion":"n"}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"\ud800"}]}}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"x":1e999}"#,
    ] {
        assert!(fold.fold_text_chunk(data.as_bytes()).is_none(), "{data}");
    }
}

proptest::proptest! {
    #[test]
    fn the_typed_text_path_folds_like_the_general_one(
        chunks in proptest::collection::vec((
            proptest::collection::vec((
                proptest::collection::vec(proptest::sample::select(vec![
                    r#"{"text":"~"}"#, r#"{"text":"~","thought":true}"#, r#"{"thought":false,"text":"~"}"#,
                    r#"{"thought":"yes","text":"~"}"#, r#"{"text":"~","thoughtSignature":"c2ln"}"#, r#"{"text":1}"#,
                    r#"{"functionCall":{"name":"get","args":{}}}"#, r#"{"function_call":{"name":"x"}}"#,
                    r#"{"inlineData":{"mimeType":"image/png","data":"AA=="}}"#, r#""~""#, r#"{"text":"~","text":"u"}"#,
                ]), 0..3),
                proptest::sample::select(vec!["", r#","index":0"#, r#","index":1"#, r#","index":null"#, r#","index":0.0"#]),
                proptest::sample::select(vec!["", r#","finishReason":"STOP""#, r#","finishReason":"FINISH_REASON_UNSPECIFIED""#,
                    r#","finishReason":null"#, r#","finishReason":1"#]),
                proptest::sample::select(vec![r#""content":{"parts":P,"role":"model"}"#, r#""content":{"role":"model"}"#,
                    r#""content":null"#, r#""content":{"parts":null}"#, r#""safetyRatings":[]"#]),
            ), 0..3),
            proptest::sample::select(vec!["", r#","candidates":null"#, r#","candidates":"x""#]),
            proptest::sample::select(vec!["", r#","modelVersion":"gemini-2.5-flash""#, r#","modelVersion":null"#,
                r#","modelVersion":1"#]),
            proptest::sample::select(vec!["", r#","usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}"#,
                r#","usageMetadata":null"#, r#","usageMetadata":[1]"#, r#","usageMetadata":{"a":1,"a":2}"#,
                r#","usageMetadata": { "promptTokenCount": 9, "cachedContentTokenCount": 4, "thoughtsTokenCount": 2 }"#,
                r#","usageMetadata":{"promptTokenCount":1.0,"candidatesTokenCount":-1,"promptTokensDetails":[{"modality":"TEXT","tokenCount":3}]}"#,
                r#","usageMetadata":{"candidatesTokenCount":{"n":1},"candidates\u0054okenCount":5}"#]),
            proptest::sample::select(vec!["", r#","responseId":"r""#, r#","promptFeedback":{"blockReason":"SAFETY"}"#,
                r#","x":1e999"#, r#","x":"\ud800""#, r#","x":{"y":[true,null]}"#]),
            proptest::sample::select(vec!["hi", "", "h\\u00e9", "\\n\\\"", "\\ud83d\\ude00", "\u{e9}"]),
            proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0usize..3,
                proptest::sample::select(crate::providers::typed_tests::DAMAGE)), 0..2),
        ), 0..8),
    ) {
        let frames: Vec<Frame> = chunks.iter().map(|(candidates, other, model, usage, extra, text, cuts)| {
            let candidates: Vec<String> = candidates.iter().map(|(parts, index, finish, content)| {
                let content = content.replace('P', &format!("[{}]", parts.join(",")));
                format!("{{{content}{index}{finish}}}")
            }).collect();
            let list = if other.is_empty() { format!(r#""candidates":[{}]"#, candidates.join(",")) } else { other[1..].to_owned() };
            let mut data = format!("{{{list}{model}{usage}{extra}}}").replace('~', text).into_bytes();
            crate::providers::typed_tests::damage(&mut data, cuts);
            Frame { name: None, raw: data.clone(), data }
        }).collect();
        typed_agrees(&frames, Framing::Sse)?;
    }

    #[test]
    fn the_typed_text_path_folds_arbitrary_frames_like_the_general_one(frames in testutil::arb_wire_frames()) {
        typed_agrees(&frames, Framing::JsonArray)?;
    }
}

proptest::proptest! {
    #[test]
    fn bare_lines_are_found_as_splitting_on_line_ends_finds_them(
        pieces in proptest::collection::vec(proptest::sample::select(vec!["data:", "data: {}", ":", ": x", "\n", "\r", "\r\n", "x", "dat", " "]), 0..16),
    ) {
        let raw = pieces.concat().into_bytes();
        let reference = raw
            .split(|b| *b == b'\n' || *b == b'\r')
            .any(|line| !line.is_empty() && !line.starts_with(b":") && !line.starts_with(b"data:"));
        proptest::prop_assert_eq!(has_bare_line(&raw), reference);
    }
}
