//! A request body under edit. Every change goes through `edit`, and the body remembers on its own
//! that it changed: no later step can mark it unchanged again, so an edit cannot be lost on the way
//! upstream. (This replaces flags set by hand, one of which overwrote every earlier edit of a
//! streamed OpenAI request and sent the original body, blocked tool results included, upstream.)

use crate::error::WardenError;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    json: Value,
    changed: bool,
    /// Length of the client's bytes: the rewritten body is about as long.
    size: usize,
}

impl Body {
    /// Parses a request body; anything but a JSON object is a 400 in the provider's shape.
    pub fn parse(bytes: &[u8]) -> Result<Body, WardenError> {
        let json: Value =
            serde_json::from_slice(bytes).map_err(|e| WardenError::MalformedJson { detail: e.to_string() })?;
        if !json.is_object() {
            return Err(WardenError::MalformedJson { detail: "the body must be a JSON object".into() });
        }
        Ok(Body { json, changed: false, size: bytes.len().saturating_add(64) })
    }

    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Runs `edit`, which returns whether it changed the body. Returns the same.
    pub fn edit(&mut self, edit: impl FnOnce(&mut Value) -> bool) -> bool {
        let changed = edit(&mut self.json);
        self.changed |= changed;
        changed
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    /// What goes upstream: the new bytes when anything changed, `None` to send the client's own.
    pub fn into_upstream(self) -> Option<Vec<u8>> {
        self.changed.then(|| crate::providers::json::to_bytes(&self.json, self.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
