//! Covers the reference's `guardrails/tool-invocation.test.ts` rows that apply to us (built-in tool
//! bypass and org "permissive" mode do not exist here) and DESIGN §5.1.

use super::*;
use crate::policy::compiled;
use serde_json::{json, Value};

const TRUSTED: bool = true;
const UNTRUSTED: bool = false;

fn call(name: &str, arguments: Value) -> ToolCall {
    ToolCall { id: None, name: name.into(), arguments: arguments.into() }
}

fn eval_with(profile: &str, calls: &[ToolCall], declared: &[&str], ctx: &Context, trusted: bool) -> ToolOutcome {
    let declared: Vec<Declared> = declared.iter().map(|d| Declared { name: d.to_string(), custom: false }).collect();
    evaluate(&compiled(profile), calls, &declared, ctx, trusted)
}

fn eval(profile: &str, calls: &[ToolCall], trusted: bool) -> ToolOutcome {
    eval_with(profile, calls, &[], &Context::default(), trusted)
}

/// The reason the single call was blocked, or `None` if it may run.
fn verdict(profile: &str, name: &str, arguments: Value, trusted: bool) -> Option<String> {
    eval(profile, &[call(name, arguments)], trusted).blocked.into_iter().next().map(|b| b.reason)
}

const ETC_BLOCKED: &str = r#"{"tool_policies":[{"tool":"read_file","conditions":[{"key":"file_path","operator":"contains","value":"/etc/"}],
    "action":"block_always","reason":"Reading /etc/ files is not allowed for security reasons"}]}"#;

#[test]
fn no_tool_calls_means_nothing_is_blocked() {
    let out = eval(ETC_BLOCKED, &[], UNTRUSTED);
    assert_eq!(out, ToolOutcome::default());
}

#[test]
fn undeclared_tool_is_blocked_with_its_own_reason() {
    let out = eval_with("{}", &[call("delete_repo", json!({}))], &["read_file"], &Context::default(), TRUSTED);
    assert!(out.any_blocked);
    assert!(out.blocked[0].reason.contains("did not declare"), "{}", out.blocked[0].reason);
}

#[test]
fn undeclared_check_is_skipped_when_the_request_declares_no_tools() {
    let out = eval_with("{}", &[call("anything", json!({}))], &[], &Context::default(), TRUSTED);
    assert!(!out.any_blocked);
}

#[test]
fn one_undeclared_call_blocks_the_batch_and_only_it_is_named() {
    let calls =
        [call("read_file", json!({"file_path": "/tmp/a"})), call("rm", json!({})), call("read_file", json!({}))];
    let out = eval_with("{}", &calls, &["read_file"], &Context::default(), TRUSTED);
    assert!(out.any_blocked);
    assert_eq!(out.blocked.len(), 1);
    assert_eq!((out.blocked[0].index, out.blocked[0].name.as_str()), (1, "rm"));
}

#[test]
fn block_always_blocks_even_in_trusted_context() {
    let profile = r#"{"tool_policies":[{"tool":"shell","action":"block_always"}]}"#;
    assert_eq!(
        verdict(profile, "shell", json!({"cmd": "ls"}), TRUSTED).as_deref(),
        Some("a policy blocks this tool call")
    );
}

#[test]
fn tool_without_policy_is_blocked_in_untrusted_context() {
    let reason = verdict("{}", "read_file", json!({}), UNTRUSTED).unwrap();
    assert!(reason.contains("no policy allows this tool"), "{reason}");
}

#[test]
fn tool_without_policy_is_allowed_in_trusted_context() {
    assert_eq!(verdict("{}", "read_file", json!({}), TRUSTED), None);
}

#[test]
fn conditional_policy_blocks_when_its_conditions_match() {
    let reason = verdict(ETC_BLOCKED, "read_file", json!({"file_path": "/etc/passwd"}), TRUSTED);
    assert_eq!(reason.as_deref(), Some("Reading /etc/ files is not allowed for security reasons"));
}

#[test]
fn conditional_policy_allows_when_its_conditions_do_not_match() {
    assert_eq!(verdict(ETC_BLOCKED, "read_file", json!({"file_path": "/tmp/test"}), TRUSTED), None);
}

/// The reference e2e "blocks tool invocation when untrusted data is consumed": the context starts
/// untrusted and the model asks for /etc/passwd.
#[test]
fn etc_read_is_blocked_with_the_policy_reason_in_untrusted_context() {
    let reason = verdict(ETC_BLOCKED, "read_file", json!({"file_path": "/etc/passwd"}), UNTRUSTED);
    assert_eq!(reason.as_deref(), Some("Reading /etc/ files is not allowed for security reasons"));
}

#[test]
fn default_tool_action_allow_lets_unlisted_tools_run_in_untrusted_context() {
    let profile = r#"{"default_tool_action":"allow_when_context_is_untrusted"}"#;
    assert_eq!(verdict(profile, "anything", json!({}), UNTRUSTED), None);
}

#[test]
fn default_tool_action_block_always_blocks_unlisted_tools_only() {
    let profile = r#"{"default_tool_action":"block_always","tool_policies":[{"tool":"ok","action":"block_when_context_is_untrusted"}]}"#;
    assert!(verdict(profile, "other", json!({}), TRUSTED).unwrap().contains("profile blocks every tool"));
    assert_eq!(verdict(profile, "ok", json!({}), TRUSTED), None);
}

#[test]
fn matching_conditional_rows_override_default_rows() {
    let profile = r#"{"tool_policies":[
        {"tool":"send_email","action":"block_always","reason":"external mail is off"},
        {"tool":"send_email","conditions":[{"key":"to","operator":"ends_with","value":"@corp.example"}],"action":"allow_when_context_is_untrusted"}]}"#;
    assert_eq!(verdict(profile, "send_email", json!({"to": "ann@corp.example"}), UNTRUSTED), None);
    assert_eq!(
        verdict(profile, "send_email", json!({"to": "x@evil.example"}), TRUSTED).as_deref(),
        Some("external mail is off")
    );
}

#[test]
fn default_rows_apply_when_no_conditional_row_matches() {
    let profile = r#"{"tool_policies":[
        {"tool":"t","conditions":[{"key":"mode","operator":"equal","value":"dangerous"}],"action":"block_always"},
        {"tool":"t","action":"allow_when_context_is_untrusted"}]}"#;
    assert_eq!(verdict(profile, "t", json!({"mode": "safe"}), UNTRUSTED), None);
    assert!(verdict(profile, "t", json!({"mode": "dangerous"}), UNTRUSTED).is_some());
}

#[test]
fn any_blocking_row_of_the_tier_blocks_and_the_first_gives_the_reason() {
    let profile = r#"{"tool_policies":[
        {"tool":"t","conditions":[{"key":"a","operator":"equal","value":"1"}],"action":"allow_when_context_is_untrusted"},
        {"tool":"t","conditions":[{"key":"a","operator":"starts_with","value":"1"}],"action":"block_when_context_is_untrusted","reason":"first"},
        {"tool":"t","conditions":[{"key":"a","operator":"contains","value":"1"}],"action":"block_always","reason":"second"}]}"#;
    assert_eq!(verdict(profile, "t", json!({"a": "1"}), UNTRUSTED).as_deref(), Some("first"));
    assert_eq!(verdict(profile, "t", json!({"a": "1"}), TRUSTED).as_deref(), Some("second"));
}

#[test]
fn in_untrusted_context_only_allow_rows_let_a_call_through() {
    let row = |action: &str| format!(r#"{{"tool_policies":[{{"tool":"t","action":"{action}"}}]}}"#);
    assert_eq!(verdict(&row("allow_when_context_is_untrusted"), "t", json!({}), UNTRUSTED), None);
    let reason = verdict(&row("block_when_context_is_untrusted"), "t", json!({}), UNTRUSTED).unwrap();
    assert!(reason.contains("this tool's policy blocks it"), "{reason}");
    assert_eq!(verdict(&row("block_when_context_is_untrusted"), "t", json!({}), TRUSTED), None);
}

#[test]
fn conditions_of_a_row_must_all_match() {
    let profile = r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[
        {"key":"a","operator":"equal","value":"x"},{"key":"b","operator":"equal","value":"y"}]}]}"#;
    assert!(verdict(profile, "t", json!({"a": "x", "b": "y"}), TRUSTED).is_some());
    assert_eq!(verdict(profile, "t", json!({"a": "x", "b": "z"}), TRUSTED), None);
}

#[test]
fn require_approval_blocks_with_its_own_reason() {
    let profile = r#"{"tool_policies":[{"tool":"deploy","action":"require_approval"}]}"#;
    let reason = verdict(profile, "deploy", json!({}), TRUSTED).unwrap();
    assert!(reason.contains("approval"), "{reason}");
    let profile =
        r#"{"tool_policies":[{"tool":"deploy","action":"require_approval","reason":"deploys need a human"}]}"#;
    let reason = verdict(profile, "deploy", json!({}), UNTRUSTED).unwrap();
    assert!(reason.starts_with("deploys need a human") && reason.contains("approval"), "{reason}");
}

#[test]
fn numbers_and_booleans_compare_by_their_json_text() {
    let profile = r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[
        {"key":"port","operator":"equal","value":8080},{"key":"force","operator":"equal","value":true},{"key":"ratio","operator":"equal","value":"0.5"}]}]}"#;
    assert!(verdict(profile, "t", json!({"port": 8080, "force": true, "ratio": 0.5}), TRUSTED).is_some());
    // A string argument equal to the text matches too: comparison is by text.
    assert!(verdict(profile, "t", json!({"port": "8080", "force": "true", "ratio": "0.5"}), TRUSTED).is_some());
    assert_eq!(verdict(profile, "t", json!({"port": 8081, "force": true, "ratio": 0.5}), TRUSTED), None);
    assert_eq!(verdict(profile, "t", json!({"port": 8080, "force": false, "ratio": 0.5}), TRUSTED), None);
}

#[test]
fn structured_arguments_compare_by_their_compact_json_text() {
    let profile = r#"{"tool_policies":[{"tool":"mail","action":"block_always","conditions":[{"key":"to","operator":"contains","value":"@evil.example"}]}]}"#;
    assert!(verdict(profile, "mail", json!({"to": ["a@corp.example", "b@evil.example"]}), TRUSTED).is_some());
    assert_eq!(verdict(profile, "mail", json!({"to": ["a@corp.example"]}), TRUSTED), None);
}

#[test]
fn every_string_operator_behaves_as_named() {
    let case = |op: &str, value: &str, arg: &str| {
        let profile = format!(
            r#"{{"tool_policies":[{{"tool":"t","action":"block_always","conditions":[{{"key":"p","operator":"{op}","value":"{value}"}}]}}]}}"#
        );
        verdict(&profile, "t", json!({ "p": arg }), TRUSTED).is_some()
    };
    assert!(case("equal", "abc", "abc") && !case("equal", "abc", "abcd"));
    assert!(case("not_equal", "abc", "abcd") && !case("not_equal", "abc", "abc"));
    assert!(case("contains", "bc", "abcd") && !case("contains", "x", "abcd"));
    assert!(case("not_contains", "x", "abcd") && !case("not_contains", "bc", "abcd"));
    assert!(case("starts_with", "/etc", "/etc/passwd") && !case("starts_with", "/etc", "/tmp/etc"));
    assert!(case("ends_with", ".pem", "key.pem") && !case("ends_with", ".pem", "key.pem.bak"));
}

#[test]
fn regex_operator_searches_anywhere_in_the_value() {
    let profile = r#"{"tool_policies":[{"tool":"sql","action":"block_always","reason":"no DDL","conditions":[
        {"key":"query","operator":"regex","value":"(?i)\\b(drop|truncate)\\s+table\\b"}]}]}"#;
    assert_eq!(
        verdict(profile, "sql", json!({"query": "select 1; DROP TABLE users"}), TRUSTED).as_deref(),
        Some("no DDL")
    );
    assert_eq!(verdict(profile, "sql", json!({"query": "select * from droptable"}), TRUSTED), None);
    let anchored = r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"n","operator":"regex","value":"^[0-9]+$"}]}]}"#;
    assert!(verdict(anchored, "t", json!({"n": 42}), TRUSTED).is_some());
    assert_eq!(verdict(anchored, "t", json!({"n": "4x2"}), TRUSTED), None);
}

#[test]
fn glob_rows_apply_to_every_matching_tool() {
    let profile = r#"{"tool_policies":[{"tool":"github__*","action":"allow_when_context_is_untrusted"},{"tool":"*__delete_*","action":"block_always"}]}"#;
    assert_eq!(verdict(profile, "github__list_issues", json!({}), UNTRUSTED), None);
    assert!(verdict(profile, "github__delete_repo", json!({}), UNTRUSTED).is_some());
    assert!(verdict(profile, "gitlab__list_issues", json!({}), UNTRUSTED).is_some());
}

#[test]
fn nested_argument_paths_are_followed() {
    let profile = r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"req.headers[1].value","operator":"equal","value":"secret"}]}]}"#;
    assert!(
        verdict(profile, "t", json!({"req": {"headers": [{"value": "a"}, {"value": "secret"}]}}), TRUSTED).is_some()
    );
    assert_eq!(verdict(profile, "t", json!({"req": {"headers": [{"value": "secret"}]}}), TRUSTED), None);
}

#[test]
fn a_missing_argument_never_matches_not_even_not_equal() {
    let profile = r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"mode","operator":"not_equal","value":"safe"}]}]}"#;
    assert_eq!(verdict(profile, "t", json!({}), TRUSTED), None);
    assert_eq!(verdict(profile, "t", json!({"mode": null}), TRUSTED), None);
    assert!(verdict(profile, "t", json!({"mode": "fast"}), TRUSTED).is_some());
}

#[test]
fn context_keys_match_the_request_context() {
    let profile = r#"{"tool_policies":[
        {"tool":"deploy","action":"allow_when_context_is_untrusted","conditions":[
            {"key":"context.agent_id","operator":"equal","value":"release-bot"},
            {"key":"context.groups","operator":"contains","value":"sre"}]},
        {"tool":"deploy","action":"block_always","conditions":[{"key":"context.user_id","operator":"starts_with","value":"guest-"}]},
        {"tool":"deploy","action":"block_always","conditions":[{"key":"context.session_id","operator":"regex","value":"^test-"}]}]}"#;
    let run = |ctx: Context| eval_with(profile, &[call("deploy", json!({}))], &[], &ctx, UNTRUSTED).any_blocked;
    let bot = Context {
        agent_id: Some("release-bot".into()),
        groups: vec!["dev".into(), "sre".into()],
        ..Default::default()
    };
    assert!(!run(bot.clone()));
    assert!(run(Context { groups: vec!["dev".into()], ..bot.clone() }));
    assert!(run(Context { user_id: Some("guest-7".into()), ..bot.clone() }));
    assert!(run(Context { session_id: Some("test-1".into()), ..bot.clone() }));
    // Absent context values never match, so nothing allows the call.
    assert!(run(Context::default()));
}

#[test]
fn not_contains_on_groups_is_true_for_a_caller_outside_the_group() {
    let profile = r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"context.groups","operator":"not_contains","value":"admins"}]}]}"#;
    let run = |groups: Vec<String>| {
        eval_with(profile, &[call("t", json!({}))], &[], &Context { groups, ..Default::default() }, TRUSTED).any_blocked
    };
    assert!(run(vec![]));
    assert!(run(vec!["dev".into()]));
    assert!(!run(vec!["admins".into()]));
}

#[test]
fn one_blocked_call_blocks_the_batch_and_is_reported_alone() {
    let calls = [
        call("read_file", json!({"file_path": "/tmp/a"})),
        call("read_file", json!({"file_path": "/etc/shadow"})),
        call("read_file", json!({"file_path": "/home/x"})),
    ];
    let out = eval(ETC_BLOCKED, &calls, TRUSTED);
    assert!(out.any_blocked);
    assert_eq!(out.blocked.len(), 1);
    assert_eq!(out.blocked[0].index, 1);
    assert_eq!(out.blocked[0].arguments, json!({"file_path": "/etc/shadow"}));
}

#[test]
fn every_blocked_call_of_a_response_is_reported() {
    let calls = [call("read_file", json!({"file_path": "/etc/a"})), call("x", json!({}))];
    let out = eval(ETC_BLOCKED, &calls, UNTRUSTED);
    assert_eq!(out.blocked.iter().map(|b| b.index).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn could_block_follows_the_rows_that_apply_to_the_tool() {
    let cb = |profile: &str, tool: &str, trusted: bool| could_block(&compiled(profile), tool, trusted);
    // No rows: the profile default (block in untrusted context).
    assert!(!cb("{}", "t", TRUSTED));
    assert!(cb("{}", "t", UNTRUSTED));
    assert!(!cb(r#"{"default_tool_action":"allow_when_context_is_untrusted"}"#, "t", UNTRUSTED));
    // An allow-always default row streams live in both states.
    let allow = r#"{"tool_policies":[{"tool":"t","action":"allow_when_context_is_untrusted"}]}"#;
    assert!(!cb(allow, "t", TRUSTED) && !cb(allow, "t", UNTRUSTED));
    assert!(cb(allow, "other", UNTRUSTED));
    // A conditional block row could match some arguments.
    let cond = r#"{"tool_policies":[{"tool":"t","action":"allow_when_context_is_untrusted"},
        {"tool":"t","action":"block_always","conditions":[{"key":"p","operator":"equal","value":"x"}]}]}"#;
    assert!(cb(cond, "t", TRUSTED));
    // Conditional allow rows over an allow default never block.
    let cond_allow = r#"{"tool_policies":[{"tool":"t","action":"allow_when_context_is_untrusted"},
        {"tool":"t","action":"allow_when_context_is_untrusted","conditions":[{"key":"p","operator":"equal","value":"x"}]}]}"#;
    assert!(!cb(cond_allow, "t", UNTRUSTED));
    // Conditional allow rows cannot rescue a blocking default: arguments may miss them.
    let rescue = r#"{"tool_policies":[{"tool":"t","action":"allow_when_context_is_untrusted","conditions":[{"key":"p","operator":"equal","value":"x"}]}]}"#;
    assert!(!cb(rescue, "t", TRUSTED));
    assert!(cb(rescue, "t", UNTRUSTED));
    // block_when_context_is_untrusted blocks only in untrusted context; require_approval always.
    let when = r#"{"default_tool_action":"allow_when_context_is_untrusted","tool_policies":[
        {"tool":"t","action":"block_when_context_is_untrusted","conditions":[{"key":"p","operator":"equal","value":"x"}]}]}"#;
    assert!(!cb(when, "t", TRUSTED) && cb(when, "t", UNTRUSTED));
    assert!(cb(r#"{"tool_policies":[{"tool":"t","action":"require_approval"}]}"#, "t", TRUSTED));
    // Glob rows count, and one blocking default row among several is enough.
    let globs = r#"{"tool_policies":[{"tool":"gh__*","action":"allow_when_context_is_untrusted"},{"tool":"gh__rm","action":"block_always"}]}"#;
    assert!(!cb(globs, "gh__ls", UNTRUSTED));
    assert!(cb(globs, "gh__rm", TRUSTED));
}

/// Whenever `could_block` says a tool may stream live, no arguments or context may block it.
#[test]
fn could_block_false_means_evaluation_never_blocks() {
    let profiles = [
        "{}",
        r#"{"default_tool_action":"allow_when_context_is_untrusted"}"#,
        r#"{"tool_policies":[{"tool":"t","action":"allow_when_context_is_untrusted"},
            {"tool":"t","action":"block_when_context_is_untrusted","conditions":[{"key":"p","operator":"equal","value":"x"}]}]}"#,
        r#"{"tool_policies":[{"tool":"t","action":"allow_when_context_is_untrusted","conditions":[{"key":"p","operator":"equal","value":"x"}]}]}"#,
        r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"context.user_id","operator":"equal","value":"u"}]},
            {"tool":"*","action":"allow_when_context_is_untrusted"}]}"#,
    ];
    let args = [json!({}), json!({"p": "x"}), json!({"p": "y"}), json!({"p": 1})];
    let contexts = [Context::default(), Context { user_id: Some("u".into()), ..Default::default() }];
    for profile in profiles {
        let policies = compiled(profile);
        for trusted in [TRUSTED, UNTRUSTED] {
            if could_block(&policies, "t", trusted) {
                continue;
            }
            for a in &args {
                for ctx in &contexts {
                    let out = evaluate(&policies, &[call("t", a.clone())], &[], ctx, trusted);
                    assert!(!out.any_blocked, "{profile} {a} trusted={trusted}");
                }
            }
        }
    }
}

#[test]
fn a_call_of_the_other_kind_than_the_declared_tool_is_blocked() {
    // A custom (free-form) call to a tool declared as a function: a client that dispatches by name
    // would parse the text as arguments the rules never saw.
    let custom = ToolCall {
        id: None,
        name: "read_file".into(),
        arguments: crate::view::Arguments::Custom(r#"{"path":"/etc/passwd"}"#.into()),
    };
    let declared = [Declared { name: "read_file".into(), custom: false }];
    let out = evaluate(&compiled("{}"), std::slice::from_ref(&custom), &declared, &Context::default(), TRUSTED);
    assert!(out.any_blocked && out.blocked[0].reason.contains("free-form"), "{out:?}");
    let declared_custom = [Declared { name: "read_file".into(), custom: true }];
    let out = evaluate(&compiled("{}"), &[custom], &declared_custom, &Context::default(), TRUSTED);
    assert!(!out.any_blocked, "{out:?}");
    let function = call("read_file", json!({"path": "/tmp/x"}));
    let out = evaluate(&compiled("{}"), &[function], &declared_custom, &Context::default(), TRUSTED);
    assert!(out.any_blocked, "a function call to a custom tool is blocked too");
}

#[test]
fn custom_call_text_is_addressed_as_input() {
    let rule = r#"{"tool_policies":[{"tool":"apply_patch","conditions":[{"key":"input","operator":"contains","value":"/etc/"}],"action":"block_always"}]}"#;
    let patch = |text: &str| ToolCall {
        id: None,
        name: "apply_patch".into(),
        arguments: crate::view::Arguments::Custom(text.into()),
    };
    assert!(eval(rule, &[patch("*** Update File: /etc/hosts")], TRUSTED).any_blocked);
    assert!(!eval(rule, &[patch("*** Update File: src/main.rs")], TRUSTED).any_blocked);
}

#[test]
fn a_name_that_came_in_conflicting_pieces_is_blocked_even_where_nothing_is() {
    let allow_all = r#"{"default_tool_action":"allow_when_context_is_untrusted"}"#;
    let split = ToolCall {
        id: None,
        name: "read_".into(),
        arguments: crate::view::Arguments::Unreadable(crate::view::Unreadable::AmbiguousName),
    };
    assert!(eval(allow_all, &[split], UNTRUSTED).any_blocked);
}
