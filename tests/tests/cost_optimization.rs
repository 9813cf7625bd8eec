//! Model optimisation through real Envoy, per native API (README "Cost controls", DESIGN §5.4):
//! the first matching rule sends the request to its target model, where the provider keeps the
//! model (body, or the Gemini / Bedrock path); the client and the record are told.

use crate::common;
use crate::cost;

use cost::{Api, Extras, Kind, APIS};
use serde_json::{json, Value};
use warden_e2e::run::Failures;
use warden_e2e::{Stack, StackOptions};

/// `max_tokens: 1500` rules for every provider.
const SIZE: &str = "small";
/// `has_tools: true` rules.
const TOOLS: &str = "tools";
/// `has_tools: false` rules.
const NO_TOOLS: &str = "notools";

fn rules(condition: Value) -> Value {
    let mut providers: Vec<&Api> = Vec::new();
    for api in &APIS {
        if !providers.iter().any(|p| p.provider == api.provider) {
            providers.push(api);
        }
    }
    providers
        .iter()
        .map(|a| json!({"provider": a.provider, "target_model": a.cheaper, "conditions": [condition.clone()]}))
        .collect()
}

fn optimisation_stack() -> Stack {
    common::warden_stack_with(StackOptions {
        plugin_config: json!({"default_profile": "default", "profiles": {
            "default": {},
            SIZE: {"optimization_rules": rules(json!({"max_tokens": 1500}))},
            TOOLS: {"optimization_rules": rules(json!({"has_tools": true}))},
            NO_TOOLS: {"optimization_rules": rules(json!({"has_tools": false}))},
        }}),
        ..StackOptions::default()
    })
}

fn words(n: usize) -> String {
    "test ".repeat(n)
}

/// Sends one request and checks that the upstream was asked for `want` and what the client and
/// the record say about it.
fn check_model(f: &mut Failures, stack: &Stack, api: &Api, profile: &str, text: &str, x: &Extras, want: &str) {
    let body = api.body(api.model, text, x);
    let rewritten = want != api.model;
    let labels = [("provider", api.provider), ("profile", profile), ("model", want)];
    let requests_before = cost::metric(stack, "warden_requests_total", &labels);
    let s = cost::send(stack, api, profile, api.model, &body, x.stream, &[]);
    let label = format!("{} [{profile}, tools {}, stream {}, {} chars]", s.label, x.tools, x.stream, text.len());
    if s.reply.status != 200 {
        f.0.push(format!("{label}: status {} ({})", s.reply.status, s.reply.text()));
        return;
    }
    let Some(up) = &s.upstream else {
        f.0.push(format!("{label}: the mock saw no request"));
        return;
    };
    let got = api.upstream_model(up);
    f.check(got.as_deref() == Some(want), || format!("{label}: upstream model {got:?}, want {want:?}"));
    if let Some(path) = api.upstream_path(want, x.stream) {
        let seen = up.get("path").and_then(Value::as_str).unwrap_or_default();
        f.check(seen == path, || format!("{label}: upstream path {seen:?}, want {path:?}"));
    }
    if !x.stream {
        let header = s.reply.header("x-warden-model");
        let expected = rewritten.then_some(want);
        f.check(header == expected, || format!("{label}: x-warden-model {header:?}, want {expected:?}"));
    }
    let record = cost::record(stack, &s.request_id);
    let field = |k: &str| record.get(k).and_then(Value::as_str);
    f.check(field("model") == Some(want), || format!("{label}: record model {:?}, want {want:?}", field("model")));
    if rewritten {
        f.check(field("baseline_model") == Some(api.model), || {
            format!("{label}: record baseline_model {:?}, want {:?}", field("baseline_model"), api.model)
        });
        let (cost, baseline) =
            (record.get("cost_usd").and_then(Value::as_f64), record.get("baseline_cost_usd").and_then(Value::as_f64));
        f.check(matches!((cost, baseline), (Some(c), Some(b)) if b > c && c > 0.0), || {
            format!("{label}: record cost_usd {cost:?}, baseline_cost_usd {baseline:?}: want the baseline dearer")
        });
    } else {
        let baseline = field("baseline_model");
        f.check(baseline.is_none() || baseline == Some(api.model), || {
            format!("{label}: record baseline_model {baseline:?} on a request that kept its model")
        });
    }
    let moved = cost::metric(stack, "warden_requests_total", &labels) - requests_before;
    f.check(moved == 1.0, || format!("{label}: warden_requests_total{{model={want}}} moved by {moved}, want 1"));
}

#[test]
fn short_requests_go_to_the_target_model_on_every_api() {
    let stack = optimisation_stack();
    let mut f = Failures::default();
    for api in APIS {
        for stream in [false, true] {
            let x = Extras { stream, ..Extras::default() };
            check_model(&mut f, &stack, &api, SIZE, &words(1200), &x, api.cheaper);
        }
    }
    f.assert_none("max_tokens rule, short request");
}

#[test]
fn long_requests_keep_their_model_on_every_api() {
    let stack = optimisation_stack();
    let mut f = Failures::default();
    for api in APIS {
        for stream in [false, true] {
            let x = Extras { stream, ..Extras::default() };
            check_model(&mut f, &stack, &api, SIZE, &words(1600), &x, api.model);
        }
    }
    f.assert_none("max_tokens rule, long request");
}

/// Replaces every tool `description` in `body` with `text`, wherever the API keeps it.
fn describe_tools(body: &mut Value, text: &str) {
    match body {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "description" && value.is_string() {
                    *value = json!(text);
                } else {
                    describe_tools(value, text);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| describe_tools(v, text)),
        _ => {}
    }
}

#[test]
fn tool_definitions_count_towards_max_tokens() {
    let stack = optimisation_stack();
    let mut f = Failures::default();
    for api in APIS {
        // The message alone is under the limit; with a long tool description it is over.
        let x = Extras { tools: true, ..Extras::default() };
        let mut body = api.body(api.model, &words(1200), &x);
        describe_tools(&mut body, &words(600));
        let s = cost::send(&stack, &api, SIZE, api.model, &body, false, &[]);
        let got = s.upstream.as_ref().and_then(|up| api.upstream_model(up));
        f.check(s.reply.status == 200 && got.as_deref() == Some(api.model), || {
            format!("{}: status {}, upstream model {got:?}, want {:?}", s.label, s.reply.status, api.model)
        });
        f.check(s.reply.header("x-warden-model").is_none(), || format!("{}: x-warden-model on a kept model", s.label));
        // The same tool with a short description: under the limit again.
        check_model(&mut f, &stack, &api, SIZE, &words(1200), &x, api.cheaper);
    }
    f.assert_none("max_tokens counts tool definitions");
}

/// Adds a system prompt where the API keeps it (a message, or a field outside the messages).
fn with_system(api: &Api, body: &mut Value, text: &str) {
    match api.kind {
        Kind::OpenAiChat | Kind::Compatible | Kind::Cohere => {
            if let Some(messages) = body["messages"].as_array_mut() {
                messages.insert(0, json!({"role": "system", "content": text}));
            }
        }
        Kind::Responses => body["instructions"] = json!(text),
        Kind::Anthropic => body["system"] = json!(text),
        Kind::Gemini => body["systemInstruction"] = json!({"parts": [{"text": text}]}),
        Kind::Bedrock => body["system"] = json!([{"text": text}]),
    }
}

#[test]
fn system_prompts_count_towards_max_tokens() {
    let stack = optimisation_stack();
    let mut f = Failures::default();
    for api in APIS {
        let mut body = api.body(api.model, &words(1200), &Extras::default());
        with_system(&api, &mut body, &words(600));
        let s = cost::send(&stack, &api, SIZE, api.model, &body, false, &[]);
        let got = s.upstream.as_ref().and_then(|up| api.upstream_model(up));
        f.check(s.reply.status == 200 && got.as_deref() == Some(api.model), || {
            format!(
                "{}: status {}, upstream model {got:?}, want {:?} (system prompt counted)",
                s.label, s.reply.status, api.model
            )
        });
    }
    f.assert_none("max_tokens counts system prompts");
}

#[test]
fn has_tools_rules_follow_the_declared_tools() {
    let stack = optimisation_stack();
    let mut f = Failures::default();
    for api in APIS {
        let with = Extras { tools: true, ..Extras::default() };
        let without = Extras::default();
        check_model(&mut f, &stack, &api, TOOLS, "Say hello", &with, api.cheaper);
        check_model(&mut f, &stack, &api, TOOLS, "Say hello", &without, api.model);
        check_model(&mut f, &stack, &api, NO_TOOLS, "Say hello", &without, api.cheaper);
        check_model(&mut f, &stack, &api, NO_TOOLS, "Say hello", &with, api.model);
    }
    f.assert_none("has_tools rules");
}

#[test]
fn profiles_without_rules_never_rewrite() {
    let stack = optimisation_stack();
    let mut f = Failures::default();
    for api in APIS {
        check_model(&mut f, &stack, &api, "default", &words(10), &Extras::default(), api.model);
    }
    f.assert_none("no rules");
}

#[test]
fn bedrock_body_model_form_is_rewritten_too() {
    let stack = optimisation_stack();
    let api = APIS.iter().find(|a| a.kind == Kind::Bedrock).copied().unwrap_or(APIS[0]);
    let mut body = api.body(api.model, &words(1200), &Extras::default());
    body["modelId"] = json!(api.model);
    let request_id = cost::next_request_id();
    let mut headers = api.auth();
    headers.extend([("content-type", "application/json"), ("x-request-id", request_id.as_str())]);
    let reply = warden_e2e::client::post(
        &stack.url(&format!("/v1/bedrock/{SIZE}/converse")),
        &headers,
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let up = cost::upstream_of(&stack, &request_id).unwrap_or(Value::Null);
    let want = api.upstream_path(api.cheaper, false).unwrap_or_default();
    assert_eq!(up.get("path").and_then(Value::as_str), Some(want.as_str()), "{up}");
    assert_eq!(reply.header("x-warden-model"), Some(api.cheaper));
    let record = cost::record(&stack, &request_id);
    assert_eq!(record.get("model").and_then(Value::as_str), Some(api.cheaper), "{record}");
}
