//! Condition keys: paths into a JSON document in the lodash style policy authors know
//! (`a.b[0].c`), plus the `[*]` wildcard result policies use (`items[*].source`).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
    /// `[*]`: every element of an array.
    Each,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(Vec<Segment>);

impl Path {
    /// Parses `a.b[0].c`, `items[*].source`, `[0].text`. Keys are runs of characters other than
    /// `.`, `[` and `]`; brackets hold an index or `*`. JSONPath (`$.a`) is refused rather than
    /// silently never matching.
    pub fn parse(text: &str) -> Result<Path, String> {
        if text.is_empty() {
            return Err("a key must not be empty".into());
        }
        if text.starts_with('$') {
            return Err("keys are plain paths such as `path` or `items[*].source`, not JSONPath (`$.…`)".into());
        }
        let mut segments = Vec::new();
        let mut rest = text;
        let mut need_key = false;
        loop {
            if let (false, Some(after)) = (need_key, rest.strip_prefix('[')) {
                let (inner, tail) = after.split_once(']').ok_or_else(|| format!("unclosed '[' in `{text}`"))?;
                segments.push(match inner {
                    "*" => Segment::Each,
                    digits => Segment::Index(
                        digits.parse().map_err(|_| format!("`[{digits}]` in `{text}`: brackets hold an index or *"))?,
                    ),
                });
                rest = tail;
            } else {
                let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
                let (key, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
                if key.is_empty() {
                    return Err(format!("empty or malformed segment in `{text}`"));
                }
                segments.push(Segment::Key(key.to_owned()));
                rest = tail;
            }
            if rest.is_empty() {
                return Ok(Path(segments));
            }
            if let Some(after) = rest.strip_prefix('.') {
                rest = after;
                need_key = true;
            } else if rest.starts_with('[') {
                need_key = false;
            } else {
                return Err(format!("malformed path `{text}`: expected '.' or '[' before `{rest}`"));
            }
        }
    }

    pub fn wildcards(&self) -> usize {
        self.0.iter().filter(|s| **s == Segment::Each).count()
    }

    /// Every value the path reaches in `doc`. `null` counts as absent, as does a wildcard over
    /// something that is not an array; array elements that lack the rest of the path are skipped.
    pub fn values<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        walk(doc, &self.0, &mut out);
        out
    }
}

fn walk<'a>(cur: &'a Value, segments: &[Segment], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = segments.split_first() else {
        if !cur.is_null() {
            out.push(cur);
        }
        return;
    };
    let next = match (first, cur) {
        (Segment::Each, Value::Array(items)) => {
            for item in items {
                walk(item, rest, out);
            }
            return;
        }
        (Segment::Each, _) => None,
        (Segment::Index(i), Value::Array(items)) => items.get(*i),
        // lodash reads `a[0]` on an object as key "0" and `a.0` on an array as index 0.
        (Segment::Index(i), Value::Object(map)) => map.get(&i.to_string()),
        (Segment::Key(k), Value::Object(map)) => map.get(k),
        (Segment::Key(k), Value::Array(items)) => k.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    };
    if let Some(next) = next {
        walk(next, rest, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> Path {
        Path::parse(text).unwrap()
    }

    #[test]
    fn dotted_and_bracketed_paths_parse() {
        use Segment::*;
        assert_eq!(p("a.b[0].c").0, vec![Key("a".into()), Key("b".into()), Index(0), Key("c".into())]);
        assert_eq!(p("items[*].source").0, vec![Key("items".into()), Each, Key("source".into())]);
        assert_eq!(p("[0].text").0, vec![Index(0), Key("text".into())]);
        assert_eq!(p("m[1][2]").0, vec![Key("m".into()), Index(1), Index(2)]);
        assert_eq!(p("file-path").0, vec![Key("file-path".into())]);
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["", "a..b", ".a", "a.", "a[", "a[x]", "a]b", "a.[0]", "$.content", "a[0]b"] {
            assert!(Path::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn values_follow_keys_and_indices() {
        let doc = json!({"a": {"b": [{"c": "x"}, {"c": 2}]}});
        assert_eq!(p("a.b[0].c").values(&doc), vec![&json!("x")]);
        assert_eq!(p("a.b.1.c").values(&doc), vec![&json!(2)]);
        assert!(p("a.b[5].c").values(&doc).is_empty());
        assert!(p("a.x").values(&doc).is_empty());
    }

    #[test]
    fn wildcard_collects_every_present_element_value() {
        let doc = json!({"items": [{"s": "a"}, {"t": 1}, {"s": null}, {"s": "b"}]});
        assert_eq!(p("items[*].s").values(&doc), vec![&json!("a"), &json!("b")]);
        assert_eq!(p("items[*]").values(&doc).len(), 4);
        assert!(p("items[*].s").values(&json!({"items": {}})).is_empty());
        assert!(p("items[*].s").values(&json!({"items": []})).is_empty());
    }

    #[test]
    fn null_counts_as_absent() {
        assert!(p("a").values(&json!({"a": null})).is_empty());
    }
}
