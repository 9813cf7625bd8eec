use super::*;
use serde_json::json;
use serde_json::Value;
use std::collections::HashMap;

fn config() -> Rc<Config> {
    Rc::new(Config::from_json(br#"{"profiles":{"default":{},"team-a":{}},"max_body_bytes":1000}"#).unwrap())
}

fn begin(method: &str, path: &str, headers: &[(&str, &str)]) -> Result<Exchange, Rejected> {
    let map: HashMap<String, String> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Exchange::begin(config(), method, path, &|n| map.get(n).cloned())
}

fn json_body(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

#[test]
fn unknown_provider_gets_a_404_in_openai_shape() {
    let rejected = begin("POST", "/v1/nope/chat/completions", &[]).unwrap_err();
    assert_eq!(rejected.reply.status, 404);
    assert_eq!(json_body(&rejected.reply)["error"]["code"], "unknown_route");
}

#[test]
fn unknown_profile_gets_a_404_in_the_providers_shape() {
    let rejected = begin("POST", "/v1/anthropic/nope/v1/messages", &[]).unwrap_err();
    assert_eq!(rejected.reply.status, 404);
    let body = json_body(&rejected.reply);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("team-a"));
}

#[test]
fn malformed_json_is_a_400_in_the_providers_shape() {
    for (path, check) in [
        ("/v1/openai/chat/completions", "/error/code"),
        ("/v1/anthropic/v1/messages", "/error/type"),
        ("/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent", "/error/status"),
        ("/v1/bedrock/model/m/converse", "/message"),
        ("/v1/cohere/v2/chat", "/message"),
    ] {
        let mut ex = begin("POST", path, &[]).unwrap();
        let err = ex.request_body(b"{not json").unwrap_err();
        assert!(matches!(err, WardenError::MalformedJson { .. }));
        let reply = ex.reject(&err);
        assert_eq!(reply.status, 400, "{path}");
        assert!(json_body(&reply).pointer(check).is_some(), "{path}: {:?}", String::from_utf8_lossy(&reply.body));
        if path.contains("bedrock") {
            assert!(reply.headers.iter().any(|(k, v)| k == "x-amzn-errortype" && v == "ValidationException"));
        }
    }
}

#[test]
fn oversized_bodies_are_refused_with_413() {
    let mut ex = begin("POST", "/v1/openai/chat/completions", &[]).unwrap();
    let err = ex.check_body_size(1001).unwrap_err();
    assert_eq!(err, WardenError::BodyTooLarge { limit: 1000, actual: 1001 });
    assert_eq!(ex.reject(&err).status, 413);
    assert!(ex.check_body_size(1000).is_ok());
}

#[test]
fn forwarding_sets_the_upstream_header_and_identity_encoding() {
    let mut ex = begin("POST", "/v1/groq/team-a/chat/completions", &[]).unwrap();
    let fwd = ex.request_body(br#"{"model":"llama-3.1-8b-instant","messages":[]}"#).unwrap();
    assert_eq!(fwd.path, "/openai/v1/chat/completions");
    assert!(fwd.set_headers.contains(&(UPSTREAM_HEADER, "groq".to_string())));
    assert!(fwd.set_headers.contains(&("accept-encoding", "identity".to_string())));
    assert_eq!(fwd.body, None);
}

#[test]
fn bedrock_body_form_needs_a_model() {
    let mut ex = begin("POST", "/v1/bedrock/converse", &[]).unwrap();
    assert!(matches!(ex.request_body(br#"{"messages":[]}"#), Err(WardenError::InvalidRequest { .. })));
}

#[test]
fn the_record_carries_identity_and_route() {
    let ex =
        begin("GET", "/v1/openai/team-a/models", &[("x-warden-meta", "agent-1//sess-1"), ("x-archestra-user-id", "u")])
            .unwrap();
    let (record, updates) = ex.finish(None, Some(5), None, None);
    assert_eq!(record.provider, "openai");
    assert_eq!(record.api, Some("models"));
    assert_eq!(record.profile, "team-a");
    assert_eq!(record.agent_id.as_deref(), Some("agent-1"));
    assert_eq!(record.session_id.as_deref(), Some("sess-1"));
    assert_eq!(record.user_id.as_deref(), Some("u"));
    assert!(updates.iter().any(|u| u.name().ends_with("warden_requests_total")));
    let v = serde_json::to_value(&record).unwrap();
    assert_eq!(v["stream"], json!(false));
}
