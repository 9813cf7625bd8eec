use crate::view;
use serde_json::Value;

pub fn parse(_body: &Value) -> view::Request {
    view::Request::default() // HELPER: replace
}
