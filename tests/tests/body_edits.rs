//! Every body-changing feature × every client option that touches the body, per native API,
//! through real Envoy: a blocked tool result replaced by a notice, TOON compression, model
//! optimisation and the forced usage chunk must all reach the upstream together, whatever the
//! client sent (`stream`, `stream_options.include_usage` true / false / absent / null / `{}`, `n`,
//! `parallel_tool_calls`, extra stream options). An earlier version sent the original body
//! upstream when a streaming OpenAI client asked for usage itself: every edit was lost.

use crate::common;
use crate::cost;

use cost::{Api, Extras, Kind, APIS, FILES_TOON_HEADER};
use serde_json::{json, Value};
use warden_e2e::run::Failures;
use warden_e2e::StackOptions;

const PROFILE: &str = "edits";
const SECRET: &str = "hunter2-the-password";

/// What the client put in the body besides the conversation.
#[derive(Debug, Clone, Copy)]
enum Option_ {
    Plain,
    UsageTrue,
    UsageFalse,
    StreamOptionsNull,
    StreamOptionsEmpty,
    /// `include_usage` next to another option the gateway must keep.
    UsageWithOther,
    ChoicesAndParallel,
}

const OPTIONS: [Option_; 7] = [
    Option_::Plain,
    Option_::UsageTrue,
    Option_::UsageFalse,
    Option_::StreamOptionsNull,
    Option_::StreamOptionsEmpty,
    Option_::UsageWithOther,
    Option_::ChoicesAndParallel,
];

fn openai_wire(api: &Api) -> bool {
    matches!(api.kind, Kind::OpenAiChat | Kind::Compatible)
}

fn apply(option: Option_, body: &mut Value) {
    let Some(obj) = body.as_object_mut() else { return };
    match option {
        Option_::Plain => {}
        Option_::UsageTrue => {
            obj.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Option_::UsageFalse => {
            obj.insert("stream_options".into(), json!({"include_usage": false}));
        }
        Option_::StreamOptionsNull => {
            obj.insert("stream_options".into(), Value::Null);
        }
        Option_::StreamOptionsEmpty => {
            obj.insert("stream_options".into(), json!({}));
        }
        Option_::UsageWithOther => {
            obj.insert("stream_options".into(), json!({"include_usage": true, "include_obfuscation": false}));
        }
        Option_::ChoicesAndParallel => {
            obj.insert("n".into(), json!(2));
            obj.insert("parallel_tool_calls".into(), json!(false));
        }
    }
}

/// A `read_secrets` call and its result, appended to the history in the API's own shape (a second
/// call id, so it cannot be confused with the `list_files` turn the cost helpers add).
fn add_secret_result(api: &Api, body: &mut Value) {
    let (key, turns) = match api.kind {
        Kind::OpenAiChat | Kind::Compatible | Kind::Cohere => (
            "messages",
            vec![
                json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_2", "type": "function",
                    "function": {"name": "read_secrets", "arguments": "{}"}}]}),
                json!({"role": "tool", "tool_call_id": "call_2", "content": SECRET}),
            ],
        ),
        Kind::Responses => (
            "input",
            vec![
                json!({"type": "function_call", "call_id": "call_2", "name": "read_secrets", "arguments": "{}"}),
                json!({"type": "function_call_output", "call_id": "call_2", "output": SECRET}),
            ],
        ),
        Kind::Anthropic => (
            "messages",
            vec![
                json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_2", "name": "read_secrets",
                    "input": {}}]}),
                json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2",
                    "content": SECRET}]}),
            ],
        ),
        Kind::Gemini => (
            "contents",
            vec![
                json!({"role": "model", "parts": [{"functionCall": {"name": "read_secrets", "args": {}}}]}),
                json!({"role": "user", "parts": [{"functionResponse": {"name": "read_secrets",
                    "response": {"output": SECRET}}}]}),
            ],
        ),
        Kind::Bedrock => (
            "messages",
            vec![
                json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_2", "name": "read_secrets",
                    "input": {}}}]}),
                json!({"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_2",
                    "content": [{"text": SECRET}]}}]}),
            ],
        ),
    };
    if let Some(Value::Array(list)) = body.get_mut(key) {
        // Before the final user turn is not needed: providers accept tool turns at the end.
        list.extend(turns);
    }
}

#[test]
fn every_edit_reaches_the_upstream_whatever_options_the_client_sent() {
    let rules: Vec<Value> = APIS.iter().map(|a| json!({"provider": a.provider, "target_model": a.cheaper})).collect();
    let stack = common::warden_stack_with(StackOptions {
        plugin_config: json!({"default_profile": "default", "profiles": {
            "default": {},
            PROFILE: {
                "result_policies": [{"tool": "read_secrets", "action": "block_always"}],
                "default_result_action": "mark_as_trusted",
                "toon": {"enabled": true},
                "optimization_rules": rules,
            },
        }}),
        ..StackOptions::default()
    });
    let mut f = Failures::default();
    let mut runs = 0;
    for api in &APIS {
        for stream in [false, true] {
            let options: &[Option_] = if openai_wire(api) { &OPTIONS } else { &OPTIONS[..1] };
            for option in options {
                runs += 1;
                let mut body = api.body(
                    api.model,
                    "What is in this directory?",
                    &Extras { tools: true, tool_result: Some(cost::files_result()), stream },
                );
                add_secret_result(api, &mut body);
                apply(*option, &mut body);
                let s = cost::send(&stack, api, PROFILE, api.model, &body, stream, &[]);
                let label = format!("{} stream={stream} {option:?}", s.label);
                f.check(s.reply.status == 200, || format!("{label}: status {} ({})", s.reply.status, s.reply.text()));
                let Some(up) = &s.upstream else {
                    f.0.push(format!("{label}: the mock saw no request"));
                    continue;
                };
                let text = up.get("body").and_then(Value::as_str).unwrap_or_default();
                f.check(!text.contains(SECRET), || format!("{label}: the blocked result reached the upstream: {text}"));
                f.check(text.contains(FILES_TOON_HEADER), || format!("{label}: TOON was not applied: {text}"));
                f.check(api.upstream_model(up).as_deref() == Some(api.cheaper), || {
                    format!("{label}: upstream model {:?}, want {}", api.upstream_model(up), api.cheaper)
                });
                let sent = cost::upstream_body(up);
                if openai_wire(api) && stream {
                    f.check(sent.pointer("/stream_options/include_usage") == Some(&json!(true)), || {
                        format!("{label}: include_usage not forced upstream: {sent}")
                    });
                }
                if matches!(option, Option_::UsageWithOther) {
                    f.check(sent.pointer("/stream_options/include_obfuscation") == Some(&json!(false)), || {
                        format!("{label}: the client's other stream option was lost: {sent}")
                    });
                }
                if matches!(option, Option_::ChoicesAndParallel) {
                    f.check(
                        sent.get("n") == Some(&json!(2)) && sent.get("parallel_tool_calls") == Some(&json!(false)),
                        || format!("{label}: n / parallel_tool_calls changed: {sent}"),
                    );
                }
            }
        }
    }
    f.assert_none(&format!("{runs} requests"));
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}
