use crate::view;
use serde_json::Value;

pub fn parse(_body: &Value) -> view::Response {
    view::Response::default() // HELPER: replace
}

/// Usage of an embeddings response (prompt tokens only).
pub fn parse_embeddings(_body: &Value) -> view::Response {
    view::Response::default() // HELPER: replace
}
