//! TOON and model optimisation through whole exchanges.

use super::*;
use serde_json::json;
use serde_json::Value;

fn exchange(config: &str, method: &str, path: &str) -> Exchange {
    let config = Rc::new(Config::from_json(config.as_bytes()).unwrap());
    Exchange::begin(config, method, path, &|_| None).unwrap()
}

fn sent(fwd: &Forward) -> Value {
    serde_json::from_slice(fwd.body.as_deref().expect("the body was rewritten")).unwrap()
}

const FILES: &str = r#"{"files":[{"name":"a.txt","size":120,"type":"file"},{"name":"b.txt","size":340,"type":"file"},{"name":"c","size":0,"type":"dir"},{"name":"d.md","size":77,"type":"file"},{"name":"e.rs","size":9001,"type":"file"}]}"#;

fn chat_with_tool_result() -> Vec<u8> {
    json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "list files"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "list_files", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": FILES}
    ]})
    .to_string()
    .into_bytes()
}

#[test]
fn toon_on_compresses_json_tool_results() {
    let mut ex =
        exchange(r#"{"profiles":{"default":{"toon":{"enabled":true}}}}"#, "POST", "/v1/openai/chat/completions");
    let fwd = ex.request_body(&chat_with_tool_result()).unwrap();
    let content = sent(&fwd)["messages"][2]["content"].as_str().unwrap().to_string();
    assert!(content.contains("files[5]{name,size,type}:"), "{content}");
    let (record, updates) = ex.finish(None, None, None, None);
    assert!(record.toon_tokens_after.unwrap() < record.toon_tokens_before.unwrap());
    assert_eq!(record.toon_skip_reason, None);
    assert!(updates.iter().any(|u| u.name().ends_with("warden_toon_tokens_saved_total")));
}

#[test]
fn toon_off_forwards_the_original_json() {
    let mut ex = exchange(r#"{"profiles":{"default":{}}}"#, "POST", "/v1/openai/chat/completions");
    let fwd = ex.request_body(&chat_with_tool_result()).unwrap();
    assert_eq!(fwd.body, None);
    assert_eq!(ex.finish(None, None, None, None).0.toon_skip_reason, Some("not_enabled"));
}

#[test]
fn toon_never_touches_a_result_a_policy_replaced() {
    let config = r#"{"profiles":{"default":{"toon":{"enabled":true},
        "result_policies":[{"tool":"list_files","action":"block_always"}]}}}"#;
    let mut ex = exchange(config, "POST", "/v1/openai/chat/completions");
    let fwd = ex.request_body(&chat_with_tool_result()).unwrap();
    let content = sent(&fwd)["messages"][2]["content"].as_str().unwrap().to_string();
    assert!(content.contains("Warden gateway withheld"), "{content}");
    assert!(!content.contains("files[5]"));
}

fn optimising(max_tokens: u64) -> String {
    format!(
        r#"{{"profiles":{{"default":{{"optimization_rules":[
            {{"provider":"openai","target_model":"gpt-5-mini","conditions":[{{"max_tokens":{max_tokens}}}]}},
            {{"provider":"gemini","target_model":"gemini-2.5-flash-lite","conditions":[{{"max_tokens":{max_tokens}}}]}},
            {{"provider":"bedrock","target_model":"amazon.nova-micro-v1:0","conditions":[{{"max_tokens":{max_tokens}}}]}}]}}}}}}"#
    )
}

#[test]
fn a_short_request_goes_to_the_target_model_in_the_body() {
    let text = "test ".repeat(1200);
    let mut ex = exchange(&optimising(1500), "POST", "/v1/openai/chat/completions");
    let body = json!({"model": "gpt-5", "messages": [{"role": "user", "content": text}]}).to_string();
    let fwd = ex.request_body(body.as_bytes()).unwrap();
    assert_eq!(sent(&fwd)["model"], "gpt-5-mini");
    assert_eq!(ex.rewritten_model().as_deref(), Some("gpt-5-mini"));
    ex.response_headers(&ResponseHead { status: 200, ..Default::default() });
    ex.buffered_response(
        br#"{"model":"gpt-5-mini","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":10}}"#,
    );
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!(record.model.as_deref(), Some("gpt-5-mini"));
    assert_eq!(record.baseline_model.as_deref(), Some("gpt-5"));
    assert!(record.baseline_cost_usd.unwrap() > record.cost_usd.unwrap());
}

#[test]
fn a_long_request_keeps_its_model() {
    let text = "test ".repeat(1600);
    let mut ex = exchange(&optimising(1500), "POST", "/v1/openai/chat/completions");
    let body = json!({"model": "gpt-5", "messages": [{"role": "user", "content": text}]}).to_string();
    let fwd = ex.request_body(body.as_bytes()).unwrap();
    assert_eq!(fwd.body, None);
    assert_eq!(ex.rewritten_model(), None);
}

#[test]
fn gemini_and_bedrock_get_the_target_model_in_the_path() {
    let text = "test ".repeat(1200);
    let mut ex = exchange(&optimising(1500), "POST", "/v1/gemini/v1beta/models/gemini-2.5-pro:generateContent");
    let body = json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}).to_string();
    let fwd = ex.request_body(body.as_bytes()).unwrap();
    assert_eq!(fwd.path, "/v1beta/models/gemini-2.5-flash-lite:generateContent");
    let mut ex =
        exchange(&optimising(1500), "POST", "/v1/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
    let body = json!({"messages": [{"role": "user", "content": [{"text": text}]}]}).to_string();
    let fwd = ex.request_body(body.as_bytes()).unwrap();
    assert_eq!(fwd.path, "/model/amazon.nova-micro-v1%3A0/converse");
}

#[test]
fn has_tools_rules_match_on_declared_tools() {
    let config = r#"{"profiles":{"default":{"optimization_rules":[
        {"provider":"anthropic","target_model":"claude-haiku-4-5","conditions":[{"has_tools":false}]}]}}}"#;
    let with_tools = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [],
        "tools": [{"name": "t", "input_schema": {"type": "object"}}]});
    let mut ex = exchange(config, "POST", "/v1/anthropic/v1/messages");
    ex.request_body(with_tools.to_string().as_bytes()).unwrap();
    assert_eq!(ex.rewritten_model(), None);
    let without = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": []});
    let mut ex = exchange(config, "POST", "/v1/anthropic/v1/messages");
    let fwd = ex.request_body(without.to_string().as_bytes()).unwrap();
    assert_eq!(sent(&fwd)["model"], "claude-haiku-4-5");
}

mod limits {
    use super::*;
    use crate::meter::limits::MemoryStore;

    const CONFIG: &str = r#"{"profiles":{"default":{"limits":[{"scope":"user","usd":0.001,"window":"1d"}]}}}"#;

    fn call(store: &MemoryStore, user: &str, now: u64) -> Result<Record, WardenError> {
        let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
        let headers = [("x-warden-user-id".to_string(), user.to_string())];
        let mut ex = Exchange::begin(config, "POST", "/v1/openai/chat/completions", &|n| {
            headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
        })
        .unwrap();
        ex.request_body(br#"{"model":"gpt-4o","messages":[]}"#)?;
        ex.check_limits(now, crate::meter::limits::Counters::Local(store))?;
        ex.response_headers(&ResponseHead { status: 200, ..Default::default() });
        // 400 input tokens at 2.5 USD per million: 0.001 USD, exactly the limit.
        ex.buffered_response(br#"{"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":400,"completion_tokens":0}}"#);
        let (record, _) = ex.finish(None, None, None, None);
        ex.record_usage(&record, now, store);
        Ok(record)
    }

    #[test]
    fn the_limit_is_checked_before_and_counted_after() {
        let store = MemoryStore::new();
        let now = 1_800_000_000;
        assert!(call(&store, "alice", now).is_ok());
        let err = call(&store, "alice", now + 1).unwrap_err();
        assert!(matches!(err, WardenError::UsageLimitExceeded { .. }), "{err:?}");
        assert_eq!(err.status(), 402);
        assert!(call(&store, "bob", now + 2).is_ok(), "another user has their own budget");
        assert!(call(&store, "alice", now + 86_400 + 3_600).is_ok(), "the day window slid past");
    }
}
