//! One compiled condition: a key (argument path or request context field) and a test. A condition
//! matches only if its key yields at least one value and every value passes the test.

use super::path::Path;
use super::Context;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextField {
    AgentId,
    UserId,
    SessionId,
    Groups,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A path into the call's arguments or the result's parsed content.
    Argument(Path),
    Context(ContextField),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Equal(String),
    NotEqual(String),
    Contains(String),
    NotContains(String),
    StartsWith(String),
    EndsWith(String),
    /// Unanchored search, like JavaScript's `RegExp.test`.
    Regex(Pattern),
}

/// A compiled regex; two are equal when their source is.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex_lite::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub key: Key,
    pub test: Test,
}

impl Test {
    pub fn accepts(&self, text: &str) -> bool {
        match self {
            Test::Equal(v) => text == v,
            Test::NotEqual(v) => text != v,
            Test::Contains(v) => text.contains(v.as_str()),
            Test::NotContains(v) => !text.contains(v.as_str()),
            Test::StartsWith(v) => text.starts_with(v.as_str()),
            Test::EndsWith(v) => text.ends_with(v.as_str()),
            Test::Regex(p) => p.0.is_match(text),
        }
    }
}

impl Condition {
    /// Whether the condition needs the document (so a result's content must be parsed).
    pub fn reads_document(&self) -> bool {
        matches!(self.key, Key::Argument(_))
    }

    /// `doc` is the call's arguments or the result's content parsed as JSON; `None` when the
    /// content is not JSON, and then argument keys never match.
    pub fn matches(&self, doc: Option<&Value>, ctx: &Context) -> bool {
        match &self.key {
            Key::Argument(path) => {
                let Some(doc) = doc else { return false };
                let values = path.values(doc);
                !values.is_empty() && values.into_iter().all(|v| self.test.accepts(&text_of(v)))
            }
            Key::Context(ContextField::Groups) => match &self.test {
                Test::Contains(group) => ctx.groups.contains(group),
                Test::NotContains(group) => !ctx.groups.contains(group),
                // Refused by the configuration loader.
                _ => false,
            },
            Key::Context(field) => {
                let value = match field {
                    ContextField::AgentId => &ctx.agent_id,
                    ContextField::UserId => &ctx.user_id,
                    ContextField::SessionId => &ctx.session_id,
                    ContextField::Groups => &None,
                };
                value.as_deref().is_some_and(|v| self.test.accepts(v))
            }
        }
    }
}

/// Strings compare as themselves; numbers, booleans, arrays and objects by their compact JSON
/// text, so `{value: 8080}` in config equals the argument `8080`.
fn text_of(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}
