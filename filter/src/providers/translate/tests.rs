//! Unit tests of the shared parts: the hub reader's refusals, the error renderings, the chunk
//! writer's invariants and the support table.

use super::cases::payloads;
use super::native_error;
use super::reply::{ChatUsage, ChunkWriter};
use super::table::{plan, Plan, TABLE};
use super::{for_provider, ReplyMeta, TranslateError};
use crate::providers::Provider;
use crate::view::Api;
use serde_json::{json, Value};

fn anthropic(chat: Value) -> Result<Value, TranslateError> {
    let req = for_provider(Provider::Anthropic).request(&chat, "claude")?;
    Ok(serde_json::from_slice(&req.body).unwrap())
}

fn with(fields: Value) -> Value {
    let mut chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    chat.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    chat
}

fn refused_field(result: Result<Value, TranslateError>) -> String {
    match result {
        Err(TranslateError::Unsupported { field, .. } | TranslateError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn fields_the_router_does_not_know_are_refused_by_name() {
    assert_eq!(refused_field(anthropic(with(json!({"prediction": {"type": "content"}})))), "prediction");
    assert_eq!(refused_field(anthropic(with(json!({"web_search_options": {}})))), "web_search_options");
}

#[test]
fn fields_without_effect_on_the_answer_are_dropped() {
    let body =
        anthropic(with(json!({"user": "u", "metadata": {"a": 1}, "store": true, "service_tier": "auto"}))).unwrap();
    for key in ["user", "metadata", "store", "service_tier"] {
        assert!(body.get(key).is_none(), "{key}");
    }
}

#[test]
fn defaults_of_untranslatable_fields_and_nulls_are_accepted() {
    let chat = with(json!({
        "n": 1, "logprobs": false, "top_logprobs": 0, "logit_bias": {}, "modalities": ["text"],
        "audio": null, "seed": null, "presence_penalty": 0, "frequency_penalty": 0.0,
    }));
    assert!(anthropic(chat).is_ok());
}

#[test]
fn answer_changing_fields_are_refused_by_name() {
    for (fields, field) in [
        (json!({"n": 2}), "n"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"top_logprobs": 2}), "top_logprobs"),
        (json!({"logit_bias": {"50256": -100}}), "logit_bias"),
        (json!({"modalities": ["text", "audio"]}), "modalities"),
        (json!({"audio": {"voice": "alloy", "format": "wav"}}), "audio"),
        (json!({"seed": 3}), "seed"),
        (json!({"presence_penalty": 0.5}), "presence_penalty"),
        (json!({"reasoning_effort": "low"}), "reasoning_effort"),
        (json!({"response_format": {"type": "json_object"}}), "response_format"),
        (json!({"temperature": 1.5}), "temperature"),
        (json!({"functions": [{"name": "f"}]}), "functions"),
    ] {
        assert_eq!(refused_field(anthropic(with(fields.clone()))), field, "{fields}");
    }
}

#[test]
fn content_the_target_cannot_take_is_refused_with_its_path() {
    let audio = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "listen"},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
    ]}]});
    assert_eq!(refused_field(anthropic(with(audio))), "messages[0].content[1]");
    let tiff = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}},
    ]}]});
    assert_eq!(refused_field(anthropic(with(tiff))), "messages[0].content[0].image_url.url");
    let custom = json!({"tools": [{"type": "custom", "custom": {"name": "grammar"}}]});
    assert_eq!(refused_field(anthropic(with(custom))), "tools[0].type");
}

#[test]
fn a_tool_choice_naming_an_undeclared_tool_is_invalid() {
    let chat = with(json!({
        "tools": [{"type": "function", "function": {"name": "a"}}],
        "tool_choice": {"type": "function", "function": {"name": "b"}},
    }));
    assert_eq!(refused_field(anthropic(chat)), "tool_choice.function.name");
}

#[test]
fn tool_call_arguments_that_are_not_an_object_are_refused_and_empty_ones_are_empty() {
    let history = |arguments: &str| {
        with(json!({"messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ]}))
    };
    assert_eq!(refused_field(anthropic(history("{\"a\":"))), "messages[1].tool_calls[0].function.arguments");
    let body = anthropic(history("")).unwrap();
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
}

#[test]
fn empty_assistant_turns_are_left_out() {
    let chat = with(json!({"messages": [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": ""}, {"role": "user", "content": "b"},
    ]}));
    let body = anthropic(chat).unwrap();
    assert_eq!(body["messages"].as_array().unwrap().len(), 1, "the two user turns merge");
}

#[test]
fn a_refusal_is_an_openai_400_naming_the_field_in_param() {
    let reply = TranslateError::unsupported("n", "gemini", "one choice only").reply();
    assert_eq!(reply.status, 400);
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["error"]["param"], "n");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("`n` cannot be sent to gemini"));
    assert_eq!(TranslateError::Upstream { why: "x".into() }.reply().status, 502);
}

#[test]
fn native_errors_keep_their_status_except_the_non_standard_ones() {
    let render = |status: u16, body: &[u8]| {
        let (s, b) = native_error::render("t", status, body, native_error::read(body, "type"));
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    assert_eq!(render(529, br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#).0, 503);
    assert_eq!(render(424, b"{}").0, 502);
    assert_eq!(render(200, b"{}").0, 502);
    let (status, body) = render(500, &[b'x'; 500]);
    assert_eq!(status, 500);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("t answered HTTP 500: xxx") && message.ends_with('…') && message.len() < 260);
    assert_eq!(body["error"]["code"], "500");
}

fn writer(include_usage: bool) -> ChunkWriter {
    ChunkWriter::new(ReplyMeta { id: "id".into(), created: 1, model: "m".into() }, include_usage)
}

#[test]
fn the_usage_chunk_is_written_only_when_asked() {
    let usage = ChatUsage { prompt: 10, completion: 2, cached: 4, cache_write: 3, reasoning: 0 };
    for asked in [true, false] {
        let mut out = Vec::new();
        let mut w = writer(asked);
        w.text("hi", &mut out);
        w.finish("stop", &mut out);
        w.end(Some(usage), &mut out);
        let all = payloads(&out);
        assert_eq!(all.last().unwrap(), "[DONE]");
        let usage_chunks: Vec<&Value> = all.iter().filter(|p| p.get("usage").is_some()).collect();
        assert_eq!(usage_chunks.len(), usize::from(asked));
        if let Some(u) = usage_chunks.first() {
            assert_eq!(u["choices"], json!([]));
            assert_eq!(u["usage"]["prompt_tokens_details"], json!({"cached_tokens": 4, "cache_write_tokens": 3}));
            assert_eq!(u["usage"]["total_tokens"], 12);
        }
    }
}

#[test]
fn nothing_is_written_after_the_stream_ends() {
    let mut out = Vec::new();
    let mut w = writer(true);
    w.error("boom", "upstream_error", None, &mut out);
    w.text("late", &mut out);
    w.finish("stop", &mut out);
    w.end(None, &mut out);
    assert_eq!(
        payloads(&out),
        vec![json!({"error": {"message": "boom", "type": "upstream_error", "param": null, "code": null}})]
    );
}

#[test]
fn tool_calls_get_dense_indices_and_role_comes_once() {
    let mut out = Vec::new();
    let mut w = writer(false);
    assert_eq!(w.call_start("a", "f", &mut out), 0);
    w.text("between", &mut out);
    assert_eq!(w.call_start("b", "g", &mut out), 1);
    let roles = payloads(&out).iter().filter(|p| p["choices"][0]["delta"].get("role").is_some()).count();
    assert_eq!(roles, 1);
}

#[test]
fn each_api_and_provider_has_its_plan() {
    let name = |p: Option<Plan>| format!("{p:?}");
    assert_eq!(name(plan(Api::ChatCompletions, Provider::Groq)), "Some(Native)");
    assert_eq!(name(plan(Api::ChatCompletions, Provider::Bedrock)), "Some(Chat(bedrock))");
    assert_eq!(name(plan(Api::Responses, Provider::Azure)), "Some(Native)");
    assert_eq!(name(plan(Api::Responses, Provider::Mistral)), "Some(ResponsesViaChat(openai))");
    assert_eq!(name(plan(Api::Responses, Provider::Cohere)), "Some(ResponsesViaChat(cohere))");
    assert_eq!(name(plan(Api::Embeddings, Provider::OpenAi)), "None");
}

#[test]
fn the_markdown_table_covers_every_row_of_the_support_table() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/router-translation.md")).unwrap();
    for row in TABLE {
        let line = format!("| {} | {} |", row.client, row.target);
        assert!(doc.contains(&line), "docs/router-translation.md lacks the row starting {line}");
    }
}

#[test]
fn numbers_are_written_in_decimal() {
    for n in [0, 7, 10, 1_767_225_600, u64::MAX] {
        let mut out = Vec::new();
        super::reply::push_u64(&mut out, n);
        assert_eq!(out, n.to_string().into_bytes());
    }
}
