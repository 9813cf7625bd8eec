//! Tool-invocation and trusted-data policy configuration (DESIGN §4.5, §5.1, §5.2), and its
//! compilation into `policy::CompiledPolicies` when the configuration is loaded: regexes, globs and
//! key paths are built once here, so a request never parses configuration and a bad pattern is a
//! configuration error naming its path, never a request error.

use super::{ConfigError, Profile};
use crate::policy::condition::{Condition, ContextField, Key, Pattern, Test};
use crate::policy::glob::ToolPattern;
use crate::policy::path::Path;
use crate::policy::{CompiledPolicies, ResultAction, ResultRule, ToolAction, ToolRule};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

// `regex-lite` rather than `regex`: the same syntax and linear-time matching, and the release wasm
// is 663 KB instead of 1,062 KB (before policies: 539 KB). What it lacks are Unicode classes: `\w`,
// `\d`, `\s`, `\b` and `(?i)` are ASCII-only, and `\p{…}` is a configuration error.
/// Regexes run on every tool call and result; a cap on their compiled size keeps a pathological
/// pattern from taking the worker's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ToolPolicy {
    /// Exact tool name or a glob (`github__*`; `*` any run of characters, `?` one character).
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"\S")))]
    pub tool: String,
    /// All must match (AND). Empty: the tool's default row.
    #[serde(default)]
    pub conditions: Vec<ConditionConfig>,
    pub action: ToolAction,
    /// Shown to the model in the refusal when this row blocks.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResultPolicy {
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"\S")))]
    pub tool: String,
    #[serde(default)]
    pub conditions: Vec<ConditionConfig>,
    pub action: ResultAction,
    /// Names the policy in block notices and in the context's untrusted reason.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// A path into the tool arguments / result (`a.b[0].c`, result policies also `items[*].source`)
    /// or `context.agent_id|user_id|session_id|groups`.
    pub key: String,
    pub operator: Operator,
    pub value: ConditionValue,
}

/// A condition's operand. Numbers and booleans are accepted and kept as their JSON text, because
/// that is how non-string values found in arguments are compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionValue(pub String);

impl<'de> Deserialize<'de> for ConditionValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct JsonText;
        impl Visitor<'_> for JsonText {
            type Value = ConditionValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConditionValue, E> {
                // serde_json's own float formatting, so `1.5` here equals `1.5` in the arguments.
                serde_json::Number::from_f64(v)
                    .map(|n| ConditionValue(n.to_string()))
                    .ok_or_else(|| E::custom("a number must be finite"))
            }
        }
        d.deserialize_any(JsonText)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equal,
    NotEqual,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    Regex,
}

/// Which policy list a condition belongs to: call keys address arguments without wildcards,
/// result keys may use one `[*]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call,
    Result,
}

fn err(path: String, message: impl Into<String>) -> ConfigError {
    ConfigError { path, message: message.into() }
}

/// Compiles one profile's policies; `at` is the profile's path (`profiles.ops`).
pub(crate) fn compile(at: &str, profile: &Profile) -> Result<CompiledPolicies, ConfigError> {
    let mut tool_rules = Vec::with_capacity(profile.tool_policies.len());
    for (i, row) in profile.tool_policies.iter().enumerate() {
        let at = format!("{at}.tool_policies[{i}]");
        tool_rules.push(ToolRule {
            tool: pattern(&at, &row.tool)?,
            conditions: conditions(&at, &row.conditions, Kind::Call)?,
            action: row.action,
            reason: non_empty(&row.reason),
        });
    }
    let mut result_rules = Vec::with_capacity(profile.result_policies.len());
    for (i, row) in profile.result_policies.iter().enumerate() {
        let at = format!("{at}.result_policies[{i}]");
        result_rules.push(ResultRule {
            tool: pattern(&at, &row.tool)?,
            conditions: conditions(&at, &row.conditions, Kind::Result)?,
            action: row.action,
            description: non_empty(&row.description),
        });
    }
    Ok(CompiledPolicies {
        tool_rules,
        default_tool_action: profile.default_tool_action,
        result_rules,
        default_result_action: profile.default_result_action,
    })
}

fn non_empty(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn pattern(at: &str, tool: &str) -> Result<ToolPattern, ConfigError> {
    if tool.trim().is_empty() {
        return Err(err(format!("{at}.tool"), "name a tool, or a glob such as \"github__*\""));
    }
    Ok(ToolPattern::new(tool))
}

fn conditions(at: &str, rows: &[ConditionConfig], kind: Kind) -> Result<Vec<Condition>, ConfigError> {
    rows.iter()
        .enumerate()
        .map(|(j, c)| {
            let at = format!("{at}.conditions[{j}]");
            let key = key(&at, &c.key, kind)?;
            if key == Key::Context(ContextField::Groups)
                && !matches!(c.operator, Operator::Contains | Operator::NotContains)
            {
                return Err(err(
                    format!("{at}.operator"),
                    "context.groups is a list: use contains or not_contains (group membership)",
                ));
            }
            Ok(Condition { key, test: test(&at, c.operator, &c.value.0)? })
        })
        .collect()
}

fn key(at: &str, text: &str, kind: Kind) -> Result<Key, ConfigError> {
    let at_key = || format!("{at}.key");
    if let Some(field) = text.strip_prefix("context.") {
        return match field {
            "agent_id" => Ok(Key::Context(ContextField::AgentId)),
            "user_id" => Ok(Key::Context(ContextField::UserId)),
            "session_id" => Ok(Key::Context(ContextField::SessionId)),
            "groups" => Ok(Key::Context(ContextField::Groups)),
            _ => Err(err(
                at_key(),
                "unknown context key; use context.agent_id, context.user_id, context.session_id or context.groups",
            )),
        };
    }
    let path = Path::parse(text).map_err(|message| err(at_key(), message))?;
    match (kind, path.wildcards()) {
        (Kind::Call, 0) | (Kind::Result, 0 | 1) => Ok(Key::Argument(path)),
        (Kind::Call, _) => Err(err(at_key(), "tool-call keys address one argument; [*] is for result policies")),
        (Kind::Result, _) => Err(err(at_key(), "a result key may use [*] at most once (e.g. items[*].source)")),
    }
}

fn test(at: &str, op: Operator, value: &str) -> Result<Test, ConfigError> {
    let v = value.to_owned();
    Ok(match op {
        Operator::Equal => Test::Equal(v),
        Operator::NotEqual => Test::NotEqual(v),
        Operator::Contains => Test::Contains(v),
        Operator::NotContains => Test::NotContains(v),
        Operator::StartsWith => Test::StartsWith(v),
        Operator::EndsWith => Test::EndsWith(v),
        Operator::Regex => {
            let regex = regex_lite::RegexBuilder::new(value)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| err(format!("{at}.value"), format!("invalid regex: {e}")))?;
            Test::Regex(Pattern(regex))
        }
    })
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
