use super::body;
use crate::providers::cohere::{request, response, stream::Fold};
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::testutil::{
    cassette_response, cassette_response_text, data_frame, decode, dump_refusal, event, frames, hold_back_forwarding,
    jsonl_frames, read, read_json, reassemble, BlockOrder,
};
use crate::view::{Api, Usage};
use serde_json::{json, Value};

const REFUSAL: &str = "Warden blocked this tool call: policy says no.";
const STREAMING_TOOL_CALL: &str = "cohere/lc-cohere__test_streaming_tool_call.yaml";

/// What the client receives when the filter's hold-back holds the calls `holds` names, then lets
/// them through or (`blocked`) refuses them.
fn hold_back(frames: &[Frame], holds: &dyn Fn(&str) -> bool, blocked: bool) -> Vec<u8> {
    hold_back_forwarding(Api::Chat, Framing::Sse, frames, holds, blocked.then_some(REFUSAL)).out
}

#[derive(Debug, Default)]
struct Message {
    /// (type, text or thinking) of each content part, in index order.
    content: Vec<(String, String)>,
    tool_plan: String,
    tool_calls: Vec<String>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    done: bool,
}

/// Decodes what the client received with the filter's own SSE decoder and checks it is a valid v2
/// chat stream: one message-start first, content parts opened at 0, 1, 2… one at a time, deltas
/// and ends only for the open part, exactly one message-end, then at most `[DONE]`.
fn client_view(bytes: &[u8]) -> Message {
    let (frames, rest) = decode(Framing::Sse, bytes);
    assert!(rest.is_empty(), "the stream ends on a frame boundary");
    let mut msg = Message::default();
    let (mut started, mut ends) = (false, 0);
    let mut order = BlockOrder::default();
    for frame in &frames {
        assert!(!msg.done, "nothing follows [DONE]");
        if frame.data == b"[DONE]" {
            assert_eq!(ends, 1, "[DONE] follows the message-end");
            msg.done = true;
            continue;
        }
        assert_eq!(ends, 0, "nothing but [DONE] follows message-end");
        let data: Value = serde_json::from_slice(&frame.data).expect("every event is JSON");
        let kind = data["type"].as_str().expect("every event has a type");
        if let Some(name) = &frame.name {
            assert_eq!(name, kind, "event name and data type agree");
        }
        let index = data["index"].as_u64();
        let delta = &data["delta"]["message"];
        if kind == "message-start" {
            assert!(!started, "one message-start");
            started = true;
            continue;
        }
        assert!(started, "{kind} after message-start");
        match kind {
            "content-start" => {
                order.start(index);
                let part = &delta["content"];
                let text = part["text"].as_str().or(part["thinking"].as_str()).unwrap_or_default();
                msg.content.push((part["type"].as_str().unwrap().into(), text.into()));
            }
            "content-delta" => {
                order.delta(index);
                let part = &delta["content"];
                let piece = part["text"].as_str().or(part["thinking"].as_str()).unwrap_or_default();
                msg.content.last_mut().unwrap().1.push_str(piece);
            }
            "content-end" => order.end(index),
            "tool-plan-delta" => msg.tool_plan.push_str(delta["tool_plan"].as_str().unwrap_or_default()),
            "tool-call-start" => msg.tool_calls.push(delta["tool_calls"]["function"]["name"].as_str().unwrap().into()),
            "tool-call-delta" | "tool-call-end" | "citation-start" | "citation-end" => {}
            "message-end" => {
                order.closed();
                ends += 1;
                msg.finish_reason = data["delta"]["finish_reason"].as_str().map(str::to_string);
                msg.usage = data["delta"].get("usage").cloned();
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(ends, 1, "exactly one message-end");
    msg
}

/// The bytes a client would get go to `tests/clients/offline/test_refusal_anthropic_cohere.py`,
/// which parses them with the official SDK.
fn dump(name: &str, bytes: &[u8]) {
    dump_refusal(&format!("cohere/{name}"), bytes);
}

fn texts(msg: &Message) -> Vec<(&str, &str)> {
    msg.content.iter().map(|(k, t)| (k.as_str(), t.as_str())).collect()
}

fn recorded_tool_stream() -> Vec<Frame> {
    frames(Framing::Sse, cassette_response_text(STREAMING_TOOL_CALL, 0).as_bytes())
}

fn assert_no_tool_bytes(out: &[u8], secrets: &[&str]) {
    let out = String::from_utf8_lossy(out);
    assert!(!out.contains("tool-call"), "no tool-call event: {out}");
    assert!(!out.contains("TOOL_CALL"), "no tool-call finish reason");
    for secret in secrets {
        assert!(!out.contains(secret), "{secret} leaked");
    }
}

fn start(index: u64, kind: &str) -> Frame {
    event(
        "content-start",
        json!({"type": "content-start", "index": index, "delta": {"message": {"content": {"type": kind, kind: ""}}}}),
    )
}

fn delta(index: u64, kind: &str, text: &str) -> Frame {
    event(
        "content-delta",
        json!({"type": "content-delta", "index": index, "delta": {"message": {"content": {kind: text}}}}),
    )
}

fn end(index: u64) -> Frame {
    event("content-end", json!({"type": "content-end", "index": index}))
}

fn call(index: u64, id: &str, name: &str, args: &[&str]) -> Vec<Frame> {
    let mut frames = vec![event(
        "tool-call-start",
        json!({"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls":
            {"id": id, "type": "function", "function": {"name": name, "arguments": ""}}}}}),
    )];
    for piece in args {
        frames.push(event(
            "tool-call-delta",
            json!({"type": "tool-call-delta", "index": index,
                "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}}}),
        ));
    }
    frames.push(event("tool-call-end", json!({"type": "tool-call-end", "index": index})));
    frames
}

fn message_start() -> Frame {
    event(
        "message-start",
        json!({"id": "c0e0a1b2-0000-4000-8000-000000000001", "type": "message-start", "delta": {"message":
            {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
    )
}

fn usage() -> Value {
    json!({"billed_units": {"input_tokens": 20, "output_tokens": 12}, "tokens": {"input_tokens": 25, "output_tokens": 12},
        "cached_tokens": 5})
}

fn message_end(reason: &str) -> Frame {
    event("message-end", json!({"type": "message-end", "delta": {"finish_reason": reason, "usage": usage()}}))
}

fn done() -> Frame {
    data_frame("[DONE]")
}

/// Thinking and text, then two tool calls: the text must survive, the calls must not.
fn mixed_stream() -> Vec<Frame> {
    let mut frames = vec![
        message_start(),
        start(0, "thinking"),
        delta(0, "thinking", "Files, then mail."),
        end(0),
        start(1, "text"),
    ];
    frames.extend([delta(1, "text", "Let me look."), end(1)]);
    frames.extend(call(0, "read_file_x1", "read_file", &["{\"path\":", " \"/etc/shadow\"}"]));
    frames.extend(call(1, "send_mail_x2", "send_mail", &["{\"to\": \"x@evil.test\"}"]));
    frames.extend([message_end("TOOL_CALL"), done()]);
    frames
}

#[test]
fn recorded_tool_stream_that_is_blocked_ends_with_the_refusal_as_text() {
    let out = hold_back(&recorded_tool_stream(), &|_| true, true);
    dump("streaming-tool-call.sse", &out);

    assert_no_tool_bytes(&out, &["Person_2fnrphbsnr66", "\"Person\"", "arguments"]);
    let msg = client_view(&out);
    assert_eq!(texts(&msg), [("text", REFUSAL)]);
    assert!(msg.tool_calls.is_empty());
    assert!(msg.tool_plan.starts_with("I will use the Person tool"), "the plan streamed before the call");
    assert_eq!(msg.finish_reason.as_deref(), Some("COMPLETE"));
    let recorded = crate::testutil::datas(&recorded_tool_stream())
        .iter()
        .find(|d| d.contains("message-end"))
        .map(|d| serde_json::from_str::<Value>(d).unwrap()["delta"]["usage"].clone());
    assert_eq!(msg.usage, recorded, "usage kept as sent");
}

#[test]
fn recorded_parallel_calls_without_event_names_are_refused_in_the_same_style() {
    let frames = jsonl_frames(&read("cohere/vercel-ai__cohere-tool-call.chunks.jsonl"));
    let out = hold_back(&frames, &|_| true, true);
    dump("parallel-tool-calls.sse", &out);

    assert_no_tool_bytes(&out, &["weather_e8p4pn45zt0t", "cityAttractions_pyxssbwnq9fq", "\"city\"", "location"]);
    assert!(!String::from_utf8_lossy(&out).contains("event:"), "no event names where upstream had none");
    let msg = client_view(&out);
    assert_eq!(texts(&msg), [("text", REFUSAL)]);
    assert_eq!(msg.finish_reason.as_deref(), Some("COMPLETE"));
    assert_eq!(msg.usage.unwrap()["cached_tokens"], 1504);
}

#[test]
fn text_before_blocked_calls_is_kept_and_the_refusal_takes_the_next_content_index() {
    let frames = mixed_stream();
    let out = hold_back(&frames, &|_| true, true);
    dump("mixed-thinking-text-tools.sse", &out);

    assert_no_tool_bytes(&out, &["read_file", "shadow", "send_mail", "evil"]);
    let msg = client_view(&out);
    assert_eq!(texts(&msg), [("thinking", "Files, then mail."), ("text", "Let me look."), ("text", REFUSAL)]);
    assert_eq!(msg.finish_reason.as_deref(), Some("COMPLETE"));
    assert_eq!(msg.usage, Some(usage()));
    assert!(msg.done, "[DONE] still ends the stream");
}

#[test]
fn allowed_calls_come_out_byte_for_byte() {
    for frames in [mixed_stream(), recorded_tool_stream()] {
        assert_eq!(hold_back(&frames, &|_| true, false), reassemble(&frames, &[]));
    }
}

#[test]
fn a_call_that_streamed_live_keeps_the_tool_call_finish_reason() {
    let mut frames = vec![message_start()];
    frames.extend(call(0, "get_time_live", "get_time", &["{}"]));
    frames.extend(call(1, "delete_all_held", "delete_all", &["{\"really\": true}"]));
    frames.extend([message_end("TOOL_CALL"), done()]);
    let out = hold_back(&frames, &|name| name == "delete_all", true);
    dump("live-then-blocked.sse", &out);

    let seen = String::from_utf8_lossy(&out);
    assert!(seen.contains("get_time_live") && !seen.contains("delete_all") && !seen.contains("really"));
    let msg = client_view(&out);
    assert_eq!(msg.tool_calls, ["get_time"]);
    assert_eq!(texts(&msg), [("text", REFUSAL)]);
    assert_eq!(msg.finish_reason.as_deref(), Some("TOOL_CALL"));
}

#[test]
fn a_stream_cut_inside_a_blocked_call_gets_one_synthesised_message_end() {
    let mut frames = vec![message_start(), start(0, "text"), delta(0, "text", "Sure.")];
    frames.extend(call(0, "wipe_1", "wipe", &["{\"dis"]).into_iter().take(2));
    let out = hold_back(&frames, &|_| true, true);
    dump("cut-inside-call.sse", &out);

    assert_no_tool_bytes(&out, &["wipe", "dis"]);
    let msg = client_view(&out);
    assert_eq!(texts(&msg), [("text", "Sure."), ("text", REFUSAL)]);
    assert_eq!(msg.finish_reason.as_deref(), Some("COMPLETE"));
    assert_eq!(msg.usage, None, "no usage is invented");
}

#[test]
fn a_done_without_message_end_comes_after_the_refusal() {
    let mut frames = vec![message_start()];
    frames.extend(call(0, "wipe_1", "wipe", &["{}"]));
    frames.push(done());
    let out = hold_back(&frames, &|_| true, true);

    let msg = client_view(&out);
    assert!(msg.done);
    assert_eq!(texts(&msg), [("text", REFUSAL)]);
}

#[test]
fn frame_info_marks_tool_call_events_and_the_message_end() {
    let mut fold = Fold::new();
    let infos: Vec<FrameInfo> = mixed_stream().iter().map(|f| fold.on_frame(f)).collect();
    // message-start, thinking ×3, text ×3.
    assert!((0..7).all(|i| !infos[i].tool && !infos[i].ends_message));
    assert_eq!(infos[7].started_tools, ["read_file"]);
    assert!((7..14).all(|i| infos[i].tool), "both calls, start to end");
    assert_eq!(infos[11].started_tools, ["send_mail"]);
    assert!(infos[8].started_tools.is_empty());
    assert!(infos[14].ends_message && !infos[14].tool);
    assert_eq!(infos[15], FrameInfo::default());
    // Arguments are complete by the time the message ends.
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"path": "/etc/shadow"}));
}

#[test]
fn non_streaming_refusal_is_a_plain_complete_message_with_id_and_usage_kept() {
    let recorded = read_json("cohere/vercel-ai__cohere-tool-call.json");
    let refused = body(&recorded, REFUSAL);
    dump("tool-call.json", refused.to_string().as_bytes());

    assert_eq!(refused["message"], json!({"role": "assistant", "content": [{"type": "text", "text": REFUSAL}]}));
    assert_eq!(refused["finish_reason"], "COMPLETE");
    assert_eq!((&refused["id"], &refused["usage"]), (&recorded["id"], &recorded["usage"]));
    let view = response::parse(&refused);
    assert_eq!(view.text, REFUSAL);
    assert!(view.tool_calls.is_empty());
    assert_eq!(view.usage, Some(Usage { input: 557, output: 103, cache_read: 992, ..Usage::default() }));
}

#[test]
fn non_streaming_refusal_drops_thinking_and_the_tool_plan() {
    let recorded = read_json("cohere/extracted/lc-cohere__command_a_reasoning.i0.response.json");
    let refused = body(&recorded, REFUSAL);
    assert_eq!(refused["message"]["content"].as_array().unwrap().len(), 1);
    assert!(refused["message"].get("tool_plan").is_none());
    assert_eq!(response::parse(&refused).usage, response::parse(&recorded).usage);

    let invoked = cassette_response("cohere/lc-cohere__test_invoke_tool_calls.yaml", 0);
    assert!(!body(&invoked, REFUSAL).to_string().contains("tool_calls"));
    assert_eq!(response::parse(&body(&json!(null), REFUSAL)).text, REFUSAL);
}

#[test]
fn result_edit_replaces_recorded_tool_messages_and_reparses_to_the_text() {
    let mut body = read_json("cohere/extracted/lc-cohere__langgraph_react_agent.i2.request.json");
    let results = request::parse(&body).tool_results;
    assert_eq!(results.len(), 2);
    assert!(request::apply_result_edit(&mut body, &results[1].pointer, "[withheld by policy]"));
    let after = request::parse(&body).tool_results;
    assert_eq!(after[0].content, results[0].content);
    assert_eq!(after[1].content, "[withheld by policy]");
    assert_eq!(after[1].tool_name.as_deref(), Some("python_interpeter_temp"));
    assert_eq!(body.pointer(&results[1].pointer), Some(&json!("[withheld by policy]")));
}

#[test]
fn result_edit_replaces_part_lists_and_adds_missing_content() {
    let mut body = json!({"messages": [
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": [{"type": "document", "document": {"data": "secret"}}]},
        {"role": "tool", "tool_call_id": "a"}
    ]});
    for result in request::parse(&body).tool_results {
        assert!(request::apply_result_edit(&mut body, &result.pointer, "notice"));
    }
    let contents: Vec<String> = request::parse(&body).tool_results.into_iter().map(|r| r.content).collect();
    assert_eq!(contents, ["notice", "notice"]);
    assert!(!body.to_string().contains("secret"));
}

#[test]
fn result_edit_refuses_pointers_that_name_no_tool_message() {
    let mut body = json!({"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "r"}]});
    let before = body.clone();
    for pointer in ["/messages/0/content", "/messages/9/content", "/messages/1", "", "/messages/1/content/x"] {
        assert!(!request::apply_result_edit(&mut body, pointer, "t"), "{pointer}");
    }
    assert_eq!(body, before);
}
