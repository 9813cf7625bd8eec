use super::*;
use crate::providers::{bedrock, FrameInfo};
use crate::stream::eventstream::{self, HeaderValue};
use crate::testutil::{self, contains, count, Held};
use crate::view::{self, Api, ToolCall};

const MESSAGE: &str = "The gateway blocked this tool call: a policy forbids it.";

/// What the client receives when the filter's hold-back holds the calls `holds` names, then lets
/// them through or (`blocked`) refuses them; `dump` names the file for the SDK checks.
fn run(input: &[u8], holds: impl Fn(&str) -> bool, blocked: bool, dump: &str) -> Held {
    let (frames, tail) = testutil::decode(Framing::EventStream, input);
    assert!(tail.is_empty());
    let refusal = blocked.then_some(MESSAGE);
    let run = testutil::hold_back_forwarding(Api::Converse, Framing::EventStream, &frames, &holds, refusal);
    testutil::dump_refusal(dump, &run.out);
    run
}

/// The events of a ConverseStream body, after checking the order a client relies on:
/// `messageStart`; blocks one after another with contiguous indices from 0, each ended by one
/// `contentBlockStop`; one `messageStop`; one `metadata`, last. CRCs are checked by the decoder.
fn converse_events(bytes: &[u8]) -> Vec<(String, Value)> {
    let (frames, rest) = testutil::decode(Framing::EventStream, bytes);
    assert!(rest.is_empty());
    let events: Vec<(String, Value)> =
        frames.iter().map(|f| (f.name.clone().unwrap(), serde_json::from_slice(&f.data).unwrap())).collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"messageStart"));
    assert_eq!(names.iter().filter(|n| **n == "messageStop").count(), 1, "{names:?}");
    assert_eq!(names.last(), Some(&"metadata"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "metadata").count(), 1);
    let (mut open, mut next, mut stopped) = (None, 0u64, false);
    for (name, event) in &events {
        let index = event.get("contentBlockIndex").and_then(Value::as_u64);
        match name.as_str() {
            "contentBlockStart" | "contentBlockDelta" => {
                assert!(!stopped, "a block after messageStop");
                let index = index.unwrap();
                match open {
                    None => assert_eq!(index, next, "blocks are contiguous"),
                    Some(current) => assert_eq!(index, current, "one block at a time"),
                }
                open = Some(index);
            }
            "contentBlockStop" => {
                assert_eq!(index, Some(next));
                assert_eq!(open.take(), Some(next), "a stop ends the open block");
                next += 1;
            }
            "messageStop" => {
                assert_eq!(open, None, "every block stopped before messageStop");
                stopped = true;
            }
            _ => {}
        }
    }
    events
}

fn client_view(bytes: &[u8]) -> view::Response {
    testutil::fold_forwarding(Api::Converse, &testutil::decode(Framing::EventStream, bytes).0).response().clone()
}

/// Checks a refused stream: valid order, the refusal after the earlier text, `end_turn`, usage
/// kept, and no byte of a blocked call beyond what streamed live.
fn refused(input: &[u8], dump: &str) -> (Held, Vec<(String, Value)>, view::Response) {
    let upstream = client_view(input);
    let run = run(input, |_| true, true, dump);
    let events = converse_events(&run.out);
    let client = client_view(&run.out);
    assert!(client.tool_calls.is_empty());
    assert_eq!(client.text, format!("{}{MESSAGE}", upstream.text));
    assert_eq!(client.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(client.usage, upstream.usage);
    assert!(!contains(&run.out, b"toolUse"));
    for call in &upstream.tool_calls {
        assert_eq!(count(&run.out, call.name.as_bytes()), count(&run.live, call.name.as_bytes()), "{}", call.name);
        assert!(!contains(&run.out, call.id.as_deref().unwrap().as_bytes()));
    }
    assert!(run.out.starts_with(&run.live));
    (run, events, client)
}

fn ev(name: &str, payload: Value) -> Vec<u8> {
    eventstream::encode_event(name, payload.to_string().as_bytes())
}

fn text_block(index: u64, pieces: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        out.extend(ev(
            "contentBlockDelta",
            json!({"contentBlockIndex": index, "delta": {"text": piece}, "p": "abcdef"}),
        ));
    }
    out.extend(ev("contentBlockStop", json!({"contentBlockIndex": index, "p": "abc"})));
    out
}

fn tool_block(index: u64, name: &str, input: &[&str], stop: bool) -> Vec<u8> {
    let mut out = ev(
        "contentBlockStart",
        json!({"contentBlockIndex": index, "start": {"toolUse": {"name": name, "toolUseId": format!("tooluse_{name}")}}, "p": "abcdefgh"}),
    );
    for piece in input {
        out.extend(ev(
            "contentBlockDelta",
            json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}),
        ));
    }
    if stop {
        out.extend(ev("contentBlockStop", json!({"contentBlockIndex": index})));
    }
    out
}

fn message_start() -> Vec<u8> {
    ev("messageStart", json!({"role": "assistant", "p": "abcdefghijkl"}))
}

fn message_end(reason: &str) -> Vec<u8> {
    let mut out = ev("messageStop", json!({"stopReason": reason, "p": "abcdefghijklmnop"}));
    out.extend(metadata());
    out
}

fn metadata() -> Vec<u8> {
    ev(
        "metadata",
        json!({"usage": {"inputTokens": 40, "outputTokens": 30, "totalTokens": 75, "cacheReadInputTokens": 5}, "metrics": {"latencyMs": 321}}),
    )
}

#[test]
fn a_recorded_tool_call_after_text_becomes_a_refusal() {
    let input = testutil::read("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i0.response.eventstream.bin");
    let (run, events, _) = refused(&input, "bedrock-pydantic-temperature.bin");

    assert!(!contains(&run.out, b"{\\\"city\\\":\\\"Paris\\\"}"));
    let refusal = events.iter().find(|(_, e)| e.pointer("/delta/text").and_then(Value::as_str) == Some(MESSAGE));
    assert_eq!(refusal.unwrap().1["contentBlockIndex"], 1, "the block after the streamed text");
    let (_, metadata) = events.last().unwrap();
    assert_eq!(metadata["metrics"]["latencyMs"], 422, "metadata passes as upstream sent it");
    assert!(run.out.ends_with(&testutil::decode(Framing::EventStream, &input).0.last().unwrap().raw));
}

#[test]
fn mock_like_calls_with_fragmented_input_become_a_refusal_at_index_zero() {
    let mut input = message_start();
    input.extend(tool_block(0, "read_file", &["{\"pa", "th\": \"/etc/", "passwd\"}"], true));
    input.extend(tool_block(1, "delete_file", &["{\"path\": \"/\"}"], true));
    input.extend(message_end("tool_use"));
    let (run, events, client) = refused(&input, "bedrock-mock-two-calls.bin");

    assert!(!contains(&run.out, b"passwd"));
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]);
    assert_eq!(events[1].1["contentBlockIndex"], 0);
    assert_eq!(events[3].1["p"], "abcdefghijklmnop", "messageStop keeps its other fields");
    assert_eq!(client.text, MESSAGE);
}

#[test]
fn blocks_after_a_withheld_call_are_renumbered() {
    let mut input = message_start();
    input.extend(text_block(0, &["Checking ", "two things."]));
    input.extend(tool_block(1, "first", &["{}"], true));
    input.extend(text_block(2, &[" And then:"]));
    input.extend(tool_block(3, "second", &["{\"n\":", "2}"], true));
    input.extend(message_end("tool_use"));
    let (_, events, client) = refused(&input, "bedrock-renumbered.bin");

    assert_eq!(client.text, format!("Checking two things. And then:{MESSAGE}"));
    let indices: Vec<u64> =
        events.iter().filter_map(|(_, e)| e.get("contentBlockIndex").and_then(Value::as_u64)).collect();
    assert_eq!(indices, [0, 0, 0, 1, 1, 2, 2]);
}

#[test]
fn a_call_that_streamed_live_keeps_tool_use_as_the_stop_reason() {
    let mut input = message_start();
    input.extend(tool_block(0, "lookup", &["{\"q\":\"x\"}"], true));
    input.extend(tool_block(1, "wipe", &["{\"all\":true}"], true));
    input.extend(message_end("tool_use"));
    let run = run(&input, |name| name == "wipe", true, "bedrock-one-live-call.bin");

    let events = converse_events(&run.out);
    let client = client_view(&run.out);
    assert_eq!(
        client.tool_calls,
        [ToolCall { id: Some("tooluse_lookup".into()), name: "lookup".into(), arguments: json!({"q": "x"}).into() }]
    );
    assert_eq!(client.text, MESSAGE);
    assert_eq!(client.finish_reason.as_deref(), Some("tool_use"), "consistent with the call that went out");
    assert!(!contains(&run.out, b"wipe"));
    let refusal = events.iter().find(|(n, e)| n == "contentBlockDelta" && e.pointer("/delta/text").is_some());
    assert_eq!(refusal.unwrap().1["contentBlockIndex"], 1);
}

#[test]
fn a_stream_without_message_stop_gets_one_before_its_metadata() {
    let mut input = message_start();
    input.extend(text_block(0, &["Sure."]));
    input.extend(tool_block(1, "wipe", &["{\"all\":"], false));
    input.extend(metadata());
    let (run, events, client) = refused(&input, "");

    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockStop",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(client.text, format!("Sure.{MESSAGE}"));
    assert!(run.out.ends_with(&metadata()));
}

#[test]
fn an_exception_in_a_held_call_follows_the_refusal() {
    let exception = eventstream::encode(
        &[
            (":exception-type".to_owned(), HeaderValue::String("throttlingException".into())),
            (":content-type".to_owned(), HeaderValue::String("application/json".into())),
            (":message-type".to_owned(), HeaderValue::String("exception".into())),
        ],
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    );
    let mut input = message_start();
    input.extend(tool_block(0, "wipe", &["{\"all\":"], false));
    input.extend(&exception);
    let run = run(&input, |_| true, true, "");

    let (frames, _) = testutil::decode(Framing::EventStream, &run.out);
    let names: Vec<&str> = frames.iter().map(|f| f.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "throttlingException"]);
    assert!(run.out.ends_with(&exception), "the exception goes out byte for byte");
    assert!(!contains(&run.out, b"wipe"));
}

#[test]
fn allowed_calls_go_out_byte_for_byte() {
    let recorded = testutil::read("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i0.response.eventstream.bin");
    assert_eq!(run(&recorded, |_| true, false, "").out, recorded);
    let mut input = message_start();
    input.extend(tool_block(0, "a", &["{\"x\":", "1}"], true));
    input.extend(message_end("tool_use"));
    assert_eq!(run(&input, |_| true, false, "").out, input);
}

#[test]
fn frame_info_marks_every_part_of_a_call_and_the_message_stop() {
    let mut fold = bedrock::stream::Fold::new();
    let frames = testutil::decode(Framing::EventStream, &{
        let mut input = message_start();
        input.extend(text_block(0, &["hi"]));
        input.extend(tool_block(1, "search", &["{\"q\":", "\"rust\"}"], true));
        input.extend(message_end("tool_use"));
        input
    })
    .0;
    let infos: Vec<FrameInfo> = frames.iter().map(|f| fold.on_frame(f)).collect();
    let tool: Vec<bool> = infos.iter().map(|i| i.tool).collect();
    assert_eq!(tool, [false, false, false, true, true, true, true, false, false]);
    assert_eq!(infos[3].started_tools, ["search"]);
    assert!(infos.iter().enumerate().all(|(i, info)| info.ends_message == (i == 7)));
    assert!(infos.iter().enumerate().all(|(i, info)| info.started_tools.is_empty() == (i != 3)));
    // Arguments are complete by the frame that ends the message.
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"q": "rust"}));
}

#[test]
fn a_refused_body_is_a_plain_answer_with_usage_kept() {
    let cassettes = [
        "bedrock/pydantic-ai__test_bedrock_anthropic_tool_with_thinking.yaml",
        "bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml",
    ];
    for (i, rel) in cassettes.into_iter().enumerate() {
        let upstream = testutil::cassette_response(rel, 0);
        let refused = body(&upstream, MESSAGE);
        testutil::dump_refusal(&format!("bedrock-body-{i}.json"), refused.to_string().as_bytes());
        let resp = bedrock::response::parse(&refused);
        assert!(resp.tool_calls.is_empty(), "{rel}");
        assert_eq!(resp.text, MESSAGE);
        assert_eq!(resp.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(resp.usage, bedrock::response::parse(&upstream).usage);
        assert_eq!(refused["metrics"], upstream["metrics"]);
        assert_eq!(refused["output"]["message"]["role"], "assistant");
        assert!(!refused.to_string().contains("toolUse"));
    }
    assert_eq!(bedrock::response::parse(&body(&json!(null), MESSAGE)).text, MESSAGE);
}

mod result_edits {
    use super::*;
    use crate::providers::bedrock::request::{apply_result_edit, parse};

    #[test]
    fn every_edited_result_reads_back_as_its_new_text() {
        for mut body in [
            testutil::read_json("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json"),
            testutil::cassette_request("bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml", 2),
        ] {
            let results = parse(&body).tool_results;
            for (i, result) in results.iter().enumerate() {
                assert!(apply_result_edit(&mut body, &result.pointer, &format!("[withheld {i}]")));
                assert_eq!(body.pointer(&result.pointer), Some(&json!([{"text": format!("[withheld {i}]")}])));
            }
            let edited = parse(&body).tool_results;
            assert_eq!(edited.len(), results.len());
            for (i, (before, after)) in results.iter().zip(&edited).enumerate() {
                assert_eq!(after.content, format!("[withheld {i}]"));
                assert_eq!(
                    (&after.pointer, &after.call_id, &after.tool_name),
                    (&before.pointer, &before.call_id, &before.tool_name)
                );
            }
        }
    }

    #[test]
    fn a_pointer_that_no_longer_resolves_edits_nothing() {
        let mut body = json!({"messages": []});
        assert!(!apply_result_edit(&mut body, "/messages/0/content/0/toolResult/content", "x"));
        assert_eq!(body, json!({"messages": []}));
    }
}

#[test]
fn input_for_a_block_that_never_started_does_not_follow_the_refusal() {
    // A client that appends tool input to the latest call it holds would take these fragments.
    let mut input = message_start();
    input.extend(tool_block(0, "read_file", &[], false));
    for piece in [r#"{"path":"#, r#""/etc/passwd"}"#] {
        input.extend(ev("contentBlockDelta", json!({"contentBlockIndex": 7, "delta": {"toolUse": {"input": piece}}})));
    }
    input.extend(ev("contentBlockStop", json!({"contentBlockIndex": 0})));
    input.extend(message_end("tool_use"));
    let run = run(&input, |_| true, true, "orphan-deltas");
    let client = client_view(&run.out);
    assert!(client.tool_calls.is_empty(), "{:?}", client.tool_calls);
    assert_eq!(client.finish_reason.as_deref(), Some("end_turn"));
    assert!(!contains(&run.out, b"toolUse"), "{}", String::from_utf8_lossy(&run.out));
    let events = converse_events(&run.out);
    let indexes: Vec<u64> = events.iter().filter_map(|(_, v)| v["contentBlockIndex"].as_u64()).collect();
    assert!(indexes.iter().all(|&i| i == 0), "the refusal takes the first free index: {indexes:?}");
}

#[test]
fn a_stream_that_ends_without_message_stop_or_metadata_still_ends_with_both() {
    let mut input = message_start();
    input.extend(tool_block(0, "wipe", &["{\"all\":true}"], false));
    let run = run(&input, |_| true, true, "");
    let events = converse_events(&run.out);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]);
    assert!(!contains(&run.out, b"wipe"));
    assert!(events.last().is_some_and(|(_, e)| e.pointer("/usage/outputTokens").is_some()));
}
