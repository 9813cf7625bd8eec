use crate::view;
use serde_json::Value;

pub fn parse(_body: &Value) -> view::Request {
    view::Request::default() // HELPER: replace
}

pub fn force_include_usage(_body: &mut Value) -> bool {
    true // HELPER: replace
}
