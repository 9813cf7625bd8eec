use super::*;
use crate::config::Config;
use crate::policy::condition::Test;

fn parse(profile: &str) -> Result<Config, ConfigError> {
    Config::from_json(format!(r#"{{"profiles":{{"ops":{profile}}},"default_profile":"ops"}}"#).as_bytes())
}

fn error_path(profile: &str) -> String {
    parse(profile).unwrap_err().path
}

#[test]
fn an_empty_profile_gets_the_default_actions() {
    let c = parse("{}").unwrap();
    let p = &c.profiles["ops"];
    assert!(!p.context_untrusted);
    assert_eq!(p.default_tool_action, ToolAction::BlockWhenContextIsUntrusted);
    assert_eq!(p.default_result_action, ResultAction::MarkAsUntrusted);
    assert_eq!(p.policies, CompiledPolicies::default());
}

#[test]
fn the_design_example_profile_is_accepted_and_compiled() {
    let c = parse(
        r#"{"context_untrusted": true,
            "tool_policies": [{"tool": "read_file", "conditions": [{"key": "path", "operator": "starts_with", "value": "/etc/"}],
                               "action": "block_always", "reason": "system files are off limits"}],
            "default_tool_action": "block_when_context_is_untrusted",
            "result_policies": [{"tool": "fetch_url", "conditions": [{"key": "items[*].source", "operator": "ends_with", "value": ".corp.example"}],
                                 "action": "mark_as_trusted", "description": "internal sources"}],
            "default_result_action": "mark_as_untrusted"}"#,
    )
    .unwrap();
    let p = &c.profiles["ops"].policies;
    assert!(c.profiles["ops"].context_untrusted);
    assert_eq!(p.tool_rules.len(), 1);
    assert_eq!(p.tool_rules[0].reason.as_deref(), Some("system files are off limits"));
    assert_eq!(p.result_rules[0].tool.as_str(), "fetch_url");
    assert_eq!(p.result_rules[0].conditions[0].test, Test::EndsWith(".corp.example".into()));
}

#[test]
fn unknown_fields_in_rows_and_conditions_are_rejected_with_their_path() {
    assert_eq!(
        error_path(r#"{"tool_policies":[{"tool":"t","action":"block_always","reasn":"x"}]}"#),
        "profiles.ops.tool_policies[0].reasn"
    );
    assert_eq!(
        error_path(
            r#"{"result_policies":[{"tool":"t","action":"mark_as_trusted","conditions":[{"key":"a","operator":"equal","value":"x","flags":"i"}]}]}"#
        ),
        "profiles.ops.result_policies[0].conditions[0].flags"
    );
    assert_eq!(error_path(r#"{"policies":{}}"#), "profiles.ops.policies");
}

#[test]
fn unknown_actions_and_operators_name_their_path() {
    assert_eq!(
        error_path(r#"{"tool_policies":[{"tool":"t","action":"block"}]}"#),
        "profiles.ops.tool_policies[0].action"
    );
    assert_eq!(error_path(r#"{"default_tool_action":"allow"}"#), "profiles.ops.default_tool_action");
    assert_eq!(error_path(r#"{"default_result_action":"sanitize"}"#), "profiles.ops.default_result_action");
    assert_eq!(
        error_path(
            r#"{"tool_policies":[{"tool":"t","action":"block_always"},{"tool":"t","action":"block_always","conditions":[{"key":"a","operator":"notEqual","value":"x"}]}]}"#
        ),
        "profiles.ops.tool_policies[1].conditions[0].operator"
    );
    assert_eq!(error_path(r#"{"tool_policies":[{"tool":"t"}]}"#), "profiles.ops.tool_policies[0].action");
}

#[test]
fn invalid_regex_is_a_config_error_naming_the_value() {
    let e = parse(
        r#"{"tool_policies":[{"tool":"a","action":"block_always"},{"tool":"b","action":"block_always"},
            {"tool":"c","action":"block_always","conditions":[{"key":"x","operator":"regex","value":"(unclosed"}]}]}"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "profiles.ops.tool_policies[2].conditions[0].value");
    assert!(e.message.contains("invalid regex"), "{e}");
    // Look-around is JavaScript syntax the regex engine does not have: refused, not ignored.
    assert_eq!(
        error_path(
            r#"{"result_policies":[{"tool":"c","action":"block_always","conditions":[{"key":"x","operator":"regex","value":"a(?=b)"}]}]}"#
        ),
        "profiles.ops.result_policies[0].conditions[0].value"
    );
}

#[test]
fn numbers_and_booleans_are_kept_as_their_json_text() {
    let c = parse(
        r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[
            {"key":"a","operator":"equal","value":8080},{"key":"b","operator":"equal","value":true},
            {"key":"c","operator":"equal","value":-1.5},{"key":"d","operator":"equal","value":"text"}]}]}"#,
    )
    .unwrap();
    let tests: Vec<&Test> = c.profiles["ops"].policies.tool_rules[0].conditions.iter().map(|c| &c.test).collect();
    assert_eq!(
        tests,
        [
            &Test::Equal("8080".into()),
            &Test::Equal("true".into()),
            &Test::Equal("-1.5".into()),
            &Test::Equal("text".into())
        ]
    );
}

#[test]
fn null_and_structured_values_are_refused() {
    for value in ["null", "[1]", r#"{"a":1}"#] {
        let profile = format!(
            r#"{{"tool_policies":[{{"tool":"t","action":"block_always","conditions":[{{"key":"a","operator":"equal","value":{value}}}]}}]}}"#
        );
        assert_eq!(error_path(&profile), "profiles.ops.tool_policies[0].conditions[0].value", "{value}");
    }
}

#[test]
fn call_keys_may_not_use_wildcards() {
    let e = parse(r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"to[*]","operator":"contains","value":"x"}]}]}"#)
        .unwrap_err();
    assert_eq!(e.path, "profiles.ops.tool_policies[0].conditions[0].key");
    assert!(e.message.contains("result policies"), "{e}");
}

#[test]
fn result_keys_allow_one_wildcard_only() {
    assert!(parse(r#"{"result_policies":[{"tool":"t","action":"mark_as_trusted","conditions":[{"key":"items[*].source","operator":"contains","value":"x"}]}]}"#).is_ok());
    let e = parse(
        r#"{"result_policies":[{"tool":"t","action":"mark_as_trusted","conditions":[
            {"key":"a","operator":"equal","value":"x"},{"key":"items[*].tags[*]","operator":"contains","value":"x"}]}]}"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "profiles.ops.result_policies[0].conditions[1].key");
}

#[test]
fn malformed_keys_name_their_path() {
    for key in ["", "a..b", "a[x]", "$.content"] {
        let profile = format!(
            r#"{{"result_policies":[{{"tool":"t","action":"mark_as_trusted","conditions":[{{"key":"{key}","operator":"equal","value":"x"}}]}}]}}"#
        );
        assert_eq!(error_path(&profile), "profiles.ops.result_policies[0].conditions[0].key", "{key}");
    }
}

#[test]
fn context_keys_are_checked() {
    assert!(parse(r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"context.agent_id","operator":"equal","value":"a"}]}]}"#).is_ok());
    assert_eq!(
        error_path(
            r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"context.team","operator":"equal","value":"a"}]}]}"#
        ),
        "profiles.ops.tool_policies[0].conditions[0].key"
    );
    assert_eq!(
        error_path(
            r#"{"tool_policies":[{"tool":"t","action":"block_always","conditions":[{"key":"context.groups","operator":"equal","value":"a"}]}]}"#
        ),
        "profiles.ops.tool_policies[0].conditions[0].operator"
    );
}

#[test]
fn empty_tool_names_are_refused() {
    assert_eq!(
        error_path(r#"{"tool_policies":[{"tool":" ","action":"block_always"}]}"#),
        "profiles.ops.tool_policies[0].tool"
    );
    assert_eq!(
        error_path(r#"{"result_policies":[{"tool":"","action":"block_always"}]}"#),
        "profiles.ops.result_policies[0].tool"
    );
}

#[test]
fn blank_reasons_fall_back_to_the_built_in_text() {
    let c = parse(r#"{"tool_policies":[{"tool":"t","action":"block_always","reason":"  "}]}"#).unwrap();
    assert_eq!(c.profiles["ops"].policies.tool_rules[0].reason, None);
}

#[test]
fn unicode_classes_are_a_config_error_and_case_folding_is_ascii() {
    let profile = |re: &str| {
        format!(
            r#"{{"tool_policies":[{{"tool":"t","action":"block_always","conditions":[{{"key":"a","operator":"regex","value":"{re}"}}]}}]}}"#
        )
    };
    assert_eq!(error_path(&profile(r"\\p{Greek}")), "profiles.ops.tool_policies[0].conditions[0].value");
    let c = parse(&profile("(?i)^drop")).unwrap();
    let Test::Regex(re) = &c.profiles["ops"].policies.tool_rules[0].conditions[0].test else { panic!("not a regex") };
    assert!(re.0.is_match("DROP table") && re.0.is_match("Drop"));
}
