//! Cost limits per profile (DESIGN §4.5, §5.4): who a limit applies to, how many USD, over which
//! window, optionally only for some models. Counting and checking live in `meter::limits`.

use super::ConfigError;
use crate::policy::glob::ToolPattern;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::fmt;

/// Above this a limit is meaningless, and below it micro-USD counters cannot overflow.
const MAX_LIMIT_USD: f64 = 1_000_000_000.0;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub scope: Scope,
    /// USD spent within the window at which requests start being refused.
    #[cfg_attr(feature = "schema", schemars(range(max = 1_000_000_000.0), extend("exclusiveMinimum" = 0)))]
    pub usd: f64,
    pub window: Window,
    /// Only requests for these models count and are refused; absent: every model.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub models: Option<Vec<ModelPattern>>,
}

/// Whose spending a limit counts. Each distinct id has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Profile,
    User,
    Agent,
    Session,
    /// A virtual key's own budget (DESIGN §4.9). Set only from the keys file through the
    /// sidecar, never in a profile.
    #[serde(skip_deserializing)]
    Key,
}

/// All windows are in UTC. The `1h|1d|1w` windows slide; the calendar ones start afresh at the
/// start of each day, week (Monday) or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Window {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
    #[serde(rename = "1w")]
    Week,
    #[serde(rename = "calendar_day")]
    CalendarDay,
    #[serde(rename = "calendar_week")]
    CalendarWeek,
    #[serde(rename = "calendar_month")]
    CalendarMonth,
}

/// A model id, or a glob over model ids (`gpt-5*`; `*` any run of characters, `?` one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPattern(ToolPattern);

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Profile => "profile",
            Scope::User => "user",
            Scope::Agent => "agent",
            Scope::Session => "session",
            Scope::Key => "key",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Window {
    /// The spelling used in the configuration, and in counter keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "1d",
            Window::Week => "1w",
            Window::CalendarDay => "calendar_day",
            Window::CalendarWeek => "calendar_week",
            Window::CalendarMonth => "calendar_month",
        }
    }

    /// How a client-facing message names the window.
    pub fn describe(self) -> &'static str {
        match self {
            Window::Hour => "sliding hour",
            Window::Day => "sliding 24 hours",
            Window::Week => "sliding 7 days",
            Window::CalendarDay => "calendar day (UTC)",
            Window::CalendarWeek => "calendar week (UTC, from Monday)",
            Window::CalendarMonth => "calendar month (UTC)",
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ModelPattern {
    pub fn new(pattern: &str) -> ModelPattern {
        ModelPattern(ToolPattern::new(pattern))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn matches(&self, model: &str) -> bool {
        self.0.matches(model)
    }
}

impl<'de> Deserialize<'de> for ModelPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().is_empty() {
            return Err(de::Error::custom("name a model, or a glob such as \"gpt-5*\""));
        }
        Ok(ModelPattern::new(&text))
    }
}

impl Limit {
    /// Whether a request for `model` counts towards this limit and can be refused by it. A request
    /// whose model is unknown is treated as matching: a model filter must never become a way out.
    pub fn applies_to(&self, model: Option<&str>) -> bool {
        match (&self.models, model) {
            (Some(patterns), Some(model)) => patterns.iter().any(|p| p.matches(model)),
            _ => true,
        }
    }

    /// The models named in the filter, empty when the limit covers every model.
    pub fn model_names(&self) -> Vec<String> {
        self.models.iter().flatten().map(|p| p.as_str().to_owned()).collect()
    }

    /// Names what this limit counts: limits over the same scope, window and models share one
    /// counter (they differ only in the threshold); different model filters never do.
    pub fn counter_tag(&self) -> String {
        let Some(patterns) = &self.models else { return "all".to_owned() };
        let mut names: Vec<&str> = patterns.iter().map(ModelPattern::as_str).collect();
        names.sort_unstable();
        names.dedup();
        format!("m{:08x}", crc32fast::hash(names.join("\n").as_bytes()))
    }

    /// The limit in micro-USD, the unit counters hold.
    pub fn micro_usd(&self) -> u64 {
        micro_usd_round(self.usd)
    }
}

/// Validated limits are finite, positive and at most `MAX_LIMIT_USD`, so the product fits and the
/// saturating float-to-integer cast never clips a real value.
fn micro_usd_round(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1_000_000.0).round() as u64
    } else {
        0
    }
}

/// `at` is the profile's path (`profiles.ops`).
pub(super) fn validate(at: &str, limits: &[Limit]) -> Result<(), ConfigError> {
    for (i, limit) in limits.iter().enumerate() {
        let path = format!("{at}.limits[{i}]");
        if !(limit.usd.is_finite() && limit.usd > 0.0 && limit.usd <= MAX_LIMIT_USD) || limit.micro_usd() == 0 {
            return Err(ConfigError {
                path: format!("{path}.usd"),
                message: "a limit is a number of USD between 0.000001 and 1000000000".to_owned(),
            });
        }
        if limit.models.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError {
                path: format!("{path}.models"),
                message: "an empty list matches no model; omit 'models' to limit every model".to_owned(),
            });
        }
    }
    Ok(())
}

/// Where counters live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LimitsStore {
    /// Proxy-wasm shared data: shared by the workers of one Envoy.
    #[default]
    Local,
    /// Redis through the sidecar, shared by every Envoy.
    Sidecar,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(profile: &str, top: &str) -> Result<Config, ConfigError> {
        Config::from_json(format!(r#"{{"profiles":{{"default":{{}},"ops":{profile}}}{top}}}"#).as_bytes())
    }

    fn error_path(profile: &str) -> String {
        parse(profile, "").unwrap_err().path
    }

    #[test]
    fn limits_parse_with_every_scope_and_window() {
        let c = parse(
            r#"{"limits":[
                {"scope":"profile","usd":50,"window":"calendar_month"},
                {"scope":"user","usd":5.5,"window":"1d","models":["gpt-5","claude-*"]},
                {"scope":"agent","usd":1,"window":"1h"},
                {"scope":"session","usd":0.25,"window":"1w"},
                {"scope":"user","usd":1,"window":"calendar_day"},
                {"scope":"user","usd":1,"window":"calendar_week"}]}"#,
            "",
        )
        .unwrap();
        let limits = &c.profiles["ops"].limits;
        assert_eq!(limits.len(), 6);
        assert_eq!(
            (limits[0].scope, limits[0].window, limits[0].micro_usd()),
            (Scope::Profile, Window::CalendarMonth, 50_000_000)
        );
        assert_eq!(limits[1].model_names(), ["gpt-5", "claude-*"]);
        assert!(limits[1].applies_to(Some("claude-opus-4-5")) && !limits[1].applies_to(Some("gpt-5-mini")));
        assert_eq!(
            [limits[2].window, limits[3].window, limits[4].window, limits[5].window],
            [Window::Hour, Window::Week, Window::CalendarDay, Window::CalendarWeek]
        );
        assert!(c.profiles["default"].limits.is_empty());
        assert_eq!(c.limits_store, LimitsStore::Local);
    }

    #[test]
    fn bad_limit_fields_name_their_path() {
        assert_eq!(
            error_path(r#"{"limits":[{"scope":"team","usd":1,"window":"1d"}]}"#),
            "profiles.ops.limits[0].scope"
        );
        assert_eq!(
            error_path(r#"{"limits":[{"scope":"user","usd":1,"window":"2h"}]}"#),
            "profiles.ops.limits[0].window"
        );
        assert_eq!(
            error_path(r#"{"limits":[{"scope":"user","usd":"5","window":"1d"}]}"#),
            "profiles.ops.limits[0].usd"
        );
        assert_eq!(error_path(r#"{"limits":[{"scope":"user","window":"1d"}]}"#), "profiles.ops.limits[0].usd");
        assert_eq!(
            error_path(r#"{"limits":[{"scope":"user","usd":1,"window":"1d","modles":["x"]}]}"#),
            "profiles.ops.limits[0].modles"
        );
        assert_eq!(
            error_path(r#"{"limits":[{"scope":"user","usd":1,"window":"1d","models":["gpt-5",""]}]}"#),
            "profiles.ops.limits[0].models[1]"
        );
    }

    #[test]
    fn amounts_must_be_positive_and_sane() {
        for usd in ["0", "-1", "0.0000001", "1e10"] {
            let limits = format!(
                r#"{{"limits":[{{"scope":"user","usd":1,"window":"1d"}},{{"scope":"user","usd":{usd},"window":"1d"}}]}}"#
            );
            let e = parse(&limits, "").unwrap_err();
            assert_eq!(e.path, "profiles.ops.limits[1].usd", "{usd}");
            assert!(e.message.contains("USD"), "{e}");
        }
    }

    #[test]
    fn an_empty_model_list_is_rejected() {
        let e = parse(r#"{"limits":[{"scope":"user","usd":1,"window":"1d","models":[]}]}"#, "").unwrap_err();
        assert_eq!(e.path, "profiles.ops.limits[0].models");
        assert!(e.message.contains("omit"), "{e}");
    }

    #[test]
    fn the_store_is_local_or_the_sidecar_and_nothing_else() {
        assert_eq!(parse("{}", r#","limits_store":"sidecar""#).unwrap().limits_store, LimitsStore::Sidecar);
        assert_eq!(parse("{}", r#","limits_store":"redis""#).unwrap_err().path, "limits_store");
        assert_eq!(parse("{}", r#","limits_store":"local""#).unwrap().limits_store, LimitsStore::Local);
    }

    #[test]
    fn counters_are_shared_by_limits_with_the_same_models_in_any_order() {
        let limit = |models: Option<&[&str]>| Limit {
            scope: Scope::User,
            usd: 1.0,
            window: Window::Day,
            models: models.map(|m| m.iter().map(|m| ModelPattern::new(m)).collect()),
        };
        assert_eq!(limit(None).counter_tag(), "all");
        assert_eq!(limit(Some(&["a", "b"])).counter_tag(), limit(Some(&["b", "a", "b"])).counter_tag());
        assert_ne!(limit(Some(&["a"])).counter_tag(), limit(Some(&["a", "b"])).counter_tag());
    }
}
