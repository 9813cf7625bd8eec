use crate::providers::openai_responses::{refusal, request, response, stream::Fold};
use crate::providers::StreamFold;
use crate::stream::{Frame, Framing};
use crate::testutil::{self, cassette_request, cassette_response, contains, event, frames, read_frames, read_json};
use proptest::prelude::*;
use serde_json::{json, Value};

const REFUSAL: &str = "The gateway blocked this tool call.";

/// What the client receives when the filter's hold-back holds the calls `blockable` names and
/// refuses them.
fn hold_back(fold: &mut StreamFold, frames: &[Frame], blockable: &dyn Fn(&str) -> bool) -> Vec<u8> {
    testutil::hold_back(fold, frames, blockable, Some(REFUSAL)).out
}

fn engine() -> StreamFold {
    StreamFold::Responses(Fold::new())
}

fn block_all(_: &str) -> bool {
    true
}

/// What a client accumulates from a Responses stream, checked on the way the way the SDKs read it:
/// `response.created` first, one terminal event last, contiguous sequence numbers, items added at
/// the next output index and done once, content events only for open items, and a terminal
/// output that lists exactly the items streamed.
#[derive(Debug, Default)]
struct Client {
    text: String,
    /// (type, name) of each streamed item, in output order.
    items: Vec<(String, Option<String>)>,
    terminal: Value,
}

fn client(bytes: &[u8]) -> Client {
    client_of(bytes, false)
}

/// `client`, optionally letting items stay open (a stream the upstream cut inside an item).
fn client_of(bytes: &[u8], cut: bool) -> Client {
    let frames = frames(Framing::Sse, bytes);
    let mut c = Client::default();
    let mut open: Vec<Option<Value>> = Vec::new();
    let mut seq: Option<u64> = None;
    let (mut created, mut ended) = (false, false);
    for frame in &frames {
        if frame.data.is_empty() {
            continue;
        }
        assert!(!ended, "nothing follows the terminal event: {}", String::from_utf8_lossy(&frame.data));
        let event: Value = serde_json::from_slice(&frame.data).expect("events are JSON");
        let kind = event["type"].as_str().unwrap().to_owned();
        if let Some(name) = &frame.name {
            assert_eq!(*name, kind, "SSE name matches type");
        }
        if let Some(n) = event["sequence_number"].as_u64() {
            assert_eq!(n, seq.map_or(0, |s| s + 1), "{kind}: sequence numbers run on");
            seq = Some(n);
        }
        if !created {
            assert_eq!(kind, "response.created");
            created = true;
            continue;
        }
        let index = event["output_index"].as_u64().map(|i| i as usize);
        match kind.as_str() {
            "response.output_item.added" => {
                assert_eq!(index, Some(open.len()), "items are added at the next index");
                let item = &event["item"];
                c.items.push((item["type"].as_str().unwrap().to_owned(), item["name"].as_str().map(str::to_owned)));
                open.push(Some(item.clone()));
            }
            "response.output_item.done" => {
                let added = open[index.unwrap()].take().expect("done once, after added");
                assert_eq!(added["id"], event["item"]["id"]);
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                c.terminal = event["response"].clone();
                ended = true;
            }
            _ => {
                if let Some(i) = index {
                    assert!(open.get(i).is_some_and(Option::is_some), "{kind} for an open item {i}");
                }
                if kind == "response.output_text.delta" {
                    c.text.push_str(event["delta"].as_str().unwrap());
                }
            }
        }
    }
    assert!(ended, "the stream has a terminal event");
    assert!(cut || open.iter().all(Option::is_none), "every item is done");
    let listed: Vec<(String, Option<String>)> = c.terminal["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["type"].as_str().unwrap().to_owned(), i["name"].as_str().map(str::to_owned)))
        .collect();
    assert_eq!(listed, c.items, "the terminal output lists what was streamed");
    c
}

/// Events named by their type, numbered in order.
fn stream(events: &[Value]) -> Vec<Frame> {
    events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let mut e = e.clone();
            e["sequence_number"] = json!(n);
            let name = e["type"].as_str().unwrap().to_owned();
            event(&name, e)
        })
        .collect()
}

fn created() -> Value {
    json!({"type": "response.created", "response": {"id": "resp_1", "object": "response", "model": "gpt-5",
           "status": "in_progress", "output": []}})
}

fn message_events(index: u64, id: &str, text: &str) -> Vec<Value> {
    let at = |mut e: Value| {
        e["output_index"] = json!(index);
        e["item_id"] = json!(id);
        e["content_index"] = json!(0);
        e
    };
    vec![
        json!({"type": "response.output_item.added", "output_index": index,
               "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        at(
            json!({"type": "response.content_part.added", "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
        at(json!({"type": "response.output_text.delta", "delta": text})),
        at(json!({"type": "response.output_text.done", "text": text})),
        at(
            json!({"type": "response.content_part.done", "part": {"type": "output_text", "text": text, "annotations": []}}),
        ),
        json!({"type": "response.output_item.done", "output_index": index, "item": message(id, text)}),
    ]
}

fn message(id: &str, text: &str) -> Value {
    json!({"id": id, "type": "message", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

fn call(id: &str, call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"id": id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"})
}

fn call_events(index: u64, item: &Value) -> Vec<Value> {
    let mut added = item.clone();
    added["arguments"] = json!("");
    added["status"] = json!("in_progress");
    let args = item["arguments"].as_str().unwrap();
    let (a, b) = args.split_at(args.len() / 2);
    let delta = |d: &str| json!({"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": index, "delta": d});
    vec![
        json!({"type": "response.output_item.added", "output_index": index, "item": added}),
        delta(a),
        delta(b),
        json!({"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": index, "arguments": args}),
        json!({"type": "response.output_item.done", "output_index": index, "item": item}),
    ]
}

fn completed(output: Vec<Value>) -> Value {
    json!({"type": "response.completed", "response": {"id": "resp_1", "object": "response", "model": "gpt-5",
           "status": "completed", "output": output,
           "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 9,
                     "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 29}}})
}

/// A message, a `delete_repo` call to block, another message.
fn text_around_call() -> Vec<Value> {
    let blocked = call("fc_bad", "call_bad", "delete_repo", "{\"repo\":\"prod-db\"}");
    let mut events = vec![created()];
    events.extend(message_events(0, "msg_a", "Deleting it now."));
    events.extend(call_events(1, &blocked));
    events.extend(message_events(2, "msg_b", "Done, I hope."));
    events.push(completed(vec![
        message("msg_a", "Deleting it now."),
        blocked.clone(),
        message("msg_b", "Done, I hope."),
    ]));
    events
}

/// An allowed `get_time` call, then an `rm_rf` call to block.
fn live_then_blocked() -> Vec<Value> {
    let allowed = call("fc_ok", "call_ok", "get_time", "{\"tz\":\"UTC\"}");
    let blocked = call("fc_bad", "call_bad", "rm_rf", "{\"path\":\"/\"}");
    let mut events = vec![created()];
    events.extend(call_events(0, &allowed));
    events.extend(call_events(1, &blocked));
    events.push(completed(vec![allowed.clone(), blocked.clone()]));
    events
}

/// A call cut by `max_output_tokens`: the stream ends with `response.incomplete`.
fn incomplete_call() -> Vec<Value> {
    let blocked = call("fc_x", "call_x", "run", "{\"cmd\":\"ls\"}");
    let mut events = vec![created()];
    events.extend(call_events(0, &blocked));
    let mut terminal = completed(vec![blocked]);
    terminal["type"] = json!("response.incomplete");
    terminal["response"]["status"] = json!("incomplete");
    terminal["response"]["incomplete_details"] = json!({"reason": "max_output_tokens"});
    events.push(terminal);
    events
}

/// A message, then a call the stream is cut inside of, then a `[DONE]` from a compatible server.
fn cut_call() -> Vec<Frame> {
    let blocked = call("fc_x", "call_x", "run", "{\"cmd\":\"ls\"}");
    let mut events = vec![created()];
    events.extend(message_events(0, "msg_a", "Running."));
    events.extend(call_events(1, &blocked));
    events.truncate(events.len() - 2);
    let mut frames = stream(&events);
    frames.push(Frame { name: None, data: b"[DONE]".to_vec(), raw: b"data: [DONE]\n\n".to_vec() });
    frames
}

#[test]
fn a_blocked_recorded_call_never_reaches_the_client_and_the_event_sequence_stays_complete() {
    for (path, call_id, item_id, args, reasoning) in [
        (
            "openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse",
            "call_kL0PCQV7M2WMoVX8V8OtYSAL",
            "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2",
            "France",
            false,
        ),
        (
            "openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse",
            "call_CWXgs68YprAjp6t0371hiPOI",
            "fc_0050471a34b36ae60068c97bf19d9c819590eaf42c0edc1042",
            "6666",
            true,
        ),
    ] {
        let input = read_frames(Framing::Sse, path);
        let mut fold = engine();
        let out = hold_back(&mut fold, &input, &block_all);
        for secret in [call_id, item_id, args] {
            assert!(!contains(&out, secret), "{path}: {secret} leaked");
        }
        let c = client(&out);
        assert_eq!(c.text, REFUSAL, "{path}");
        let expected_items: Vec<&str> = if reasoning { vec!["reasoning", "message"] } else { vec!["message"] };
        assert_eq!(c.items.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), expected_items, "{path}");
        assert_eq!(c.terminal["status"], "completed");
        assert_eq!(response::parse(&c.terminal).usage, fold.response().usage, "{path}: usage kept");
        assert!(fold.response().usage.is_some());
        assert_eq!(response::parse(&c.terminal).text, REFUSAL);
    }
}

#[test]
fn text_before_a_blocked_call_is_kept_and_later_items_move_down() {
    let events = text_around_call();
    let mut fold = engine();
    let out = hold_back(&mut fold, &stream(&events), &block_all);
    for secret in ["fc_bad", "call_bad", "delete_repo", "prod-db"] {
        assert!(!contains(&out, secret), "{secret} leaked");
    }
    let c = client(&out);
    assert_eq!(c.text, format!("Deleting it now.Done, I hope.{REFUSAL}"));
    assert_eq!(c.items.len(), 3, "two messages and the refusal");
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"repo": "prod-db"}), "evaluated whole");
}

#[test]
fn a_call_streamed_live_before_the_blocked_one_is_kept_in_the_output() {
    let events = live_then_blocked();
    let out = hold_back(&mut engine(), &stream(&events), &|n| n == "rm_rf");
    assert!(!contains(&out, "rm_rf") && !contains(&out, "call_bad"));
    let c = client(&out);
    assert_eq!(c.items, [("function_call".to_owned(), Some("get_time".to_owned())), ("message".to_owned(), None)]);
    assert_eq!(c.text, REFUSAL);
}

#[test]
fn calls_listed_only_in_the_terminal_event_are_removed_from_it() {
    let blocked = call("fc_x", "call_x", "exfiltrate", "{}");
    let events = [created(), completed(vec![blocked])];
    let mut fold = engine();
    let out = hold_back(&mut fold, &stream(&events), &block_all);
    assert!(!contains(&out, "exfiltrate"));
    assert_eq!(client(&out).text, REFUSAL);
}

#[test]
fn a_call_listed_only_in_the_terminal_event_is_judged_with_the_streamed_ones() {
    let streamed = call("fc_a", "call_a", "get_time", "{}");
    let hidden = call("fc_b", "call_b", "rm_rf", "{\"path\":\"/\"}");
    let mut events = vec![created()];
    events.extend(call_events(0, &streamed));
    events.push(completed(vec![streamed.clone(), hidden]));
    let mut fold = Fold::new();
    let infos: Vec<_> = stream(&events).iter().map(|f| fold.on_frame(f)).collect();
    let names: Vec<&str> = fold.response().tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["get_time", "rm_rf"]);
    let last = infos.last().unwrap();
    assert!(last.tool && last.ends_message);
    assert_eq!(last.started_tools, ["rm_rf"]);
}

#[test]
fn a_failed_response_stays_failed_but_loses_its_calls() {
    let blocked = call("fc_x", "call_x", "run", "{\"cmd\":\"ls\"}");
    let mut events = vec![created()];
    events.extend(call_events(0, &blocked));
    let mut terminal = completed(vec![blocked]);
    terminal["type"] = json!("response.failed");
    terminal["response"]["status"] = json!("failed");
    terminal["response"]["error"] = json!({"code": "server_error", "message": "boom"});
    events.push(terminal);
    let out = hold_back(&mut engine(), &stream(&events), &block_all);
    assert!(!contains(&out, "call_x"));
    let c = client(&out);
    assert_eq!((c.terminal["status"].as_str(), c.text.as_str()), (Some("failed"), REFUSAL));
    assert!(contains(&out, "event: response.failed\n"));
}

#[test]
fn an_incomplete_response_with_a_blocked_call_completes_with_the_refusal() {
    let events = incomplete_call();
    let out = hold_back(&mut engine(), &stream(&events), &block_all);
    let c = client(&out);
    assert_eq!((c.terminal["status"].as_str(), &c.terminal["incomplete_details"]), (Some("completed"), &Value::Null));
    assert!(contains(&out, "event: response.completed\n"));
}

#[test]
fn a_stream_cut_inside_a_blocked_call_gets_a_terminal_event_built_from_what_was_sent() {
    let out = hold_back(&mut engine(), &cut_call(), &block_all);
    assert!(!contains(&out, "call_x") && !contains(&out, "ls\\\""));
    assert!(out.ends_with(b"data: [DONE]\n\n"), "a held [DONE] comes last");
    let without_done = &out[..out.len() - b"data: [DONE]\n\n".len()];
    let c = client(without_done);
    assert_eq!(c.text, format!("Running.{REFUSAL}"));
    assert_eq!(c.terminal["id"], "resp_1");
}

/// A built-in call whose `output_item.added` alone is larger than the hold limit: the frame that
/// overflows is withheld like the ones before it, so the terminal event the gateway writes does
/// not list the call (a client reading `response.completed` would otherwise run it).
#[test]
fn a_call_announced_by_a_frame_larger_than_the_hold_limit_is_not_listed_in_the_terminal_event() {
    let action = json!({"commands": [format!("cat /etc/passwd #{}", "x".repeat(4096))]});
    let shell = json!({"id": "sh_big", "type": "shell_call", "call_id": "call_big", "status": "in_progress",
                       "action": action});
    let mut events = vec![created()];
    events.extend(message_events(0, "msg_a", "Reading."));
    events.push(json!({"type": "response.output_item.added", "output_index": 1, "item": shell}));
    events.push(json!({"type": "response.output_item.done", "output_index": 1, "item": shell}));
    events.push(completed(vec![message("msg_a", "Reading."), shell.clone()]));
    let held = testutil::hold_back_within(&mut engine(), &stream(&events), &block_all, Some(REFUSAL), 1024);
    for secret in ["sh_big", "call_big", "/etc/passwd", "shell_call"] {
        assert!(!contains(&held.out, secret), "{secret} reached the client");
    }
    let c = client(&held.out);
    assert_eq!(c.text, format!("Reading.{REFUSAL}"));
    assert_eq!(c.items.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["message", "message"]);
}

/// Servers that break the event order. Each case is a stream the hold-back holds and blocks;
/// none of the call's bytes may reach the client, whichever event of it comes first.
mod disordered {
    use super::*;

    fn leaked(out: &[u8], secrets: &[&str]) -> Vec<String> {
        secrets.iter().filter(|s| contains(out, s)).map(|s| (*s).to_owned()).collect()
    }

    /// Found by the `response_path` fuzz target: a call arrives by `output_item.done` alone at
    /// index 0, and is then announced again by `output_item.added` at index 0. The first `done`
    /// used to be matched to the second announcement and let through.
    #[test]
    fn a_call_given_by_done_alone_and_then_announced_again_at_its_index_is_withheld() {
        let item = call("fc_dup", "call_dup", "get_capital", "{\"country\":\"France\"}");
        let mut events = vec![created()];
        events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": item}));
        events.extend(call_events(0, &item));
        events.push(completed(vec![item.clone()]));
        let mut fold = engine();
        let out = hold_back(&mut fold, &stream(&events), &block_all);
        assert_eq!(leaked(&out, &["get_capital", "fc_dup", "call_dup", "France"]), Vec::<String>::new());
        assert_eq!(client(&out).text, REFUSAL);
        assert_eq!(fold.response().tool_calls.len(), 2, "both announcements are judged");
    }

    /// The fuzz input itself, through the filter's own response path: recorded in
    /// `filter/fuzz/known-crashes` when it was found, kept here once fixed.
    #[test]
    fn the_recorded_duplicate_index_stream_gets_no_call_past_a_block_all_profile() {
        let input =
            read_frames(Framing::Sse, "openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse");
        let done = input.iter().find(|f| f.name.as_deref() == Some("response.output_item.done")).unwrap().clone();
        // The recorded stream with its call's `done` moved in front of everything else.
        let mut frames = vec![done];
        frames.extend(input);
        let out = hold_back(&mut engine(), &frames, &block_all);
        // (`get_capital` itself is in the echoed tool definitions.)
        let secrets =
            ["call_kL0PCQV7M2WMoVX8V8OtYSAL", "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2", "France"];
        assert_eq!(leaked(&out, &secrets), Vec::<String>::new());
        assert_eq!(client(&out).text, REFUSAL);
    }

    /// An item announced as a message whose `done` says it is a call (same id, or another id at
    /// the same index): it becomes a call in the held part, so nothing at its index goes out.
    #[test]
    fn a_message_that_turns_out_a_call_at_done_is_withheld() {
        for done_id in ["msg_a", "fc_other"] {
            let mut turned = call("fc_x", "call_turned", "rm_rf", "{\"path\":\"/\"}");
            turned["id"] = json!(done_id);
            let mut events = vec![created()];
            events.extend(message_events(0, "msg_a", "Hello."));
            events.truncate(events.len() - 1);
            events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": turned}));
            events.push(completed(vec![turned.clone()]));
            let out = hold_back(&mut engine(), &stream(&events), &block_all);
            assert_eq!(leaked(&out, &["rm_rf", "call_turned", "function_call"]), Vec::<String>::new(), "{done_id}");
            // The client saw a message opened at index 0 that never finishes (what it turned into
            // is withheld); the refusal comes after it, and the stream ends completed.
            let events: Vec<Value> =
                frames(Framing::Sse, &out).iter().map(|f| serde_json::from_slice(&f.data).unwrap()).collect();
            let added: Vec<u64> = events
                .iter()
                .filter(|e| e["type"] == "response.output_item.added")
                .map(|e| e["output_index"].as_u64().unwrap())
                .collect();
            assert_eq!(added, [0, 1], "{done_id}");
            let terminal = events.last().unwrap();
            assert_eq!(terminal["type"], "response.completed");
            assert_eq!(response::parse(&terminal["response"]).text, REFUSAL);
        }
    }

    /// A call announced as `get_time` (which the policy lets through unheld) whose `done` names
    /// `rm_rf`: the new name starts a call that is held and judged, and its `done` is withheld.
    #[test]
    fn a_done_that_names_another_tool_than_its_announcement_is_held_and_judged() {
        let announced = call("fc_1", "call_1", "get_time", "{}");
        let mut swapped = announced.clone();
        swapped["name"] = json!("rm_rf");
        swapped["arguments"] = json!("{\"path\":\"/\"}");
        let mut events = vec![created()];
        let mut call = call_events(0, &announced);
        call.pop();
        events.extend(call);
        events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": swapped}));
        events.push(completed(vec![swapped.clone()]));
        let mut fold = engine();
        let held = testutil::hold_back(&mut fold, &stream(&events), &|n| n == "rm_rf", Some(REFUSAL));
        assert!(
            !contains(&held.out, "rm_rf") && !contains(&held.out, "\\\"/\\\""),
            "{}",
            String::from_utf8_lossy(&held.out)
        );
        assert_eq!(held.infos[5].started_tools, ["rm_rf"], "the new name starts a call");
        assert_eq!(fold.response().tool_calls[0].name, "rm_rf", "and it is what is judged");
    }

    /// A hold the judge let through leaves nothing withheld: a refusal written later (the stream
    /// broke after it) still lists the call the client received.
    #[test]
    fn a_released_hold_withholds_nothing_from_a_later_refusal() {
        let allowed = call("fc_ok", "call_ok", "get_time", "{}");
        let mut events = vec![created()];
        events.extend(call_events(0, &allowed));
        let mut fold = engine();
        for (n, frame) in stream(&events).iter().enumerate() {
            fold.on_frame(frame);
            if n == 1 {
                fold.hold_begins();
            }
        }
        fold.hold_released();
        let out = fold.refusal(REFUSAL, None);
        let terminal: Value = serde_json::from_slice(&out.last().unwrap().data).unwrap();
        let output = terminal["response"]["output"].as_array().unwrap();
        assert_eq!(output.first().unwrap()["call_id"], "call_ok", "{terminal}");
        assert_eq!(output.len(), 2, "the call, then the refusal");
    }

    /// Argument events that name neither an index nor an item cannot be told apart from the
    /// blocked call's: in a blocked stream they are dropped.
    #[test]
    fn call_content_that_names_no_item_is_dropped_from_a_blocked_stream() {
        let item = call("fc_x", "call_x", "run", "{\"cmd\":\"SECRET_ARG\"}");
        let mut events = vec![created()];
        for mut event in call_events(0, &item) {
            if event["type"].as_str().is_some_and(|t| t.starts_with("response.function_call_arguments.")) {
                event.as_object_mut().unwrap().retain(|k, _| k != "output_index" && k != "item_id");
            }
            events.push(event);
        }
        events.push(completed(vec![item]));
        let out = hold_back(&mut engine(), &stream(&events), &block_all);
        assert!(!contains(&out, "SECRET_ARG"), "{}", String::from_utf8_lossy(&out));
        assert_eq!(client(&out).text, REFUSAL);
    }
}

#[test]
fn frame_info_marks_call_events_starts_and_the_terminal_event() {
    let input = read_frames(Framing::Sse, "openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse");
    let mut fold = Fold::new();
    let infos: Vec<_> = input.iter().map(|f| fold.on_frame(f)).collect();
    let tool: Vec<bool> = infos.iter().map(|i| i.tool).collect();
    assert_eq!(tool, [false, false, true, true, true, true, true, true, true, true, false]);
    assert_eq!(infos[2].started_tools, ["get_capital"]);
    assert!(infos.iter().enumerate().all(|(n, i)| i.ends_message == (n == 10)));
    assert!(infos.iter().enumerate().all(|(n, i)| n == 2 || i.started_tools.is_empty()));
}

#[test]
fn a_non_streaming_refusal_is_a_completed_message_with_usage_kept() {
    let cassette = "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml";
    let upstream = cassette_response(cassette, 0);
    let body = refusal::body(&upstream, REFUSAL);
    let parsed = response::parse(&body);
    assert!(parsed.tool_calls.is_empty());
    assert_eq!(parsed.text, REFUSAL);
    assert_eq!(parsed.finish_reason.as_deref(), Some("completed"));
    assert_eq!(parsed.usage, response::parse(&upstream).usage);
    assert_eq!((&body["id"], &body["model"]), (&upstream["id"], &upstream["model"]));
    assert!(!body.to_string().contains("call_YfwRsW8sUxDKipwyhWTzOXCA"));

    let reasoning =
        cassette_response("openai-responses/pydantic-ai__test_openai_responses_thinking_with_tool_calls.yaml", 0);
    let body = refusal::body(&reasoning, REFUSAL);
    let kinds: Vec<&str> = body["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert!(kinds.ends_with(&["message"]) && !kinds.contains(&"function_call"), "{kinds:?}");
    assert_eq!(refusal::body(&json!(null), REFUSAL)["output"][0]["content"][0]["text"], REFUSAL);
}

#[test]
fn an_edited_function_call_output_parses_back_as_exactly_the_new_text() {
    for mut body in [
        read_json("openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json"),
        cassette_request(
            "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml",
            1,
        ),
        json!({"input": [{"type": "function_call_output", "call_id": "a",
                          "output": [{"type": "input_text", "text": "secret"}]}]}),
    ] {
        let results = request::parse(&body).tool_results;
        assert!(!results.is_empty());
        for result in &results {
            assert!(request::apply_result_edit(&mut body, &result.pointer, "[withheld]"));
        }
        assert!(request::parse(&body).tool_results.iter().all(|r| r.content == "[withheld]"));
    }
    assert!(!request::apply_result_edit(&mut json!({"input": "text"}), "/input/0/output", "x"));
}

#[test]
fn recorded_streams_pass_strip_tools_unchanged_when_they_hold_no_call() {
    let input = read_frames(Framing::Sse, "openai-responses/agw__responses-stream-image.sse");
    let mut fold = Fold::new();
    for frame in &input {
        fold.on_frame(frame);
    }
    for frame in &input {
        assert_eq!(fold.strip_tools(frame).as_ref(), Some(frame));
    }
}

/// A named stream, which calls to block, and what the client should end up with.
type Scenario<'a> = (&'a str, Vec<Frame>, &'a dyn Fn(&str) -> bool, Value);

/// With `WARDEN_SDK_SAMPLES=<dir>`, writes what clients receive in each scenario (and what they
/// should make of it) for `tests/clients/offline/test_openai_refusals.py`.
#[test]
fn sdk_samples_are_written_when_asked() {
    let Some(dir) = std::env::var_os("WARDEN_SDK_SAMPLES") else { return };
    let dir = std::path::Path::new(&dir).join("openai_responses");
    std::fs::create_dir_all(&dir).unwrap();
    let expect = |text: String, items: &[&str], usage: bool| json!({"text": text, "items": items, "usage": usage});
    let streams: Vec<Scenario> = vec![
        (
            "recorded_stream",
            read_frames(Framing::Sse, "openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse"),
            &block_all,
            expect(REFUSAL.into(), &["message"], true),
        ),
        (
            "recorded_reasoning",
            read_frames(
                Framing::Sse,
                "openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse",
            ),
            &block_all,
            expect(REFUSAL.into(), &["reasoning", "message"], true),
        ),
        (
            "text_around_call",
            stream(&text_around_call()),
            &block_all,
            expect(format!("Deleting it now.Done, I hope.{REFUSAL}"), &["message", "message", "message"], true),
        ),
        (
            "live_then_blocked",
            stream(&live_then_blocked()),
            &|n: &str| n == "rm_rf",
            expect(REFUSAL.into(), &["function_call", "message"], true),
        ),
        ("incomplete_call", stream(&incomplete_call()), &block_all, expect(REFUSAL.into(), &["message"], true)),
        ("cut_call", cut_call(), &block_all, expect(format!("Running.{REFUSAL}"), &["message", "message"], false)),
    ];
    for (name, input, blockable, expected) in streams {
        let out = hold_back(&mut engine(), &input, blockable);
        std::fs::write(dir.join(format!("{name}.sse")), out).unwrap();
        std::fs::write(dir.join(format!("{name}.expect.json")), expected.to_string()).unwrap();
    }
    for (name, cassette, items) in [
        (
            "tool_call",
            "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml",
            &["message"][..],
        ),
        (
            "reasoning",
            "openai-responses/pydantic-ai__test_openai_responses_thinking_with_tool_calls.yaml",
            &["reasoning", "message"][..],
        ),
    ] {
        let body = refusal::body(&cassette_response(cassette, 0), REFUSAL);
        std::fs::write(dir.join(format!("{name}.json")), body.to_string()).unwrap();
        std::fs::write(dir.join(format!("{name}.expect.json")), expect(REFUSAL.into(), items, true).to_string())
            .unwrap();
    }
}

proptest! {
    #[test]
    fn no_byte_of_a_blocked_call_ever_reaches_the_client(
        items in proptest::collection::vec((proptest::bool::weighted(0.7), "[a-z ]{1,6}"), 1..6),
        numbered in any::<bool>(),
        ending in 0u8..3,
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut events = vec![created()];
        let mut output = Vec::new();
        for (n, (is_call, text)) in items.iter().enumerate() {
            let index = n as u64;
            if *is_call {
                let item = call(&format!("fc_{n}"), &format!("CALL_{n}"), &format!("NAME_{n}"), "{\"ARG\":1}");
                events.extend(call_events(index, &item));
                output.push(item);
            } else {
                let id = format!("msg_{n}");
                events.extend(message_events(index, &id, text));
                output.push(message(&id, text));
            }
        }
        match ending {
            0 => events.push(completed(output)),
            1 => {
                let mut terminal = completed(output);
                terminal["type"] = json!("response.incomplete");
                terminal["response"]["status"] = json!("incomplete");
                events.push(terminal);
            }
            _ => events.truncate(1 + cut.index(events.len())),
        }
        let mut frames = stream(&events);
        if !numbered {
            frames = events.iter().map(|e| event(e["type"].as_str().unwrap(), e.clone())).collect();
        }
        // Streams without a call are never held, so they are nothing to refuse.
        prop_assume!(frames.iter().any(|f| contains(&f.data, "NAME_")));
        let out = hold_back(&mut engine(), &frames, &block_all);
        for secret in ["NAME_", "CALL_", "ARG", "fc_", "function_call"] {
            prop_assert!(!contains(&out, secret), "{} leaked", secret);
        }
        let c = client_of(&out, ending == 2);
        prop_assert!(c.text.ends_with(REFUSAL));
        prop_assert_eq!(c.terminal["status"].as_str(), Some("completed"));
    }
}

proptest! {
    #[test]
    fn any_frames_can_be_held_stripped_and_refused_without_panicking(
        frames in testutil::arb_wire_frames(),
        end_held in any::<bool>(),
    ) {
        let out = testutil::strip_and_refuse(&mut engine(), &frames, end_held, REFUSAL);
        prop_assert!(!out.is_empty());
    }
}
