use super::*;
use crate::view::{Arguments, Unreadable};
use serde_json::json;

#[test]
fn only_one_json_object_is_readable_arguments() {
    assert_eq!(parse_arguments("{\"a\":1}"), json!({"a":1}));
    assert_eq!(parse_arguments("  "), json!({}), "blank text is no arguments");
    assert_eq!(parse_arguments("[1]"), Arguments::Unreadable(Unreadable::NotAnObject));
    assert_eq!(parse_arguments("\"/etc/passwd\""), Arguments::Unreadable(Unreadable::NotAnObject));
    assert_eq!(parse_arguments("not json"), Arguments::Unreadable(Unreadable::NotJson));
    assert_eq!(parse_arguments("{\"a\":1} {\"b\":2}"), Arguments::Unreadable(Unreadable::NotJson));
}

#[test]
fn arguments_a_client_parser_reads_but_ours_does_not_are_unreadable() {
    // Python's json takes NaN and Infinity; the Anthropic SDK completes cut-off JSON.
    for text in [
        r#"{"path": "/etc/passwd", "n": NaN}"#,
        r#"{"path": "/etc/passwd", "n": Infinity}"#,
        r#"{"path": "/etc/passwd", "n": 1e999}"#,
        r#"{"path": "\ud800/etc/passwd"}"#,
        r#"{"path": "/etc/passwd",}"#,
    ] {
        assert_eq!(parse_arguments(text), Arguments::Unreadable(Unreadable::NotJson), "{text}");
    }
    assert_eq!(parse_arguments(r#"{"path": "/etc/passwd""#), Arguments::Unreadable(Unreadable::Incomplete));
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
    assert_eq!(arguments_value(Some(&json!(3))), Arguments::Unreadable(Unreadable::NotAnObject));
    assert_eq!(arguments_value(Some(&json!("[]"))), Arguments::Unreadable(Unreadable::NotAnObject));
    assert_eq!(arguments_value(None), json!({}));
    assert_eq!(object_or_empty(Some(&Value::Null)), json!({}));
    assert_eq!(object_or_empty(Some(&json!("x"))), Arguments::Unreadable(Unreadable::NotAnObject));
}

/// What `PartialArguments` must read after any prefix of the text: the full parse, except that an
/// object still open is incomplete.
fn expected_view(raw: &str) -> Arguments {
    match parse_arguments(raw) {
        Arguments::Unreadable(Unreadable::NotJson) if raw.trim_start().starts_with('{') && !closes(raw) => {
            Arguments::Unreadable(Unreadable::Incomplete)
        }
        other => other,
    }
}

/// Whether the top-level object of `raw` has closed (outside strings).
fn closes(raw: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in raw.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[test]
fn partial_arguments_match_a_full_parse_after_every_piece() {
    let pieces = ["  {\"", "a\":", "{\"b\":\"}\\\"", "[\"},", "\"c\":[1,{}]", "}", " ", "\n", "x"];
    let mut partial = PartialArguments::new(1 << 20);
    let mut view = Arguments::empty();
    for piece in pieces {
        if let Some(v) = partial.push(piece) {
            view = v;
        }
        assert_eq!(view, expected_view(partial.raw()), "after {:?}", partial.raw());
        assert_eq!(partial.arguments(), view);
    }
    assert_eq!(partial.raw(), "  {\"a\":{\"b\":\"}\\\"[\"},\"c\":[1,{}]} \nx");
    assert_eq!(view, Arguments::Unreadable(Unreadable::NotJson));
}

#[test]
fn partial_arguments_read_as_incomplete_until_the_object_closes() {
    let mut partial = PartialArguments::new(1 << 20);
    assert_eq!(partial.push("{\"q\":\"a{b\""), Some(Arguments::Unreadable(Unreadable::Incomplete)));
    assert_eq!(partial.push("}"), Some(json!({"q":"a{b"}).into()));
    assert_eq!(partial.push("  "), None);
}

#[test]
fn text_that_does_not_start_an_object_never_parses() {
    let mut partial = PartialArguments::new(1 << 20);
    assert_eq!(partial.push("[{}]"), Some(Arguments::Unreadable(Unreadable::NotAnObject)));
    assert_eq!(partial.arguments(), Arguments::Unreadable(Unreadable::NotAnObject));
}

#[test]
fn partial_arguments_past_the_limit_are_too_large_and_not_kept() {
    let mut partial = PartialArguments::new(10);
    assert_eq!(partial.push("{\"a\":\""), Some(Arguments::Unreadable(Unreadable::Incomplete)));
    assert_eq!(partial.push("0123456789"), Some(Arguments::Unreadable(Unreadable::TooLarge)));
    assert_eq!(partial.push("\"}"), None);
    assert_eq!(partial.arguments(), Arguments::Unreadable(Unreadable::TooLarge));
    assert!(partial.raw().is_empty(), "the text is dropped, so memory stays bounded");
}

#[test]
fn custom_tool_input_is_exposed_under_input() {
    assert_eq!(custom_input("*** patch"), json!({"input":"*** patch"}));
}

#[test]
fn typed_text_keeps_only_text_parts() {
    let parts = json!([{"type": "text", "text": "a"}, {"type": "thinking", "text": "no"}, {"text": "untyped"},
        {"type": "text", "text": "b"}]);
    assert_eq!(typed_text(Some(&parts)), "a\nb");
    assert_eq!(typed_text(Some(&json!("plain"))), "plain");
    assert_eq!(typed_text(Some(&json!(3))), "");
    assert_eq!(typed_text(None), "");
}

#[test]
fn fields_of_anything_but_an_object_are_none() {
    assert_eq!(Value::Object(fields(&json!({"a": 1}))), json!({"a": 1}));
    assert!(fields(&json!([1])).is_empty() && fields(&Value::Null).is_empty());
}

#[test]
fn result_edits_write_only_where_the_pointer_leads() {
    let mut body = json!({"m": [{"role": "tool", "content": [1]}, {"role": "user", "content": "u"}, {"role": "tool"}]});
    assert!(set_content_where(&mut body, "/m/0/content", ("role", "tool"), "t0"));
    assert!(set_content_where(&mut body, "/m/2/content", ("role", "tool"), "t2"), "content added");
    assert!(!set_content_where(&mut body, "/m/1/content", ("role", "tool"), "x"), "not a tool message");
    assert!(!set_content_where(&mut body, "/m/0", ("role", "tool"), "x"), "not a content pointer");
    assert!(!set_content_where(&mut body, "/m/9/content", ("role", "tool"), "x"));
    assert_eq!(
        body,
        json!({"m": [{"role": "tool", "content": "t0"}, {"role": "user", "content": "u"},
        {"role": "tool", "content": "t2"}]})
    );

    assert!(replace_at(&mut body, "/m/1/content", json!([{"text": "r"}])));
    assert!(!replace_at(&mut body, "/m/1/missing", json!(1)));
    assert_eq!(body["m"][1]["content"], json!([{"text": "r"}]));

    let mut items = json!({"input": [{"output": {"a": 1}}, {}]});
    assert!(set_string_at(&mut items, "/input/0/output", "s0"));
    assert!(set_string_at(&mut items, "/input/1/out~1put", "s1"), "key added, unescaped");
    assert!(!set_string_at(&mut items, "/input/5/output", "x"));
    assert_eq!(items, json!({"input": [{"output": "s0"}, {"out/put": "s1"}]}));
}

#[derive(serde::Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    s: Option<Cow<'a, str>>,
}

#[test]
fn borrowed_str_borrows_plain_strings_and_reads_like_serdes_own() {
    let read = |json: &str| {
        serde_json::from_str::<Fields>(json)
            .map(|f| f.s.map(|s| (s.clone().into_owned(), matches!(s, Cow::Borrowed(_)))))
    };
    assert_eq!(read(r#"{"s":"plain"}"#).unwrap(), Some(("plain".to_owned(), true)));
    assert_eq!(read(r#"{"s":"a\nb\u00e9"}"#).unwrap(), Some(("a\nbé".to_owned(), false)), "escapes make a copy");
    assert_eq!(read(r#"{"s":null}"#).unwrap(), None);
    assert_eq!(read(r#"{}"#).unwrap(), None);
    for other in [r#"{"s":1}"#, r#"{"s":[]}"#, r#"{"s":{}}"#, r#"{"s":true}"#, r#"{"s":"\ud800"}"#] {
        assert!(read(other).is_err(), "{other}");
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Serdes<'a> {
            #[serde(borrow, default)]
            s: Option<Cow<'a, str>>,
        }
        assert!(serde_json::from_str::<Serdes>(other).is_err(), "serde's own refuses {other} too");
    }
}
