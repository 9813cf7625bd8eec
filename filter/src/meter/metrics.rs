//! Metric names. proxy-wasm metrics have no labels, so labels are encoded in the name the Istio
//! way (`tag=.=value;.;`) and Envoy's `stats_tags` extractors (regex `(<tag>=\.=(.*?);\.;)`) turn
//! them back into Prometheus labels. The tags go before the metric name so that, once every tag is
//! extracted, exactly the metric name remains.

use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
}

/// One metric update: its labels (shared by the request's other metrics with the same labels)
/// and its name, kept apart so that a request builds no metric name: the host looks the metric's
/// id up by both (`host::metrics`), and the encoded name is written once per VM, when the id is
/// defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub labels: Labels,
    pub metric: &'static str,
    pub kind: Kind,
    pub value: u64,
}

impl Update {
    /// `tag=.=value;.;…name`, as Envoy gets it.
    pub fn name(&self) -> String {
        self.labels.name(self.metric)
    }
}

/// `tag=.=value;.;…name`. Values are made safe for the encoding (no `;`, `=` or `.` runs that
/// could be read as separators; Envoy stat names also reject some bytes).
pub fn encode(name: &str, labels: &[(&str, &str)]) -> String {
    Labels::new(labels).name(name)
}

/// Labels encoded once for every metric that carries them: a request reports about ten metrics,
/// most with the same provider, model and profile. Cloning shares the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels(Rc<str>);

impl Labels {
    pub fn new(labels: &[(&str, &str)]) -> Labels {
        Labels(Rc::from("")).with(labels)
    }

    /// These labels followed by `more`.
    pub fn with(&self, more: &[(&str, &str)]) -> Labels {
        let size = more.iter().fold(self.0.len(), |n, (tag, value)| n.saturating_add(tag.len() + value.len() + 6));
        let mut out = String::with_capacity(size);
        out.push_str(&self.0);
        for (tag, value) in more {
            out.push_str(tag);
            out.push_str("=.=");
            // Bytewise: a byte outside ASCII is part of a character `label_char` replaces anyway.
            if value.bytes().all(safe_label_byte) {
                out.push_str(value);
            } else {
                out.extend(value.chars().map(label_char));
            }
            out.push_str(";.;");
        }
        Labels(Rc::from(out))
    }

    /// Whether `other` is these labels, shared (not only equal).
    pub fn same(&self, other: &Labels) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The encoded labels (`tag=.=value;.;` each).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The encoded name of metric `name` with these labels.
    pub fn name(&self, name: &str) -> String {
        let mut out = String::with_capacity(self.0.len().saturating_add(name.len()));
        out.push_str(&self.0);
        out.push_str(name);
        out
    }

    pub fn counter(&self, name: &'static str, value: u64) -> Update {
        Update { labels: self.clone(), metric: name, kind: Kind::Counter, value }
    }

    pub fn histogram(&self, name: &'static str, value: u64) -> Update {
        Update { labels: self.clone(), metric: name, kind: Kind::Histogram, value }
    }
}

/// A label value's character as the encoding carries it: `;` and `=` would be read as separators,
/// and Envoy stat names reject some bytes, so everything outside a safe set becomes `_`.
pub fn label_char(c: char) -> char {
    if u8::try_from(c).is_ok_and(safe_label_byte) {
        c
    } else {
        '_'
    }
}

/// An ASCII byte a label value carries as it is.
fn safe_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'@')
}

pub fn counter(name: &'static str, labels: &[(&str, &str)], value: u64) -> Update {
    Labels::new(labels).counter(name, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_first_and_unsafe_characters_are_replaced() {
        assert_eq!(
            encode("warden_requests_total", &[("provider", "openai"), ("model", "gpt 5;x")]),
            "provider=.=openai;.;model=.=gpt_5_x;.;warden_requests_total"
        );
    }

    #[test]
    fn labels_encoded_once_name_every_metric_as_encode_does() {
        let base = [("provider", "openai"), ("model", "gpt 5;x")];
        let labels = Labels::new(&base);
        assert_eq!(labels.name("a"), encode("a", &base));
        let more = [("status", "200"), ("api", "chat=1")];
        let all: Vec<_> = base.iter().chain(&more).copied().collect();
        let update = labels.with(&more).counter("b", 3);
        assert_eq!(update.name(), encode("b", &all));
        assert_eq!((update.metric, update.kind, update.value), ("b", Kind::Counter, 3));
        assert_eq!(update.labels.as_str(), encode("", &all));
        let histogram = Labels::new(&[]).histogram("c", 1);
        assert_eq!((histogram.name(), histogram.kind), ("c".to_string(), Kind::Histogram));
    }

    proptest::proptest! {
        #[test]
        fn a_value_is_carried_as_label_char_maps_it(value in "\\PC{0,12}|[a-z0-9.:/@_;= -]{0,12}") {
            let mapped: String = value.chars().map(label_char).collect();
            proptest::prop_assert_eq!(encode("n", &[("t", &value)]), format!("t=.={mapped};.;n"));
        }
    }
}
