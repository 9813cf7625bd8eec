//! Edge cases of the Gemini translation the recorded fixtures do not show.

use super::GEMINI;
use crate::providers::translate::cases::payloads;
use crate::providers::translate::{FromChat, ReplyMeta, TranslateError};
use crate::stream::Frame;
use crate::testutil::data_frame;
use serde_json::{json, Value};

fn meta() -> ReplyMeta {
    ReplyMeta { id: "fallback".into(), created: 7, model: "gemini".into() }
}

fn history(call_id: &str) -> Value {
    json!({"messages": [
        {"role": "user", "content": "where?"},
        {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": {"name": "locate", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "Paris"},
    ], "tools": [{"type": "function", "function": {"name": "locate"}}]})
}

fn body(chat: &Value, model: &str) -> Value {
    serde_json::from_slice(&GEMINI.request(chat, model).unwrap().body).unwrap()
}

fn stream(frames: &[Frame]) -> Vec<Value> {
    let mut t = GEMINI.stream(meta(), true);
    let mut out = Vec::new();
    for f in frames {
        t.frame(f, &mut out);
    }
    t.finish(&mut out);
    payloads(&out)
}

#[test]
fn a_thought_signature_travels_in_the_call_id_and_comes_back() {
    let answer = json!({"responseId": "r1", "candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "locate", "args": {}}, "thoughtSignature": "c2lnbmF0dXJl"},
    ]}, "finishReason": "STOP"}]});
    let chat: Value =
        serde_json::from_slice(&GEMINI.response(answer.to_string().as_bytes(), &meta()).unwrap().into_bytes(b""))
            .unwrap();
    let id = chat["choices"][0]["message"]["tool_calls"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(id, "call_r1_0~sig~c2lnbmF0dXJl");
    assert_eq!(chat["choices"][0]["finish_reason"], "tool_calls");
    let part = &body(&history(&id), "gemini-2.5-flash")["contents"][1]["parts"][0];
    assert_eq!(part["thoughtSignature"], "c2lnbmF0dXJl");
    assert_eq!(part["functionCall"]["name"], "locate");
}

#[test]
fn gemini_3_calls_without_a_signature_get_the_documented_bypass() {
    let part = |model: &str| body(&history("call_from_elsewhere"), model)["contents"][1]["parts"][0].clone();
    assert_eq!(part("gemini-3-pro-preview")["thoughtSignature"], "skip_thought_signature_validator");
    assert!(part("gemini-2.5-pro").get("thoughtSignature").is_none());
}

#[test]
fn a_tool_result_is_named_after_its_call() {
    let b = body(&history("c1"), "gemini-2.5-flash");
    assert_eq!(
        b["contents"][2]["parts"][0]["functionResponse"],
        json!({"name": "locate", "response": {"output": "Paris"}})
    );
}

#[test]
fn a_tool_result_for_an_unknown_call_is_refused_because_gemini_needs_the_name() {
    let chat = json!({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "y"}]});
    match GEMINI.request(&chat, "gemini-2.5-flash") {
        Err(TranslateError::Invalid { field, .. }) => assert_eq!(field, "messages[1].tool_call_id"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn streams_ask_for_sse_and_models_are_path_segments() {
    let chat = json!({"messages": [{"role": "user", "content": "x"}], "stream": true});
    let req = GEMINI.request(&chat, "models/gemini-2.5-flash").unwrap();
    assert_eq!(req.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert!(req.stream);
}

#[test]
fn a_blocked_prompt_is_a_content_filter_finish() {
    let answer = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}});
    let chat: Value =
        serde_json::from_slice(&GEMINI.response(answer.to_string().as_bytes(), &meta()).unwrap().into_bytes(b""))
            .unwrap();
    assert_eq!(chat["choices"][0]["finish_reason"], "content_filter");
    let out = stream(&[data_frame(&answer.to_string())]);
    assert_eq!(out[out.len() - 3]["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(out[out.len() - 2]["usage"]["prompt_tokens"], 4);
}

#[test]
fn thoughts_are_not_answer_text_but_count_as_output() {
    let chunk = json!({"candidates": [{"content": {"parts": [{"text": "hmm", "thought": true}, {"text": "Hi"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "thoughtsTokenCount": 5, "cachedContentTokenCount": 2}});
    let out = stream(&[data_frame(&chunk.to_string())]);
    let text: String = out.iter().filter_map(|p| p["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Hi");
    let usage = &out[out.len() - 2]["usage"];
    assert_eq!((usage["prompt_tokens"].as_u64(), usage["completion_tokens"].as_u64()), (Some(3), Some(6)));
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 2);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 5);
}

#[test]
fn an_error_in_the_stream_becomes_an_openai_error_and_a_cut_stream_too() {
    let out = stream(&[data_frame(r#"{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}"#)]);
    assert_eq!(out.last().unwrap()["error"]["code"], "UNAVAILABLE");
    let out = stream(&[data_frame(r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}"#)]);
    assert_eq!(out.last().unwrap()["error"]["code"], "stream_incomplete");
}
