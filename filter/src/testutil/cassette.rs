//! VCR cassettes: vcrpy (`parsed_body`, or `body.string`) and go-vcr (`body` block literal), read
//! with the YAML subset in `yaml.rs`.

use super::yaml;
use serde_json::Value;

pub fn cassette(rel: &str) -> Value {
    let text = String::from_utf8(super::read(rel)).unwrap_or_else(|e| panic!("cassette {rel}: {e}"));
    yaml::parse(&text)
}

/// The request body of interaction `i` as JSON.
pub fn cassette_request(rel: &str, i: usize) -> Value {
    json_body(&side(rel, i, "request"), rel)
}

/// The response body of interaction `i` as JSON.
pub fn cassette_response(rel: &str, i: usize) -> Value {
    json_body(&side(rel, i, "response"), rel)
}

/// The response body of interaction `i` as recorded text, for bodies that are not JSON (streams).
pub fn cassette_response_text(rel: &str, i: usize) -> String {
    let side = side(rel, i, "response");
    body_text(&side).unwrap_or_else(|| panic!("{rel}: response {i} has no text body")).to_owned()
}

fn side(rel: &str, i: usize, which: &str) -> Value {
    let cassette = cassette(rel);
    let side = cassette.get("interactions").and_then(|all| all.get(i)).and_then(|one| one.get(which));
    side.cloned().unwrap_or_else(|| panic!("{rel}: no {which} in interaction {i}"))
}

/// vcrpy keeps a JSON body already parsed under `parsed_body`; otherwise the body is text.
fn json_body(side: &Value, rel: &str) -> Value {
    if let Some(parsed) = side.get("parsed_body") {
        return parsed.clone();
    }
    let text = body_text(side).unwrap_or_else(|| panic!("{rel}: body is not text"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{rel}: body is not JSON: {e}"))
}

fn body_text(side: &Value) -> Option<&str> {
    match side.get("body")? {
        Value::String(text) => Some(text),
        other => other.get("string")?.as_str(),
    }
}
