use super::*;
use serde_json::json;

#[test]
fn arguments_that_are_not_an_object_become_empty() {
    assert_eq!(parse_arguments("not json"), json!({}));
    assert_eq!(parse_arguments("[1]"), json!({}));
    assert_eq!(parse_arguments("{\"a\":1}"), json!({"a":1}));
}

#[test]
fn single_text_block_is_unwrapped() {
    assert_eq!(result_text(Some(&json!([{"type":"text","text":"hi"}]))), "hi");
    assert_eq!(result_text(Some(&json!("plain"))), "plain");
    assert_eq!(result_text(Some(&json!({"a":1}))), "{\"a\":1}");
}

#[test]
fn first_key_reports_the_spelling_that_was_used() {
    let v = json!({"function_call": {"name": "f"}});
    let (key, found) = first_key(&v, &["functionCall", "function_call"]).unwrap();
    assert_eq!(key, "function_call");
    assert_eq!(found, &json!({"name": "f"}));
    assert!(first_at(&json!([1]), &["a"]).is_none());
}

#[test]
fn pointer_tokens_are_escaped() {
    assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
}

#[test]
fn arguments_given_as_an_object_are_kept() {
    assert_eq!(arguments_value(Some(&json!({"a":1}))), json!({"a":1}));
    assert_eq!(arguments_value(Some(&json!("{\"a\":1}"))), json!({"a":1}));
    assert_eq!(arguments_value(Some(&json!(3))), json!({}));
    assert_eq!(arguments_value(None), json!({}));
}

#[test]
fn partial_arguments_match_a_full_parse_after_every_piece() {
    let pieces = ["  {\"", "a\":", "{\"b\":\"}\\\"", "[\"},", "\"c\":[1,{}]", "}", " ", "\n", "x"];
    let mut partial = PartialArguments::new();
    let mut view = json!({});
    for piece in pieces {
        if let Some(v) = partial.push(piece) {
            view = v;
        }
        assert_eq!(view, parse_arguments(partial.raw()), "after {:?}", partial.raw());
        assert_eq!(partial.parsed(), view);
    }
    assert_eq!(partial.raw(), "  {\"a\":{\"b\":\"}\\\"[\"},\"c\":[1,{}]} \nx");
}

#[test]
fn partial_arguments_view_is_the_object_once_it_closes() {
    let mut partial = PartialArguments::new();
    assert_eq!(partial.push("{\"q\":\"a{b\""), None);
    assert_eq!(partial.push("}"), Some(json!({"q":"a{b"})));
    assert_eq!(partial.push("  "), None);
}

#[test]
fn text_that_does_not_start_an_object_never_parses() {
    let mut partial = PartialArguments::new();
    assert_eq!(partial.push("[{}]"), None);
    assert_eq!(partial.parsed(), json!({}));
}

#[test]
fn custom_tool_input_is_exposed_under_input() {
    assert_eq!(custom_input("*** patch"), json!({"input":"*** patch"}));
}
