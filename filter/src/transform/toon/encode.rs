//! A TOON encoder (spec v3; default options: indent 2, delimiter `,`, no key folding) that writes
//! what `@toon-format/toon` 2.1.0, the reference's encoder, writes — with three deliberate
//! differences, each where the JS library departs from the data or the spec:
//! - numbers are canonical decimals of the parsed value: integers exact to 64 bits (JS rounds past
//!   2^53), no exponent for very large or small floats (JS writes `1e+21`, `1e-7`);
//! - object keys keep document order (JS moves integer-like keys such as `"1"` to the front);
//! - an empty key before an array header is written as `""[2]:` (JS drops it: `[2]:`).
//!
//! Nesting depth is bounded by the caller's parser (serde_json stops at 128 levels).

use serde_json::{Map, Number, Value};

/// `value` as TOON text: lines joined by `\n`, no trailing newline; `{}` gives the empty string.
pub fn encode(value: &Value) -> String {
    let mut w = Writer { out: String::new() };
    match value {
        Value::Array(items) => w.array(None, items, 0),
        Value::Object(map) => w.fields(map, 0),
        primitive => primitive_into(&mut w.out, primitive),
    }
    w.out
}

struct Writer {
    out: String,
}

impl Writer {
    /// Starts a line at `depth`; every line but the first is preceded by a newline.
    fn line(&mut self, depth: usize) -> &mut String {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        &mut self.out
    }

    /// Starts a list item (`- `) at `depth`.
    fn item(&mut self, depth: usize) -> &mut String {
        let out = self.line(depth);
        out.push_str("- ");
        out
    }

    fn fields(&mut self, map: &Map<String, Value>, depth: usize) {
        for (key, value) in map {
            self.field(key, value, depth);
        }
    }

    fn field(&mut self, key: &str, value: &Value, depth: usize) {
        match value {
            Value::Array(items) => self.array(Some(key), items, depth),
            Value::Object(map) => {
                let out = self.line(depth);
                key_into(out, key);
                out.push(':');
                self.fields(map, depth + 1);
            }
            primitive => {
                let out = self.line(depth);
                key_into(out, key);
                out.push_str(": ");
                primitive_into(out, primitive);
            }
        }
    }

    /// An array as a field (`key`) or at the root / inside a list (`None`).
    fn array(&mut self, key: Option<&str>, items: &[Value], depth: usize) {
        if items.iter().all(is_primitive) {
            inline_into(self.line(depth), key, items);
        } else if items.iter().all(|i| i.as_array().is_some_and(|a| a.iter().all(is_primitive))) {
            header_into(self.line(depth), key, items.len(), None);
            for inner in items.iter().filter_map(Value::as_array) {
                inline_into(self.item(depth + 1), None, inner);
            }
        } else if let Some(columns) = table_columns(items) {
            header_into(self.line(depth), key, items.len(), Some(&columns));
            self.rows(items, &columns, depth + 1);
        } else {
            header_into(self.line(depth), key, items.len(), None);
            self.list_items(items, depth + 1);
        }
    }

    fn rows(&mut self, rows: &[Value], columns: &[&str], depth: usize) {
        for row in rows.iter().filter_map(Value::as_object) {
            let out = self.line(depth);
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                primitive_into(out, row.get(*column).unwrap_or(&Value::Null));
            }
        }
    }

    fn list_items(&mut self, items: &[Value], depth: usize) {
        for item in items {
            self.list_item(item, depth);
        }
    }

    /// One `- ` entry. Arrays here are never tabular, as in the reference encoder.
    fn list_item(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Array(items) if items.iter().all(is_primitive) => inline_into(self.item(depth), None, items),
            Value::Array(items) => {
                header_into(self.item(depth), None, items.len(), None);
                self.list_items(items, depth + 1);
            }
            Value::Object(map) => self.object_item(map, depth),
            primitive => primitive_into(self.item(depth), primitive),
        }
    }

    /// An object as a list item: its first field shares the `- ` line, the rest sit one level in.
    fn object_item(&mut self, map: &Map<String, Value>, depth: usize) {
        let mut entries = map.iter();
        let Some((key, first)) = entries.next() else {
            // An empty object is a bare dash (no trailing space).
            self.line(depth).push('-');
            return;
        };
        match first {
            Value::Array(items) => {
                if let Some(columns) = table_columns(items) {
                    header_into(self.item(depth), Some(key), items.len(), Some(&columns));
                    self.rows(items, &columns, depth + 2);
                } else if items.iter().all(is_primitive) {
                    inline_into(self.item(depth), Some(key), items);
                } else {
                    header_into(self.item(depth), Some(key), items.len(), None);
                    self.list_items(items, depth + 2);
                }
            }
            Value::Object(inner) => {
                let out = self.item(depth);
                key_into(out, key);
                out.push(':');
                self.fields(inner, depth + 2);
            }
            primitive => {
                let out = self.item(depth);
                key_into(out, key);
                out.push_str(": ");
                primitive_into(out, primitive);
            }
        }
        for (key, value) in entries {
            self.field(key, value, depth + 1);
        }
    }
}

fn is_primitive(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// The columns of a tabular array: every element an object with the first one's (non-empty) key
/// set and only primitive values. Columns keep the first object's key order.
fn table_columns(items: &[Value]) -> Option<Vec<&str>> {
    let first = items.first()?.as_object()?;
    if first.is_empty() {
        return None;
    }
    let uniform = items.iter().all(|item| {
        item.as_object()
            .is_some_and(|row| row.len() == first.len() && first.keys().all(|k| row.get(k).is_some_and(is_primitive)))
    });
    uniform.then(|| first.keys().map(String::as_str).collect())
}

/// `key[N]{a,b}:` — key and columns only when given.
fn header_into(out: &mut String, key: Option<&str>, len: usize, columns: Option<&[&str]>) {
    if let Some(key) = key {
        key_into(out, key);
    }
    out.push('[');
    out.push_str(&len.to_string());
    out.push(']');
    if let Some(columns) = columns {
        out.push('{');
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            key_into(out, column);
        }
        out.push('}');
    }
    out.push(':');
}

/// `key[N]: a,b,c` (just `key[0]:` when empty).
fn inline_into(out: &mut String, key: Option<&str>, items: &[Value]) {
    header_into(out, key, items.len(), None);
    for (i, item) in items.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        primitive_into(out, item);
    }
}

fn primitive_into(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number_into(out, n),
        Value::String(s) if is_safe_unquoted(s) => out.push_str(s),
        Value::String(s) => quoted_into(out, s),
        // Containers never reach here; writing them as null keeps the function total.
        Value::Array(_) | Value::Object(_) => out.push_str("null"),
    }
}

/// Canonical decimal: integers as they are, floats in their shortest round-trip digits without an
/// exponent, `-0` as `0`.
fn number_into(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else {
        match n.as_f64() {
            // The pattern compares with ==, so it takes -0.0 as well.
            Some(0.0) => out.push('0'),
            Some(f) if f.is_finite() => out.push_str(&f.to_string()),
            _ => out.push_str("null"),
        }
    }
}

/// Keys matching `^[A-Za-z_][A-Za-z0-9_.]*$` go bare, others quoted.
fn key_into(out: &mut String, key: &str) {
    let mut chars = key.chars();
    let bare = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if bare {
        out.push_str(key);
    } else {
        quoted_into(out, key);
    }
}

fn quoted_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A string may go bare unless a decoder would read it as something else: empty, padded with
/// whitespace, a literal or number look-alike, holding structure characters or the delimiter, or
/// starting like a list item.
fn is_safe_unquoted(s: &str) -> bool {
    let padded = s.starts_with(is_js_whitespace) || s.ends_with(is_js_whitespace);
    !(s.is_empty()
        || padded
        || matches!(s, "true" | "false" | "null")
        || is_numeric_like(s)
        || s.contains([':', '"', '\\', '[', ']', '{', '}', '\n', '\r', '\t', ','])
        || s.starts_with('-'))
}

/// JavaScript's `String.prototype.trim` set, which decides "padded" in the reference encoder. It
/// differs from `char::is_whitespace`: it has U+FEFF and lacks U+0085.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// `-?\d+(\.\d+)?([eE][+-]?\d+)?` (ASCII digits), which also covers leading-zero forms like `05`.
fn is_numeric_like(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let (int, rest) = split_digits(b);
    if int.is_empty() {
        return false;
    }
    let rest = match rest.strip_prefix(b".") {
        Some(after) => {
            let (frac, rest) = split_digits(after);
            if frac.is_empty() {
                return false;
            }
            rest
        }
        None => rest,
    };
    match rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        None => rest.is_empty(),
        Some(exp) => {
            let exp = exp.strip_prefix(b"+").or_else(|| exp.strip_prefix(b"-")).unwrap_or(exp);
            let (digits, rest) = split_digits(exp);
            !digits.is_empty() && rest.is_empty()
        }
    }
}

fn split_digits(b: &[u8]) -> (&[u8], &[u8]) {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    b.split_at(n)
}

#[cfg(test)]
mod tests;
