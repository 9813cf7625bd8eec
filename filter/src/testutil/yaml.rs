//! The YAML subset that VCR cassettes use, read into JSON values, so tests need no YAML crate.

use serde_json::{Map, Value};

/// Reads the block-style YAML that vcrpy and go-vcr write: an optional `---` document start,
/// mappings, `- ` sequences (also at the parent key's indentation), plain / single-quoted /
/// double-quoted scalars that may span lines, `|` literal blocks, `!!tags` (dropped) and empty
/// `{}` / `[]`. Nothing else of YAML is supported.
pub fn parse(text: &str) -> Value {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.first().is_some_and(|l| l.trim_end() == "---") {
        lines.remove(0);
    }
    let mut reader = Yaml { lines, pos: 0 };
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
