use crate::providers::openai_chat::{refusal, request, response, stream::Fold};
use crate::providers::StreamFold;
use crate::stream::{Frame, Framing};
use crate::testutil::{self, cassette_response, contains, data_frame, frames, read, read_json};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const REFUSAL: &str = "The gateway blocked this tool call.";

/// What the client receives when the filter's hold-back holds the calls `blockable` names and
/// refuses them.
fn hold_back(fold: &mut StreamFold, frames: &[Frame], blockable: &dyn Fn(&str) -> bool) -> Vec<u8> {
    testutil::hold_back(fold, frames, blockable, Some(REFUSAL)).out
}

fn engine(hide: bool) -> StreamFold {
    StreamFold::OpenAiChat(Fold::new(hide))
}

fn block_all(_: &str) -> bool {
    true
}

/// What a client accumulates from a chat stream, checked for validity on the way: `[DONE]` once
/// and last, a role at most once per choice, one finish reason per choice, no delta after it.
#[derive(Debug, Default)]
struct Client {
    text: BTreeMap<u64, String>,
    finish: BTreeMap<u64, String>,
    /// (choice, tool index) → (name, arguments).
    calls: BTreeMap<(u64, u64), (String, String)>,
    usage: Vec<Value>,
    ids: Vec<String>,
}

fn client(bytes: &[u8]) -> Client {
    let frames = frames(Framing::Sse, bytes);
    let mut c = Client::default();
    let mut roles: BTreeMap<u64, usize> = BTreeMap::new();
    let (last, body) = frames.split_last().expect("frames");
    assert_eq!(last.data, b"[DONE]", "the stream ends with [DONE]");
    for frame in body {
        let chunk: Value = serde_json::from_slice(&frame.data).expect("every chunk before [DONE] is JSON");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        c.ids.push(chunk["id"].as_str().unwrap().to_owned());
        if chunk["usage"].is_object() {
            c.usage.push(chunk["usage"].clone());
        }
        for choice in chunk["choices"].as_array().unwrap() {
            let index = choice["index"].as_u64().unwrap();
            assert!(!c.finish.contains_key(&index), "no delta after choice {index} finished");
            let delta = &choice["delta"];
            if delta["role"].is_string() {
                *roles.entry(index).or_default() += 1;
            }
            if let Some(text) = delta["content"].as_str() {
                c.text.entry(index).or_default().push_str(text);
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let entry = c.calls.entry((index, call["index"].as_u64().unwrap())).or_default();
                entry.0.push_str(call["function"]["name"].as_str().unwrap_or_default());
                entry.1.push_str(call["function"]["arguments"].as_str().unwrap_or_default());
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                c.finish.insert(index, reason.to_owned());
            }
        }
    }
    assert!(roles.values().all(|n| *n <= 1), "role at most once per choice: {roles:?}");
    c
}

fn sse(chunks: &[Value]) -> Vec<Frame> {
    let mut frames: Vec<Frame> = chunks.iter().map(|c| data_frame(&c.to_string())).collect();
    frames.push(data_frame("[DONE]"));
    frames
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
}

fn call_delta(index: u64, id: Option<&str>, name: Option<&str>, arguments: &str) -> Value {
    let mut call = json!({"index": index, "function": {"arguments": arguments}});
    if let Some(id) = id {
        call["id"] = json!(id);
        call["type"] = json!("function");
    }
    if let Some(name) = name {
        call["function"]["name"] = json!(name);
    }
    json!({"tool_calls": [call]})
}

fn usage_chunk() -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [],
           "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})
}

/// Text, then a call to block, then the finish and usage chunks.
fn text_then_call() -> Vec<Frame> {
    sse(&[
        chunk(json!({"role": "assistant", "content": ""}), json!(null)),
        chunk(json!({"content": "Let me look."}), json!(null)),
        chunk(call_delta(0, Some("call_1"), Some("read_file"), ""), json!(null)),
        chunk(call_delta(0, None, None, "{\"path\":\"/etc/"), json!(null)),
        chunk(call_delta(0, None, None, "shadow\"}"), json!(null)),
        chunk(json!({}), json!("tool_calls")),
        usage_chunk(),
    ])
}

/// An allowed `get_time` call, then a `delete_all` call to block.
fn live_then_blocked() -> Vec<Frame> {
    sse(&[
        chunk(json!({"role": "assistant", "content": null}), json!(null)),
        chunk(call_delta(0, Some("call_a"), Some("get_time"), "{\"tz\":"), json!(null)),
        chunk(call_delta(0, None, None, "\"UTC\"}"), json!(null)),
        chunk(call_delta(1, Some("call_b"), Some("delete_all"), "{\"really\":"), json!(null)),
        chunk(call_delta(1, None, None, "true}"), json!(null)),
        chunk(json!({}), json!("tool_calls")),
    ])
}

/// A whole call in the chunk that carries the finish reason.
fn call_with_finish() -> Vec<Frame> {
    sse(&[
        chunk(json!({"role": "assistant", "content": "One moment."}), json!(null)),
        chunk(call_delta(0, Some("c"), Some("wipe"), "{\"disk\":0}"), json!("tool_calls")),
        usage_chunk(),
    ])
}

/// A legacy `function_call` delta stream.
fn legacy_call() -> Vec<Frame> {
    sse(&[
        chunk(json!({"role": "assistant", "function_call": {"name": "old_fn", "arguments": ""}}), json!(null)),
        chunk(json!({"function_call": {"arguments": "{\"q\":\"secret\"}"}}), json!(null)),
        chunk(json!({}), json!("function_call")),
    ])
}

#[test]
fn a_blocked_recorded_call_never_reaches_the_client_and_the_stream_stays_valid() {
    for (path, name, id, args) in [
        (
            "openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse",
            "get_capital",
            "call_ZR5UUuTt3pf61kjwAJIYdVMj",
            "country",
        ),
        (
            "openai-chat/openai-py__stream-tool-call__c6aa7e39.sse",
            "GetWeatherArgs",
            "call_c91SqDXlYFuETYv8mUHzz6pp",
            "Edinburgh",
        ),
    ] {
        let input = frames(Framing::Sse, &read(path));
        let mut fold = engine(false);
        let out = hold_back(&mut fold, &input, &block_all);
        for secret in [name, id, args] {
            assert!(!contains(&out, secret), "{path}: {secret} leaked");
        }
        let c = client(&out);
        assert_eq!(c.text[&0], REFUSAL, "{path}");
        assert_eq!(c.finish, BTreeMap::from([(0, "stop".to_owned())]), "{path}");
        assert!(c.calls.is_empty(), "{path}");
        assert_eq!(c.usage.len(), 1, "{path}: usage kept once");
        assert!(c.ids.iter().all(|i| *i == c.ids[0]), "{path}: every chunk has the stream's id");
        // The held role chunk kept its role, so the refusal does not repeat it.
        assert!(contains(&out, r#""role":"assistant""#), "{path}");
    }
}

#[test]
fn text_before_a_blocked_call_is_kept_and_the_refusal_follows_it() {
    let input = text_then_call();
    let mut fold = engine(false);
    let out = hold_back(&mut fold, &input, &block_all);
    for secret in ["read_file", "call_1", "shadow", "/etc/"] {
        assert!(!contains(&out, secret), "{secret} leaked");
    }
    let c = client(&out);
    assert_eq!(c.text[&0], format!("Let me look.\n\n{REFUSAL}"));
    assert_eq!(c.finish[&0], "stop");
    assert_eq!(c.usage, [usage_chunk()["usage"].clone()]);
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"path": "/etc/shadow"}), "evaluated whole");
}

#[test]
fn a_call_streamed_live_before_the_blocked_one_stays_whole_and_keeps_tool_calls() {
    let input = live_then_blocked();
    let mut fold = engine(false);
    let out = hold_back(&mut fold, &input, &|n| n == "delete_all");
    for secret in ["delete_all", "call_b", "really"] {
        assert!(!contains(&out, secret), "{secret} leaked");
    }
    let c = client(&out);
    assert_eq!(c.calls, BTreeMap::from([((0, 0), ("get_time".to_owned(), "{\"tz\":\"UTC\"}".to_owned()))]));
    assert_eq!(c.finish[&0], "tool_calls", "a call did go out");
    assert_eq!(c.text[&0], REFUSAL);
}

#[test]
fn a_live_call_continued_inside_the_held_part_keeps_its_deltas() {
    // Two choices interleave: choice 1's allowed call is still streaming when choice 0's blocked
    // call starts, so its later deltas are held but belong to a call the client already has.
    let two = |c0: Value, c1: Value| json!({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [c0, c1]});
    let choice =
        |index: u64, delta: Value, finish: Value| json!({"index": index, "delta": delta, "finish_reason": finish});
    let input = sse(&[
        two(choice(0, json!({"role": "assistant"}), json!(null)), choice(1, json!({"role": "assistant"}), json!(null))),
        two(
            choice(0, json!({"content": "Hm."}), json!(null)),
            choice(1, call_delta(0, Some("ok"), Some("safe"), "{\"a\""), json!(null)),
        ),
        two(
            choice(0, call_delta(0, Some("bad"), Some("danger"), "{\"x\":1}"), json!(null)),
            choice(1, call_delta(0, None, None, ":2}"), json!(null)),
        ),
        two(choice(0, json!({}), json!("tool_calls")), choice(1, json!({}), json!("tool_calls"))),
    ]);
    let mut fold = engine(false);
    let out = hold_back(&mut fold, &input, &|n| n == "danger");
    assert!(!contains(&out, "danger") && !contains(&out, "\"bad\""));
    let c = client(&out);
    assert_eq!(c.calls, BTreeMap::from([((1, 0), ("safe".to_owned(), "{\"a\":2}".to_owned()))]));
    assert_eq!(c.finish, BTreeMap::from([(0, "stop".to_owned()), (1, "tool_calls".to_owned())]));
    assert_eq!(c.text[&0], format!("Hm.\n\n{REFUSAL}"));
    assert!(!c.text.contains_key(&1));
}

#[test]
fn a_hidden_usage_chunk_stays_hidden_after_a_refusal() {
    let input = frames(Framing::Sse, &read("openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse"));
    let mut fold = engine(true);
    let out = hold_back(&mut fold, &input, &block_all);
    let c = client(&out);
    assert!(c.usage.is_empty());
    assert_eq!(fold.response().usage.map(|u| u.input), Some(53), "metered all the same");
}

#[test]
fn a_stream_cut_inside_a_blocked_call_ends_with_a_finish_usage_and_done() {
    let mut input = sse(&[
        chunk(json!({"role": "assistant", "content": "Sure."}), json!(null)),
        chunk(call_delta(0, Some("call_1"), Some("rm"), "{\"path\":\"/\""), json!(null)),
        usage_chunk(),
    ]);
    input.pop();
    let mut fold = engine(false);
    let out = hold_back(&mut fold, &input, &block_all);
    assert!(!contains(&out, "call_1") && !contains(&out, "\"rm\""));
    let c = client(&out);
    assert_eq!(c.text[&0], format!("Sure.\n\n{REFUSAL}"));
    assert_eq!(c.finish[&0], "stop");
    assert_eq!(c.usage.len(), 1);

    // With its [DONE] but no finish chunk, [DONE] still comes last, once.
    let input = sse(&[chunk(call_delta(0, Some("call_1"), Some("rm"), "{}"), json!(null))]);
    let out = hold_back(&mut engine(false), &input, &block_all);
    let c = client(&out);
    assert_eq!((c.text[&0].as_str(), c.finish[&0].as_str()), (REFUSAL, "stop"));
}

#[test]
fn a_call_that_arrives_whole_with_the_finish_reason_is_stripped_from_it() {
    let input = call_with_finish();
    let mut fold = engine(false);
    let out = hold_back(&mut fold, &input, &block_all);
    assert!(!contains(&out, "wipe") && !contains(&out, "disk"));
    let c = client(&out);
    assert_eq!(c.finish[&0], "stop");
    assert_eq!(c.text[&0], format!("One moment.\n\n{REFUSAL}"));
}

#[test]
fn legacy_function_call_deltas_are_stripped_too() {
    let input = legacy_call();
    let mut fold = engine(false);
    let out = hold_back(&mut fold, &input, &block_all);
    assert!(!contains(&out, "old_fn") && !contains(&out, "secret"));
    let c = client(&out);
    assert_eq!((c.text[&0].as_str(), c.finish[&0].as_str()), (REFUSAL, "stop"));
}

#[test]
fn frame_info_marks_tool_frames_starts_and_the_message_end() {
    let input = frames(Framing::Sse, &read("openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse"));
    let mut fold = Fold::new(false);
    let infos: Vec<_> = input.iter().map(|f| fold.on_frame(f)).collect();
    assert_eq!(infos[0].started_tools, ["get_capital"]);
    assert!(infos[..6].iter().all(|i| i.tool && !i.ends_message));
    assert!(infos[1..].iter().all(|i| i.started_tools.is_empty()));
    assert!(!infos[6].tool && infos[6].ends_message, "the finish chunk");
    assert!(infos[7..].iter().all(|i| !i.ends_message && !i.tool), "usage and [DONE]");
}

#[test]
fn the_message_ends_only_when_every_choice_has_finished() {
    let mut fold = Fold::new(false);
    let two = |f0: Value, f1: Value| {
        data_frame(
            &json!({"choices": [{"index": 0, "delta": {}, "finish_reason": f0}, {"index": 1, "delta": {}, "finish_reason": f1}]})
                .to_string(),
        )
    };
    assert!(!fold.on_frame(&two(json!(null), json!(null))).ends_message);
    let one = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string();
    assert!(!fold.on_frame(&data_frame(&one)).ends_message);
    let other = json!({"choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]}).to_string();
    assert!(fold.on_frame(&data_frame(&other)).ends_message);
}

#[test]
fn a_non_streaming_refusal_is_a_plain_assistant_message_with_usage_kept() {
    let upstream = cassette_response("openai-chat/envoy-aigw__chat-parallel-tools.yaml", 0);
    let body = refusal::body(&upstream, REFUSAL);
    let parsed = response::parse(&body);
    assert!(parsed.tool_calls.is_empty());
    assert_eq!(parsed.text, REFUSAL);
    assert_eq!(parsed.finish_reason.as_deref(), Some("stop"));
    assert_eq!(parsed.usage, response::parse(&upstream).usage);
    assert_eq!(
        (&body["id"], &body["model"], &body["created"]),
        (&upstream["id"], &upstream["model"], &upstream["created"])
    );
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert!(!body.to_string().contains("call_"), "no call id survives");

    let mixed = json!({"id": "c", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, "finish_reason": "tool_calls"},
        {"index": 1, "message": {"role": "assistant", "content": "No tools here."}, "finish_reason": "stop"}]});
    let body = refusal::body(&mixed, REFUSAL);
    assert_eq!(body["choices"][0]["message"]["content"], format!("Checking.\n\n{REFUSAL}"));
    assert_eq!(body["choices"][1], mixed["choices"][1]);
    for odd in [json!(null), json!({"choices": "no"}), json!({})] {
        let body = refusal::body(&odd, REFUSAL);
        assert_eq!(response::parse(&body).text, REFUSAL, "{odd}");
    }
}

#[test]
fn an_edited_tool_result_parses_back_as_exactly_the_new_text() {
    let mut body = read_json("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json");
    let pointer = request::parse(&body).tool_results[0].pointer.clone();
    assert!(request::apply_result_edit(&mut body, &pointer, "[withheld]"));
    assert_eq!(request::parse(&body).tool_results[0].content, "[withheld]");

    let mut parts = json!({"messages": [
        {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "secret"}]},
        {"role": "tool", "tool_call_id": "b"}]});
    for result in request::parse(&parts.clone()).tool_results {
        assert!(request::apply_result_edit(&mut parts, &result.pointer, "notice"));
    }
    let results = request::parse(&parts).tool_results;
    assert!(results.iter().all(|r| r.content == "notice"), "{results:?}");
    assert!(!request::apply_result_edit(&mut parts, "/messages/9/content", "x"));
}

/// A named stream, whether usage is hidden, which calls to block, what the client should end up with.
type Scenario<'a> = (&'a str, Vec<Frame>, bool, &'a dyn Fn(&str) -> bool, Value);

/// With `WARDEN_SDK_SAMPLES=<dir>`, writes what clients receive in each scenario (and what they
/// should make of it) for `tests/clients/offline/test_openai_refusals.py`, which parses them with
/// the official SDK.
#[test]
fn sdk_samples_are_written_when_asked() {
    let Some(dir) = std::env::var_os("WARDEN_SDK_SAMPLES") else { return };
    let dir = std::path::Path::new(&dir).join("openai_chat");
    std::fs::create_dir_all(&dir).unwrap();
    let recorded = |rel: &str| frames(Framing::Sse, &read(rel));
    let pydantic = "openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse";
    let mut cut = text_then_call();
    cut.truncate(5);
    let expect = |text: String, finish: &str, calls: &[&str], usage: bool| json!({"text": text, "finish_reason": finish, "tool_calls": calls, "usage": usage});
    let after = |text: &str| format!("{text}\n\n{REFUSAL}");
    let streams: Vec<Scenario> = vec![
        ("recorded_pydantic", recorded(pydantic), false, &block_all, expect(REFUSAL.into(), "stop", &[], true)),
        (
            "recorded_openai_py",
            recorded("openai-chat/openai-py__stream-tool-call__c6aa7e39.sse"),
            false,
            &block_all,
            expect(REFUSAL.into(), "stop", &[], true),
        ),
        ("hidden_usage", recorded(pydantic), true, &block_all, expect(REFUSAL.into(), "stop", &[], false)),
        ("text_then_call", text_then_call(), false, &block_all, expect(after("Let me look."), "stop", &[], true)),
        (
            "live_then_blocked",
            live_then_blocked(),
            false,
            &|n: &str| n == "delete_all",
            expect(REFUSAL.into(), "tool_calls", &["get_time"], false),
        ),
        ("call_with_finish", call_with_finish(), false, &block_all, expect(after("One moment."), "stop", &[], true)),
        ("legacy_call", legacy_call(), false, &block_all, expect(REFUSAL.into(), "stop", &[], false)),
        ("cut", cut, false, &block_all, expect(after("Let me look."), "stop", &[], false)),
    ];
    for (name, input, hide, blockable, expected) in streams {
        let out = hold_back(&mut engine(hide), &input, blockable);
        std::fs::write(dir.join(format!("{name}.sse")), out).unwrap();
        std::fs::write(dir.join(format!("{name}.expect.json")), expected.to_string()).unwrap();
    }
    for (name, upstream) in [
        ("parallel_tools", cassette_response("openai-chat/envoy-aigw__chat-parallel-tools.yaml", 0)),
        ("tools", cassette_response("openai-chat/envoy-aigw__chat-tools.yaml", 0)),
    ] {
        std::fs::write(dir.join(format!("{name}.json")), refusal::body(&upstream, REFUSAL).to_string()).unwrap();
        std::fs::write(dir.join(format!("{name}.expect.json")), expect(REFUSAL.into(), "stop", &[], true).to_string())
            .unwrap();
    }
}

/// One random chunk: text, a tool-call delta (maybe a custom or legacy one), or a finish.
fn arb_chunk() -> impl Strategy<Value = Value> {
    let choice = 0u64..2;
    let text = (choice.clone(), "[a-z ]{0,6}").prop_map(|(c, t)| json!({"index": c, "delta": {"content": t}}));
    let call = (
        choice.clone(),
        proptest::option::of(0u64..3),
        proptest::option::of(proptest::sample::select(vec!["ID_a", "ID_b"])),
        proptest::option::of(proptest::sample::select(vec!["NAME_f", "NAME_g"])),
        proptest::sample::select(vec!["{\"ARG\":", "\"ARG_v\"", "}", "ARG"]),
        0u8..3,
    )
        .prop_map(|(c, index, id, name, piece, shape)| {
            let mut body = json!({"arguments": piece});
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if shape == 2 {
                return json!({"index": c, "delta": {"role": "assistant", "function_call": body}});
            }
            let mut call = if shape == 1 {
                json!({"type": "custom", "custom": {"input": piece, "name": name}})
            } else {
                json!({"function": body})
            };
            if let Some(index) = index {
                call["index"] = json!(index);
            }
            if let Some(id) = id {
                call["id"] = json!(id);
            }
            json!({"index": c, "delta": {"tool_calls": [call]}, "logprobs": {"content": [{"token": "ARG"}]}})
        });
    let finish = (choice, proptest::sample::select(vec!["stop", "tool_calls", "length"]))
        .prop_map(|(c, r)| json!({"index": c, "delta": {}, "finish_reason": r}));
    prop_oneof![text, call, finish].prop_map(
        |choice| json!({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}),
    )
}

proptest! {
    #[test]
    fn no_byte_of_a_blocked_call_ever_reaches_the_client(
        chunks in proptest::collection::vec(arb_chunk(), 0..16),
        usage in any::<bool>(),
        done in any::<bool>(),
        hide in any::<bool>(),
    ) {
        let mut input: Vec<Frame> = chunks.iter().map(|c| data_frame(&c.to_string())).collect();
        if usage {
            input.push(data_frame(&usage_chunk().to_string()));
        }
        if done {
            input.push(data_frame("[DONE]"));
        }
        let out = hold_back(&mut engine(hide), &input, &block_all);
        for secret in ["NAME_", "ID_", "ARG", "tool_calls\":[", "function_call\":{"] {
            prop_assert!(!contains(&out, secret), "{} leaked: {}", secret, String::from_utf8_lossy(&out));
        }
        let frames = frames(Framing::Sse, &out);
        let dones = frames.iter().filter(|f| f.data == b"[DONE]").count();
        prop_assert!(dones <= 1);
        if dones == 1 {
            prop_assert_eq!(frames.last().map(|f| f.data.as_slice()), Some(&b"[DONE]"[..]));
        }
        for frame in frames.iter().filter(|f| f.data != b"[DONE]") {
            prop_assert!(serde_json::from_slice::<Value>(&frame.data).is_ok());
        }
    }
}

proptest! {
    #[test]
    fn any_frames_can_be_held_stripped_and_refused_without_panicking(
        frames in testutil::arb_wire_frames(),
        end_held in any::<bool>(),
    ) {
        let out = testutil::strip_and_refuse(&mut engine(false), &frames, end_held, REFUSAL);
        prop_assert!(!out.is_empty());
    }
}
