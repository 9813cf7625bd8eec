//! The model router through a whole exchange: target and key, the translated request, the answer
//! (whole, streamed, an error) back in the client's API, policed and metered under the target.

use super::*;
use crate::providers::Provider;
use crate::store::MemoryStore;
use serde_json::{json, Value};
use warden_proto::v1::{self as pb, provider_credential::Kind, resolve_reply::Outcome};

const CONFIG: &str = r#"{"profiles":{"default":{
    "tool_policies":[{"tool":"delete_all","action":"block_always","reason":"never"}],
    "router":{"models":{"anthropic":["claude-sonnet-4-5"],"bedrock":["amazon.nova-pro-v1:0"]}}},
  "ops":{"router":{"default_provider":"groq"}}}}"#;

fn begin(method: &str, path: &str, auth: Option<&str>) -> Result<Exchange, Rejected> {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let headers: Vec<(String, String)> =
        auth.map(|a| vec![("authorization".to_string(), a.to_string())]).unwrap_or_default();
    Exchange::begin(config, method, path, &|n| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
}

fn granted(provider: &str, key: &str) -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::Ok as i32,
        id: "team-a".into(),
        mapped_providers: vec!["anthropic".into(), "openai".into(), provider.into()],
        credential: Some(pb::ProviderCredential { kind: Some(Kind::ApiKey(key.into())) }),
        ..pb::ResolveReply::default()
    }
}

/// A routed chat request with a key granted for its target: the forward decision.
fn routed(path: &str, body: &Value, real_key: &str) -> (Exchange, Forward) {
    let mut ex = begin("POST", path, Some("Bearer wdn_team_a")).unwrap();
    let bytes = body.to_string().into_bytes();
    ex.choose_target(Some(&bytes), "req-1", 1_800_000_000).unwrap();
    let store = MemoryStore::new();
    let KeyStep::Ask(ask) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    ex.key_resolved(&granted(&ask.provider, real_key), &store, 0).unwrap();
    let fwd = ex.request_body(&bytes).unwrap();
    (ex, fwd)
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "delete_all", "parameters": {"type": "object"}}},
                  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]})
}

fn anthropic_answer(tool: Option<&str>) -> Vec<u8> {
    let mut content = vec![json!({"type": "text", "text": "sure"})];
    if let Some(name) = tool {
        content.push(json!({"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}));
    }
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": content,
        "stop_reason": if tool.is_some() { "tool_use" } else { "end_turn" },
        "usage": {"input_tokens": 20, "output_tokens": 7, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5}})
    .to_string()
    .into_bytes()
}

#[test]
fn a_routed_chat_request_goes_to_the_target_in_its_own_api_with_the_real_key_in_its_own_header() {
    let (ex, fwd) = routed("/v1/model-router/chat/completions", &chat("anthropic:claude-sonnet-4-5"), "sk-ant-real");
    assert_eq!(fwd.path, "/v1/messages");
    assert!(fwd.set_headers.contains(&("x-api-key", "sk-ant-real".to_string())), "{:?}", fwd.set_headers);
    assert!(fwd.set_headers.contains(&(UPSTREAM_HEADER, "anthropic".to_string())));
    assert!(fwd.set_headers.iter().any(|(k, _)| *k == "anthropic-version"));
    assert!(fwd.remove_headers.contains(&"authorization"), "the virtual key never goes upstream");
    let body: Value = serde_json::from_slice(&fwd.body.unwrap()).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["system"], "be brief");
    assert_eq!(body["tools"][0]["name"], "delete_all");
    assert_eq!(ex.route().provider, Provider::Anthropic);
}

#[test]
fn a_whole_answer_comes_back_as_chat_metered_under_the_target_and_blocked_calls_refused() {
    let (mut ex, _) = routed("/v1/model-router/chat/completions", &chat("anthropic:claude-sonnet-4-5"), "k");
    let plan = ex.response_headers(&ResponseHead {
        status: 200,
        content_type: Some("application/json"),
        ..Default::default()
    });
    assert!(matches!(plan, ResponsePlan::Buffer));
    let Buffered::Translated { status, body, blocked } = ex.buffered_response(&anthropic_answer(None)) else {
        panic!("expected a translated body")
    };
    assert_eq!((status, blocked), (None, None));
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["content"], "sure");
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!(
        (record.provider, record.api, record.model.as_deref()),
        ("anthropic", Some("chat_completions"), Some("claude-sonnet-4-5"))
    );
    assert_eq!(record.routed_from, Some("model-router"));
    assert_eq!(
        (record.input_tokens, record.cache_read_tokens, record.cache_write_tokens),
        (Some(20), Some(5), Some(3))
    );

    let (mut ex, _) = routed("/v1/model-router/chat/completions", &chat("anthropic:claude-sonnet-4-5"), "k");
    ex.response_headers(&ResponseHead { status: 200, content_type: Some("application/json"), ..Default::default() });
    let Buffered::Translated { body, blocked, .. } = ex.buffered_response(&anthropic_answer(Some("delete_all"))) else {
        panic!("expected a translated refusal")
    };
    assert_eq!(blocked.as_deref(), Some("delete_all"));
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert!(answer["choices"][0]["message"].get("tool_calls").is_none_or(Value::is_null), "{answer}");
}

#[test]
fn a_target_error_becomes_an_openai_error_with_the_targets_status() {
    let (mut ex, _) = routed("/v1/model-router/chat/completions", &chat("anthropic:claude-sonnet-4-5"), "k");
    let plan = ex.response_headers(&ResponseHead {
        status: 429,
        content_type: Some("application/json"),
        ..Default::default()
    });
    assert!(matches!(plan, ResponsePlan::Buffer));
    let native = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
    let Buffered::Translated { status, body, .. } = ex.buffered_response(native) else { panic!("expected a rewrite") };
    assert_eq!(status, Some(429));
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("slow down"), "{err}");
}

fn sse(events: &[(&str, Value)]) -> Vec<u8> {
    events.iter().map(|(name, data)| format!("event: {name}\ndata: {data}\n\n")).collect::<String>().into_bytes()
}

fn anthropic_stream(tool: &str) -> Vec<u8> {
    sse(&[
        (
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":20,"output_tokens":1}}}),
        ),
        (
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
        (
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}),
        ),
        ("content_block_stop", json!({"type":"content_block_stop","index":0})),
        (
            "content_block_start",
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":tool,"input":{}}}),
        ),
        (
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"all\": true}"}}),
        ),
        ("content_block_stop", json!({"type":"content_block_stop","index":1})),
        (
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}),
        ),
        ("message_stop", json!({"type":"message_stop"})),
    ])
}

/// Streams `native` through the exchange's response stream in chunks of `size` bytes.
fn stream_through(ex: &mut Exchange, native: &[u8], size: usize) -> (String, Option<view::Response>) {
    let points: Vec<usize> = (size..native.len()).step_by(size.max(1)).collect();
    stream_cut(ex, native, &points)
}

/// Streams `native` through the exchange's response stream, cut at `points` (sorted).
fn stream_cut(ex: &mut Exchange, native: &[u8], points: &[usize]) -> (String, Option<view::Response>) {
    let head = ResponseHead { status: 200, content_type: Some("text/event-stream"), ..Default::default() };
    let ResponsePlan::Stream(mut stream) = ex.response_headers(&head) else { panic!("expected a stream") };
    let mut out = Vec::new();
    let mut from = 0;
    for &to in points.iter().chain(std::iter::once(&native.len())) {
        let to = to.clamp(from, native.len());
        stream.push(&native[from..to], to == native.len(), &mut out);
        from = to;
    }
    let (record, _) = ex.finish(Some(&stream), None, None, None);
    assert_eq!(record.provider, "anthropic");
    (String::from_utf8(out).unwrap(), stream.translated_response())
}

proptest::proptest! {
    #[test]
    fn a_routed_stream_does_not_depend_on_where_its_chunks_fall(
        cuts in proptest::collection::vec(proptest::sample::select((0usize..4000).collect::<Vec<_>>()), 0..12),
        tool in proptest::sample::select(vec!["delete_all", "get_weather"]),
        responses in proptest::bool::ANY,
    ) {
        let (path, body) = if responses {
            ("/v1/model-router/responses", json!({"model": "anthropic:claude-sonnet-4-5", "input": "hi", "stream": true,
                "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]}))
        } else {
            let mut body = chat("anthropic:claude-sonnet-4-5");
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
            ("/v1/model-router/chat/completions", body)
        };
        let native = anthropic_stream(tool);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (native.len() + 1)).collect();
        points.sort_unstable();
        let (mut ex, _) = routed(path, &body, "k");
        let whole = stream_cut(&mut ex, &native, &[]).0;
        let (mut ex, _) = routed(path, &body, "k");
        let split = stream_cut(&mut ex, &native, &points).0;
        proptest::prop_assert_eq!(&split, &whole);
        let leaked = whole.contains("\"tool_calls\"") || whole.contains("\"type\":\"function_call\"");
        proptest::prop_assert!(tool != "delete_all" || !leaked, "a blocked call reached the client: {}", whole);
        proptest::prop_assert!(tool == "delete_all" || leaked, "an allowed call was lost: {}", whole);
    }
}

#[test]
fn a_routed_stream_is_translated_and_a_blocked_call_never_reaches_the_client_wherever_chunks_fall() {
    let mut body = chat("anthropic:claude-sonnet-4-5");
    body["stream"] = json!(true);
    let native = anthropic_stream("delete_all");
    let mut outputs = Vec::new();
    for size in [1, 7, 64, native.len()] {
        let (mut ex, _) = routed("/v1/model-router/chat/completions", &body, "k");
        let (out, response) = stream_through(&mut ex, &native, size);
        assert!(!out.contains("delete_all") || out.contains("blocked"), "{out}");
        assert!(!out.contains("\"tool_calls\""), "a blocked call reached the client: {out}");
        assert!(out.contains("chat.completion.chunk") && out.trim_end().ends_with("data: [DONE]"), "{out}");
        assert!(!out.contains("\"usage\""), "the client did not ask for usage: {out}");
        assert_eq!(response.and_then(|r| r.usage).map(|u| (u.input, u.output)), Some((20, 9)));
        outputs.push(out);
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]), "output depends on chunking");

    // An allowed call streams through as chat tool-call deltas.
    let (mut ex, _) = routed("/v1/model-router/chat/completions", &body, "k");
    let (out, _) = stream_through(&mut ex, &anthropic_stream("get_weather"), 16);
    assert!(out.contains("\"tool_calls\"") && out.contains("get_weather"), "{out}");
}

#[test]
fn a_responses_client_gets_a_responses_stream_from_a_chat_target() {
    let body = json!({"model": "anthropic:claude-sonnet-4-5", "input": "hi", "stream": true});
    let (mut ex, fwd) = routed("/v1/model-router/responses", &body, "k");
    assert_eq!(fwd.path, "/v1/messages");
    let (out, _) = stream_through(&mut ex, &anthropic_stream("delete_all"), 9);
    assert!(out.contains("response.created") && out.contains("response.completed"), "{out}");
    assert!(!out.contains("\"function_call\""), "a blocked call reached the client: {out}");
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!(record.api, Some("responses"));
}

#[test]
fn openai_wire_targets_get_the_clients_own_api_with_the_model_renamed() {
    let (_, fwd) = routed("/v1/model-router/chat/completions", &chat("groq:llama-3.3-70b"), "gsk-real");
    assert_eq!(fwd.path, "/openai/v1/chat/completions");
    assert!(fwd.set_headers.contains(&("authorization", "Bearer gsk-real".to_string())));
    let body: Value = serde_json::from_slice(&fwd.body.unwrap()).unwrap();
    assert_eq!(body["model"], "llama-3.3-70b");
    // A model id whose first part is not a provider is a model of the profile's default provider.
    let (ex, fwd) = routed("/v1/model-router/ops/chat/completions", &chat("llama3:8b"), "gsk-real");
    assert_eq!((ex.route().provider, fwd.path.as_str()), (Provider::Groq, "/openai/v1/chat/completions"));
}

#[test]
fn the_router_refuses_what_it_cannot_route_in_the_openai_shape() {
    let bytes = chat("llama3:8b").to_string().into_bytes();
    // No key at all.
    let mut ex = begin("POST", "/v1/model-router/chat/completions", None).unwrap();
    let err = ex.choose_target(Some(&bytes), "r", 0).unwrap_err();
    assert_eq!((err.status(), ex.reject(&err).status), (401, 401));
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!((record.provider, record.routed_from), ("model-router", Some("model-router")), "no target was named");
    // No provider in the id and no default provider.
    let mut ex = begin("POST", "/v1/model-router/chat/completions", Some("Bearer wdn_x")).unwrap();
    let err = ex.choose_target(Some(&bytes), "r", 0).unwrap_err();
    let reply = ex.reject(&err);
    assert_eq!(reply.status, 400);
    assert!(serde_json::from_slice::<Value>(&reply.body).unwrap()["error"]["message"].is_string());
    // A field the target cannot express: 400 naming it.
    let mut body = chat("anthropic:claude-sonnet-4-5");
    body["n"] = json!(2);
    let mut ex = begin("POST", "/v1/model-router/chat/completions", Some("Bearer wdn_x")).unwrap();
    let bytes = body.to_string().into_bytes();
    ex.choose_target(Some(&bytes), "r", 0).unwrap();
    let store = MemoryStore::new();
    ex.key_resolved(&granted("anthropic", "k"), &store, 0).unwrap();
    let err = ex.request_body(&bytes).unwrap_err();
    let reply = ex.reject(&err);
    let json: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!((reply.status, json["error"]["param"].as_str()), (400, Some("n")), "{json}");
    // Embeddings only where the target has an OpenAI-format embeddings API.
    let mut ex = begin("POST", "/v1/model-router/embeddings", Some("Bearer wdn_x")).unwrap();
    let err = ex.choose_target(Some(br#"{"model":"anthropic:x","input":"a"}"#), "r", 0).unwrap_err();
    assert_eq!(err.status(), 400);
    // Paths the router does not serve.
    assert!(begin("POST", "/v1/model-router/v1/messages", Some("Bearer wdn_x")).is_err());
}

#[test]
fn the_model_list_names_the_configured_models_of_the_providers_the_key_maps() {
    let mut ex = begin("GET", "/v1/model-router/models", Some("Bearer wdn_x")).unwrap();
    ex.choose_target(None, "r", 0).unwrap();
    let store = MemoryStore::new();
    let KeyStep::Ask(_) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    let reply = pb::ResolveReply { outcome: Outcome::NotMapped as i32, ..granted("cohere", "k") };
    ex.key_resolved(&reply, &store, 0).unwrap();
    let answer = ex.local_answer().expect("answered by the gateway");
    let list: Value = serde_json::from_slice(&answer.body).unwrap();
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["anthropic:claude-sonnet-4-5"], "bedrock is not mapped by the key: {list}");
}

/// A profile whose optimisation rules send short Anthropic requests without tools elsewhere:
/// `to` is the rule's `target_model`.
fn thrifty(to: &str) -> Rc<Config> {
    let config = json!({"profiles": {"default": {"optimization_rules": [
        {"provider": "anthropic", "target_model": to, "conditions": [{"has_tools": false}]}]}}});
    Rc::new(Config::from_json(config.to_string().as_bytes()).unwrap())
}

fn begin_in(config: Rc<Config>, path: &str) -> Exchange {
    let headers = [("authorization".to_string(), "Bearer wdn_team_a".to_string())];
    Exchange::begin(config, "POST", path, &|n| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())).unwrap()
}

fn plain_chat(model: &str) -> Vec<u8> {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}).to_string().into_bytes()
}

fn not_mapped() -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::NotMapped as i32,
        id: "team-a".into(),
        mapped_providers: vec!["anthropic".into()],
        ..pb::ResolveReply::default()
    }
}

#[test]
fn an_optimisation_rule_moves_a_routed_request_to_another_provider_the_key_maps() {
    let mut ex = begin_in(thrifty("openai:gpt-5-mini"), "/v1/model-router/chat/completions");
    let bytes = plain_chat("anthropic:claude-sonnet-4-5");
    ex.choose_target(Some(&bytes), "req-1", 1_800_000_000).unwrap();
    let store = MemoryStore::new();
    let KeyStep::Ask(ask) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    assert_eq!(ask.provider, "openai", "the key is asked for the provider the rule moves the request to");
    assert_eq!(ex.key_resolved(&granted("openai", "sk-openai-real"), &store, 0).unwrap(), KeyStep::Ready);
    let fwd = ex.request_body(&bytes).unwrap();
    assert_eq!(fwd.path, "/v1/chat/completions");
    assert!(fwd.set_headers.contains(&(UPSTREAM_HEADER, "openai".to_string())));
    assert!(fwd.set_headers.contains(&("authorization", "Bearer sk-openai-real".to_string())));
    let body: Value = serde_json::from_slice(&fwd.body.unwrap()).unwrap();
    assert_eq!(body["model"], "gpt-5-mini");
    assert_eq!(body["messages"][0]["content"], "hi", "an OpenAI-wire target gets the chat request as sent");
    assert_eq!(ex.rewritten_model().as_deref(), Some("openai:gpt-5-mini"));
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!((record.provider, record.model.as_deref()), ("openai", Some("gpt-5-mini")));
    assert_eq!(record.baseline_model.as_deref(), Some("anthropic:claude-sonnet-4-5"));
}

#[test]
fn a_move_to_a_provider_the_key_does_not_map_goes_back_to_the_model_asked_for() {
    let mut ex = begin_in(thrifty("openai:gpt-5-mini"), "/v1/model-router/chat/completions");
    let bytes = plain_chat("anthropic:claude-sonnet-4-5");
    ex.choose_target(Some(&bytes), "req-1", 1_800_000_000).unwrap();
    let store = MemoryStore::new();
    assert!(matches!(ex.key_step(&store, 0).unwrap(), KeyStep::Ask(a) if a.provider == "openai"));
    let KeyStep::Ask(again) = ex.key_resolved(&not_mapped(), &store, 0).unwrap() else {
        panic!("expected the key to be asked for the target the client named")
    };
    assert_eq!(again.provider, "anthropic");
    assert_eq!(ex.key_resolved(&granted("anthropic", "sk-ant-real"), &store, 0).unwrap(), KeyStep::Ready);
    let fwd = ex.request_body(&bytes).unwrap();
    assert_eq!(fwd.path, "/v1/messages");
    assert!(fwd.set_headers.contains(&("x-api-key", "sk-ant-real".to_string())));
    let body: Value = serde_json::from_slice(&fwd.body.unwrap()).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(ex.rewritten_model(), None);
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!((record.provider, record.baseline_model), ("anthropic", None));

    // Both answers are cached: the next request goes back without asking about the move.
    let mut ex = begin_in(thrifty("openai:gpt-5-mini"), "/v1/model-router/chat/completions");
    ex.choose_target(Some(&bytes), "req-2", 1_800_000_000).unwrap();
    assert_eq!(ex.key_step(&store, 0).unwrap(), KeyStep::Ready);
    assert_eq!(ex.request_body(&bytes).unwrap().path, "/v1/messages");
}

#[test]
fn a_rule_for_the_same_provider_renames_a_routed_request_once() {
    for target in ["claude-haiku-4-5", "anthropic:claude-haiku-4-5"] {
        let mut ex = begin_in(thrifty(target), "/v1/model-router/chat/completions");
        let bytes = plain_chat("anthropic:claude-sonnet-4-5");
        ex.choose_target(Some(&bytes), "req-1", 1_800_000_000).unwrap();
        let store = MemoryStore::new();
        let KeyStep::Ask(ask) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
        assert_eq!(ask.provider, "anthropic");
        ex.key_resolved(&granted("anthropic", "k"), &store, 0).unwrap();
        let body: Value = serde_json::from_slice(&ex.request_body(&bytes).unwrap().body.unwrap()).unwrap();
        assert_eq!(body["model"], "claude-haiku-4-5", "{target}");
        assert_eq!(ex.rewritten_model().as_deref(), Some("anthropic:claude-haiku-4-5"));
        let (record, _) = ex.finish(None, None, None, None);
        assert_eq!(record.baseline_model.as_deref(), Some("claude-sonnet-4-5"));
    }
}

#[test]
fn a_native_route_never_moves_across_providers() {
    let mut ex = begin_in(thrifty("openai:gpt-5-mini"), "/v1/anthropic/v1/messages");
    let bytes =
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
            .to_string()
            .into_bytes();
    let fwd = ex.request_body(&bytes).unwrap();
    assert_eq!(fwd.path, "/v1/messages");
    assert!(fwd.body.is_none_or(|b| serde_json::from_slice::<Value>(&b).unwrap()["model"] == "claude-sonnet-4-5"));
    assert_eq!(ex.rewritten_model(), None);
}

/// A key whose `deepseek` entry is served through Bedrock (keys file `via: bedrock`).
fn served_by_bedrock() -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::Ok as i32,
        id: "team-a".into(),
        mapped_providers: vec!["bedrock".into(), "deepseek".into()],
        credential: Some(pb::ProviderCredential { kind: Some(Kind::ApiKey("ABSK-real".into())) }),
        served_by: "bedrock".into(),
        ..pb::ResolveReply::default()
    }
}

#[test]
fn a_provider_the_key_serves_through_bedrock_goes_to_bedrock_with_the_same_model_id() {
    let config = Rc::new(Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap());
    let mut ex = begin_in(config.clone(), "/v1/model-router/chat/completions");
    let bytes = plain_chat("deepseek:us.deepseek.r1-v1:0");
    ex.choose_target(Some(&bytes), "req-1", 1_800_000_000).unwrap();
    let store = MemoryStore::new();
    let KeyStep::Ask(ask) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    assert_eq!(ask.provider, "deepseek");
    ex.key_resolved(&served_by_bedrock(), &store, 0).unwrap();
    let fwd = ex.request_body(&bytes).unwrap();
    assert_eq!(fwd.path, "/model/us.deepseek.r1-v1%3A0/converse");
    assert!(fwd.set_headers.contains(&(UPSTREAM_HEADER, "bedrock".to_string())));
    assert!(fwd.set_headers.contains(&("authorization", "Bearer ABSK-real".to_string())));
    let body: Value = serde_json::from_slice(&fwd.body.unwrap()).unwrap();
    assert_eq!(body["messages"][0]["content"][0]["text"], "hi", "a Converse request: {body}");
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!((record.provider, record.model.as_deref()), ("bedrock", Some("us.deepseek.r1-v1:0")));

    // A native DeepSeek route speaks DeepSeek's API: it cannot be served by Bedrock.
    let mut ex = begin_in(config.clone(), "/v1/deepseek/chat/completions");
    let err = ex.key_step(&store, 0).unwrap_err();
    assert_eq!(err.status(), 400, "from the cached answer");
    assert!(err.to_string().contains("through bedrock"), "{err}");
    let mut ex = begin_in(config, "/v1/deepseek/chat/completions");
    let fresh = MemoryStore::new();
    let KeyStep::Ask(_) = ex.key_step(&fresh, 0).unwrap() else { panic!("expected a sidecar call") };
    let err = ex.key_resolved(&served_by_bedrock(), &fresh, 0).unwrap_err();
    assert_eq!(err.status(), 400);
}

#[test]
fn bedrock_models_outside_the_allowed_vendors_and_regions_are_neither_routed_nor_listed() {
    let config = json!({"profiles": {"default": {"router": {
        "models": {"bedrock": ["us.anthropic.claude-sonnet-4-5-v1:0", "eu.anthropic.claude-sonnet-4-5-v1:0",
                               "anthropic.claude-3-haiku-v1:0", "amazon.nova-pro-v1:0"]},
        "bedrock": {"allowed_providers": ["anthropic"], "allowed_regions": ["us"]}}}}});
    let config = Rc::new(Config::from_json(config.to_string().as_bytes()).unwrap());
    for (model, ok) in [
        ("bedrock:us.anthropic.claude-sonnet-4-5-v1:0", true),
        ("bedrock:anthropic.claude-3-haiku-v1:0", true),
        ("bedrock:eu.anthropic.claude-sonnet-4-5-v1:0", false),
        ("bedrock:amazon.nova-pro-v1:0", false),
        ("bedrock:arn:aws:bedrock:us-east-1:1:inference-profile/x", false),
    ] {
        let mut ex = begin_in(config.clone(), "/v1/model-router/chat/completions");
        let chosen = ex.choose_target(Some(&plain_chat(model)), "r", 0);
        assert_eq!(chosen.is_ok(), ok, "{model}: {chosen:?}");
        if let Err(e) = chosen {
            assert_eq!(e.status(), 400);
            assert!(e.to_string().contains("router.bedrock"), "{e}");
        }
    }
    let headers = [("authorization".to_string(), "Bearer wdn_x".to_string())];
    let mut ex = Exchange::begin(config, "GET", "/v1/model-router/models", &|n| {
        headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    })
    .unwrap();
    let store = MemoryStore::new();
    let KeyStep::Ask(_) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    ex.key_resolved(&granted("bedrock", "k"), &store, 0).unwrap();
    let list: Value = serde_json::from_slice(&ex.local_answer().unwrap().body).unwrap();
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["bedrock:us.anthropic.claude-sonnet-4-5-v1:0", "bedrock:anthropic.claude-3-haiku-v1:0"]);
}
