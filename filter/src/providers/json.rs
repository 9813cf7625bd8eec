//! Small tolerant readers over `serde_json::Value` shared by the provider modules. Wire data is
//! hostile: every accessor returns an `Option` or a default, never panics.

use serde_json::{Map, Value};

pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// `v[a][b]…` as u64, 0 when absent.
pub fn u64_path(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for key in path {
        match cur.get(key) {
            Some(next) => cur = next,
            None => return 0,
        }
    }
    cur.as_u64().unwrap_or(0)
}

pub fn array_at<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

pub fn bool_at(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Parses tool-call arguments sent as a JSON string. Anything that is not a JSON object becomes
/// `{}` so policies see an empty argument set rather than failing the request.
pub fn parse_arguments(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

/// Arguments already given as JSON (Anthropic `input`, Gemini `args`, Bedrock `input`).
pub fn object_or_empty(v: Option<&Value>) -> Value {
    match v {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Object(Map::new()),
    }
}

/// Text of a content value that is either a string or an array of typed blocks; text blocks are
/// joined with newlines, other blocks ignored.
pub fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
            texts.join("\n")
        }
        _ => String::new(),
    }
}

/// A tool result's content as text: a string as is, a single text block unwrapped, anything else
/// serialised as JSON.
pub fn result_text(content: Option<&Value>) -> String {
    match content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => match parts.as_slice() {
            [only] => match only.get("text").and_then(Value::as_str) {
                Some(t) => t.to_string(),
                None => only.to_string(),
            },
            _ => Value::Array(parts.clone()).to_string(),
        },
        Some(other) => other.to_string(),
    }
}

/// The first of `keys` present in `v`, with the key that matched. Google's REST API accepts both
/// the lowerCamel and the snake_case spelling of every request field, and a JSON pointer into the
/// body must name the spelling the client actually used.
pub fn first_key<'a, 'k>(v: &'a Value, keys: &[&'k str]) -> Option<(&'k str, &'a Value)> {
    let obj = v.as_object()?;
    keys.iter().find_map(|k| obj.get(*k).map(|found| (*k, found)))
}

/// The value of the first of `keys` present in `v`.
pub fn first_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    first_key(v, keys).map(|(_, found)| found)
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
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
}
