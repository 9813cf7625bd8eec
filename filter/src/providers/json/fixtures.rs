//! Test-only readers for the recorded fixtures in `shared/fixtures/`: raw files, stream bodies cut
//! into frames without the real decoders, and the YAML subset that VCR cassettes use. The frame
//! readers are deliberately naive (whole input at once) — they only feed provider tests.

use crate::stream::Frame;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// `<clone>/../shared/fixtures/<rel>`. A git worktree sits deeper than a clone, so when that
/// directory is missing the nearest ancestor holding `shared/fixtures` is used instead.
pub fn path(rel: &str) -> PathBuf {
    let beside_clone = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/"));
    let root = if beside_clone.is_dir() {
        beside_clone
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/fixtures"))
            .find(|dir| dir.is_dir())
            .unwrap_or(beside_clone)
    };
    root.join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

pub fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// AWS eventstream messages: u32 total length, u32 headers length, prelude CRC, headers, payload,
/// message CRC (CRCs are not checked here). The frame name is `:event-type`, or `:exception-type`
/// for exception messages.
pub fn eventstream_frames(bytes: &[u8]) -> Vec<Frame> {
    let be32 = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap()) as usize;
    let mut frames = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let total = be32(&rest[0..4]);
        let headers_len = be32(&rest[4..8]);
        let (message, tail) = rest.split_at(total);
        let mut headers = &message[12..12 + headers_len];
        let mut name = None;
        while !headers.is_empty() {
            let name_len = headers[0] as usize;
            let key = std::str::from_utf8(&headers[1..1 + name_len]).unwrap();
            let kind = headers[1 + name_len];
            assert_eq!(kind, 7, "only string headers are expected in Bedrock streams");
            let value_len = u16::from_be_bytes([headers[2 + name_len], headers[3 + name_len]]) as usize;
            let value_start = 4 + name_len;
            let value = std::str::from_utf8(&headers[value_start..value_start + value_len]).unwrap();
            if key == ":event-type" || key == ":exception-type" {
                name = Some(value.to_string());
            }
            headers = &headers[value_start + value_len..];
        }
        frames.push(Frame { name, data: message[12 + headers_len..total - 4].to_vec(), raw: message.to_vec() });
        rest = tail;
    }
    frames
}

/// SSE events split on blank lines (`\n\n` or `\r\n\r\n`); `data:` lines joined with `\n`.
pub fn sse_frames(bytes: &[u8]) -> Vec<Frame> {
    let text = std::str::from_utf8(bytes).unwrap().replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let mut name = None;
            let mut data = Vec::new();
            for line in event.lines() {
                if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                } else if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim().to_string());
                }
            }
            Frame { name, data: data.join("\n").into_bytes(), raw: format!("{event}\n\n").into_bytes() }
        })
        .collect()
}

/// One frame per element of a JSON-array stream.
pub fn json_array_frames(bytes: &[u8]) -> Vec<Frame> {
    let Value::Array(items) = serde_json::from_slice(bytes).unwrap() else { panic!("not a JSON array") };
    items
        .iter()
        .map(|item| {
            let data = serde_json::to_vec(item).unwrap();
            Frame { name: None, raw: data.clone(), data }
        })
        .collect()
}

/// The request body of interaction `i` of a cassette: `parsed_body`, or `body` (a JSON string).
pub fn cassette_request(rel: &str, i: usize) -> Value {
    body_of(&cassette(rel)["interactions"][i]["request"])
}

/// The response body of interaction `i` of a cassette: `parsed_body`, or `body.string`.
pub fn cassette_response(rel: &str, i: usize) -> Value {
    body_of(&cassette(rel)["interactions"][i]["response"])
}

fn body_of(side: &Value) -> Value {
    if let Some(parsed) = side.get("parsed_body") {
        return parsed.clone();
    }
    let text = match &side["body"] {
        Value::String(s) => s.as_str(),
        other => other["string"].as_str().expect("cassette body is a string"),
    };
    serde_json::from_str(text).expect("cassette body is JSON")
}

pub fn cassette(rel: &str) -> Value {
    let text = String::from_utf8(read(rel)).unwrap();
    yaml(&text)
}

/// Reads the block-style YAML that vcrpy writes: mappings, `- ` sequences (also at the parent
/// key's indentation), plain / single-quoted / double-quoted scalars that may span lines, `|`
/// literal blocks, `!!tags` (dropped) and empty `{}` / `[]`. Nothing else of YAML is supported.
pub fn yaml(text: &str) -> Value {
    let mut reader = Yaml { lines: text.lines().map(str::to_string).collect(), pos: 0 };
    reader.node(0)
}

struct Yaml {
    lines: Vec<String>,
    pos: usize,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_seq_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// `key: rest` when the line is a mapping entry with a plain key.
fn split_key(content: &str) -> Option<(&str, &str)> {
    if content.starts_with(['\'', '"', '{', '[']) || is_seq_item(content) {
        return None;
    }
    if let Some(key) = content.strip_suffix(':') {
        if !key.contains(": ") {
            return Some((key, ""));
        }
    }
    content.find(": ").map(|at| (&content[..at], &content[at + 2..]))
}

impl Yaml {
    fn skip_blank(&mut self) {
        while self.pos < self.lines.len() && self.lines[self.pos].trim().is_empty() {
            self.pos += 1;
        }
    }

    /// The block node starting at the next non-blank line, which is indented at least `min`.
    fn node(&mut self, min: usize) -> Value {
        self.skip_blank();
        let Some(line) = self.lines.get(self.pos) else { return Value::Null };
        let indent = indent_of(line);
        let content = line.trim_start();
        if indent < min {
            return Value::Null;
        }
        if is_seq_item(content) {
            self.sequence(indent)
        } else if split_key(content).is_some() {
            self.mapping(indent)
        } else {
            let content = content.to_string();
            self.pos += 1;
            self.scalar(&content, indent.saturating_sub(1))
        }
    }

    fn mapping(&mut self, indent: usize) -> Value {
        let mut map = Map::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.pos) else { break };
            let content = line.trim_start().to_string();
            if indent_of(line) != indent || is_seq_item(&content) {
                break;
            }
            let Some((key, rest)) = split_key(&content) else { break };
            let key = key.to_string();
            self.pos += 1;
            let value = self.value(rest, indent);
            map.insert(key, value);
        }
        Value::Object(map)
    }

    fn sequence(&mut self, indent: usize) -> Value {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.pos) else { break };
            let content = line.trim_start().to_string();
            if indent_of(line) != indent || !is_seq_item(&content) {
                break;
            }
            let rest = content.strip_prefix('-').unwrap_or_default();
            let inner = rest.trim_start();
            if split_key(inner).is_some() {
                // `- key: v` opens a mapping whose keys line up with `key`.
                let inner_indent = indent + 1 + (rest.len() - inner.len());
                self.lines[self.pos] = format!("{}{}", " ".repeat(inner_indent), inner);
                items.push(self.mapping(inner_indent));
            } else {
                self.pos += 1;
                items.push(self.value(inner, indent));
            }
        }
        Value::Array(items)
    }

    /// The value after `key:` or `- ` on a line indented `indent`.
    fn value(&mut self, rest: &str, indent: usize) -> Value {
        let mut rest = rest.trim();
        if rest.starts_with("!!") {
            rest = rest.split_once(' ').map(|(_, r)| r.trim()).unwrap_or("");
        }
        if rest.is_empty() {
            self.skip_blank();
            let Some(line) = self.lines.get(self.pos) else { return Value::Null };
            let (next_indent, next) = (indent_of(line), line.trim_start());
            return if next_indent > indent || (next_indent == indent && is_seq_item(next)) {
                self.node(next_indent)
            } else {
                Value::Null
            };
        }
        self.scalar(rest, indent)
    }

    /// A scalar whose first line is `first`; continuation lines are those indented past `indent`.
    fn scalar(&mut self, first: &str, indent: usize) -> Value {
        if first.starts_with('|') || first.starts_with('>') {
            return Value::String(self.literal(first, indent));
        }
        let mut lines = vec![first.to_string()];
        while let Some(line) = self.lines.get(self.pos) {
            if !line.trim().is_empty() && indent_of(line) <= indent {
                break;
            }
            lines.push(line.trim().to_string());
            self.pos += 1;
        }
        // Trailing blank lines belong to whatever follows, not to the scalar.
        while lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
            self.pos -= 1;
        }
        match first.chars().next() {
            Some('\'') => Value::String(single_quoted(&lines)),
            Some('"') => Value::String(double_quoted(&lines)),
            _ => plain(&fold(&lines)),
        }
    }

    fn literal(&mut self, header: &str, indent: usize) -> String {
        let mut body: Vec<String> = Vec::new();
        let mut block_indent = None;
        while let Some(line) = self.lines.get(self.pos) {
            if line.trim().is_empty() {
                body.push(String::new());
                self.pos += 1;
                continue;
            }
            let this = indent_of(line);
            if this <= indent {
                break;
            }
            let at = *block_indent.get_or_insert(this);
            body.push(line.get(at..).unwrap_or("").to_string());
            self.pos += 1;
        }
        // Chomping: `|-` strips the final line breaks, `|` keeps one, `|+` keeps them all.
        let mut trailing = 0;
        while body.last().is_some_and(|l| l.is_empty()) {
            body.pop();
            trailing += 1;
        }
        let text = body.join("\n");
        if header.contains('-') {
            self.pos -= trailing;
            text
        } else if header.contains('+') {
            text + &"\n".repeat(trailing + 1)
        } else {
            self.pos -= trailing;
            text + "\n"
        }
    }
}

/// Line folding of flow scalars: a line break becomes a space, each blank line a newline.
fn fold(lines: &[String]) -> String {
    let mut out = String::new();
    let mut pending_breaks = 0;
    for (n, line) in lines.iter().enumerate() {
        if n > 0 && line.is_empty() {
            pending_breaks += 1;
            continue;
        }
        if n > 0 {
            if pending_breaks > 0 {
                out.push_str(&"\n".repeat(pending_breaks));
            } else {
                out.push(' ');
            }
            pending_breaks = 0;
        }
        out.push_str(line);
    }
    out
}

fn single_quoted(lines: &[String]) -> String {
    let folded = fold(lines);
    let inner = folded.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).expect("closed single quote");
    inner.replace("''", "'")
}

fn double_quoted(lines: &[String]) -> String {
    // An escaped line break (`\` at the end of a line) joins lines without a space.
    let mut joined: Vec<String> = Vec::new();
    for line in lines {
        match joined.last_mut() {
            Some(prev) if prev.ends_with('\\') && !prev.ends_with("\\\\") => {
                prev.pop();
                prev.push_str(line);
            }
            _ => joined.push(line.clone()),
        }
    }
    let folded = fold(&joined);
    let inner = folded.strip_prefix('"').and_then(|s| s.strip_suffix('"')).expect("closed double quote");
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn plain(text: &str) -> Value {
    match text {
        "null" | "~" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "{}" => Value::Object(Map::new()),
        "[]" => Value::Array(Vec::new()),
        _ => {
            if let Ok(n) = text.parse::<i64>() {
                return Value::from(n);
            }
            match text.parse::<f64>() {
                Ok(f) if text.contains(['.', 'e']) => Value::from(f),
                _ => Value::String(text.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_subset_reads_the_shapes_vcr_writes() {
        let text = "a:\n  b: 1\n  c:\n  - x: 'it''s\n      folded'\n    y: |-\n      line 1\n\n      line 2\n  - plain\n    continued\n  - !!binary |\n    QUJD\n  d: {}\ne: \"q\\\"\n  \\u00b0\"\n";
        assert_eq!(
            yaml(text),
            json!({"a": {"b": 1, "c": [{"x": "it's folded", "y": "line 1\n\nline 2"}, "plain continued", "QUJD\n"], "d": {}}, "e": "q\" °"})
        );
    }
}
