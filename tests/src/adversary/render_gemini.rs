//! Gemini `GenerateContentResponse`: whole, as `alt=sse` events, or as one JSON array whose
//! elements arrive over time. Calls arrive whole (`functionCall` with `args` as a JSON value: the
//! argument text is spliced in raw), one chunk per candidate.

use super::lenient::{splice, with_nan};
use super::{wire, Call, Output, Style};
use serde_json::{json, Value};

fn placeholder(i: usize, j: usize) -> String {
    format!("@ADVERSARY_ARGS_{i}_{j}@")
}

fn raw_args(output: &Output) -> Vec<(String, String)> {
    let mut raw = Vec::new();
    for (i, choice) in output.choices.iter().enumerate() {
        for (j, call) in choice.calls.iter().enumerate() {
            raw.push((placeholder(i, j), if call.args.is_empty() { "{}".into() } else { call.args_text() }));
        }
    }
    raw
}

fn call_part(i: usize, j: usize, call: &Call) -> Value {
    let mut function = json!({"args": placeholder(i, j)});
    if !call.name.is_empty() {
        function["name"] = json!(call.name());
    }
    json!({"functionCall": function})
}

fn usage() -> Value {
    json!({"promptTokenCount": 25, "candidatesTokenCount": 12, "totalTokenCount": 37, "cachedContentTokenCount": 5})
}

fn chunk(candidates: Vec<Value>, usage_too: bool) -> Value {
    let mut chunk = json!({"candidates": candidates, "modelVersion": "gemini-2.5-flash", "responseId": "adversary"});
    if usage_too {
        chunk["usageMetadata"] = usage();
    }
    chunk
}

fn candidate(i: usize, parts: Vec<Value>, finish: bool) -> Value {
    let mut c = json!({"content": {"role": "model", "parts": parts}, "index": i});
    if finish {
        c["finishReason"] = json!("STOP");
    }
    c
}

pub fn json(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let candidates = output
        .choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let mut parts = Vec::new();
            if !choice.text.is_empty() {
                parts.push(json!({"text": choice.text.concat()}));
            }
            parts.extend(choice.calls.iter().enumerate().map(|(j, c)| call_part(i, j, c)));
            candidate(i, parts, true)
        })
        .collect();
    let text = splice(&chunk(candidates, true), &raw_args(output));
    vec![if style.lenient_frames { with_nan(&text) } else { text }.into_bytes()]
}

/// The stream's chunks as JSON text, and whether each carries calls.
fn chunks(output: &Output, style: &Style) -> Vec<(String, bool)> {
    let raw = raw_args(output);
    let mut out = Vec::new();
    for (i, choice) in output.choices.iter().enumerate() {
        if style.huge_event_before && i == 0 {
            out.push((
                chunk(vec![candidate(i, vec![json!({"text": wire::huge_text()})], false)], false).to_string(),
                false,
            ));
        }
        for piece in &choice.text {
            out.push((chunk(vec![candidate(i, vec![json!({"text": piece})], false)], false).to_string(), false));
        }
        if !choice.calls.is_empty() {
            let parts = choice.calls.iter().enumerate().map(|(j, c)| call_part(i, j, c)).collect();
            let text = splice(&chunk(vec![candidate(i, parts, false)], false), &raw);
            out.push((if style.lenient_frames { with_nan(&text) } else { text }, true));
        }
    }
    if !style.unfinished {
        for (i, _) in output.choices.iter().enumerate() {
            out.push((chunk(vec![candidate(i, vec![json!({"text": ""})], true)], true).to_string(), false));
        }
    }
    out
}

pub fn sse(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = chunks(output, style)
        .into_iter()
        .map(|(text, calls)| {
            if calls && style.bare_json_line {
                format!("{text}\n\n").into_bytes()
            } else {
                wire::sse(style, None, &text)
            }
        })
        .collect();
    if style.unterminated {
        wire::unterminate(&mut parts);
    }
    parts
}

pub fn array(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    for (n, (text, calls)) in chunks(output, style).into_iter().enumerate() {
        let sep = match n {
            0 => "[",
            _ if calls && style.bad_separator => ";\r\n",
            _ => ",\r\n",
        };
        parts.push(format!("{sep}{text}").into_bytes());
    }
    if parts.is_empty() {
        parts.push(b"[".to_vec());
    }
    if style.unterminated {
        // The last element stops a few bytes before its end, and the array never closes.
        if let Some(last) = parts.last_mut() {
            last.truncate(last.len().saturating_sub(4));
        }
    } else {
        parts.push(b"]".to_vec());
    }
    parts
}
