use super::*;
use crate::testutil::{data_frame, event};
use crate::view::ToolResult;
use serde_json::json;

fn call(name: &str) -> ToolCall {
    ToolCall { id: Some(format!("id_{name}")), name: name.into(), arguments: json!({}).into() }
}

#[test]
fn the_data_type_wins_over_the_event_name() {
    // The Anthropic and Cohere SDKs build the event from its data's `type`, whatever the name says.
    let named = event("content-delta", json!({"type": "tool-call-start"}));
    assert_eq!(event_kind(&named, &json!({"type": "tool-call-start"})), Some("tool-call-start"));
    let untyped = event("content-start", json!({}));
    assert_eq!(event_kind(&untyped, &json!({})), Some("content-start"));
    let bare = data_frame(r#"{"type": "message-end"}"#);
    assert_eq!(event_kind(&bare, &json!({"type": "message-end"})), Some("message-end"));
    assert_eq!(event_kind(&bare, &json!({})), None);
}

#[test]
fn a_turn_of_only_tool_results_is_a_tool_turn_with_the_results_as_text() {
    let results = ["72F".to_owned(), "sunny".to_owned()];
    assert_eq!(turn(Role::User, &[], &results), Message { role: Role::Tool, text: "72F\nsunny".into() });
    assert_eq!(turn(Role::User, &["and?"], &results), Message { role: Role::User, text: "and?".into() });
    assert_eq!(turn(Role::Assistant, &["a", "b"], &[]), Message { role: Role::Assistant, text: "a\nb".into() });
    assert_eq!(turn(Role::User, &[], &[]), Message { role: Role::User, text: String::new() });
}

#[test]
fn results_take_the_name_of_the_call_their_id_names_unless_they_have_one() {
    let result = |call_id: &str, tool_name: Option<&str>| ToolResult {
        pointer: String::new(),
        call_id: Some(call_id.into()),
        tool_name: tool_name.map(str::to_owned),
        content: String::new(),
        is_error: false,
    };
    let mut req = Request {
        tool_calls: vec![call("search"), call("fetch")],
        tool_results: vec![result("id_fetch", None), result("id_gone", None), result("id_search", Some("legacy"))],
        ..Request::default()
    };
    name_results_by_call_id(&mut req);
    let names: Vec<Option<&str>> = req.tool_results.iter().map(|r| r.tool_name.as_deref()).collect();
    assert_eq!(names, [Some("fetch"), None, Some("legacy")]);
}

#[test]
fn open_calls_parse_their_pieces_when_they_close() {
    let mut calls = vec![call("a"), call("b"), call("c")];
    let mut open = OpenCalls::default();
    open.open(Some(0), 0, Arguments::empty(), "");
    open.open(Some(1), 1, Arguments::empty(), "{\"x\":");
    open.open(None, 2, json!({"from": "start"}).into(), "");
    open.append(open.position(Some(1)), " 1}");
    open.append(open.position(Some(0)), "{\"y\": 2}");
    open.append(open.position(Some(7)), "{\"lost\": true}");
    open.close(open.position(Some(1)), &mut calls);
    assert_eq!(calls[1].arguments, json!({"x": 1}));
    assert_eq!(calls[0].arguments, json!({}), "still as the test made it: closing writes the view");
    // A call that got no arguments keeps the ones it started with.
    open.close(open.latest(), &mut calls);
    assert_eq!(calls[2].arguments, json!({"from": "start"}));
    open.close(Some(9), &mut calls);
    open.close_all(&mut calls);
    assert_eq!(calls[0].arguments, json!({"y": 2}));
    assert_eq!(open.latest(), None);
}

#[test]
fn a_held_done_follows_the_refusal_and_tool_frames_after_it_are_dropped() {
    let mut end = RefusalEnd::default();
    let mut tool = FrameInfo { tool: true, ..FrameInfo::default() };
    end.screen(&mut tool);
    assert!(!tool.drop, "nothing is dropped before the refusal");

    assert_eq!(end.held_json(&data_frame("{\"a\": 1}")), Ok(json!({"a": 1})));
    let odd = data_frame("not json");
    assert_eq!(end.held_json(&odd), Err(Some(odd.clone())));
    assert_eq!(end.held_json(&data_frame("[DONE]")), Err(None));

    let mut out = Vec::new();
    end.close(&mut out);
    assert_eq!(out, [Frame::build(Framing::Sse, None, b"[DONE]")]);
    end.close(&mut out);
    assert_eq!(out.len(), 1, "[DONE] goes out once");
    end.screen(&mut tool);
    let mut text = FrameInfo::default();
    end.screen(&mut text);
    assert!(tool.drop && !text.drop);
}

#[test]
fn only_the_ending_event_gets_the_new_reason() {
    let ending = event("end", json!({"type": "end", "delta": {"why": "TOOL", "seq": "x"}, "usage": 1}));
    let stop = |_: Option<&str>| "STOP".to_owned();
    let rewritten = rewrite_end_reason(&ending, "end", "why", stop, &["seq"]);
    let data: Value = serde_json::from_slice(&rewritten.data).unwrap();
    assert_eq!(data, json!({"type": "end", "delta": {"why": "STOP", "seq": null}, "usage": 1}));
    assert_eq!(rewritten.name.as_deref(), Some("end"));

    let kept = |up: Option<&str>| up.unwrap_or("none").to_owned();
    assert_eq!(rewrite_end_reason(&ending, "end", "why", kept, &["seq"]), ending, "already says so");
    let other = event("delta", json!({"type": "delta", "delta": {"why": "TOOL"}}));
    assert_eq!(rewrite_end_reason(&other, "end", "why", stop, &[]), other);
    let bare = event("end", json!({"type": "end"}));
    let data: Value = serde_json::from_slice(&rewrite_end_reason(&bare, "end", "why", stop, &[]).data).unwrap();
    assert_eq!(data["delta"], json!({"why": "STOP"}));
    let garbage = data_frame("not json");
    assert_eq!(rewrite_end_reason(&garbage, "end", "why", stop, &[]), garbage);
}
