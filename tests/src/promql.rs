//! What a PromQL expression asks of the metrics it names, and whether a Prometheus scrape has it:
//! a small reader for the expressions dashboards are made of (selectors with matchers, `by (…)`
//! aggregations in either position, `label_values(…)` variables), not a PromQL parser. What it
//! does not follow (`without`, `on`, `ignoring`, `group_left/right`) is an error, so a check built
//! on it never passes an expression it did not read.

use crate::prom::Sample;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    /// `$__rate_interval`, `$provider`: Grafana fills these in.
    Var,
    Num,
    Punct(char),
}

fn tokens(expr: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if matches!(c, '"' | '\'' | '`') {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string in {expr:?}")),
                    Some('\\') if c != '`' => {
                        value.extend(chars.get(i + 1));
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(value));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|c| ident_char(*c)) {
                i += 1;
            }
            out.push(Tok::Ident(chars.get(start..i).unwrap_or_default().iter().collect()));
        } else if c == '$' {
            i += 1;
            while chars.get(i).is_some_and(|c| ident_char(*c) || matches!(c, '{' | '}')) {
                i += 1;
            }
            out.push(Tok::Var);
        } else if c.is_ascii_digit() || c == '.' {
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.') {
                i += 1;
            }
            out.push(Tok::Num);
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

/// What the queries need of one metric: labels they group or filter by, and `label="value"`
/// matchers with a literal value (which must then match a real series).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Need {
    pub labels: BTreeSet<String>,
    pub values: BTreeSet<(String, String)>,
}

pub type Needs = BTreeMap<String, Need>;

fn is_metric(tok: &Tok) -> Option<&str> {
    match tok {
        Tok::Ident(name) if name.starts_with("warden_") => Some(name),
        _ => None,
    }
}

/// The index of the bracket matching the one at `open`, scanning forward from a `(` or backward
/// from a `)`.
fn matching(toks: &[Tok], open: usize, forward: bool) -> Option<usize> {
    let (inc, dec) = if forward { ('(', ')') } else { (')', '(') };
    let mut depth = 0usize;
    let mut i = open;
    loop {
        match toks.get(i)? {
            Tok::Punct(c) if *c == inc => depth += 1,
            Tok::Punct(c) if *c == dec => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i = if forward { i + 1 } else { i.checked_sub(1)? };
    }
}

/// Reads one expression into `needs`: every `warden_*` metric it names, the labels of its
/// selectors' matchers, and the labels of each `by (…)` for every metric inside that aggregation
/// (prefix `sum by (l) (…)` or postfix `sum (…) by (l)`). Returns the metrics it names. Clauses
/// this reader does not follow (`without`, `on`, `ignoring`, `group_left/right`) are an error
/// rather than a silent pass.
pub fn read_expr(expr: &str, needs: &mut Needs) -> Result<BTreeSet<String>, String> {
    let toks = tokens(expr)?;
    let mut named = BTreeSet::new();
    for (i, tok) in toks.iter().enumerate() {
        if let Some(metric) = is_metric(tok) {
            named.insert(metric.to_string());
            let need = needs.entry(metric.to_string()).or_default();
            if toks.get(i + 1) == Some(&Tok::Punct('{')) {
                read_matchers(&toks, i + 2, need).map_err(|e| format!("{e} in {expr:?}"))?;
            }
            continue;
        }
        let Tok::Ident(word) = tok else { continue };
        let followed_by_paren = toks.get(i + 1) == Some(&Tok::Punct('('));
        if matches!(word.as_str(), "without" | "on" | "ignoring" | "group_left" | "group_right") && followed_by_paren {
            return Err(format!("`{word}(…)` in {expr:?}: this check only follows `by (…)`"));
        }
        if word != "by" || !followed_by_paren {
            continue;
        }
        let close = matching(&toks, i + 1, true).ok_or_else(|| format!("unbalanced `by (` in {expr:?}"))?;
        let labels: Vec<String> = toks
            .get(i + 2..close)
            .unwrap_or_default()
            .iter()
            .filter_map(|t| match t {
                Tok::Ident(l) => Some(l.clone()),
                _ => None,
            })
            .collect();
        let scope = if toks.get(close + 1) == Some(&Tok::Punct('(')) {
            let end = matching(&toks, close + 1, true).ok_or_else(|| format!("unbalanced aggregation in {expr:?}"))?;
            close + 1..end
        } else if i > 0 && toks.get(i - 1) == Some(&Tok::Punct(')')) {
            let start = matching(&toks, i - 1, false).ok_or_else(|| format!("unbalanced aggregation in {expr:?}"))?;
            start..i
        } else {
            return Err(format!("`by (…)` with no aggregated expression beside it in {expr:?}"));
        };
        let inside: Vec<String> =
            toks.get(scope).unwrap_or_default().iter().filter_map(is_metric).map(str::to_string).collect();
        if inside.is_empty() {
            return Err(format!("`by ({})` aggregates no warden_ metric in {expr:?}", labels.join(", ")));
        }
        for metric in inside {
            needs.entry(metric).or_default().labels.extend(labels.iter().cloned());
        }
    }
    Ok(named)
}

/// `label op "value"` pairs up to the closing `}`.
fn read_matchers(toks: &[Tok], mut i: usize, need: &mut Need) -> Result<(), String> {
    loop {
        match toks.get(i) {
            Some(Tok::Punct('}')) => return Ok(()),
            Some(Tok::Punct(',')) => i += 1,
            Some(Tok::Ident(label)) => {
                let mut op = String::new();
                i += 1;
                while let Some(Tok::Punct(c @ ('=' | '!' | '~'))) = toks.get(i) {
                    op.push(*c);
                    i += 1;
                }
                let Some(Tok::Str(value)) = toks.get(i) else {
                    return Err(format!("matcher on `{label}` without a quoted value"));
                };
                if !matches!(op.as_str(), "=" | "!=" | "=~" | "!~") {
                    return Err(format!("matcher on `{label}` with operator {op:?}"));
                }
                need.labels.insert(label.clone());
                if op == "=" && !value.contains('$') {
                    need.values.insert((label.clone(), value.clone()));
                }
                i += 1;
            }
            other => return Err(format!("unexpected {other:?} in a selector")),
        }
    }
}

/// `label_values(<selector>, <label>)`: the selector's needs plus the label on its metric.
pub fn read_label_values(query: &str, needs: &mut Needs) -> Result<BTreeSet<String>, String> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or_else(|| format!("{query:?} is not label_values(<metric>, <label>)"))?;
    let (selector, label) = inner.rsplit_once(',').ok_or_else(|| format!("{query:?} names no label"))?;
    let named = read_expr(selector, needs)?;
    for metric in &named {
        needs.entry(metric.clone()).or_default().labels.insert(label.trim().to_string());
    }
    Ok(named)
}

/// Each metric's label names, and each (metric, label, value) seen, over a whole scrape.
#[derive(Debug, Default)]
pub struct Scrape {
    labels: BTreeMap<String, BTreeSet<String>>,
    values: BTreeSet<(String, String, String)>,
}

/// The scrape as [`unmet`] reads it.
pub fn index(samples: &[Sample]) -> Scrape {
    let mut s = Scrape::default();
    for sample in samples {
        let labels = s.labels.entry(sample.name.clone()).or_default();
        for (k, v) in &sample.labels {
            labels.insert(k.clone());
            s.values.insert((sample.name.clone(), k.clone(), v.clone()));
        }
    }
    s
}

/// Every need the scrape does not meet, naming the metric and the label.
pub fn unmet(needs: &Needs, scrape: &Scrape) -> Vec<String> {
    let mut out = Vec::new();
    for (metric, need) in needs {
        let Some(labels) = scrape.labels.get(metric) else {
            out.push(format!("{metric}: not in /stats/prometheus"));
            continue;
        };
        for label in need.labels.difference(labels) {
            out.push(format!("{metric}: no series has the label `{label}` (its labels: {labels:?})"));
        }
        for (label, value) in &need.values {
            if !scrape.values.contains(&(metric.clone(), label.clone(), value.clone())) {
                out.push(format!("{metric}: no series has {label}=\"{value}\""));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prom;

    #[test]
    fn expressions_are_read_for_their_metrics_grouping_labels_and_exact_matchers() {
        let refused = r#"sum(rate(warden_a_total[5m])) / on() sum(rate(warden_b_total[5m]))"#;
        assert!(read_expr(refused, &mut Needs::new()).is_err_and(|e| e.contains("`on(…)`")), "on(…) is not skipped");

        let mut needs = Needs::new();

        let expr = r#"histogram_quantile(0.95, sum by (le, provider) (rate(warden_a_bucket{profile=~"$profile", code="x,}"}[$__rate_interval]))) / sum(rate(warden_b_total[5m])) by (model) * 3600 / 1e6 or vector(0)"#;
        let named = read_expr(expr, &mut needs).expect("a readable expression");
        assert_eq!(named, BTreeSet::from(["warden_a_bucket".to_string(), "warden_b_total".to_string()]));
        let a = needs.get("warden_a_bucket").cloned().unwrap_or_default();
        assert_eq!(a.labels, BTreeSet::from(["le", "provider", "profile", "code"].map(String::from)));
        assert_eq!(a.values, BTreeSet::from([("code".to_string(), "x,}".to_string())]), "only literal `=` values");
        let b = needs.get("warden_b_total").cloned().unwrap_or_default();
        assert_eq!(b.labels, BTreeSet::from(["model".to_string()]), "a postfix by applies to what it follows");

        let named = read_label_values(r#"label_values(warden_c_total{provider=~"$provider"}, model)"#, &mut needs);
        assert_eq!(named, Ok(BTreeSet::from(["warden_c_total".to_string()])));
        let c = needs.get("warden_c_total").cloned().unwrap_or_default();
        assert_eq!(c.labels, BTreeSet::from(["provider", "model"].map(String::from)));

        let scrape = index(&prom::parse(
            "warden_a_bucket{le=\"1\",provider=\"openai\",profile=\"default\",code=\"y\"} 1\nwarden_c_total{provider=\"x\"} 1\n",
        ));
        let problems = unmet(&needs, &scrape);
        assert_eq!(
            problems,
            vec![
                "warden_a_bucket: no series has code=\"x,}\"".to_string(),
                "warden_b_total: not in /stats/prometheus".to_string(),
                "warden_c_total: no series has the label `model` (its labels: {\"provider\"})".to_string(),
            ]
        );
    }
}
