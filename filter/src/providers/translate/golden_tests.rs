//! Golden tests of whole translations, snapshots in `filter/tests/golden/router/`:
//! - `requests/<scenario>.json` (synthetic chat requests) → `<scenario>.<target>.json`;
//! - `responses_api/<scenario>.json` (synthetic Responses requests) → `.chat.json`, `.anthropic.json`;
//! - recorded answers (`cases::ANSWERS`) → `answers/<case>.chat.json` and `.responses.json`;
//! - recorded streams (`cases::STREAMS`) → `streams/<case>.sse` (client bytes), `.responses.sse`,
//!   and `.expect.json` (what a client must make of it; the Python SDK test checks the SDK agrees);
//! - recorded error answers (`cases::ERRORS`) → `errors/<case>.json`.
//!
//! Ids and timestamps are fixed inputs (`cases::meta`), so nothing needs masking.
//! `UPDATE_GOLDEN=1 cargo test -p warden-filter --lib golden` rewrites every snapshot; review the
//! diff by eye before committing.

use super::cases::{self, bytes_of, meta, payloads, run, ANSWERS, ERRORS, STREAMS};
use super::reply::Completion;
use super::{for_provider, Answer, NativeRequest, TranslateError};
use crate::providers::openai_responses::via_chat::{self, Echo};
use crate::providers::{Provider, StreamFold};
use crate::stream::{Frame, Framing};
use crate::view::{self, Api};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

fn golden(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/router").join(rel)
}

/// Compares `actual` with the snapshot at `rel`, or writes it under `UPDATE_GOLDEN=1`.
fn check(rel: &str, actual: &[u8]) {
    let path = golden(rel);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("snapshot {rel}: {e}; run with UPDATE_GOLDEN=1 to write it, then review it"));
    if expected != actual {
        panic!(
            "snapshot {rel} differs; run with UPDATE_GOLDEN=1 and review the diff.\n--- expected\n{}\n--- actual\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        );
    }
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(v).unwrap();
    text.push('\n');
    text.into_bytes()
}

const ALL: &[&str] = &["openai", "anthropic", "gemini", "bedrock", "cohere"];

/// Scenario → the targets it is translated for.
const REQUESTS: &[(&str, &[&str])] = &[
    ("plain_text", ALL),
    ("system_multi_turn", ALL),
    ("tools_named_choice", ALL),
    ("tool_round_trip_parallel", ALL),
    ("images_data_url", ALL),
    ("images_https_url", ALL),
    ("sampling_params", ALL),
    ("stream_include_usage", ALL),
    ("json_schema", ALL),
    ("unsupported_n", ALL),
    ("unsupported_logprobs", ALL),
];

/// Recorded requests (real SDK traffic) translated for every target.
const RECORDED_REQUESTS: &[(&str, &str)] =
    &[("recorded__openai_tool_result", "openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json")];

fn target(name: &str) -> (Provider, &'static str) {
    match name {
        "openai" => (Provider::OpenAi, "gpt-4o-mini"),
        "anthropic" => (Provider::Anthropic, "claude-sonnet-4-5"),
        "gemini" => (Provider::Gemini, "gemini-2.5-flash"),
        "bedrock" => (Provider::Bedrock, "amazon.nova-pro-v1:0"),
        "cohere" => (Provider::Cohere, "command-a-03-2025"),
        other => panic!("no target {other}"),
    }
}

fn request_snapshot(result: Result<NativeRequest, TranslateError>) -> Value {
    match result {
        Ok(req) => {
            let headers: Map<String, Value> =
                req.headers.iter().map(|(k, v)| ((*k).to_owned(), v.clone().into())).collect();
            json!({
                "path": req.path,
                "headers": headers,
                "stream": req.stream,
                "framing": format!("{:?}", req.framing),
                "body": serde_json::from_slice::<Value>(&req.body).unwrap(),
            })
        }
        Err(e) => {
            let reply = e.reply();
            json!({"status": reply.status, "error": serde_json::from_slice::<Value>(&reply.body).unwrap()})
        }
    }
}

#[test]
fn golden_chat_requests_translate_for_every_target() {
    let mut scenarios: Vec<(String, Value, &[&str])> = REQUESTS
        .iter()
        .map(|(name, targets)| {
            let input = std::fs::read(golden(&format!("requests/{name}.json"))).unwrap();
            ((*name).to_owned(), serde_json::from_slice(&input).unwrap(), *targets)
        })
        .collect();
    for (name, rel) in RECORDED_REQUESTS {
        scenarios.push(((*name).to_owned(), crate::testutil::read_json(rel), ALL));
    }
    for (name, chat, targets) in &scenarios {
        for t in *targets {
            let (provider, model) = target(t);
            let snapshot = request_snapshot(for_provider(provider).request(chat, model));
            check(&format!("requests/{name}.{t}.json"), &pretty(&snapshot));
        }
    }
}

const RESPONSES_REQUESTS: &[&str] =
    &["text_with_instructions", "tools_round_trip", "json_schema", "builtin_tool", "previous_response"];

#[test]
fn golden_responses_requests_become_chat_then_anthropic() {
    for name in RESPONSES_REQUESTS {
        let input: Value =
            serde_json::from_slice(&std::fs::read(golden(&format!("responses_api/{name}.json"))).unwrap()).unwrap();
        let (chat_snapshot, anthropic) = match via_chat::request(&input) {
            Ok((chat, echo)) => {
                let anthropic = request_snapshot(for_provider(Provider::Anthropic).request(&chat, "claude-sonnet-4-5"));
                (json!({"chat": chat, "echo": format!("{echo:?}")}), Some(anthropic))
            }
            Err(e) => (request_snapshot(Err(e)), None),
        };
        check(&format!("responses_api/{name}.chat.json"), &pretty(&chat_snapshot));
        if let Some(anthropic) = anthropic {
            check(&format!("responses_api/{name}.anthropic.json"), &pretty(&anthropic));
        }
    }
}

/// The Responses echo tests use: a request that set nothing.
fn empty_echo() -> Echo {
    Echo::of(&Map::new())
}

#[test]
fn golden_answers_translate_to_chat_and_responses() {
    for case in ANSWERS {
        let native = case.source.bytes();
        let answer = for_provider(case.provider).response(&native, &meta(case.model)).unwrap();
        let chat = answer.clone().into_bytes(&native);
        let chat_json: Value = serde_json::from_slice(&chat).unwrap();
        if let Answer::Translated(completion) = answer {
            police_what_the_client_reads(*completion, &chat_json, case.name);
        }
        check(&format!("answers/{}.chat.json", case.name), &pretty(&chat_json));
        let responses = via_chat::response(&chat, &empty_echo()).unwrap();
        check(&format!("answers/{}.responses.json", case.name), &pretty(&serde_json::from_slice(&responses).unwrap()));
        agrees_with_native_view(case.provider, &native, &chat_json, case.name);
    }
}

/// Policy judges a translated answer from the view the translation built, not from the bytes the
/// client gets: the two must say the same (usage aside: the view keeps the target's own).
fn police_what_the_client_reads(completion: Completion, chat: &Value, name: &str) {
    let native_usage = completion.native_usage;
    let mut read_back = crate::providers::openai_chat::response::parse(chat);
    read_back.usage = native_usage;
    assert_eq!(completion.into_view(), read_back, "{name}: the policed view is the client's answer");
}

/// The translated answer says what the filter's own parser of the native answer says.
fn agrees_with_native_view(provider: Provider, native: &[u8], chat: &Value, name: &str) {
    let Some(api) = native_api(provider) else { return };
    let native_view = crate::providers::parse_response(api, &serde_json::from_slice(native).unwrap()).unwrap();
    let chat_view = crate::providers::openai_chat::response::parse(chat);
    same_meaning(provider, &native_view, &chat_view, true, name);
}

fn native_api(provider: Provider) -> Option<Api> {
    match provider {
        Provider::Anthropic => Some(Api::Messages),
        Provider::Gemini => Some(Api::GenerateContent),
        Provider::Bedrock => Some(Api::Converse),
        Provider::Cohere => Some(Api::Chat),
        _ => None,
    }
}

/// Tool calls (name and arguments) and usage agree; OpenAI's uncached input counts cache writes,
/// and Gemini's output leaves thoughts out where OpenAI's counts them.
fn same_meaning(provider: Provider, native: &view::Response, chat: &view::Response, usage: bool, name: &str) {
    let calls =
        |r: &view::Response| r.tool_calls.iter().map(|c| (c.name.clone(), c.arguments.clone())).collect::<Vec<_>>();
    assert_eq!(calls(chat), calls(native), "{name}: tool calls");
    if !usage {
        assert_eq!(chat.usage, None, "{name}: no usage chunk unless asked");
    } else if let (Some(n), Some(c)) = (native.usage, chat.usage) {
        assert_eq!(c.input, n.input + n.cache_write, "{name}: uncached input");
        assert_eq!(c.cache_read, n.cache_read, "{name}: cache read");
        let output = if provider == Provider::Gemini { n.output + n.reasoning } else { n.output };
        assert_eq!(c.output, output, "{name}: output");
    } else {
        assert_eq!(native.usage.is_some(), chat.usage.is_some(), "{name}: usage present");
    }
}

#[test]
fn golden_streams_translate_to_chat_chunks_and_responses_events() {
    for case in STREAMS {
        let upstream = cases::upstream_frames(case);
        let mut translator = for_provider(case.provider).stream(meta(case.model), case.include_usage);
        let chat = run(translator.as_mut(), &upstream);
        check(&format!("streams/{}.sse", case.name), &bytes_of(&chat));
        check(&format!("streams/{}.expect.json", case.name), &pretty(&expectation(&chat)));
        let mut responses = via_chat::Stream::new(empty_echo(), meta(case.model));
        check(&format!("streams/{}.responses.sse", case.name), &bytes_of(&run(&mut responses, &chat)));
        if let Some(api) = native_api(case.provider) {
            let native = fold(api, case.framing, &upstream);
            let translated = fold(Api::ChatCompletions, Framing::Sse, &chat);
            same_meaning(case.provider, native.response(), translated.response(), case.include_usage, case.name);
            assert_eq!(translator.usage(), native.response().usage, "{}: metered usage", case.name);
        }
    }
}

fn fold(api: Api, framing: Framing, frames: &[Frame]) -> StreamFold {
    let mut fold = StreamFold::new(api, false, framing).unwrap();
    for frame in frames {
        fold.on_frame(frame);
    }
    fold
}

/// What a client accumulating the chat stream ends with: text, calls, finish reason, usage.
fn expectation(chat: &[Frame]) -> Value {
    let mut text = String::new();
    let mut calls: Vec<Value> = Vec::new();
    let (mut finish, mut usage, mut error) = (Value::Null, Value::Null, Value::Null);
    for payload in payloads(chat) {
        if let Some(e) = payload.get("error") {
            error = e["message"].clone();
        }
        if let Some(u) = payload.get("usage").filter(|u| u.is_object()) {
            usage = json!({
                "prompt_tokens": u["prompt_tokens"],
                "completion_tokens": u["completion_tokens"],
                "cached_tokens": u["prompt_tokens_details"]["cached_tokens"],
            });
        }
        let Some(choice) = payload.get("choices").and_then(|c| c.get(0)) else { continue };
        text.push_str(choice["delta"]["content"].as_str().unwrap_or_default());
        for tc in choice["delta"]["tool_calls"].as_array().into_iter().flatten() {
            let i = tc["index"].as_u64().unwrap() as usize;
            if i == calls.len() {
                calls.push(json!({"id": tc["id"], "name": tc["function"]["name"], "arguments": ""}));
            }
            let piece = tc["function"]["arguments"].as_str().unwrap_or_default();
            let args = format!("{}{piece}", calls[i]["arguments"].as_str().unwrap());
            calls[i]["arguments"] = args.into();
        }
        if !choice["finish_reason"].is_null() {
            finish = choice["finish_reason"].clone();
        }
    }
    json!({"text": text, "tool_calls": calls, "finish_reason": finish, "usage": usage, "error": error})
}

#[test]
fn golden_error_answers_become_openai_errors() {
    for case in ERRORS {
        let (status, body) = for_provider(case.provider).error(case.status(), &case.source.bytes());
        let snapshot = json!({"upstream_status": case.status(), "status": status, "body": serde_json::from_slice::<Value>(&body).unwrap()});
        check(&format!("errors/{}.json", case.name), &pretty(&snapshot));
    }
}
