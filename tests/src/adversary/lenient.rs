//! JSON as a lenient client reads it: `jiter` (the parser of the pydantic / Anthropic stack) with
//! `NaN`/`Infinity` allowed, lone surrogate escapes taken as U+FFFD (Python's `json` and
//! JavaScript's `JSON.parse` accept them), duplicate keys resolved last-wins (a Python dict), and
//! optionally partial input completed (trailing strings kept).

use jiter::{JsonValue, PartialMode};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The whole text as one JSON value, leniently; `None` when even a lenient parser rejects it.
pub fn parse(text: &[u8]) -> Option<Value> {
    parse_mode(text, PartialMode::Off)
}

/// Like `parse`, but cut-off text is completed as far as it goes (`{"path":"/etc/pas` reads as
/// `{"path":"/etc/pas"}`): what the Anthropic SDK does with streamed tool input.
pub fn parse_partial(text: &[u8]) -> Option<Value> {
    parse_mode(text, PartialMode::TrailingStrings)
}

fn parse_mode(text: &[u8], mode: PartialMode) -> Option<Value> {
    let text = fix_surrogates(text);
    match JsonValue::parse_with_config(&text, true, mode) {
        Ok(v) => Some(convert(&v)),
        // Agent frameworks commonly "repair" model JSON; trailing commas are the usual repair.
        Err(_) => {
            let repaired = drop_trailing_commas(&text)?;
            JsonValue::parse_with_config(&repaired, true, mode).ok().map(|v| convert(&v))
        }
    }
}

/// The text without commas that only precede a closing `}` or `]` (outside strings); `None` when
/// there are none.
fn drop_trailing_commas(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            let next = text.get(i + 1..).unwrap_or_default().iter().find(|c| !c.is_ascii_whitespace());
            if matches!(next, Some(b'}' | b']')) {
                changed = true;
                continue;
            }
        }
        out.push(b);
    }
    changed.then_some(out)
}

fn convert(v: &JsonValue) -> Value {
    match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Int(i) => Value::from(*i),
        JsonValue::Float(f) if f.is_finite() => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        JsonValue::Float(f) if f.is_nan() => Value::String("NaN".into()),
        JsonValue::Float(f) if *f > 0.0 => Value::String("Infinity".into()),
        JsonValue::Float(_) => Value::String("-Infinity".into()),
        JsonValue::Str(s) => Value::String(s.to_string()),
        JsonValue::Array(items) => Value::Array(items.iter().map(convert).collect()),
        JsonValue::Object(pairs) => {
            let mut map = Map::new();
            // Later keys overwrite earlier ones, as in a Python dict.
            for (k, v) in pairs.iter() {
                map.insert(k.to_string(), convert(v));
            }
            Value::Object(map)
        }
    }
}

/// Replaces `\uD800`–`\uDFFF` escapes that do not form a pair with `\uFFFD`, so `jiter` accepts
/// what Python's `json` accepts.
fn fix_surrogates(text: &[u8]) -> Cow<'_, [u8]> {
    let hex_at = |at: usize| -> Option<u32> {
        let digits = text.get(at..at.checked_add(4)?)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at = |at: usize| -> Option<u32> {
        (text.get(at) == Some(&b'\\') && text.get(at + 1) == Some(&b'u')).then(|| hex_at(at + 2)).flatten()
    };
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < text.len() {
        // An escaped backslash is skipped whole, so `\\ud800` (literal text) stays as it is.
        if text.get(i) == Some(&b'\\') && text.get(i + 1) == Some(&b'\\') {
            if let Some(o) = out.as_mut() {
                o.extend_from_slice(b"\\\\");
            }
            i += 2;
            continue;
        }
        if let Some(unit) = escape_at(i) {
            let lone = match unit {
                0xD800..=0xDBFF => !matches!(escape_at(i + 6), Some(0xDC00..=0xDFFF)),
                0xDC00..=0xDFFF => true,
                _ => false,
            };
            let paired_high = (0xD800..=0xDBFF).contains(&unit) && !lone;
            let take = if paired_high { 12 } else { 6 };
            let replacement: &[u8] = if lone { b"\\uFFFD" } else { text.get(i..i + take).unwrap_or_default() };
            if lone && out.is_none() {
                out = Some(text.get(..i).unwrap_or_default().to_vec());
            }
            if let Some(o) = out.as_mut() {
                o.extend_from_slice(replacement);
            }
            i += take;
            continue;
        }
        if let Some(o) = out.as_mut() {
            o.push(text.get(i).copied().unwrap_or_default());
        }
        i += 1;
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(text),
    }
}

/// Serialises `value` with every string equal to a `(placeholder, raw)` key replaced by `raw`
/// spliced in as is: how arguments carried as a JSON value get text that may not be JSON.
pub fn splice(value: &Value, raw: &[(String, String)]) -> String {
    let mut text = value.to_string();
    for (placeholder, with) in raw {
        text = text.replace(&Value::String(placeholder.clone()).to_string(), with);
    }
    text
}

/// The JSON object text with a bare `NaN` member added: valid for Python's `json`, not for serde.
pub fn with_nan(object_text: &str) -> String {
    match object_text.rfind('}') {
        Some(at) => {
            let (head, tail) = object_text.split_at(at);
            let sep = if head.trim_end().ends_with('{') { "" } else { "," };
            format!("{head}{sep}\"x_adversary_score\":NaN{tail}")
        }
        None => object_text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nan_infinity_and_huge_exponents_are_read() {
        let v = parse(br#"{"a":NaN,"b":-Infinity,"c":1e999}"#).unwrap();
        assert_eq!(v["a"], json!("NaN"));
        assert_eq!(v["b"], json!("-Infinity"));
        assert_eq!(v["c"], json!("Infinity"));
    }

    #[test]
    fn the_last_duplicate_key_wins() {
        assert_eq!(parse(br#"{"path":"/home","path":"/etc/passwd"}"#).unwrap(), json!({"path": "/etc/passwd"}));
    }

    #[test]
    fn trailing_commas_are_repaired() {
        assert_eq!(parse(br#"{"path":"/etc/passwd",}"#).unwrap(), json!({"path": "/etc/passwd"}));
        assert_eq!(parse(br#"{"a":"x,}"}"#).unwrap(), json!({"a": "x,}"}));
    }

    #[test]
    fn lone_surrogates_are_read_as_replacement_characters() {
        assert_eq!(parse(br#"{"a":"x\ud800y"}"#).unwrap(), json!({"a": "x\u{fffd}y"}));
        assert_eq!(parse(br#"{"a":"\ud83d\ude00"}"#).unwrap(), json!({"a": "😀"}));
        assert_eq!(parse(br#"{"a":"\\ud800"}"#).unwrap(), json!({"a": "\\ud800"}));
    }

    #[test]
    fn cut_off_text_is_completed_in_partial_mode() {
        assert_eq!(parse_partial(br#"{"path":"/etc/pas"#).unwrap(), json!({"path": "/etc/pas"}));
        assert!(parse(br#"{"path":"/etc/pas"#).is_none());
    }

    #[test]
    fn splicing_puts_raw_text_where_the_placeholder_was() {
        let v = json!({"input": "@ARGS0@"});
        assert_eq!(splice(&v, &[("@ARGS0@".into(), "{\"a\":NaN}".into())]), r#"{"input":{"a":NaN}}"#);
        assert_eq!(with_nan("{}"), r#"{"x_adversary_score":NaN}"#);
        assert_eq!(with_nan(r#"{"a":1}"#), r#"{"a":1,"x_adversary_score":NaN}"#);
    }
}
