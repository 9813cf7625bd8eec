use super::*;
use crate::providers::gemini;
use crate::testutil::{self, contains, count, Held};
use crate::view::{self, Api};
use serde_json::json;

const MESSAGE: &str = "The gateway blocked this tool call: a policy forbids it.";

/// What the client receives when the filter's hold-back holds every call, then lets them through
/// or (`blocked`) refuses them; `dump` names the file for the SDK checks.
fn run(framing: Framing, input: &[u8], blocked: bool, dump: &str) -> Held {
    let (frames, tail) = testutil::decode(framing, input);
    let refusal = blocked.then_some(MESSAGE);
    let mut run = testutil::hold_back_forwarding(Api::GenerateContent, framing, &frames, &|_| true, refusal);
    // The bytes that belong to no frame (a JSON array's closing `]`) follow, as the filter sends them.
    run.out.extend_from_slice(&tail);
    testutil::dump_refusal(dump, &run.out);
    run
}

/// The chunks a client reads from `bytes`: the whole body must be one JSON array, or SSE events
/// that are each one JSON object.
fn chunks(framing: Framing, bytes: &[u8]) -> Vec<Value> {
    match framing {
        Framing::JsonArray => serde_json::from_slice(bytes).expect("the body is one JSON array"),
        _ => {
            let (frames, rest) = testutil::decode(framing, bytes);
            assert!(rest.iter().all(u8::is_ascii_whitespace), "bytes outside any event");
            frames.iter().map(|f| serde_json::from_slice(&f.data).expect("each event is JSON")).collect()
        }
    }
}

/// What a client folds from the refused stream, after checking it is a valid Gemini stream: no
/// function call anywhere, exactly one finish (on the last chunk, `STOP`), usage kept.
fn refused(framing: Framing, input: &[u8], dump: &str) -> (Held, view::Response) {
    let upstream =
        testutil::fold_forwarding(Api::GenerateContent, &testutil::decode(framing, input).0).response().clone();
    let run = run(framing, input, true, dump);
    let chunks = chunks(framing, &run.out);
    let finishes: Vec<usize> =
        (0..chunks.len()).filter(|&i| chunks[i].pointer("/candidates/0/finishReason").is_some()).collect();
    assert_eq!(finishes, [chunks.len() - 1], "exactly one finish, on the last chunk");
    assert_eq!(chunks.last().unwrap()["candidates"][0]["finishReason"], "STOP");
    assert!(chunks.last().unwrap()["candidates"][0].get("finishMessage").is_none());
    let parts: Vec<&Value> = chunks
        .iter()
        .flat_map(|c| c["candidates"].as_array().unwrap())
        .flat_map(|c| c["content"]["parts"].as_array().unwrap())
        .collect();
    assert!(parts.iter().all(|p| p.get("functionCall").is_none() && p.get("function_call").is_none()));
    assert!(!contains(&run.out[run.live.len()..], b"functionCall"));

    let frames = testutil::decode(framing, &run.out).0;
    let client = testutil::fold_forwarding(Api::GenerateContent, &frames).response().clone();
    assert!(client.tool_calls.is_empty());
    assert_eq!(client.text, format!("{}{MESSAGE}", upstream.text), "earlier text, then the refusal");
    assert_eq!(client.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(client.usage, upstream.usage);
    assert_eq!(client.model, upstream.model);
    for call in &upstream.tool_calls {
        let name = call.name.as_bytes();
        assert_eq!(count(&run.out, name), count(&run.live, name), "{} appears only where it streamed live", call.name);
    }
    (run, client)
}

fn sse(chunks: &[Value]) -> Vec<u8> {
    chunks.iter().flat_map(|c| format!("data: {c}\r\n\r\n").into_bytes()).collect()
}

fn json_array(chunks: &[Value]) -> Vec<u8> {
    let body: Vec<String> = chunks.iter().map(|c| serde_json::to_string_pretty(c).unwrap()).collect();
    format!("[{}]", body.join("\r\n,\r\n")).into_bytes()
}

fn chunk(parts: Value, finish: Option<&str>, candidates_tokens: u64) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(f) = finish {
        candidate["finishReason"] = json!(f);
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": candidates_tokens, "totalTokenCount": 50 + candidates_tokens},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "synthResp01",
    })
}

fn call(name: &str, args: Value) -> Value {
    json!({"functionCall": {"name": name, "args": args}, "thoughtSignature": "c2lnbmF0dXJl"})
}

#[test]
fn a_call_after_a_thought_in_a_json_array_stream_becomes_a_refusal() {
    let input = testutil::read("gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json");
    let (run, _) = refused(Framing::JsonArray, &input, "gemini-llm-tools.json");

    // The thought chunk streamed live; the call's signature never went out.
    assert!(run.out.starts_with(&run.live));
    assert!(!contains(&run.out, b"ClgBEU0yD8z3tYzbgjZ1jc6lL1fwUvm9"));
    assert_eq!(chunks(Framing::JsonArray, &run.out).len(), 2);
}

#[test]
fn a_call_in_the_first_array_element_keeps_the_array_open() {
    let input = testutil::read("gemini/extracted/llm-gemini__gemini3_thought_signatures.i0.response.jsonarray.json");
    let (run, client) = refused(Framing::JsonArray, &input, "gemini-3-multiply.json");

    assert!(run.live.is_empty(), "the first element is the call");
    assert!(run.out.starts_with(b"["));
    assert_eq!(chunks(Framing::JsonArray, &run.out).len(), 1, "the call-only chunk is dropped");
    assert_eq!(client.text, MESSAGE);
}

#[test]
fn an_sse_call_then_a_finish_chunk_becomes_a_refusal() {
    let input = testutil::read("gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse");
    let (run, client) = refused(Framing::Sse, &input, "gemini-pydantic-get-country.sse");

    assert_eq!(chunks(Framing::Sse, &run.out).len(), 1);
    assert_eq!(client.model.as_deref(), Some("gemini-3-pro-preview"));
}

#[test]
fn an_sse_chunk_that_is_both_call_and_finish_becomes_a_refusal() {
    let input = testutil::read("gemini/louter__streaming_function_calling_response_0.sse");
    let (run, _) = refused(Framing::Sse, &input, "gemini-louter-weather.sse");

    let chunks = chunks(Framing::Sse, &run.out);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["candidates"][0]["content"]["parts"], json!([{"text": MESSAGE}]));
    assert!(!contains(&run.out, b"Tokyo"));
}

#[test]
fn text_around_calls_survives_and_the_calls_do_not() {
    let chunks_in = [
        chunk(json!([{"text": "Let me check "}]), None, 3),
        chunk(json!([{"text": "the weather."}, call("get_weather", json!({"city": "Oslo"}))]), None, 9),
        chunk(json!([call("send_email", json!({"to": "x@example.com"}))]), None, 14),
        chunk(json!([{"text": ""}]), Some("STOP"), 14),
    ];
    for (framing, input, dump) in [
        (Framing::Sse, sse(&chunks_in), "gemini-text-and-calls.sse"),
        (Framing::JsonArray, json_array(&chunks_in), "gemini-text-and-calls.json"),
    ] {
        let (run, client) = refused(framing, &input, dump);
        assert_eq!(client.text, format!("Let me check the weather.{MESSAGE}"));
        for secret in [&b"Oslo"[..], b"x@example.com", b"c2lnbmF0dXJl", b"send_email", b"get_weather"] {
            assert!(!contains(&run.out, secret), "{}", String::from_utf8_lossy(secret));
        }
        // The chunk that had only a call is gone; the one with text kept its text.
        assert_eq!(self::chunks(framing, &run.out).len(), 3);
    }
}

#[test]
fn a_mock_like_single_chunk_array_is_refused_in_place() {
    let calls = json!([call("read_file", json!({"path": "/etc/passwd"})), call("delete_file", json!({"path": "/"}))]);
    let (run, client) = refused(Framing::JsonArray, &json_array(&[chunk(calls, Some("STOP"), 20)]), "gemini-mock.json");
    assert!(!contains(&run.out, b"/etc/passwd"));
    assert_eq!(client.text, MESSAGE);
}

#[test]
fn a_stream_cut_before_its_finish_gets_a_built_ending() {
    let chunks_in =
        [chunk(json!([{"text": "Sure."}]), None, 2), chunk(json!([call("wipe", json!({"all": true}))]), None, 8)];
    for framing in [Framing::JsonArray, Framing::Sse] {
        let input = if framing == Framing::Sse { sse(&chunks_in) } else { json_array(&chunks_in) };
        let (run, client) = refused(framing, &input, "");
        let last = chunks(framing, &run.out).pop().unwrap();
        assert_eq!(last["responseId"], "synthResp01");
        assert_eq!(last["modelVersion"], "gemini-2.5-flash");
        assert_eq!(client.text, format!("Sure.{MESSAGE}"));
    }
}

#[test]
fn a_cut_stream_whose_only_element_was_a_call_is_still_an_array() {
    let input = json_array(&[chunk(json!([call("wipe", json!({}))]), None, 8)]);
    let (run, client) = refused(Framing::JsonArray, &input, "");
    assert!(run.out.starts_with(b"["));
    assert_eq!(client.text, MESSAGE);
}

#[test]
fn allowed_calls_go_out_byte_for_byte() {
    for (framing, rel) in [
        (Framing::JsonArray, "gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json"),
        (Framing::JsonArray, "gemini/extracted/llm-gemini__gemini3_thought_signatures.i0.response.jsonarray.json"),
        (Framing::Sse, "gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse"),
    ] {
        let input = testutil::read(rel);
        assert_eq!(run(framing, &input, false, "").out, input, "{rel}");
    }
}

#[test]
fn frame_info_marks_calls_and_the_finish() {
    let mut fold = gemini::stream::Fold::new(Framing::Sse);
    let frame = |v: Value| testutil::data_frame(&v.to_string());

    let text = fold.on_frame(&frame(chunk(json!([{"text": "hi"}]), None, 1)));
    assert_eq!(text, crate::providers::FrameInfo::default());

    let mixed =
        fold.on_frame(&frame(chunk(json!([{"text": "a"}, call("one", json!({})), call("two", json!({}))]), None, 2)));
    assert!(mixed.tool && !mixed.ends_message);
    assert_eq!(mixed.started_tools, ["one", "two"]);

    let both = fold.on_frame(&frame(chunk(json!([call("three", json!({}))]), Some("STOP"), 3)));
    assert!(both.tool && both.ends_message);

    let unspecified = fold.on_frame(&frame(chunk(json!([]), Some("FINISH_REASON_UNSPECIFIED"), 3)));
    assert!(!unspecified.ends_message);
    let blocked_prompt = fold.on_frame(&frame(json!({"promptFeedback": {"blockReason": "SAFETY"}})));
    assert!(blocked_prompt.ends_message);
    assert!(!fold.on_frame(&testutil::data_frame("not json")).ends_message);
}

#[test]
fn a_refused_body_is_a_plain_answer_with_usage_kept() {
    let upstream = testutil::read_json("gemini/vercel-ai__google-tool-call-gemini3.json");
    let refused = body(&upstream, MESSAGE);
    testutil::dump_refusal("gemini-body.json", refused.to_string().as_bytes());
    let resp = gemini::response::parse(&refused);

    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.text, MESSAGE);
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(resp.usage, gemini::response::parse(&upstream).usage);
    assert_eq!(refused["modelVersion"], upstream["modelVersion"]);
    assert_eq!(refused["usageMetadata"], upstream["usageMetadata"]);
    assert!(!refused.to_string().contains("functionCall"));
    assert!(refused["candidates"][0].get("finishMessage").is_none());
}

#[test]
fn a_refused_body_from_a_cassette_keeps_its_other_fields() {
    let upstream = testutil::cassette_response("gemini/pydantic-ai__test_google_tool_output.yaml", 1);
    let refused = body(&upstream, MESSAGE);
    assert_eq!(gemini::response::parse(&refused).text, MESSAGE);
    assert_eq!(refused["responseId"], upstream["responseId"]);
    assert_eq!(refused["candidates"][0]["index"], upstream["candidates"][0]["index"]);
}

#[test]
fn odd_bodies_still_become_a_refusal() {
    for upstream in
        [json!(null), json!({"candidates": "x"}), json!({"candidates": [null]}), json!({"promptFeedback": {}})]
    {
        let resp = gemini::response::parse(&body(&upstream, MESSAGE));
        assert_eq!(resp.text, MESSAGE);
        assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    }
}

#[test]
fn odd_ending_chunks_still_carry_the_refusal() {
    for ending in [
        json!({}),
        json!({"candidates": 3}),
        json!({"candidates": [{"index": 1}]}),
        json!({"candidates": [{"content": 1}]}),
    ] {
        let mut chunk = ending.clone();
        append_refusal(&mut chunk, MESSAGE);
        let resp = gemini::response::parse(&chunk);
        assert_eq!(resp.text, MESSAGE, "{ending}");
        assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    }
}

mod result_edits {
    use super::*;
    use crate::providers::gemini::request::{apply_result_edit, parse};

    #[test]
    fn an_edited_result_reads_back_as_the_new_text() {
        for mut body in [
            testutil::read_json("gemini/extracted/llm-gemini__test_tools.i1.request.json"),
            testutil::read_json("gemini/louter__streaming_function_calling_request_1.json"),
            testutil::cassette_request("gemini/pydantic-ai__test_google_tool_output.yaml", 1),
        ] {
            let pointer = parse(&body).tool_results[0].pointer.clone();
            assert!(apply_result_edit(&mut body, &pointer, "[withheld by policy]"));
            assert_eq!(body.pointer(&pointer), Some(&json!({"content": "[withheld by policy]"})));
            let result = &parse(&body).tool_results[0];
            assert_eq!(result.content, "[withheld by policy]");
            assert_eq!(result.pointer, pointer);
        }
    }

    #[test]
    fn a_pointer_that_no_longer_resolves_edits_nothing() {
        let mut body = json!({"contents": []});
        assert!(!apply_result_edit(&mut body, "/contents/0/parts/0/functionResponse/response", "x"));
        assert_eq!(body, json!({"contents": []}));
    }
}
