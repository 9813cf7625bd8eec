//! Identity from verified JWTs (DESIGN §4.6): Envoy's `jwt_authn` verifies an RS256 token against
//! a local JWKS and leaves its claims in dynamic metadata; Warden takes `sub` and the groups claim
//! from there. `context.groups` conditions allow and block tool calls in every API; a forged
//! `x-warden-user-id` header never overrides the verified `sub`; a bad token never reaches Warden.

use crate::common;

use common::jwt::{self, now, ISSUER};
use common::policy::{matrix, send};
use serde_json::{json, Value};
use warden_e2e::policy::{self, PolicyRecord, Refusal};
use warden_e2e::run::{self, Failures, Via};
use warden_e2e::{Stack, StackOptions};

fn token(sub: &str, groups: &[&str]) -> String {
    jwt::signed(
        &jwt::test_key(),
        &json!({"iss": ISSUER, "aud": "warden", "sub": sub, "groups": groups, "exp": now() + 600, "iat": now()}),
    )
}

/// The policy test config plus a profile where `delete_repo` is blocked for anyone outside `sre`
/// and for the user `mallory`.
fn jwt_stack() -> Stack {
    let mut config = policy::plugin_config();
    config["profiles"]["groups"] = json!({
        "tool_policies": [
            {"tool": "delete_repo", "action": "block_always", "reason": "only SRE may delete repositories",
             "conditions": [{"key": "context.groups", "operator": "not_contains", "value": "sre"}]},
            {"tool": "delete_repo", "action": "block_always", "reason": "mallory may not delete anything",
             "conditions": [{"key": "context.user_id", "operator": "equal", "value": "mallory"}]}
        ],
        "default_tool_action": "allow_when_context_is_untrusted"
    });
    common::warden_stack_with(StackOptions {
        plugin_config: config,
        jwks: Some(jwt::jwks()),
        ..StackOptions::default()
    })
}

fn cases() -> Vec<warden_e2e::cases::Case> {
    policy::api_cases("groups").into_iter().map(|c| policy::with_tools(c, &["delete_repo"])).collect()
}

fn delete_repo() -> (&'static str, Value) {
    ("delete_repo", json!({"repo": "warden/main"}))
}

fn refusal(reason: &str) -> Refusal {
    Refusal { tools: vec!["delete_repo"], mentions: vec![reason.into()], kept_text: None, batch: vec![] }
}

#[test]
fn groups_from_a_verified_token_allow_and_block_tool_calls_in_every_api() {
    let stack = jwt_stack();
    let sre = token("alice", &["dev", "sre"]);
    let dev = token("bob", &["dev"]);
    let runs = matrix(cases(), &[None, Some(7)]);
    let mut f = Failures::default();
    let allowed = run::parallel(&runs, 8, |(case, chunk)| {
        send(&stack, case, "text", &[delete_repo()], *chunk, &[("x-warden-identity", sre.as_str())])
    });
    for o in &allowed {
        run::check_bytes(&mut f, o, Via::Filter);
        let record = policy::check_policy_record(
            &mut f,
            &stack,
            o,
            &PolicyRecord { context_trusted: true, ..PolicyRecord::default() },
        );
        f.check(record.get("user_id") == Some(&json!("alice")), || {
            format!("{}: record user_id {:?}", o.label, record.get("user_id"))
        });
    }
    let blocked = run::parallel(&runs, 8, |(case, chunk)| {
        send(&stack, case, "text", &[delete_repo()], *chunk, &[("x-warden-identity", dev.as_str())])
    });
    for o in &blocked {
        policy::check_refusal(&mut f, o, &refusal("only SRE may delete repositories"));
    }
    // No token: no groups, so the call is blocked too; and a group header is no way in.
    let anonymous = run::parallel(&runs, 8, |(case, chunk)| {
        send(&stack, case, "text", &[delete_repo()], *chunk, &[("x-warden-groups", "sre")])
    });
    for o in &anonymous {
        policy::check_refusal(&mut f, o, &refusal("only SRE may delete repositories"));
    }
    f.assert_none("delete_repo under context.groups");
}

#[test]
fn a_forged_user_header_never_overrides_the_verified_sub() {
    let stack = jwt_stack();
    let mallory = token("mallory", &["sre"]);
    let mut f = Failures::default();
    for case in cases().iter().filter(|c| !c.stream) {
        let headers = [("x-warden-identity", mallory.as_str()), ("x-warden-user-id", "alice")];
        let o = send(&stack, case, "text", &[delete_repo()], None, &headers);
        policy::check_refusal(&mut f, &o, &refusal("mallory may not delete anything"));
        let line = run::log_line(&stack, &o.request_id).unwrap_or(Value::Null);
        let user = line.pointer("/warden/user_id").cloned();
        f.check(user == Some(json!("mallory")), || format!("{}: record user_id {user:?}, want mallory", o.label));
    }
    // Without a token the header is the (unverified) identity, as before.
    let case = cases().into_iter().find(|c| !c.stream).unwrap_or_else(|| panic!("no case"));
    let o = send(&stack, &case, "text", &[delete_repo()], None, &[("x-warden-user-id", "mallory")]);
    policy::check_refusal(&mut f, &o, &refusal("only SRE may delete repositories"));
    f.assert_none("forged x-warden-user-id");
}

#[test]
fn a_token_with_a_bad_signature_or_past_its_expiry_is_refused_before_warden() {
    let stack = jwt_stack();
    let other_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map(|k| k.serialize_pem())
        .unwrap_or_else(|e| panic!("rsa key: {e}"));
    let forged = jwt::signed(
        other_key.as_bytes(),
        &json!({"iss": ISSUER, "aud": "warden", "sub": "alice", "groups": ["sre"], "exp": now() + 600}),
    );
    let expired = jwt::signed(
        &jwt::test_key(),
        &json!({"iss": ISSUER, "aud": "warden", "sub": "alice", "groups": ["sre"], "exp": now() - 3600}),
    );
    let case = cases().into_iter().find(|c| !c.stream).unwrap_or_else(|| panic!("no case"));
    let mut f = Failures::default();
    for (what, token) in [("bad signature", forged), ("expired", expired)] {
        let o = send(&stack, &case, "text", &[delete_repo()], None, &[("x-warden-identity", token.as_str())]);
        f.check(o.reply.status == 401, || format!("{what}: status {} ({})", o.reply.status, o.reply.text()));
        f.check(o.sent.is_empty(), || format!("{what}: the request reached the provider"));
    }
    f.assert_none("bad tokens");
}
