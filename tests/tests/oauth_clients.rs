//! OAuth clients as virtual keys, and virtual keys in a Gemini `?key=` query (DESIGN §4.6, §4.9),
//! end to end: real Envoy with `jwt_authn` trusting the test JWKS, the filter, and the real
//! sidecar reading a keys file. A verified token whose `azp` is listed under `oauth_clients` gets
//! that entry's real key in the provider's own header, its profile and its budget; a client not
//! listed changes nothing; neither a forged token nor a header can claim a client; a `wdn_` key
//! in the query reaches neither the provider nor the access log.

use crate::common;

use common::jwt::{self, now, ISSUER};
use common::keyless::{all_logs, header, post, upstream, TempDir};
use common::Shape;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use warden_e2e::client::Reply;
use warden_e2e::run::{log_line, Failures};
use warden_e2e::{Stack, StackOptions};

const QUERY_KEY: &str = "wdn_gemini_in_query_0123456789";
const UNKNOWN_KEY: &str = "wdn_nobody_knows_me_0123456789";

/// The real provider keys, handed to the sidecar in its environment.
const REAL: [(&str, &str, &str); 3] = [
    ("openai", "REAL_OPENAI", "sk-real-openai-1"),
    ("anthropic", "REAL_ANTHROPIC", "sk-ant-real-1"),
    ("gemini", "REAL_GEMINI", "AIza-real-gemini-1"),
];

fn real_key(provider: &str) -> &'static str {
    REAL.iter().find(|(p, _, _)| *p == provider).map(|(_, _, v)| *v).expect("a real key")
}

fn claims(azp: &str) -> Value {
    json!({"iss": ISSUER, "aud": "warden", "sub": "service-account", "azp": azp, "exp": now() + 600, "iat": now()})
}

/// A token for the OAuth client `azp`, signed with the key the stack's JWKS trusts.
fn client_token(azp: &str) -> String {
    jwt::signed(&jwt::test_key(), &claims(azp))
}

fn keys_file() -> String {
    let all: Vec<String> = REAL.iter().map(|(p, var, _)| format!("{p}: {{api_key_env: {var}}}")).collect();
    let all = all.join(", ");
    format!(
        "keys:\n  - {{id: team-gemini, key: {QUERY_KEY}, providers: {{{all}}}}}\n\
         oauth_clients:\n  - {{client_id: billing-bot, profile: bots, providers: {{{all}}}}}\n\
         \x20 - {{client_id: tight-bot, providers: {{openai: {{api_key_env: REAL_OPENAI}}}}, limits: [{{usd: 0.000001, window: 1d}}]}}\n"
    )
}

fn start(dir: &TempDir) -> Stack {
    let file = dir.path().join("keys.yaml");
    std::fs::write(&file, keys_file()).expect("keys file");
    let plugin = json!({
        "profiles": {"default": {}, "bots": {}},
        "prices": {"openai:gpt-4o": {"input": 2.5, "output": 10}}
    });
    common::warden_stack_with(StackOptions {
        plugin_config: plugin,
        sidecar: Some(json!({"keys": {"file": file}})),
        sidecar_env: REAL.iter().map(|(_, var, value)| (var.to_string(), value.to_string())).collect(),
        jwks: Some(jwt::jwks()),
        log_level: "info".into(),
        ..StackOptions::default()
    })
}

/// One request per provider route, with no provider key of the client's own.
struct Call {
    provider: &'static str,
    path: &'static str,
    header: &'static str,
    bearer: bool,
    extra: &'static [(&'static str, &'static str)],
    body: Value,
}

fn calls() -> Vec<Call> {
    vec![
        Call {
            provider: "openai",
            path: "/v1/openai/chat/completions",
            header: "authorization",
            bearer: true,
            extra: &[],
            body: json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        },
        Call {
            provider: "anthropic",
            path: "/v1/anthropic/v1/messages",
            header: "x-api-key",
            bearer: false,
            // A key of the client's own in another header must not ride along with the gateway's.
            extra: &[("anthropic-version", "2023-06-01"), ("authorization", "Bearer sk-clients-own")],
            body: json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
        },
        Call {
            provider: "gemini",
            path: "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            header: "x-goog-api-key",
            bearer: false,
            extra: &[],
            body: json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        },
    ]
}

fn send_with_token(stack: &Stack, call: &Call, token: &str, id: &str) -> Reply {
    let mut headers = call.extra.to_vec();
    headers.push(("x-warden-identity", token));
    post(stack, call.path, &headers, &call.body, id)
}

#[test]
fn an_oauth_client_token_works_like_its_key_on_openai_anthropic_and_gemini() {
    let dir = TempDir::new("oauth-routes");
    let stack = start(&dir);
    let token = client_token("billing-bot");
    let mut f = Failures::default();
    for call in calls() {
        let id = format!("client-{}", call.provider);
        let reply = send_with_token(&stack, &call, &token, &id);
        f.check(reply.status == 200, || format!("{}: status {} {}", call.provider, reply.status, reply.text()));
        let seen = upstream(&stack, &id);
        let real = real_key(call.provider);
        let want = if call.bearer { format!("Bearer {real}") } else { real.to_owned() };
        f.check(header(&seen, call.header) == Some(want.as_str()), || {
            format!("{}: upstream {} = {:?}, want the real key", call.provider, call.header, header(&seen, call.header))
        });
        if call.header != "authorization" {
            f.check(header(&seen, "authorization").is_none(), || {
                format!("{}: the client's own authorization went upstream too", call.provider)
            });
        }
        f.check(header(&seen, "x-warden-identity").is_none(), || format!("{}: the token went upstream", call.provider));
        let record = log_line(&stack, &id).unwrap_or(Value::Null);
        f.check(record.pointer("/warden/key_id").and_then(Value::as_str) == Some("billing-bot"), || {
            format!("{}: record key_id is not the client id: {record}", call.provider)
        });
        f.check(record.pointer("/warden/profile").and_then(Value::as_str) == Some("bots"), || {
            format!("{}: the client's profile was not used: {record}", call.provider)
        });
    }
    f.assert_none("an OAuth client on every route");
    let logs = all_logs(&stack);
    for secret in REAL.iter().map(|(_, _, v)| *v).chain([token.as_str()]) {
        assert!(!logs.contains(secret), "a secret reached a log");
    }
    let stats = stack.prometheus();
    assert!(
        stats.lines().any(|l| l.starts_with("warden_requests_total{") && l.contains("key_id=\"billing-bot\"")),
        "requests are labelled by the client id"
    );
}

#[test]
fn a_clients_budget_is_refused_with_a_402_naming_the_client() {
    let dir = TempDir::new("oauth-budget");
    let stack = start(&dir);
    let call = calls().into_iter().next().expect("openai");
    let token = client_token("tight-bot");
    let first = send_with_token(&stack, &call, &token, "budget-1");
    assert_eq!(first.status, 200, "{}", first.text());
    // The first request's cost is counted when Envoy logs it, just after the client has its answer.
    let refused = (2..10)
        .map(|n| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            send_with_token(&stack, &call, &token, &format!("budget-{n}"))
        })
        .find(|r| r.status != 200)
        .expect("the budget was never enforced");
    let mut f = Failures::default();
    common::check_error_shape(&mut f, "over budget", &refused, 402, Shape::OpenAi);
    f.assert_none("the client's budget");
    assert!(
        refused.text().contains("OAuth client 'tight-bot'"),
        "the 402 does not name the client: {}",
        refused.text()
    );
}

#[test]
fn a_client_not_in_the_keys_file_passes_its_own_credentials_through() {
    let dir = TempDir::new("oauth-unknown");
    let stack = start(&dir);
    let call = calls().into_iter().next().expect("openai");
    let token = client_token("web-frontend");
    for n in 0..2 {
        // The second request is answered from the filter's cache of the sidecar's "unknown".
        let id = format!("unknown-client-{n}");
        let headers = [("x-warden-identity", token.as_str()), ("authorization", "Bearer sk-users-own")];
        let reply = post(&stack, call.path, &headers, &call.body, &id);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let seen = upstream(&stack, &id);
        assert_eq!(header(&seen, "authorization"), Some("Bearer sk-users-own"));
        let record = log_line(&stack, &id).unwrap_or(Value::Null);
        assert_eq!(record.pointer("/warden/key_id"), None, "{record}");
        assert_eq!(record.pointer("/warden/user_id").and_then(Value::as_str), Some("service-account"));
    }
}

#[test]
fn neither_a_forged_token_nor_a_header_can_claim_a_client() {
    let dir = TempDir::new("oauth-forged");
    let stack = start(&dir);
    let call = calls().into_iter().next().expect("openai");
    let other_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map(|k| k.serialize_pem())
        .unwrap_or_else(|e| panic!("rsa key: {e}"));
    let forged = jwt::signed(other_key.as_bytes(), &claims("billing-bot"));
    let reply = send_with_token(&stack, &call, &forged, "forged-token");
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert!(upstream(&stack, "forged-token").is_null(), "a forged token reached the provider");
    let hs256 =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims("billing-bot"), &EncodingKey::from_secret(b"k"))
            .unwrap_or_else(|e| panic!("sign: {e}"));
    assert_eq!(send_with_token(&stack, &call, &hs256, "forged-hs256").status, 401, "an HS256 token was accepted");

    // Claims as plain headers, and a token no JWKS vouches for in a header jwt_authn does not read.
    let unverified = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("billing-bot"),
        &EncodingKey::from_secret(b"anyone can sign this"),
    )
    .unwrap_or_else(|e| panic!("sign: {e}"));
    let bearer = format!("Bearer {unverified}");
    let headers = [
        ("azp", "billing-bot"),
        ("client_id", "billing-bot"),
        ("x-warden-client-id", "billing-bot"),
        ("authorization", bearer.as_str()),
    ];
    let reply = post(&stack, call.path, &headers, &call.body, "forged-headers");
    let seen = upstream(&stack, "forged-headers");
    assert!(
        !seen.to_string().contains(real_key("openai")),
        "a header claimed a client and got its key (status {})",
        reply.status
    );
    let record = log_line(&stack, "forged-headers").unwrap_or(Value::Null);
    assert_eq!(record.pointer("/warden/key_id"), None, "{record}");
}

#[test]
fn a_gemini_query_key_resolves_for_generate_content_and_sse_streams_and_is_never_logged() {
    let dir = TempDir::new("oauth-query");
    let stack = start(&dir);
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let base = "/v1/gemini/v1beta/models/gemini-2.5-flash";
    let mut f = Failures::default();
    for (id, path, stream) in [
        ("query-generate", format!("{base}:generateContent?key={QUERY_KEY}"), false),
        ("query-sse", format!("{base}:streamGenerateContent?alt=sse&key={QUERY_KEY}"), true),
    ] {
        let reply = post(&stack, &path, &[], &body, id);
        f.check(reply.status == 200, || format!("{id}: status {} {}", reply.status, reply.text()));
        if stream {
            f.check(reply.text().starts_with("data: "), || format!("{id}: not an SSE stream: {}", reply.text()));
        }
        let seen = upstream(&stack, id);
        f.check(header(&seen, "x-goog-api-key") == Some(real_key("gemini")), || {
            format!("{id}: upstream x-goog-api-key = {:?}", header(&seen, "x-goog-api-key"))
        });
        let upstream_path = seen.pointer("/path").and_then(Value::as_str).unwrap_or_default();
        f.check(!upstream_path.contains("key="), || format!("{id}: upstream path {upstream_path}"));
        f.check(!stream || upstream_path.ends_with("?alt=sse"), || format!("{id}: upstream path {upstream_path}"));
        f.check(!seen.to_string().contains("wdn_"), || format!("{id}: a virtual key reached the provider"));
        let line = log_line(&stack, id).unwrap_or(Value::Null);
        f.check(line.pointer("/warden/key_id").and_then(Value::as_str) == Some("team-gemini"), || {
            format!("{id}: record {line}")
        });
        let logged_path = line.pointer("/path").and_then(Value::as_str).unwrap_or_default();
        f.check(!logged_path.is_empty() && !logged_path.contains("wdn_"), || {
            format!("{id}: access log path {logged_path}")
        });
    }
    // Refused keys are cut out of the logged path too.
    let refused = post(&stack, &format!("{base}:generateContent?key={UNKNOWN_KEY}"), &[], &body, "query-unknown");
    common::check_error_shape(&mut f, "unknown query key", &refused, 401, Shape::Gemini);
    let two = format!("{base}:generateContent?key={QUERY_KEY}&key={UNKNOWN_KEY}");
    let refused = post(&stack, &two, &[], &body, "query-two");
    common::check_error_shape(&mut f, "two query keys", &refused, 400, Shape::Gemini);
    f.assert_none("virtual keys in the query");
    assert!(upstream(&stack, "query-unknown").is_null() && upstream(&stack, "query-two").is_null());
    let logs = all_logs(&stack);
    for secret in [QUERY_KEY, UNKNOWN_KEY, real_key("gemini")] {
        assert!(!logs.contains(secret), "a key reached a log: {secret}");
    }
}
