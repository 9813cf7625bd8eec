use crate::view;
use serde_json::Value;

pub fn parse(_body: &Value) -> view::Response {
    view::Response::default() // HELPER: replace
}
