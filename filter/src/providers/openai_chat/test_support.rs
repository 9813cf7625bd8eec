//! Test-only readers for the recorded fixtures in `shared/fixtures/`: file lookup, a minimal SSE
//! splitter (the real decoder lives in `stream::sse`), and text scans that pull bodies out of
//! go-vcr and vcrpy cassettes without a YAML dependency. Used by the OpenAI chat and Responses tests.

use crate::stream::Frame;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Reads `shared/fixtures/<rel>`. The repository is cloned with `shared/` beside it, so the fixtures
/// are at `<clone>/../shared`; a git worktree nested deeper finds them by walking up.
pub fn fixture(rel: &str) -> String {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .map(|dir| dir.join("shared/fixtures"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no shared/fixtures above {}", manifest.display()));
    let path = root.join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

/// Cuts an SSE text into events at blank lines. Each frame's `raw` is its block plus the separator
/// that ended it, so the frames' raw bytes add up to the input.
pub fn sse_frames(text: &str) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (block, raw_len) = match (rest.find("\r\n\r\n"), rest.find("\n\n")) {
            (Some(crlf), Some(lf)) if crlf < lf => (&rest[..crlf], crlf + 4),
            (_, Some(lf)) => (&rest[..lf], lf + 2),
            (Some(crlf), None) => (&rest[..crlf], crlf + 4),
            (None, None) => (rest, rest.len()),
        };
        let raw = &rest[..raw_len];
        rest = &rest[raw_len..];
        let mut name = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim_start().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if name.is_none() && data.is_empty() {
            // Blank runs between events carry no event; the real decoder folds them into `raw`.
            continue;
        }
        frames.push(Frame { name, data: data.join("\n").into_bytes(), raw: raw.as_bytes().to_vec() });
    }
    frames
}

/// Frames made from one JSON payload per line (fixtures whose SSE framing was stripped).
pub fn jsonl_frames(text: &str) -> Vec<Frame> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Frame { name: None, data: l.as_bytes().to_vec(), raw: format!("data: {l}\n\n").into_bytes() })
        .collect()
}

/// The `n`th `body: |-` / `body: |+` block literal of a go-vcr cassette, de-indented.
pub fn govcr_body(cassette: &str, n: usize) -> String {
    let lines: Vec<&str> = cassette.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("body: |"))
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no body #{n} in cassette"));
    let key_indent = indent(lines[start]);
    let block: Vec<&str> =
        lines[start + 1..].iter().take_while(|l| l.trim().is_empty() || indent(l) > key_indent).copied().collect();
    let body_indent = block.iter().filter(|l| !l.trim().is_empty()).map(|l| indent(l)).min().unwrap_or(0);
    let text: Vec<&str> = block.iter().map(|l| l.get(body_indent..).unwrap_or("")).collect();
    text.join("\n").trim_end().to_owned()
}

/// The `n`th `parsed_body:` of a vcrpy cassette turned into JSON. Understands only the YAML subset
/// those bodies use when every scalar is on one line (block maps and sequences, plain or quoted
/// scalars, `[]`, `{}`); panics on anything else so a test never runs on a misread body.
pub fn vcr_parsed_body(cassette: &str, n: usize) -> Value {
    let lines: Vec<&str> = cassette.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == "parsed_body:")
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no parsed_body #{n} in cassette"));
    let key_indent = indent(lines[start]);
    let mut block: Vec<(usize, String)> = lines[start + 1..]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .take_while(|l| indent(l) > key_indent)
        .map(|l| (indent(l), l.trim().to_owned()))
        .collect();
    let first_indent = block.first().map(|(i, _)| *i).expect("empty parsed_body");
    let mut pos = 0;
    let value = yaml_node(&mut block, &mut pos, first_indent);
    assert_eq!(pos, block.len(), "parsed_body #{n}: unsupported YAML at {:?}", block.get(pos));
    value
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn yaml_node(lines: &mut [(usize, String)], pos: &mut usize, at: usize) -> Value {
    let is_item = |t: &str| t == "-" || t.starts_with("- ");
    if lines.get(*pos).is_some_and(|(i, t)| *i == at && is_item(t)) {
        let mut items = Vec::new();
        while let Some((i, t)) = lines.get(*pos).cloned() {
            if i != at || !is_item(&t) {
                break;
            }
            // `- key: v` opens a map whose other keys sit two columns in: re-read the rest that way.
            let rest = t.trim_start_matches('-').trim_start().to_owned();
            lines[*pos] = (at + 2, rest);
            items.push(yaml_node(lines, pos, at + 2));
        }
        return Value::Array(items);
    }
    let mut map = Map::new();
    while let Some((i, t)) = lines.get(*pos).cloned() {
        if i != at || is_item(&t) {
            break;
        }
        let (key, value) = match t.split_once(": ") {
            Some((k, v)) => (k, v.trim()),
            None => match t.strip_suffix(':') {
                Some(k) => (k, ""),
                // A scalar that is not `key: value` is a whole node (a sequence item).
                None if map.is_empty() => {
                    *pos += 1;
                    return yaml_scalar(&t);
                }
                None => panic!("unsupported YAML line {t:?}"),
            },
        };
        *pos += 1;
        let child = if !value.is_empty() {
            if lines.get(*pos).is_some_and(|(ci, _)| *ci > at) {
                panic!("multi-line scalar after {t:?} is not supported");
            }
            yaml_scalar(value)
        } else {
            match lines.get(*pos) {
                Some((ci, _)) if *ci > at => {
                    let ci = *ci;
                    yaml_node(lines, pos, ci)
                }
                Some((ci, ct)) if *ci == at && is_item(ct) => yaml_node(lines, pos, at),
                _ => Value::Null,
            }
        };
        map.insert(yaml_key(key), child);
    }
    Value::Object(map)
}

fn yaml_key(key: &str) -> String {
    match yaml_scalar(key) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn yaml_scalar(text: &str) -> Value {
    match text {
        "null" | "~" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "[]" => Value::Array(Vec::new()),
        "{}" => Value::Object(Map::new()),
        _ if text.starts_with('\'') && text.ends_with('\'') && text.len() >= 2 => {
            Value::String(text[1..text.len() - 1].replace("''", "'"))
        }
        _ if text.starts_with('"') => serde_json::from_str(text).expect("double-quoted YAML scalar"),
        _ => match serde_json::from_str::<Value>(text) {
            Ok(n @ Value::Number(_)) => n,
            _ => Value::String(text.to_owned()),
        },
    }
}

/// Arbitrary JSON drawn from the vocabulary of the OpenAI wire formats, so that random trees reach
/// the parsers' interesting branches instead of stopping at the first missing key.
pub fn arb_wire_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    const WORDS: &[&str] = &[
        "model",
        "stream",
        "stream_options",
        "include_usage",
        "messages",
        "role",
        "content",
        "tool_calls",
        "function",
        "function_call",
        "name",
        "arguments",
        "id",
        "type",
        "custom",
        "input",
        "tool_call_id",
        "tools",
        "choices",
        "delta",
        "index",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "prompt_tokens_details",
        "cached_tokens",
        "finish_reason",
        "refusal",
        "x_groq",
        "output",
        "call_id",
        "item",
        "response",
        "status",
        "instructions",
        "text",
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
        "message",
        "function_call_output",
        "custom_tool_call",
        "output_text",
        "input_tokens",
        "incomplete_details",
        "reason",
        "incomplete",
        "response.completed",
        "response.output_item.done",
        "response.output_text.delta",
        "response.created",
        "{",
        "}",
        "{\"a\":",
        "1}",
        "[DONE]",
    ];
    let word = proptest::sample::select(WORDS).prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        word.clone().prop_map(Value::String),
        ".{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
