//! Shared by the cost-limit test files: reading a 402 (its provider-specific fields and what its
//! message says) and the UTC arithmetic to know when a window resets.
//! A module of the e2e binary (`tests/e2e/main.rs`); files use it with `use crate::limits;`.
#![allow(dead_code)]

use super::common::{self, Shape};
use super::cost::Sent;
use serde_json::Value;
use warden_e2e::run::Failures;

pub const HOUR: u64 = 3600;
pub const DAY: u64 = 24 * HOUR;

/// The error message of a gateway reply in any of the shapes.
pub fn message(body: &Value) -> String {
    ["/error/message", "/message"]
        .iter()
        .find_map(|p| body.pointer(p).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

/// Every `$<amount>` in a message.
pub fn amounts(message: &str) -> Vec<f64> {
    message
        .split('$')
        .skip(1)
        .filter_map(|rest| {
            let number: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            number.trim_end_matches('.').parse().ok()
        })
        .collect()
}

/// The first RFC 3339 UTC timestamp (`2026-11-23T00:00:00Z`) in a message, as Unix seconds.
pub fn timestamp(message: &str) -> Option<u64> {
    let bytes = message.as_bytes();
    (0..bytes.len()).find_map(|i| parse_rfc3339(message.get(i..i + 20)?))
}

fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u64>().ok());
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    Some(days * DAY + num(11..13)? * HOUR + num(14..16)? * 60 + num(17..19)?)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month) of a day number.
pub fn year_month(days: u64) -> (u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m)
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The next start of a calendar window after `now` (UTC; weeks start on Monday).
pub fn next_calendar_start(window: &str, now: u64) -> Option<u64> {
    let day = now / DAY;
    match window {
        "calendar_day" => Some((day + 1) * DAY),
        // 1970-01-01 was a Thursday: Mondays are the days with (day + 3) % 7 == 0.
        "calendar_week" => Some((day + 7 - (day + 3) % 7) * DAY),
        "calendar_month" => {
            let (y, m) = year_month(day);
            let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some(days_from_civil(y, m, 1) * DAY)
        }
        _ => None,
    }
}

/// What a 402 must carry: the expected scope text (`user 'alice'`), the limit and the usage.
pub struct Want<'a> {
    pub who: &'a str,
    pub limit_usd: f64,
    /// `None` when the test does not know the exact usage.
    pub used_usd: Option<f64>,
}

/// Checks a cost-limit refusal: 402 in the provider's shape with its own type/code/status, a
/// message naming the scope, the limit, the usage and a reset time in the future, and no request
/// upstream.
pub fn check_refusal(f: &mut Failures, s: &Sent, shape: Shape, want: &Want) {
    let label = &s.label;
    common::check_error_shape(f, label, &s.reply, 402, shape);
    let body = s.reply.json();
    let at = |p: &str| body.pointer(p).and_then(Value::as_str);
    let specific = match shape {
        Shape::OpenAi => {
            at("/error/type") == Some("usage_limit_exceeded") && at("/error/code") == Some("usage_limit_exceeded")
        }
        Shape::Anthropic => at("/error/type") == Some("usage_limit_exceeded"),
        Shape::Gemini => {
            at("/error/status") == Some("RESOURCE_EXHAUSTED")
                && body.pointer("/error/code").and_then(Value::as_u64) == Some(402)
        }
        Shape::Bedrock => s.reply.header("x-amzn-errortype") == Some("ServiceQuotaExceededException"),
        Shape::Cohere => at("/message").is_some(),
    };
    f.check(specific, || {
        format!(
            "{label}: not the {shape:?} limit error (x-amzn-errortype {:?}): {}",
            s.reply.header("x-amzn-errortype"),
            s.reply.text()
        )
    });
    let text = message(&body);
    f.check(text.contains(want.who), || format!("{label}: message does not name {:?}: {text}", want.who));
    let found = amounts(&text);
    let has = |usd: f64| found.iter().any(|a| (a - usd).abs() < 0.000_001 + usd * 1e-9);
    f.check(has(want.limit_usd), || format!("{label}: message does not name the limit ${}: {text}", want.limit_usd));
    if let Some(used) = want.used_usd {
        f.check(has(used), || format!("{label}: message does not name the usage ${used:.6}: {text}"));
    }
    let resets = timestamp(&text);
    let now = now_secs();
    f.check(resets.is_some_and(|t| t > now), || format!("{label}: message has no future reset time: {text}"));
    f.check(s.upstream.is_none(), || format!("{label}: a refused request reached the upstream"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_calendar_starts_are_utc() {
        assert_eq!(timestamp("resets at 2026-11-23T00:00:00Z; retry"), Some(days_from_civil(2026, 11, 23) * DAY));
        assert_eq!(timestamp("no time here"), None);
        // 2026-11-22 is a Sunday.
        let sunday_noon = days_from_civil(2026, 11, 22) * DAY + 12 * HOUR;
        assert_eq!(next_calendar_start("calendar_week", sunday_noon), Some(days_from_civil(2026, 11, 23) * DAY));
        assert_eq!(next_calendar_start("calendar_month", sunday_noon), Some(days_from_civil(2026, 12, 1) * DAY));
        let december = days_from_civil(2026, 12, 31) * DAY;
        assert_eq!(next_calendar_start("calendar_month", december), Some(days_from_civil(2027, 1, 1) * DAY));
        assert_eq!(amounts("limit of $0.000001 with $0.00037 used."), vec![0.000001, 0.00037]);
    }
}
