//! Virtual keys end to end (DESIGN §4.6, §4.9): real Envoy, the real sidecar reading a keys file.
//! On every provider route a `wdn_` key is swapped for the real key in the header the client
//! used and never reaches the provider; unknown, expired and wrong-provider keys are refused
//! 401/401/400 in the provider's shape; an edited keys file takes effect within seconds.

use crate::common;

use common::keyless::{header, post, stack, upstream, TempDir};
use common::Shape;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warden_e2e::client::Reply;
use warden_e2e::run::{log_line, Failures};
use warden_e2e::Stack;

const KEY_ALL: &str = "wdn_all_providers_0123456789";
const KEY_OPENAI: &str = "wdn_openai_only_0123456789";
const KEY_EXPIRED: &str = "wdn_expired_0123456789";
const KEY_NEW: &str = "wdn_added_later_0123456789";
const KEY_UNKNOWN: &str = "wdn_nobody_knows_me_0123456789";

/// The real provider keys, handed to the sidecar in its environment.
const REAL: [(&str, &str, &str); 7] = [
    ("openai", "REAL_OPENAI", "sk-real-openai-1"),
    ("azure", "REAL_AZURE", "real-azure-key-1"),
    ("anthropic", "REAL_ANTHROPIC", "sk-ant-real-1"),
    ("gemini", "REAL_GEMINI", "AIza-real-gemini-1"),
    ("bedrock", "REAL_BEDROCK", "ABSK-real-bedrock-1"),
    ("cohere", "REAL_COHERE", "real-cohere-key-1"),
    ("groq", "REAL_GROQ", "gsk-real-groq-1"),
];

/// One request per provider route: the header the SDK sends its key in, whether as a bearer.
struct Call {
    provider: &'static str,
    path: &'static str,
    header: &'static str,
    bearer: bool,
    extra: &'static [(&'static str, &'static str)],
    body: Value,
    shape: Shape,
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

fn calls() -> Vec<Call> {
    vec![
        Call {
            provider: "openai",
            path: "/v1/openai/chat/completions",
            header: "authorization",
            bearer: true,
            extra: &[],
            body: chat("gpt-4o"),
            shape: Shape::OpenAi,
        },
        Call {
            provider: "azure",
            path: "/v1/azure/chat/completions",
            header: "api-key",
            bearer: false,
            extra: &[],
            body: chat("gpt-4o"),
            shape: Shape::OpenAi,
        },
        Call {
            provider: "anthropic",
            path: "/v1/anthropic/v1/messages",
            header: "x-api-key",
            bearer: false,
            extra: &[("anthropic-version", "2023-06-01")],
            body: json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
            shape: Shape::Anthropic,
        },
        Call {
            provider: "gemini",
            path: "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            header: "x-goog-api-key",
            bearer: false,
            extra: &[],
            body: json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            shape: Shape::Gemini,
        },
        Call {
            provider: "bedrock",
            path: "/v1/bedrock/model/amazon.nova-pro-v1%3A0/converse",
            header: "authorization",
            bearer: true,
            extra: &[],
            body: json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
            shape: Shape::Bedrock,
        },
        Call {
            provider: "cohere",
            path: "/v1/cohere/v2/chat",
            header: "authorization",
            bearer: true,
            extra: &[],
            body: chat("command-r-plus"),
            shape: Shape::Cohere,
        },
        Call {
            provider: "groq",
            path: "/v1/groq/chat/completions",
            header: "authorization",
            bearer: true,
            extra: &[],
            body: chat("llama-3.3-70b-versatile"),
            shape: Shape::OpenAi,
        },
    ]
}

fn keys_file(with_new: bool, with_all: bool) -> String {
    let providers: Vec<String> = REAL.iter().map(|(p, var, _)| format!("{p}: {{api_key_env: {var}}}")).collect();
    let all = providers.join(", ");
    let mut out = String::from("keys:\n");
    if with_all {
        out += &format!("  - {{id: team-all, key: {KEY_ALL}, providers: {{{all}}}}}\n");
    }
    out +=
        &format!("  - {{id: team-openai, key: {KEY_OPENAI}, providers: {{openai: {{api_key_env: REAL_OPENAI}}}}}}\n");
    out +=
        &format!("  - {{id: team-old, key: {KEY_EXPIRED}, expires_at: 2020-01-01T00:00:00Z, providers: {{{all}}}}}\n");
    if with_new {
        out += &format!("  - {{id: team-new, key: {KEY_NEW}, providers: {{{all}}}}}\n");
    }
    out
}

/// Writes beside and renames over, as a deployment would.
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write keys file");
    std::fs::rename(&tmp, path).expect("rename keys file");
}

fn start(dir: &TempDir) -> Stack {
    let file = dir.path().join("keys.yaml");
    replace(&file, &keys_file(false, true));
    let env = REAL.iter().map(|(_, var, value)| (var.to_string(), value.to_string())).collect();
    stack(json!({"profiles": {"default": {}}}), json!({"keys": {"file": file}}), env, 2)
}

fn send(stack: &Stack, call: &Call, key: &str, id: &str) -> Reply {
    let value = if call.bearer { format!("Bearer {key}") } else { key.to_owned() };
    let mut headers = call.extra.to_vec();
    headers.push((call.header, value.as_str()));
    post(stack, call.path, &headers, &call.body, id)
}

fn real_key(provider: &str) -> &'static str {
    REAL.iter().find(|(p, _, _)| *p == provider).map(|(_, _, v)| *v).expect("a real key")
}

#[test]
fn every_provider_route_gets_the_real_key_in_its_own_header_and_never_the_virtual_one() {
    let dir = TempDir::new("keys-routes");
    let stack = start(&dir);
    let mut f = Failures::default();
    for call in calls() {
        let id = format!("ok-{}", call.provider);
        let reply = send(&stack, &call, KEY_ALL, &id);
        f.check(reply.status == 200, || format!("{}: status {} {}", call.provider, reply.status, reply.text()));
        let seen = upstream(&stack, &id);
        let want =
            if call.bearer { format!("Bearer {}", real_key(call.provider)) } else { real_key(call.provider).into() };
        f.check(header(&seen, call.header) == Some(want.as_str()), || {
            format!("{}: upstream {} = {:?}, want the real key", call.provider, call.header, header(&seen, call.header))
        });
        f.check(!seen.to_string().contains("wdn_"), || {
            format!("{}: a virtual key reached the provider", call.provider)
        });
        let record = log_line(&stack, &id).unwrap_or(Value::Null);
        f.check(record.pointer("/warden/key_id").and_then(Value::as_str) == Some("team-all"), || {
            format!("{}: record without key_id: {record}", call.provider)
        });
    }
    f.assert_none("virtual keys on every route");
    let logs = common::keyless::all_logs(&stack);
    for secret in [KEY_ALL].into_iter().chain(REAL.iter().map(|(_, _, v)| *v)) {
        assert!(!logs.contains(secret), "a key reached a log: {secret}");
    }
    let stats = warden_e2e::client::get(&stack.admin_url("/stats/prometheus"), &[]).text();
    assert!(
        stats.lines().any(|l| l.starts_with("warden_requests_total{") && l.contains("key_id=\"team-all\"")),
        "requests are labelled by key id"
    );
}

#[test]
fn unknown_expired_and_wrong_provider_keys_are_refused_in_each_providers_shape() {
    let dir = TempDir::new("keys-refused");
    let stack = start(&dir);
    let mut f = Failures::default();
    for call in calls() {
        for (key, status, what) in [(KEY_UNKNOWN, 401, "unknown"), (KEY_EXPIRED, 401, "expired")] {
            let reply = send(&stack, &call, key, &format!("{what}-{}", call.provider));
            common::check_error_shape(&mut f, &format!("{} {what}", call.provider), &reply, status, call.shape);
            f.check(!reply.text().contains("wdn_nobody") && !reply.text().contains(KEY_EXPIRED), || {
                format!("{}: the key is echoed back", call.provider)
            });
        }
        if call.provider != "openai" {
            let reply = send(&stack, &call, KEY_OPENAI, &format!("unmapped-{}", call.provider));
            common::check_error_shape(&mut f, &format!("{} unmapped", call.provider), &reply, 400, call.shape);
            f.check(reply.text().contains("team-openai") && reply.text().contains("openai"), || {
                format!("{}: the 400 names neither the key id nor its providers: {}", call.provider, reply.text())
            });
        }
    }
    f.assert_none("refused keys");
    let reached: Vec<Value> = stack.mock_requests();
    assert!(reached.is_empty(), "a refused key reached a provider: {reached:?}");
}

#[test]
fn an_edited_keys_file_takes_effect_within_seconds_without_a_restart() {
    let dir = TempDir::new("keys-reload");
    let stack = start(&dir);
    let call = calls().into_iter().next().expect("openai");
    assert_eq!(send(&stack, &call, KEY_NEW, "before").status, 401);
    assert_eq!(send(&stack, &call, KEY_ALL, "warm").status, 200, "cached from here on");

    replace(&dir.path().join("keys.yaml"), &keys_file(true, false));
    let until = |key: &str, status: u16| -> Duration {
        let started = Instant::now();
        let mut n = 0;
        loop {
            n += 1;
            let got = send(&stack, &call, key, &format!("poll-{key}-{n}")).status;
            if got == status || started.elapsed() > Duration::from_secs(15) {
                assert_eq!(got, status, "{key} after {:?}", started.elapsed());
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let added = until(KEY_NEW, 200);
    let removed = until(KEY_ALL, 401);
    assert!(
        added < Duration::from_secs(10) && removed < Duration::from_secs(10),
        "added {added:?}, removed {removed:?}"
    );
}
