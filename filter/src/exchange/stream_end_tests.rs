//! How a policed stream ends: bytes that form no whole frame at the end are either read as a frame
//! (an SSE last line without its terminator) or refused, never passed on unread.

use super::*;
use crate::config::Config;

const CONFIG: &str = r#"{"profiles":{"default":{"tool_policies":[{"tool":"read_file",
    "conditions":[{"key":"path","operator":"starts_with","value":"/etc/"}],"action":"block_always"}]}}}"#;

const CALL_CHUNK: &str = r#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"read_file","args":{"path":"/etc/passwd"}}}]},"index":0}]}"#;

fn stream(path: &str) -> (Exchange, Box<ResponseStream>) {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let mut ex = Exchange::begin(config, "POST", path, &|_| None).unwrap();
    ex.request_body(br#"{"contents":[]}"#).unwrap();
    let ResponsePlan::Stream(stream) = ex.response_headers(&ResponseHead { status: 200, ..Default::default() }) else {
        panic!("not a stream")
    };
    (ex, stream)
}

fn run(stream: &mut ResponseStream, body: &[u8]) -> String {
    let mut out = Vec::new();
    stream.push(body, true, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn an_sse_last_event_without_a_line_terminator_is_judged_like_any_other() {
    let (_, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    let out = run(&mut s, format!("data: {CALL_CHUNK}").as_bytes());
    assert!(!out.contains(r#""name":"read_file""#), "{out}");
    assert!(out.contains("read_file") && out.contains("/etc/passwd"), "the refusal names the call: {out}");
    assert!(s.blocked().is_some());
}

#[test]
fn an_sse_stream_whose_last_line_is_complete_is_passed_on_unchanged() {
    let (_, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    let body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]},\"finishReason\":\"STOP\"}]}\n\n\n";
    assert_eq!(run(&mut s, body.as_bytes()), body);
}

#[test]
fn bytes_after_a_json_array_are_refused_not_passed_on() {
    let (ex, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    let text = r#"{"candidates":[{"content":{"parts":[{"text":"hi"}]},"index":0}]}"#;
    let out = run(&mut s, format!("[{text}]{CALL_CHUNK}").as_bytes());
    assert!(!out.contains(r#""name":"read_file""#), "{out}");
    assert_eq!(s.ended_because(), Some("torn_final_event"));
    assert_eq!(ex.finish(Some(&s), None, None, None).0.unpoliced, Some("torn_final_event"));
}

#[test]
fn a_json_array_whose_last_element_is_cut_off_is_refused() {
    let (_, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    let cut = &CALL_CHUNK[..CALL_CHUNK.len() - 4];
    let out = run(&mut s, format!("[{cut}").as_bytes());
    assert!(!out.contains("functionCall"), "{out}");
    assert_eq!(s.ended_because(), Some("torn_final_event"));
}

#[test]
fn an_event_a_lenient_parser_reads_but_the_gateway_cannot_ends_the_stream() {
    // Python's json (google-genai) reads `NaN`; the call in this event was never judged.
    let (ex, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    let lenient = CALL_CHUNK.replace(r#""/etc/passwd""#, r#""/etc/passwd","n":NaN"#);
    let out = run(&mut s, format!("data: {lenient}\n\n").as_bytes());
    assert!(!out.contains(r#""name":"read_file""#), "{out}");
    assert!(out.contains("not JSON the gateway can read"), "{out}");
    assert_eq!(ex.finish(Some(&s), None, None, None).0.unpoliced, Some("unreadable_event"));
}

#[test]
fn a_json_array_the_gateway_ends_at_its_first_element_is_still_one_array() {
    let (_, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    let lenient = CALL_CHUNK.replace(r#""/etc/passwd""#, r#""/etc/passwd","n":NaN"#);
    let out = run(&mut s, format!("[{lenient}\r\n]").as_bytes());
    let array: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(array.as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(array[0]["candidates"][0]["finishReason"], "STOP");
    assert!(!out.contains("functionCall"));
}

#[test]
fn a_json_array_the_gateway_ends_after_live_elements_is_closed() {
    let (_, mut s) = stream("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    let text = r#"{"candidates":[{"content":{"parts":[{"text":"hi"}]},"index":0}]}"#;
    let mut out = Vec::new();
    s.push(format!("[{text}").as_bytes(), false, &mut out);
    s.push(
        format!(",\r\n{}", CALL_CHUNK.replace(r#""/etc/passwd""#, r#""/etc/passwd","n":NaN"#)).as_bytes(),
        false,
        &mut out,
    );
    s.push(b"\r\n]", true, &mut out);
    let out = String::from_utf8(out).unwrap();
    let array: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(array.as_array().map(Vec::len), Some(2), "{out}");
}
