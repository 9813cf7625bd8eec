//! Cohere's error shape: `{"message"}`.

use crate::error::{Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    Reply::json(err.status(), &json!({"message": err.to_string()}))
}
