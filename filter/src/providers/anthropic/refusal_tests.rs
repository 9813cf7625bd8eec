use super::body;
use crate::providers::anthropic::{request, response, stream::Fold};
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::testutil::{
    cassette_request, cassette_response, decode, dump_refusal, event, hold_back_forwarding, read, read_frames,
    read_json, reassemble, BlockOrder,
};
use crate::view::Api;
use serde_json::{json, Value};

const REFUSAL: &str = "Warden blocked this tool call: policy says no.";

/// What the client receives when the filter's hold-back holds the calls `holds` names, then lets
/// them through or (`blocked`) refuses them.
fn hold_back(frames: &[Frame], holds: &dyn Fn(&str) -> bool, blocked: bool) -> Vec<u8> {
    hold_back_forwarding(Api::Messages, Framing::Sse, frames, holds, blocked.then_some(REFUSAL)).out
}

fn block_all(bytes: &[u8]) -> Vec<u8> {
    hold_back(&crate::testutil::frames(Framing::Sse, bytes), &|_| true, true)
}

#[derive(Debug, Default)]
struct Block {
    kind: String,
    /// Text, thinking or input JSON, concatenated from the block's start and deltas.
    body: String,
}

#[derive(Debug, Default)]
struct Message {
    blocks: Vec<Block>,
    stop_reason: Option<String>,
    usage: Option<Value>,
    error: bool,
}

/// Decodes what the client received with the filter's own SSE decoder and checks it is a valid
/// Messages stream: one message_start first, blocks opened at 0, 1, 2… one at a time, deltas and
/// stops only for the open block, one message_delta after every block closed, message_stop last.
fn client_view(bytes: &[u8]) -> Message {
    let (frames, rest) = decode(Framing::Sse, bytes);
    assert!(rest.is_empty(), "the stream ends on a frame boundary");
    let mut msg = Message::default();
    let (mut started, mut deltas, mut stopped) = (false, 0, false);
    let mut order = BlockOrder::default();
    for frame in &frames {
        assert!(!stopped, "nothing follows message_stop");
        let data: Value = serde_json::from_slice(&frame.data)
            .unwrap_or_else(|e| panic!("every event is JSON: {e}: {:?}", String::from_utf8_lossy(&frame.raw)));
        let kind = frame.name.as_deref().expect("Anthropic events are named");
        assert_eq!(data["type"], kind, "event name and data type agree");
        let index = data["index"].as_u64();
        match kind {
            "ping" => continue,
            "message_start" => {
                assert!(!started, "one message_start");
                started = true;
                continue;
            }
            _ => assert!(started, "{kind} after message_start"),
        }
        match kind {
            "content_block_start" => {
                order.start(index);
                let block = &data["content_block"];
                let body = block["text"].as_str().or(block["thinking"].as_str()).unwrap_or_default();
                msg.blocks.push(Block { kind: block["type"].as_str().unwrap().into(), body: body.into() });
            }
            "content_block_delta" => {
                order.delta(index);
                let delta = &data["delta"];
                let piece = ["text", "thinking", "partial_json"].iter().find_map(|k| delta[k].as_str());
                msg.blocks.last_mut().unwrap().body.push_str(piece.unwrap_or_default());
            }
            "content_block_stop" => order.end(index),
            "message_delta" => {
                order.closed();
                deltas += 1;
                msg.stop_reason = data["delta"]["stop_reason"].as_str().map(str::to_string);
                msg.usage = Some(data["usage"].clone());
            }
            "message_stop" => {
                assert_eq!(deltas, 1, "exactly one message_delta, before message_stop");
                stopped = true;
            }
            "error" => msg.error = true,
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(stopped || msg.error, "the stream ends with message_stop (or an error)");
    msg
}

/// The bytes a client would get go to `tests/clients/offline/test_refusal_anthropic_cohere.py`,
/// which parses them with the official SDK.
fn dump(name: &str, bytes: &[u8]) {
    dump_refusal(&format!("anthropic/{name}"), bytes);
}

fn text(msg: &Message) -> String {
    msg.blocks.iter().filter(|b| b.kind == "text").map(|b| b.body.as_str()).collect()
}

fn ev(name: &str, data: Value) -> Frame {
    event(name, data)
}

fn start(index: u64, block: Value) -> Frame {
    ev("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": block}))
}

fn delta(index: u64, delta: Value) -> Frame {
    ev("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": delta}))
}

fn stop(index: u64) -> Frame {
    ev("content_block_stop", json!({"type": "content_block_stop", "index": index}))
}

fn tool_block(index: u64, id: &str, name: &str, args: &[&str]) -> Vec<Frame> {
    let mut frames = vec![start(index, json!({"type": "tool_use", "id": id, "name": name, "input": {}}))];
    frames.extend(args.iter().map(|p| delta(index, json!({"type": "input_json_delta", "partial_json": p}))));
    frames.push(stop(index));
    frames
}

fn text_block(index: u64, text: &str) -> Vec<Frame> {
    vec![
        start(index, json!({"type": "text", "text": ""})),
        delta(index, json!({"type": "text_delta", "text": text})),
        stop(index),
    ]
}

fn message_start() -> Frame {
    ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_synthetic01", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 25, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3, "output_tokens": 1}}}),
    )
}

fn message_end(reason: &str) -> Vec<Frame> {
    vec![
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": {"output_tokens": 12}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ]
}

/// Thinking, text, two tool calls, then more text: the case that needs renumbering.
fn mixed_stream() -> Vec<Frame> {
    let mut frames = vec![message_start(), start(0, json!({"type": "thinking", "thinking": ""}))];
    frames.push(delta(0, json!({"type": "thinking_delta", "thinking": "The user wants files."})));
    frames.push(delta(0, json!({"type": "signature_delta", "signature": "c2lnbmF0dXJl"})));
    frames.push(stop(0));
    frames.extend(text_block(1, "Let me look."));
    frames.extend(tool_block(2, "toolu_secret_a", "read_file", &["{\"path\":", " \"/etc/shadow\"}"]));
    frames.extend(tool_block(3, "toolu_secret_b", "send_mail", &["{\"to\": \"x@evil.test\"}"]));
    frames.extend(text_block(4, "Done soon."));
    frames.extend(message_end("tool_use"));
    frames
}

fn assert_no_tool_bytes(out: &[u8], secrets: &[&str]) {
    let out = String::from_utf8_lossy(out);
    assert!(!out.contains("tool_use\""), "no tool_use block or stop reason: {out}");
    assert!(!out.contains("input_json_delta"));
    for secret in secrets {
        assert!(!out.contains(secret), "{secret} leaked");
    }
}

#[test]
fn recorded_tool_stream_that_is_blocked_ends_with_the_refusal_as_text() {
    let recorded = read("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse");
    let out = block_all(&recorded);
    dump("runner-stream-tools.sse", &out);

    assert_no_tool_bytes(&out, &["toolu_018acGYLtfR52q9yDbWaEdQZ", "get_weather", "San Fr", "units"]);
    let msg = client_view(&out);
    assert_eq!(msg.blocks.len(), 1);
    assert_eq!(text(&msg), REFUSAL);
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
    let usage = msg.usage.unwrap();
    assert_eq!((usage["output_tokens"].clone(), usage["input_tokens"].clone()), (json!(74), json!(656)));
    // The message_start before the call went out untouched.
    let first = &read_frames(
        Framing::Sse,
        "anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse",
    )[0];
    assert!(out.starts_with(&first.raw));
}

#[test]
fn text_before_a_blocked_call_cut_by_max_tokens_is_kept_and_the_refusal_follows_it() {
    let mut recorded = read("anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse");
    // The snapshot lost the blank line that ends the last event; the real stream had it.
    recorded.extend_from_slice(b"\n\n");
    let out = block_all(&recorded);
    dump("incomplete-partial-json.sse", &out);

    assert_no_tool_bytes(
        &out,
        &["toolu_01EKqbqmZrGRXy18eN7m9kvY", "make_file", "lines_of_text", "COMPREHENSIVE TAX", "Filing taxes"],
    );
    let msg = client_view(&out);
    let kinds: Vec<&str> = msg.blocks.iter().map(|b| b.kind.as_str()).collect();
    assert_eq!(kinds, ["text", "text"]);
    assert!(msg.blocks[0].body.starts_with("I'll create a comprehensive tax guide"));
    assert_eq!(msg.blocks[1].body, REFUSAL);
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(msg.usage.unwrap()["output_tokens"], 124);
}

#[test]
fn blocks_held_after_stripped_calls_move_down_and_the_refusal_takes_the_next_index() {
    let frames = mixed_stream();
    let out = hold_back(&frames, &|_| true, true);
    dump("mixed-thinking-text-tools.sse", &out);

    assert_no_tool_bytes(&out, &["toolu_secret", "read_file", "shadow", "send_mail", "evil"]);
    let msg = client_view(&out);
    let blocks: Vec<(&str, &str)> = msg.blocks.iter().map(|b| (b.kind.as_str(), b.body.as_str())).collect();
    assert_eq!(
        blocks,
        [("thinking", "The user wants files."), ("text", "Let me look."), ("text", "Done soon."), ("text", REFUSAL)]
    );
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(msg.usage.unwrap(), json!({"output_tokens": 12}));
}

#[test]
fn allowed_calls_come_out_byte_for_byte() {
    for frames in [
        mixed_stream(),
        read_frames(Framing::Sse, "anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse"),
    ] {
        assert_eq!(hold_back(&frames, &|_| true, false), reassemble(&frames, &[]));
    }
}

#[test]
fn a_call_that_streamed_live_keeps_its_tool_use_stop_reason() {
    let mut frames = vec![message_start()];
    frames.extend(tool_block(0, "toolu_live", "get_time", &["{}"]));
    frames.extend(tool_block(1, "toolu_held", "delete_all", &["{\"really\": true}"]));
    frames.extend(message_end("tool_use"));
    let out = hold_back(&frames, &|name| name == "delete_all", true);
    dump("live-then-blocked.sse", &out);

    let text_out = String::from_utf8_lossy(&out);
    assert!(text_out.contains("toolu_live") && !text_out.contains("toolu_held") && !text_out.contains("delete_all"));
    let msg = client_view(&out);
    let kinds: Vec<&str> = msg.blocks.iter().map(|b| b.kind.as_str()).collect();
    assert_eq!(kinds, ["tool_use", "text"]);
    assert_eq!(msg.blocks[1].body, REFUSAL);
    assert_eq!(msg.stop_reason.as_deref(), Some("tool_use"));
}

#[test]
fn a_stream_cut_inside_a_blocked_call_gets_a_synthesised_end() {
    let mut frames = vec![message_start()];
    frames.extend(text_block(0, "Sure."));
    frames.extend(tool_block(1, "toolu_cut", "wipe", &["{\"dis"]).into_iter().take(2));
    let out = hold_back(&frames, &|_| true, true);
    dump("cut-inside-call.sse", &out);

    assert_no_tool_bytes(&out, &["toolu_cut", "wipe", "dis"]);
    let msg = client_view(&out);
    assert_eq!(text(&msg), format!("Sure.{REFUSAL}"));
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(msg.usage.unwrap(), json!({"output_tokens": 1}));
}

#[test]
fn a_message_stop_without_message_delta_comes_after_the_refusal() {
    let mut frames = vec![message_start()];
    frames.extend(tool_block(0, "toolu_x", "wipe", &["{}"]));
    frames.push(ev("message_stop", json!({"type": "message_stop"})));
    let out = hold_back(&frames, &|_| true, true);

    let msg = client_view(&out);
    assert_eq!(text(&msg), REFUSAL);
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
    assert!(out.ends_with(b"data: {\"type\":\"message_stop\"}\n\n"));
}

#[test]
fn a_stream_that_errors_after_a_blocked_call_still_ends_in_its_error() {
    let mut frames = vec![message_start()];
    frames.extend(tool_block(0, "toolu_x", "wipe", &["{}"]));
    frames.push(ev("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})));
    let out = hold_back(&frames, &|_| true, true);

    let msg = client_view(&out);
    assert!(msg.error);
    assert_eq!(text(&msg), REFUSAL);
    assert_eq!(msg.stop_reason, None, "no message_delta is invented after an error");
    assert!(String::from_utf8_lossy(&out).trim_end().ends_with("\"message\":\"Overloaded\"}}"));
}

#[test]
fn frame_info_marks_every_part_of_a_tool_block_and_the_message_delta() {
    let mut fold = Fold::new();
    let infos: Vec<FrameInfo> = mixed_stream().iter().map(|f| fold.on_frame(f)).collect();
    let tool = |i: usize| infos[i].tool;
    // message_start, thinking ×4, text ×3 are not tool frames.
    assert!((0..8).all(|i| !tool(i) && !infos[i].ends_message));
    assert_eq!(infos[8].started_tools, ["read_file"]);
    assert!((8..15).all(tool), "both tool blocks, start to stop");
    assert_eq!(infos[12].started_tools, ["send_mail"]);
    assert!(infos[9].started_tools.is_empty());
    assert!((15..18).all(|i| !tool(i)));
    assert!(infos[18].ends_message && !infos[18].tool);
    assert!(!infos[19].ends_message);
    // Arguments are complete by the time the message ends.
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"path": "/etc/shadow"}));
}

#[test]
fn non_streaming_refusal_is_a_plain_end_turn_message_with_ids_and_usage_kept() {
    let recorded =
        read_json("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json")[0]["response"]["body"].clone();
    assert_eq!(response::parse(&recorded).tool_calls.len(), 1);
    let refused = body(&recorded, REFUSAL);
    dump("runner-tools.json", refused.to_string().as_bytes());

    assert_eq!(refused["content"], json!([{"type": "text", "text": REFUSAL}]));
    assert_eq!(refused["stop_reason"], "end_turn");
    assert_eq!(refused["stop_sequence"], Value::Null);
    for key in ["id", "type", "role", "model", "usage"] {
        assert_eq!(refused[key], recorded[key], "{key} kept");
    }
    let view = response::parse(&refused);
    assert_eq!(view.text, REFUSAL);
    assert!(view.tool_calls.is_empty());
    assert_eq!(view.usage, response::parse(&recorded).usage);
}

#[test]
fn non_streaming_refusal_drops_parallel_calls_and_thinking() {
    for name in
        ["pydantic-ai__test_multiple_parallel_tool_calls.yaml", "pydantic-ai__test_anthropic_tool_with_thinking.yaml"]
    {
        let recorded = cassette_response(&format!("anthropic-messages/{name}"), 0);
        let refused = body(&recorded, REFUSAL);
        assert_eq!(refused["content"].as_array().unwrap().len(), 1, "{name}");
        assert!(!refused.to_string().contains("tool_use"), "{name}");
        assert_eq!(refused["usage"], recorded["usage"]);
    }
    let odd = body(&json!("not an object"), REFUSAL);
    assert_eq!(response::parse(&odd).text, REFUSAL);
    assert_eq!(odd["type"], "message");
}

#[test]
fn result_edit_replaces_recorded_tool_result_content_and_reparses_to_the_text() {
    let mut body =
        read_json("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json")[1]["request"]["body"].clone();
    let pointer = request::parse(&body).tool_results[0].pointer.clone();
    assert!(request::apply_result_edit(&mut body, &pointer, "[withheld by policy]"));
    let result = &request::parse(&body).tool_results[0];
    assert_eq!(result.content, "[withheld by policy]");
    assert_eq!(result.tool_name.as_deref(), Some("get_weather"));
    assert_eq!(body.pointer(&pointer), Some(&json!("[withheld by policy]")));
}

#[test]
fn result_edit_replaces_block_lists_and_adds_missing_content() {
    let mut body = cassette_request("anthropic-messages/pydantic-ai__test_multiple_parallel_tool_calls.yaml", 1);
    let before = request::parse(&body).tool_results;
    assert!(before.len() > 1);
    for (i, result) in before.iter().enumerate() {
        assert!(request::apply_result_edit(&mut body, &result.pointer, &format!("notice {i}")));
    }
    let after: Vec<String> = request::parse(&body).tool_results.into_iter().map(|r| r.content).collect();
    assert_eq!(after, (0..before.len()).map(|i| format!("notice {i}")).collect::<Vec<_>>());

    let mut bare = json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]});
    let pointer = request::parse(&bare).tool_results[0].pointer.clone();
    assert!(request::apply_result_edit(&mut bare, &pointer, "added"));
    assert_eq!(request::parse(&bare).tool_results[0].content, "added");
}

#[test]
fn result_edit_refuses_pointers_that_name_no_tool_result() {
    let mut body = json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "content": "x"}]}]});
    let before = body.clone();
    for pointer in ["/messages/0/content/0/content", "/messages/0/content/5/content", "/messages/0/content", "", "/x"] {
        assert!(!request::apply_result_edit(&mut body, pointer, "t"), "{pointer}");
    }
    assert_eq!(body, before);
}

#[test]
fn a_call_inside_message_start_is_stripped_and_later_blocks_move_down() {
    let mut first = message_start();
    let mut data: Value = serde_json::from_slice(&first.data).unwrap();
    data["message"]["content"] = json!([{"type": "tool_use", "id": "toolu_secret_ms", "name": "read_file",
        "input": {"path": "/etc/shadow"}}]);
    first = ev("message_start", data);
    let mut frames = vec![first];
    frames.extend(text_block(1, "Also this."));
    frames.extend(message_end("tool_use"));
    let out = hold_back(&frames, &|_| true, true);
    assert_no_tool_bytes(&out, &["toolu_secret_ms", "/etc/shadow"]);
    let msg = client_view(&out);
    assert_eq!(text(&msg), format!("Also this.{REFUSAL}"));
    assert_eq!(msg.stop_reason.as_deref(), Some("end_turn"));
}
