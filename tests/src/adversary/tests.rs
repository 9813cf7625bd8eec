//! The renderers and the permissive client agree with each other: what a format renders for an
//! output, the client reads back as the output's calls.

use super::client::{self, Policy};
use super::*;

fn calls_of(format: Format, output: &Output, style: &Style) -> Vec<(String, bool)> {
    let rendered = render(format, output, style);
    let headers = vec![("content-type".to_string(), rendered.content_type.clone())];
    let policy = Policy::declaring(&["read_file", "get_weather"]);
    client::read(format, 200, &headers, &rendered.body())
        .iter()
        .map(|c| (c.name.clone(), policy.forbidden(c).is_some()))
        .collect()
}

#[test]
fn every_format_renders_a_forbidden_call_the_client_reads_back() {
    let output = Output::one(&["Checking."], vec![Call::new("read_file", r#"{"path":"/etc/passwd"}"#)]);
    for format in FORMATS {
        let calls = calls_of(format, &output, &Style::default());
        assert!(calls.iter().any(|(n, f)| n == "read_file" && *f), "{format:?}: {calls:?}");
    }
}

#[test]
fn every_format_renders_an_allowed_call_the_client_allows() {
    let output = Output::one(&[], vec![Call::new("get_weather", r#"{"city":"Paris"}"#)]);
    for format in FORMATS {
        let calls = calls_of(format, &output, &Style::default());
        assert!(!calls.is_empty() && calls.iter().all(|(n, f)| n == "get_weather" && !*f), "{format:?}: {calls:?}");
    }
}

#[test]
fn streamed_name_pieces_are_concatenated() {
    let call = Call::new("read_file", r#"{"path":"/etc/passwd"}"#).name_pieces(&["read_", "file"]);
    let calls = calls_of(Format::ChatSse, &Output::one(&[], vec![call]), &Style::default());
    assert_eq!(calls, vec![("read_file".to_string(), true)]);
}

#[test]
fn the_anthropic_client_addresses_blocks_by_position() {
    let calls =
        vec![Call::new("read_file", r#"{"path":"/etc/passwd"}"#), Call::new("get_weather", r#"{"city":"Paris"}"#)];
    let style = Style { swapped_indexes: true, ..Style::default() };
    let got = calls_of(Format::AnthropicSse, &Output::one(&[], calls), &style);
    assert!(got.contains(&("read_file".to_string(), true)), "{got:?}");
}

#[test]
fn a_pending_gemini_event_at_the_end_is_read() {
    let call = Call::new("read_file", r#"{"path":"/etc/passwd"}"#);
    let style = Style { unfinished: true, unterminated: true, ..Style::default() };
    let rendered = render(Format::GeminiSse, &Output::one(&[], vec![call]), &style);
    assert!(!rendered.body().ends_with(b"\n"));
    let got = calls_of(
        Format::GeminiSse,
        &Output::one(&[], vec![Call::new("read_file", r#"{"path":"/etc/passwd"}"#)]),
        &style,
    );
    assert!(got.contains(&("read_file".to_string(), true)), "{got:?}");
}

#[test]
fn a_gzipped_body_is_read_after_decompression() {
    let rendered = render(Format::ChatJson, &Output::one(&[], vec![Call::new("read_file", "{}")]), &Style::default());
    let headers = vec![("content-encoding".to_string(), "gzip".to_string())];
    let calls = client::read(Format::ChatJson, 200, &headers, &wire::gzip(&rendered.body()));
    assert_eq!(calls.len(), 1);
}
