//! What every typed request reader is held to, against the tree (`Body::parse`, `parse_request`):
//! used by each reader's tests.

use crate::providers::body::Body;
use crate::providers::{check_request, edit_result, parse_request, prepare_upstream, read_request};
use crate::view::{Api, Request};
use serde_json::Value;

/// The typed reader of `api` on `bytes`, checked against the tree: it answers only for bodies a
/// `Value` reads as an object, and then with the view the tree gives; the pipeline's edits made in
/// place give the body the same edits give on the tree.
pub fn check(api: Api, bytes: &[u8]) -> Option<Request> {
    let tree: Option<Value> = serde_json::from_slice::<Value>(bytes).ok().filter(Value::is_object);
    let (mut in_place, view) = match (&tree, read_request(api, bytes)) {
        (_, None) => return None,
        (None, Some(_)) => panic!("the typed reader took a body the tree refuses: {}", String::from_utf8_lossy(bytes)),
        (Some(tree), Some((body, view))) => {
            assert_eq!(Some(&view), parse_request(api, tree).as_ref(), "{}", String::from_utf8_lossy(bytes));
            (body, view)
        }
    };
    let mut tree = Body::parse(bytes).unwrap();
    assert_eq!(check_request(api, &in_place).is_ok(), check_request(api, &tree).is_ok());
    for (k, result) in view.tool_results.iter().enumerate() {
        assert_eq!(
            in_place.is_multi_block(&result.pointer),
            tree.is_multi_block(&result.pointer),
            "{}",
            result.pointer
        );
        let text = format!("result {k}: \"quoted\" \\ \u{1F600}\n");
        assert_eq!(
            edit_result(api, &mut in_place, &result.pointer, &text),
            edit_result(api, &mut tree, &result.pointer, &text)
        );
        assert_eq!(in_place.is_multi_block(&result.pointer), tree.is_multi_block(&result.pointer), "after the edit");
    }
    assert_eq!(in_place.set_model("gpt-edited"), tree.set_model("gpt-edited"));
    assert_eq!(in_place.set_model("gpt-edited"), tree.set_model("gpt-edited"), "a second, equal rewrite");
    assert_eq!(prepare_upstream(api, view.stream, &mut in_place), prepare_upstream(api, view.stream, &mut tree));
    assert_eq!(in_place.changed(), tree.changed());
    assert_eq!(in_place.json(), tree.json(), "the tree of an edited body held as bytes");
    match (in_place.into_upstream(), tree.into_upstream()) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            let a: Value = serde_json::from_slice(&a).expect("edited bytes are JSON");
            assert_eq!(a, serde_json::from_slice::<Value>(&b).unwrap());
        }
        (a, b) => panic!("one body changed, the other not: {a:?} {b:?}"),
    }
    Some(view)
}

/// Cuts `bytes` at `at` (an index into them), removes up to `remove` bytes and inserts `insert`.
pub fn damage(bytes: &mut Vec<u8>, cuts: &[(proptest::sample::Index, usize, &str)]) {
    for (at, remove, insert) in cuts {
        let at = at.index(bytes.len());
        let end = (at + remove).min(bytes.len());
        bytes.splice(at..end, insert.bytes());
    }
}

/// Up to three cuts for `damage`.
/// A `tools` list of one API's shape: each entry made by `shape` from a kind among `kinds` and
/// the fields of a declaration (name, description, schema), any value in each now and then.
pub fn arb_tools(
    kinds: &'static [&'static str],
    shape: fn(&str, Value, Value, Value) -> Value,
) -> impl proptest::strategy::Strategy<Value = Value> {
    use crate::testutil::arb_wire_json;
    use proptest::prelude::*;
    let entry = (proptest::sample::select(kinds), arb_wire_json(), arb_wire_json(), arb_wire_json(), any::<bool>())
        .prop_map(move |(kind, name, description, schema, named)| {
            let name = if named { Value::String("a_tool".into()) } else { name };
            shape(kind, name, description, schema)
        });
    proptest::collection::vec(entry, 0..4).prop_map(Value::Array)
}

pub fn arb_cuts() -> impl proptest::strategy::Strategy<Value = Vec<(proptest::sample::Index, usize, &'static str)>> {
    use proptest::prelude::*;
    proptest::collection::vec((any::<proptest::sample::Index>(), 0usize..4, proptest::sample::select(DAMAGE)), 1..4)
}

/// `value` (an object) with the keys of `extra` (when an object) it does not have yet.
pub fn with_extra(mut value: Value, extra: Value) -> Value {
    if let (Value::Object(extra), Some(obj)) = (extra, value.as_object_mut()) {
        for (k, v) in extra {
            obj.entry(k).or_insert(v);
        }
    }
    value
}

/// What `damage` inserts: JSON's structural bytes, escapes, odd numbers and keys.
pub const DAMAGE: &[&str] = &[
    "\"",
    "\\",
    "\\\"",
    "\\u",
    "\\ud800",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "1e999",
    "-",
    "null",
    "\u{e9}",
    "\"model\":\"x\",",
    "\"role\":\"tool\",",
    "\"type\":\"tool_result\",",
    "\"content\":\"c\",",
];

/// Every reader keeps a tool result's content raw and reads it apart from the body, from depth 0,
/// while a tree reads the whole body with serde_json's depth limit: a content nested near that
/// limit must be left to the tree (it refuses the body), never taken.
#[test]
fn contents_nested_near_the_depth_limit_are_left_to_the_tree() {
    type Shape = fn(&str) -> String;
    let bodies: [(Api, Shape); 5] = [
        (Api::ChatCompletions, |c| {
            format!(r#"{{"model":"m","messages":[{{"role":"tool","tool_call_id":"t","content":{c}}}]}}"#)
        }),
        (Api::Responses, |c| {
            format!(r#"{{"model":"m","input":[{{"type":"function_call_output","call_id":"t","output":{c}}}]}}"#)
        }),
        (Api::Messages, |c| {
            format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t","content":{c}}}]}}]}}"#
            )
        }),
        (Api::Chat, |c| format!(r#"{{"model":"m","messages":[{{"role":"tool","tool_call_id":"t","content":{c}}}]}}"#)),
        (Api::Converse, |c| {
            format!(r#"{{"messages":[{{"role":"user","content":[{{"toolResult":{{"content":{c}}}}}]}}]}}"#)
        }),
    ];
    for (api, body) in bodies {
        for n in [1, 2, 30, 64, 65, 100, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 140] {
            let content = format!("{}{}", "[".repeat(n), "]".repeat(n));
            let bytes = body(&content);
            // `check` panics when a reader takes a body the tree refuses.
            let taken = check(api, bytes.as_bytes()).is_some();
            assert_eq!(taken, n <= super::typed::MAX_RAW_DEPTH, "{api:?}, nested {n}");
        }
    }
}
