//! The model router end to end (DESIGN §4.8): real Envoy, the filter, the real sidecar resolving a
//! virtual key, the mock answering in each target's own wire format. An OpenAI chat request for
//! every target provider reaches the mock as that provider's native request (path, real key in its
//! own header, body shape), and the answer — whole or streamed, text or tool calls — comes back as
//! OpenAI chat, policed, and metered exactly as the same request sent natively.

use crate::common;

use common::keyless::{header, post, stack, upstream, TempDir};
use common::Shape;
use serde_json::{json, Value};
use warden_e2e::client::{self, Reply};
use warden_e2e::run::{log_line, Failures};
use warden_e2e::Stack;

const KEY: &str = "wdn_router_all_0123456789";
const KEY_OPENAI: &str = "wdn_router_openai_0123456789";
const KEY_ANTHROPIC: &str = "wdn_router_anthropic_0123456789";
const KEY_VIA: &str = "wdn_router_via_bedrock_0123456789";
const TEXT: &str = "héllo wörld ✓";

/// Each target: the provider, the routed model id, the upstream path the mock must see, the
/// header the real key goes in (and whether as a bearer), the real key, and the native route the
/// same request takes without the router (for the metering comparison).
struct Target {
    provider: &'static str,
    model: &'static str,
    path: &'static str,
    header: &'static str,
    bearer: bool,
    real: &'static str,
}

const TARGETS: [Target; 6] = [
    Target {
        provider: "openai",
        model: "openai:gpt-4o",
        path: "/v1/chat/completions",
        header: "authorization",
        bearer: true,
        real: "sk-real-openai-1",
    },
    Target {
        provider: "anthropic",
        model: "anthropic:claude-sonnet-4-5",
        path: "/v1/messages",
        header: "x-api-key",
        bearer: false,
        real: "sk-ant-real-1",
    },
    Target {
        provider: "gemini",
        model: "gemini:gemini-2.5-flash",
        path: "/v1beta/models/gemini-2.5-flash:generateContent",
        header: "x-goog-api-key",
        bearer: false,
        real: "AIza-real-gemini-1",
    },
    Target {
        provider: "bedrock",
        model: "bedrock:amazon.nova-pro-v1:0",
        path: "/model/amazon.nova-pro-v1%3A0/converse",
        header: "authorization",
        bearer: true,
        real: "ABSK-real-bedrock-1",
    },
    Target {
        provider: "cohere",
        model: "cohere:command-r-plus",
        path: "/v2/chat",
        header: "authorization",
        bearer: true,
        real: "real-cohere-key-1",
    },
    Target {
        provider: "groq",
        model: "groq:llama-3.3-70b-versatile",
        path: "/openai/v1/chat/completions",
        header: "authorization",
        bearer: true,
        real: "gsk-real-groq-1",
    },
];

fn env_var(provider: &str) -> String {
    format!("REAL_{}", provider.to_ascii_uppercase())
}

fn start(dir: &TempDir) -> Stack {
    let file = dir.path().join("keys.yaml");
    let all: Vec<String> =
        TARGETS.iter().map(|t| format!("{}: {{api_key_env: {}}}", t.provider, env_var(t.provider))).collect();
    let keys = format!(
        "keys:\n  - {{id: router-all, key: {KEY}, providers: {{{}}}}}\n  - {{id: router-openai, key: {KEY_OPENAI}, providers: {{openai: {{api_key_env: REAL_OPENAI}}}}}}\n  - {{id: router-anthropic, key: {KEY_ANTHROPIC}, providers: {{anthropic: {{api_key_env: REAL_ANTHROPIC}}}}}}\n  - {{id: router-via, key: {KEY_VIA}, providers: {{bedrock: {{api_key_env: REAL_BEDROCK}}, deepseek: {{via: bedrock}}}}}}\n",
        all.join(", ")
    );
    std::fs::write(&file, keys).expect("keys file");
    let env = TARGETS.iter().map(|t| (env_var(t.provider), t.real.to_string())).collect();
    let plugin = json!({"profiles": {"default": {
        "tool_policies": [{"tool": "get_time", "action": "block_always", "reason": "no clocks"}],
        "router": {"models": {"anthropic": ["claude-sonnet-4-5"], "bedrock": ["amazon.nova-pro-v1:0"]}}
    }, "thrifty": {
        "optimization_rules": [{"provider": "anthropic", "target_model": "openai:gpt-4o-mini", "conditions": [{"has_tools": false}]}]
    }}});
    stack(plugin, json!({"keys": {"file": file}}), env, 2)
}

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}
    ])
}

fn chat(model: &str) -> Value {
    json!({"model": model, "max_tokens": 64, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}], "tools": tools()})
}

fn routed(stack: &Stack, path: &str, body: &Value, extra: &[(&str, &str)], id: &str) -> Reply {
    let auth = format!("Bearer {KEY}");
    let mut headers = vec![("authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    post(stack, path, &headers, body, id)
}

/// The `data:` payloads of an SSE body, in order, `[DONE]` included as a string.
fn sse_data(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned())))
        .collect()
}

/// The text and tool-call names of a chat chunk stream.
fn fold_chat(chunks: &[Value]) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut names = Vec::new();
    for chunk in chunks {
        let Some(delta) = chunk.pointer("/choices/0/delta") else { continue };
        text.push_str(delta.get("content").and_then(Value::as_str).unwrap_or_default());
        for call in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                names.push(name.to_owned());
            }
        }
    }
    (text, names)
}

#[test]
fn every_target_answers_an_openai_chat_request_whole_and_streamed_with_its_own_key() {
    let dir = TempDir::new("router-text");
    let stack = start(&dir);
    let mut f = Failures::default();
    for t in &TARGETS {
        let id = format!("whole-{}", t.provider);
        let reply = routed(&stack, "/v1/model-router/chat/completions", &chat(t.model), &[], &id);
        let body = reply.json();
        f.check(reply.status == 200 && body["object"] == "chat.completion", || {
            format!("{}: {} {}", t.provider, reply.status, reply.text())
        });
        f.check(body.pointer("/choices/0/message/content").and_then(Value::as_str) == Some(TEXT), || {
            format!("{}: answer {body}", t.provider)
        });
        let seen = upstream(&stack, &id);
        f.check(seen["path"].as_str() == Some(t.path), || format!("{}: upstream path {}", t.provider, seen["path"]));
        let want = if t.bearer { format!("Bearer {}", t.real) } else { t.real.to_owned() };
        f.check(header(&seen, t.header) == Some(want.as_str()), || {
            format!("{}: upstream {} = {:?}", t.provider, t.header, header(&seen, t.header))
        });
        f.check(!seen.to_string().contains("wdn_"), || format!("{}: the virtual key reached the provider", t.provider));
        let sent: Value = serde_json::from_str(seen["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        let native_shape = match t.provider {
            "anthropic" => sent["system"] == "Be brief." && sent["tools"][0]["input_schema"].is_object(),
            "gemini" => {
                sent["contents"].is_array()
                    && sent.pointer("/systemInstruction/parts/0/text") == Some(&json!("Be brief."))
            }
            "bedrock" => {
                sent.pointer("/system/0/text") == Some(&json!("Be brief."))
                    && sent.pointer("/toolConfig/tools/0/toolSpec/name").is_some()
            }
            "cohere" => sent["messages"].is_array() && sent["tools"][0]["function"]["name"] == "get_weather",
            _ => sent["messages"].is_array() && sent["model"].as_str() == t.model.split_once(':').map(|(_, m)| m),
        };
        f.check(native_shape, || format!("{}: upstream body is not the native shape: {sent}", t.provider));
        let record = log_line(&stack, &id).unwrap_or(Value::Null);
        let w = &record["warden"];
        f.check(
            w["provider"] == t.provider && w["api"] == "chat_completions" && w["routed_from"] == "model-router",
            || format!("{}: record {w}", t.provider),
        );

        let id = format!("stream-{}", t.provider);
        let mut body = chat(t.model);
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let reply = routed(&stack, "/v1/model-router/chat/completions", &body, &[], &id);
        let chunks = sse_data(&reply.text());
        let (text, _) = fold_chat(&chunks);
        f.check(reply.status == 200 && text == TEXT, || {
            format!("{} stream: {} {}", t.provider, reply.status, reply.text())
        });
        f.check(reply.header("content-type").is_some_and(|c| c.starts_with("text/event-stream")), || {
            format!("{} stream: content-type {:?}", t.provider, reply.header("content-type"))
        });
        f.check(chunks.last() == Some(&json!("[DONE]")), || format!("{} stream: no [DONE]", t.provider));
        let usage = chunks.iter().rev().find_map(|c| c.get("usage").filter(|u| u.is_object()));
        f.check(usage.and_then(|u| u["completion_tokens"].as_u64()).is_some(), || {
            format!("{} stream: no usage chunk although asked", t.provider)
        });
    }
    f.assert_none("routed text answers");
    let logs = common::keyless::all_logs(&stack);
    for secret in std::iter::once(KEY).chain(TARGETS.iter().map(|t| t.real)) {
        assert!(!logs.contains(secret), "a key reached a log: {secret}");
    }
}

#[test]
fn a_routed_request_is_metered_like_the_same_request_sent_natively() {
    let dir = TempDir::new("router-meter");
    let stack = start(&dir);
    type Native = (&'static str, &'static str, Value, &'static [(&'static str, &'static str)]);
    let native: [Native; 2] = [
        (
            "anthropic",
            "/v1/anthropic/v1/messages",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}),
            &[("anthropic-version", "2023-06-01")],
        ),
        (
            "gemini",
            "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            &[],
        ),
    ];
    let mut f = Failures::default();
    for (provider, path, body, extra) in native {
        let model = TARGETS.iter().find(|t| t.provider == provider).map(|t| t.model).unwrap_or_default();
        for stream in [false, true] {
            let tag = if stream { "stream" } else { "whole" };
            let mut native_body = body.clone();
            let native_path = if stream && provider == "gemini" {
                path.replace(":generateContent", ":streamGenerateContent?alt=sse")
            } else {
                if stream {
                    native_body["stream"] = json!(true);
                }
                path.to_owned()
            };
            let auth = if provider == "gemini" { "x-goog-api-key" } else { "x-api-key" };
            let mut headers = vec![(auth, KEY)];
            headers.extend_from_slice(extra);
            let native_id = format!("native-{provider}-{tag}");
            assert_eq!(post(&stack, &native_path, &headers, &native_body, &native_id).status, 200);
            let routed_id = format!("routed-{provider}-{tag}");
            let routed_body = json!({"model": model, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
            assert_eq!(routed(&stack, "/v1/model-router/chat/completions", &routed_body, &[], &routed_id).status, 200);
            let a = log_line(&stack, &native_id).unwrap_or(Value::Null);
            let b = log_line(&stack, &routed_id).unwrap_or(Value::Null);
            for field in [
                "provider",
                "model",
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "cost_usd",
            ] {
                f.check(a["warden"][field] == b["warden"][field] && !a["warden"][field].is_null(), || {
                    format!("{provider} {tag}: {field} native {} routed {}", a["warden"][field], b["warden"][field])
                });
            }
        }
    }
    f.assert_none("routed metering equals native metering");
    let stats = client::get(&stack.admin_url("/stats/prometheus"), &[]).text();
    assert!(
        stats.lines().any(|l| l.starts_with("warden_requests_total{")
            && l.contains("provider=\"anthropic\"")
            && l.contains("key_id=\"router-all\"")),
        "routed requests are counted under the target provider"
    );
}

#[test]
fn tool_calls_round_trip_through_every_target_and_blocked_ones_never_reach_the_client() {
    let dir = TempDir::new("router-tools");
    let stack = start(&dir);
    let mut f = Failures::default();
    for t in &TARGETS {
        for stream in [false, true] {
            let tag = if stream { "stream" } else { "whole" };
            let id = format!("tools-{}-{tag}", t.provider);
            let mut body = chat(t.model);
            body["stream"] = json!(stream);
            let reply = routed(
                &stack,
                "/v1/model-router/chat/completions",
                &body,
                &[("x-mock-scenario", "parallel_tools")],
                &id,
            );
            let names = if stream {
                let chunks = sse_data(&reply.text());
                f.check(chunks.last() == Some(&json!("[DONE]")), || {
                    format!("{} {tag}: stream not ended validly", t.provider)
                });
                fold_chat(&chunks).1
            } else {
                let calls = reply.json().pointer("/choices/0/message/tool_calls").cloned().unwrap_or(json!([]));
                calls
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.pointer("/function/name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            };
            f.check(reply.status == 200 && !names.iter().any(|n| n == "get_time"), || {
                format!("{} {tag}: a blocked call reached the client: {names:?} {}", t.provider, reply.text())
            });
            f.check(!reply.text().contains("\"get_time\""), || {
                format!("{} {tag}: the blocked call's bytes reached the client", t.provider)
            });
            // The whole answer is refused when one of its calls is (none of its calls run).
            let blocked = reply.header("x-warden-blocked").unwrap_or_default();
            f.check(blocked.split(',').any(|t| t == "get_time") || stream, || {
                format!("{} {tag}: x-warden-blocked = {:?}", t.provider, reply.header("x-warden-blocked"))
            });
            f.check(reply.text().contains("blocked"), || {
                format!("{} {tag}: no refusal text: {}", t.provider, reply.text())
            });
        }

        // An allowed call, then its result back to the model: the result reaches the target in its
        // own shape and the model's answer comes back as text.
        let id = format!("call-{}", t.provider);
        let reply = routed(
            &stack,
            "/v1/model-router/chat/completions",
            &chat(t.model),
            &[("x-mock-scenario", "tool_call")],
            &id,
        );
        let message = reply.json().pointer("/choices/0/message").cloned().unwrap_or(Value::Null);
        let call_id = message.pointer("/tool_calls/0/id").and_then(Value::as_str).unwrap_or_default().to_owned();
        f.check(
            message.pointer("/tool_calls/0/function/name") == Some(&json!("get_weather")) && !call_id.is_empty(),
            || format!("{}: no get_weather call: {}", t.provider, reply.text()),
        );
        let mut body = chat(t.model);
        if let Some(m) = body["messages"].as_array_mut() {
            m.push(message.clone());
            m.push(json!({"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 degrees"}));
        }
        let id = format!("result-{}", t.provider);
        let reply = routed(&stack, "/v1/model-router/chat/completions", &body, &[], &id);
        f.check(
            reply.status == 200 && reply.json().pointer("/choices/0/message/content") == Some(&json!(TEXT)),
            || format!("{}: answer after the result: {} {}", t.provider, reply.status, reply.text()),
        );
        let seen = upstream(&stack, &id);
        let sent = seen["body"].as_str().unwrap_or_default();
        let shaped = match t.provider {
            "anthropic" => sent.contains("\"tool_result\""),
            "gemini" => sent.contains("\"functionResponse\""),
            "bedrock" => sent.contains("\"toolResult\""),
            _ => sent.contains("\"role\":\"tool\""),
        };
        f.check(shaped && sent.contains("sunny, 21 degrees"), || {
            format!("{}: the result in the upstream body: {sent}", t.provider)
        });
    }
    f.assert_none("routed tool calls");
}

#[test]
fn images_reach_anthropic_gemini_and_bedrock_in_their_own_shape() {
    let dir = TempDir::new("router-images");
    let stack = start(&dir);
    // A 1×1 PNG.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let mut f = Failures::default();
    for (provider, model, marker) in [
        ("anthropic", "anthropic:claude-sonnet-4-5", "\"media_type\":\"image/png\""),
        ("gemini", "gemini:gemini-2.5-flash", "\"inlineData\""),
        ("bedrock", "bedrock:amazon.nova-pro-v1:0", "\"format\":\"png\""),
    ] {
        let body = json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}}]}]});
        let id = format!("image-{provider}");
        let reply = routed(&stack, "/v1/model-router/chat/completions", &body, &[], &id);
        let sent = upstream(&stack, &id)["body"].as_str().unwrap_or_default().to_owned();
        f.check(reply.status == 200 && sent.contains(marker) && sent.contains(png), || {
            format!("{provider}: {} upstream {sent}", reply.status)
        });
    }
    f.assert_none("images");
}

#[test]
fn a_responses_client_is_answered_by_a_chat_target_whole_and_streamed() {
    let dir = TempDir::new("router-responses");
    let stack = start(&dir);
    let body = json!({"model": "anthropic:claude-sonnet-4-5", "input": "hi", "max_output_tokens": 64});
    let reply = routed(&stack, "/v1/model-router/responses", &body, &[], "responses-whole");
    let answer = reply.json();
    assert_eq!((reply.status, answer["object"].as_str()), (200, Some("response")), "{}", reply.text());
    assert_eq!(upstream(&stack, "responses-whole")["path"], "/v1/messages");
    let text = answer.pointer("/output/0/content/0/text").and_then(Value::as_str);
    assert_eq!(text, Some(TEXT), "{answer}");

    let mut body = body;
    body["stream"] = json!(true);
    let reply = routed(&stack, "/v1/model-router/responses", &body, &[], "responses-stream");
    let events = sse_data(&reply.text());
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"response.created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"response.completed"), "{kinds:?}");
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert_eq!(deltas, TEXT);
    let record = log_line(&stack, "responses-stream").unwrap_or(Value::Null);
    assert_eq!(
        (record["warden"]["api"].as_str(), record["warden"]["provider"].as_str()),
        (Some("responses"), Some("anthropic"))
    );
}

#[test]
fn what_the_router_cannot_route_is_refused_in_the_openai_shape() {
    let dir = TempDir::new("router-refused");
    let stack = start(&dir);
    let mut f = Failures::default();
    let path = "/v1/model-router/chat/completions";
    let no_key = post(&stack, path, &[], &chat("anthropic:claude-sonnet-4-5"), "no-key");
    common::check_error_shape(&mut f, "no key", &no_key, 401, Shape::OpenAi);
    let no_provider = routed(&stack, path, &chat("claude-sonnet-4-5"), &[], "no-provider");
    common::check_error_shape(&mut f, "no provider", &no_provider, 400, Shape::OpenAi);
    let auth = format!("Bearer {KEY_OPENAI}");
    let unmapped =
        post(&stack, path, &[("authorization", auth.as_str())], &chat("anthropic:claude-sonnet-4-5"), "unmapped");
    common::check_error_shape(&mut f, "unmapped", &unmapped, 400, Shape::OpenAi);
    f.check(unmapped.text().contains("router-openai"), || format!("unmapped names no key: {}", unmapped.text()));
    let mut two = chat("anthropic:claude-sonnet-4-5");
    two["n"] = json!(2);
    let refused = routed(&stack, path, &two, &[], "n-two");
    common::check_error_shape(&mut f, "n=2", &refused, 400, Shape::OpenAi);
    f.check(refused.json().pointer("/error/param") == Some(&json!("n")), || format!("n=2: {}", refused.text()));
    let upstream_error =
        routed(&stack, path, &chat("anthropic:claude-sonnet-4-5"), &[("x-mock-scenario", "error_429")], "upstream-429");
    common::check_error_shape(&mut f, "anthropic 429", &upstream_error, 429, Shape::OpenAi);
    let not_served = routed(&stack, "/v1/model-router/v1/messages", &chat("anthropic:x"), &[], "not-served");
    common::check_error_shape(&mut f, "not served", &not_served, 404, Shape::OpenAi);
    f.assert_none("router refusals");
    let reached: Vec<String> = stack
        .mock_requests()
        .iter()
        .filter_map(|r| r.pointer("/headers/x-request-id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    assert_eq!(reached, ["upstream-429"], "only the request the provider refused reached it");
}

#[test]
fn the_model_list_names_the_configured_models_of_the_providers_the_key_maps() {
    let dir = TempDir::new("router-models");
    let stack = start(&dir);
    let auth = format!("Bearer {KEY}");
    let reply = list_models(&stack, &auth);
    let list = reply.json();
    let ids = model_ids(&list);
    assert_eq!(
        (reply.status, ids),
        (200, vec!["anthropic:claude-sonnet-4-5", "bedrock:amazon.nova-pro-v1:0"]),
        "{list}"
    );
    let auth = format!("Bearer {KEY_OPENAI}");
    let reply = list_models(&stack, &auth);
    assert_eq!((reply.status, reply.json()["data"].as_array().map(Vec::len)), (200, Some(0)));
    assert!(stack.mock_requests().is_empty(), "the list is the gateway's own answer");
    // This sidecar has no `models:` block: a setting, said once per worker VM (2), not per list.
    for _ in 0..6 {
        assert_eq!(list_models(&stack, &auth).status, 200);
    }
    let said = stack.envoy_log().lines().filter(|l| l.contains("no live model lists from the sidecar")).count();
    assert!((1..=2).contains(&said), "said {said} times in 8 lists");
}

/// An optimisation rule of the path's profile moves a routed request to another provider's model
/// when the key maps that provider (its real key, its API, metered there, the asked model kept as
/// the baseline), and leaves it where the client sent it when the key does not.
#[test]
fn an_optimisation_rule_moves_a_routed_request_to_another_provider_only_when_the_key_maps_it() {
    let dir = TempDir::new("router-optimise");
    let stack = start(&dir);
    let mut f = Failures::default();
    let path = "/v1/model-router/thrifty/chat/completions";
    let plain = json!({"model": "anthropic:claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]});
    for (key, id, stream) in [(KEY, "moved-whole", false), (KEY, "moved-stream", true), (KEY_ANTHROPIC, "kept", false)]
    {
        let mut body = plain.clone();
        if stream {
            body["stream"] = json!(true);
        }
        let auth = format!("Bearer {key}");
        let reply = post(&stack, path, &[("authorization", auth.as_str())], &body, id);
        let text = if stream {
            fold_chat(&sse_data(&reply.text())).0
        } else {
            reply.json().pointer("/choices/0/message/content").and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        f.check(reply.status == 200 && text == TEXT, || format!("{id}: {} {}", reply.status, reply.text()));
        let seen = upstream(&stack, id);
        let sent: Value = serde_json::from_str(seen["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        let record = log_line(&stack, id).unwrap_or(Value::Null);
        let w = &record["warden"];
        if key == KEY {
            f.check(seen["path"] == "/v1/chat/completions" && sent["model"] == "gpt-4o-mini", || {
                format!("{id}: upstream {} {sent}", seen["path"])
            });
            f.check(header(&seen, "authorization") == Some("Bearer sk-real-openai-1"), || {
                format!("{id}: the OpenAI key was not used: {:?}", header(&seen, "authorization"))
            });
            f.check(reply.header("x-warden-model") == Some("openai:gpt-4o-mini"), || {
                format!("{id}: x-warden-model {:?}", reply.header("x-warden-model"))
            });
            f.check(
                w["provider"] == "openai"
                    && w["model"] == "gpt-4o-mini"
                    && w["baseline_model"] == "anthropic:claude-sonnet-4-5"
                    && w["routed_from"] == "model-router"
                    && w["cost_usd"].is_number()
                    && w["baseline_cost_usd"].is_number(),
                || format!("{id}: record {w}"),
            );
        } else {
            f.check(seen["path"] == "/v1/messages" && sent["model"] == "claude-sonnet-4-5", || {
                format!("{id}: upstream {} {sent}", seen["path"])
            });
            f.check(header(&seen, "x-api-key") == Some("sk-ant-real-1"), || format!("{id}: {seen}"));
            f.check(reply.header("x-warden-model").is_none(), || format!("{id}: x-warden-model set"));
            f.check(w["provider"] == "anthropic" && w["baseline_model"].is_null(), || format!("{id}: record {w}"));
        }
    }
    // A request the rule does not cover (it declares tools) stays where it was sent.
    let reply = routed(&stack, path, &chat("anthropic:claude-sonnet-4-5"), &[], "with-tools");
    let seen = upstream(&stack, "with-tools");
    f.check(reply.status == 200 && seen["path"] == "/v1/messages", || {
        format!("with tools: {} {}", reply.status, seen["path"])
    });
    f.assert_none("routed optimisation");
}

/// A key whose keys-file entry serves `deepseek` through Bedrock (`deepseek: {via: bedrock}`): a
/// routed `deepseek:` model goes to Bedrock Converse with the key's Bedrock credential, the answer
/// comes back as OpenAI chat, and the record names Bedrock, which served (and bills) it.
#[test]
fn a_provider_the_key_serves_through_bedrock_is_routed_to_bedrock() {
    let dir = TempDir::new("router-via");
    let stack = start(&dir);
    let mut f = Failures::default();
    let body = json!({"model": "deepseek:us.deepseek.r1-v1:0", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]});
    let auth = format!("Bearer {KEY_VIA}");
    let reply = post(&stack, "/v1/model-router/chat/completions", &[("authorization", auth.as_str())], &body, "via");
    let text =
        reply.json().pointer("/choices/0/message/content").and_then(Value::as_str).unwrap_or_default().to_owned();
    f.check(reply.status == 200 && text == TEXT, || format!("via: {} {}", reply.status, reply.text()));
    let seen = upstream(&stack, "via");
    f.check(seen["path"] == "/model/us.deepseek.r1-v1%3A0/converse", || format!("via: upstream {}", seen["path"]));
    f.check(header(&seen, "authorization") == Some("Bearer ABSK-real-bedrock-1"), || {
        format!("via: the Bedrock key was not used: {:?}", header(&seen, "authorization"))
    });
    let record = log_line(&stack, "via").unwrap_or(Value::Null);
    let w = &record["warden"];
    f.check(w["provider"] == "bedrock" && w["model"] == "us.deepseek.r1-v1:0" && w["key_id"] == "router-via", || {
        format!("via: record {w}")
    });
    // The native DeepSeek route speaks DeepSeek's own API: this key cannot serve it there.
    let reply = post(&stack, "/v1/deepseek/chat/completions", &[("authorization", auth.as_str())], &body, "via-native");
    f.check(reply.status == 400 && reply.text().contains("through bedrock"), || {
        format!("native: {} {}", reply.status, reply.text())
    });
    f.assert_none("served through bedrock");
}

/// The ids of a model list, in order.
/// GET /v1/model-router/models with `auth` as the Authorization header.
fn list_models(stack: &Stack, auth: &str) -> Reply {
    client::get(&stack.url("/v1/model-router/models"), &[("authorization", auth)])
}

fn model_ids(list: &Value) -> Vec<&str> {
    list["data"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_str()).collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// `GET /models` with the sidecar's live lists: every provider the key maps that `router.models`
/// does not name is listed from its own list endpoint (through Envoy; Bedrock from its control
/// plane at AWS_ENDPOINT_URL_BEDROCK, filtered by `router.bedrock`), with the key's real
/// credentials; a provider served through Bedrock lists Bedrock's models of its vendor; lists are
/// cached.
#[test]
fn the_model_list_is_fetched_live_for_providers_the_configuration_does_not_name() {
    let dir = TempDir::new("router-live-models");
    let (port, mock_port) = (free_port(), free_port());
    let file = dir.path().join("keys.yaml");
    std::fs::write(
        &file,
        format!(
            "keys:\n  - {{id: lister, key: {KEY}, providers: {{anthropic: {{api_key_env: REAL_ANTHROPIC}}, openai: {{api_key_env: REAL_OPENAI}}, groq: {{api_key_env: REAL_GROQ}}, gemini: {{api_key_env: REAL_GEMINI}}, cohere: {{api_key_env: REAL_COHERE}}, bedrock: {{api_key_env: REAL_BEDROCK}}, deepseek: {{via: bedrock}}, azure: {{api_key_env: REAL_OPENAI}}}}}}\n  - {{id: signer, key: {KEY_VIA}, providers: {{bedrock: {{auth: sigv4}}}}}}\n"
        ),
    )
    .expect("keys file");
    let mut env: Vec<(String, String)> = TARGETS.iter().map(|t| (env_var(t.provider), t.real.to_string())).collect();
    env.push(("AWS_ENDPOINT_URL_BEDROCK".into(), format!("http://127.0.0.1:{mock_port}")));
    env.push(("AWS_ACCESS_KEY_ID".into(), "AKIDLISTER".into()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), "lister-secret".into()));
    let plugin = json!({"profiles": {"default": {"router": {
        "models": {"anthropic": ["claude-sonnet-4-5"]},
        "bedrock": {"allowed_regions": ["us"]}}}}});
    let stack = common::warden_stack_with(warden_e2e::StackOptions {
        plugin_config: plugin,
        listen_port: port,
        mock_port,
        sidecar: Some(json!({"keys": {"file": file}, "credentials": {"aws": {"region": "us-west-2"}},
            "models": {"envoy_url": format!("http://127.0.0.1:{port}")}})),
        sidecar_env: env,
        ..warden_e2e::StackOptions::default()
    });
    let auth = format!("Bearer {KEY}");
    let reply = list_models(&stack, &auth);
    let list = reply.json();
    let ids = model_ids(&list);
    assert_eq!(
        (reply.status, ids),
        (
            200,
            vec![
                "anthropic:claude-sonnet-4-5",
                "bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "bedrock:us.deepseek.r1-v1:0",
                "bedrock:us.meta.llama3-3-70b-instruct-v1:0",
                "cohere:command-a-03-2025",
                "cohere:command-r-plus",
                "deepseek:us.deepseek.r1-v1:0",
                "gemini:gemini-2.5-flash",
                "groq:gpt-4o-mini",
                "groq:gpt-5",
                "openai:gpt-4o-mini",
                "openai:gpt-5",
            ]
        ),
        "{list}"
    );
    let seen = stack.mock_requests();
    let find = |path: &str| seen.iter().find(|r| r["path"] == path).cloned().unwrap_or(Value::Null);
    assert_eq!(header(&find("/v1/models"), "authorization"), Some("Bearer sk-real-openai-1"), "{seen:?}");
    assert_eq!(header(&find("/openai/v1/models"), "authorization"), Some("Bearer gsk-real-groq-1"));
    assert_eq!(header(&find("/v1beta/models?pageSize=1000"), "x-goog-api-key"), Some("AIza-real-gemini-1"));
    assert_eq!(header(&find("/v1/models?endpoint=chat"), "authorization"), Some("Bearer real-cohere-key-1"));
    let profiles: Vec<&Value> =
        seen.iter().filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/inference-profiles?"))).collect();
    assert_eq!(profiles.len(), 1, "Bedrock's list is fetched once for bedrock and the provider it serves");
    assert_eq!(header(profiles[0], "authorization"), Some("Bearer ABSK-real-bedrock-1"));
    assert!(
        !seen.iter().any(|r| header(r, "anthropic-version").is_some()),
        "anthropic is named by router.models: not fetched"
    );
    assert!(!Value::from(seen.clone()).to_string().contains("wdn_"), "the virtual key never leaves the gateway");
    // Within the cache's lifetime the list is answered without asking any provider again.
    let before = stack.mock_requests().len();
    let again = list_models(&stack, &auth);
    assert_eq!((again.status, again.json()), (200, list));
    assert_eq!(stack.mock_requests().len(), before);
    // A key that signs Bedrock with the sidecar's AWS credentials: the list request is signed.
    let auth = format!("Bearer {KEY_VIA}");
    let reply = list_models(&stack, &auth);
    assert_eq!(reply.json()["data"].as_array().map(Vec::len), Some(3), "{}", reply.text());
    let signed = stack.mock_requests().into_iter().skip(before).find(|r| header(r, "authorization").is_some());
    let authorization = signed.as_ref().and_then(|r| header(r, "authorization")).unwrap_or_default().to_owned();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDLISTER/")
            && authorization.contains("/us-west-2/bedrock/aws4_request"),
        "{authorization}"
    );
}

/// A live list that cannot be had (here every provider's: the sidecar's `envoy_url` does not
/// answer) is left out, and the model list still answers at once with what the configuration
/// names, never an error.
#[test]
fn the_model_list_leaves_out_the_live_lists_that_fail() {
    let dir = TempDir::new("router-live-models-fail");
    let file = dir.path().join("keys.yaml");
    std::fs::write(
        &file,
        format!("keys:\n  - {{id: lister, key: {KEY}, providers: {{anthropic: {{api_key_env: REAL_ANTHROPIC}}, openai: {{api_key_env: REAL_OPENAI}}, cohere: {{api_key_env: REAL_COHERE}}}}}}\n"),
    )
    .expect("keys file");
    let env: Vec<(String, String)> = TARGETS.iter().map(|t| (env_var(t.provider), t.real.to_string())).collect();
    let plugin = json!({"profiles": {"default": {"router": {"models": {"anthropic": ["claude-sonnet-4-5"]}}}}});
    let closed = free_port();
    let stack = common::warden_stack_with(warden_e2e::StackOptions {
        plugin_config: plugin,
        sidecar: Some(json!({"keys": {"file": file},
            "models": {"envoy_url": format!("http://127.0.0.1:{closed}"), "timeout_ms": 1000}})),
        sidecar_env: env,
        ..warden_e2e::StackOptions::default()
    });
    let auth = format!("Bearer {KEY}");
    let reply = list_models(&stack, &auth);
    let list = reply.json();
    let ids = model_ids(&list);
    assert_eq!((reply.status, ids), (200, vec!["anthropic:claude-sonnet-4-5"]), "{list}");
    assert!(stack.mock_requests().is_empty(), "{:?}", stack.mock_requests());
}
