use super::*;
use serde_json::{json, Value};

#[test]
fn an_edit_is_never_lost_to_a_later_one_that_changes_nothing() {
    let mut body = Body::parse(br#"{"a":1}"#).unwrap();
    assert!(body.edit(|v| {
        v["a"] = json!(2);
        true
    }));
    assert!(!body.edit(|_| false));
    assert_eq!(body.into_upstream().unwrap(), br#"{"a":2}"#);
}

#[test]
fn an_untouched_body_goes_as_the_client_sent_it() {
    let mut body = Body::parse(br#"{"a": 1}"#).unwrap();
    body.edit(|_| false);
    assert_eq!(body.into_upstream(), None);
}

#[test]
fn only_json_objects_are_bodies() {
    for bad in [&b"[1]"[..], b"1", b"{", b""] {
        assert!(matches!(Body::parse(bad), Err(WardenError::MalformedJson { .. })), "{bad:?}");
    }
}

/// A body held as bytes: edits in place, two insertions at one place kept in order, the tree of
/// the edited bytes, and a tree edit after in-place ones keeping them.
#[test]
fn in_place_edits_add_up_and_survive_a_tree_edit() {
    let bytes = br#"{"model":"a","messages":[{"role":"tool","content":"r"}]}"#;
    let spans = Spans {
        values: vec![("/messages/0/content".into(), 50..53, false)],
        model: Some((9..12, Some("a".into()))),
        fields_start: 1,
        usage_chunk: None,
        text_block_results: false,
    };
    let mut body = Body::from_read(bytes, spans);
    assert!(!body.set_model("a"), "the same model is no change");
    assert!(!body.changed());
    assert!(body.add_field_in_place("x", b"1"));
    assert!(body.add_field_in_place("y", b"[2]"));
    assert!(body.set_string_in_place("/messages/0/content", "new"));
    assert!(!body.set_string_in_place("/messages/1/content", "none"), "no span: the caller edits the tree");
    assert!(body.set_model("b"));
    assert_eq!(body.json(), &json!({"x": 1, "y": [2], "model": "b", "messages": [{"role": "tool", "content": "new"}]}));
    let mut same = body.clone();
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{"x":1,"y":[2],"model":"b","messages":[{"role":"tool","content":"new"}]}"#
    );
    assert!(same.edit(|v| {
        v["z"] = json!(true);
        true
    }));
    assert!(!same.set_string_in_place("/messages/0/content", "later"), "a tree now");
    let out: Value = serde_json::from_slice(&same.into_upstream().unwrap()).unwrap();
    assert_eq!(
        out,
        json!({"x": 1, "y": [2], "model": "b", "z": true, "messages": [{"role": "tool", "content": "new"}]})
    );
}

/// A body whose tool results are lists of content blocks (Bedrock Converse) gets its new text as
/// one text block, in place, as the tree's edit writes it.
#[test]
fn a_result_is_written_as_one_text_block_where_the_body_says_so() {
    let bytes = br#"{"messages":[{"content":[{"toolResult":{"content":[{"text":"a"},{"json":1}]}}]}]}"#;
    let pointer = "/messages/0/content/0/toolResult/content";
    let spans = Spans {
        values: vec![(pointer.into(), 50..75, true)],
        fields_start: 1,
        text_block_results: true,
        ..Spans::default()
    };
    assert_eq!(&bytes[50..75], br#"[{"text":"a"},{"json":1}]"#);
    let mut body = Body::from_read(bytes, spans);
    assert!(body.set_string_in_place(pointer, "new \"x\""));
    assert_eq!(body.json().pointer(pointer), Some(&json!([{"text": "new \"x\""}])));
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{"messages":[{"content":[{"toolResult":{"content":[{"text":"new \"x\""}]}}]}]}"#
    );
}
