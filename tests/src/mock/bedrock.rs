//! Bedrock Converse / ConverseStream, with its own AWS eventstream encoder (independent of the
//! filter's decoder on purpose: a shared bug would hide itself).

use super::scenario::{
    argument_pieces, text, text_first, tool_calls, Canned, Content, CACHED, CACHE_WRITE, INPUT, OUTPUT, TEXT_PIECES,
};
use serde_json::{json, Value};

pub const EVENTSTREAM: &str = "application/vnd.amazon.eventstream";

pub fn error_429() -> Canned {
    Canned::json(429, &json!({"message": "Too many requests, please wait before trying again."}))
        .with_header("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
        .with_header("x-amzn-requestid", "00000000-0000-4000-8000-000000000429")
}

fn usage() -> Value {
    json!({"inputTokens": INPUT, "outputTokens": OUTPUT, "totalTokens": INPUT + OUTPUT + CACHED + CACHE_WRITE,
        "cacheReadInputTokens": CACHED, "cacheWriteInputTokens": CACHE_WRITE})
}

fn stop_reason(content: &Content) -> &'static str {
    if tool_calls(content).is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

pub fn converse(content: &Content, stream: bool) -> Canned {
    let calls = tool_calls(content);
    if !stream {
        let mut blocks: Vec<Value> = if text_first(content) { vec![json!({"text": text()})] } else { Vec::new() };
        blocks.extend(calls.iter().enumerate().map(|(i, c)| {
            json!({"toolUse": {"toolUseId": format!("tooluse_mock000{i}"), "name": c.name, "input": c.arguments}})
        }));
        return Canned::json(
            200,
            &json!({"metrics": {"latencyMs": 321},
                "output": {"message": {"content": blocks, "role": "assistant"}},
                "stopReason": stop_reason(content), "usage": usage()}),
        )
        .with_header("x-amzn-requestid", "00000000-0000-4000-8000-000000000001");
    }
    let mut parts =
        vec![event("messageStart", &json!({"p": "abcdefghijklmnopqrstuvwxyzABCDEFGH", "role": "assistant"}))];
    let lead = text_first(content);
    if lead {
        for piece in TEXT_PIECES {
            parts.push(event(
                "contentBlockDelta",
                &json!({"contentBlockIndex": 0, "delta": {"text": piece}, "p": "abcdefghijklmnop"}),
            ));
        }
        parts.push(event("contentBlockStop", &json!({"contentBlockIndex": 0, "p": "abcdefghijklmnopqrstu"})));
    }
    for (i, call) in calls.iter().enumerate() {
        // Tool blocks follow the text block, if any.
        let index = i + usize::from(lead);
        parts.push(event(
            "contentBlockStart",
            &json!({"contentBlockIndex": index,
            "p": "abcdefghijklmnopqrstuvwxyzABCD",
            "start": {"toolUse": {"name": call.name, "toolUseId": format!("tooluse_mock000{i}")}}}),
        ));
        for piece in argument_pieces(&call.arguments) {
            parts.push(event(
                "contentBlockDelta",
                &json!({"contentBlockIndex": index,
                "delta": {"toolUse": {"input": piece}}, "p": "abcdefghij"}),
            ));
        }
        parts.push(event("contentBlockStop", &json!({"contentBlockIndex": index, "p": "abcdefghijklm"})));
    }
    parts.push(event(
        "messageStop",
        &json!({"p": "abcdefghijklmnopqrstuvwxyzABCDEFGHI", "stopReason": stop_reason(content)}),
    ));
    parts.push(event(
        "metadata",
        &json!({"metrics": {"latencyMs": 456}, "p": "abcdefghijklmnopqrstuvwxyzAB", "usage": usage()}),
    ));
    Canned::stream(EVENTSTREAM, parts).with_header("x-amzn-requestid", "00000000-0000-4000-8000-000000000002")
}

/// One eventstream message carrying a Converse stream event.
pub fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    encode(
        &[(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")],
        payload.to_string().as_bytes(),
    )
}

/// AWS eventstream framing: prelude (total length, headers length, prelude CRC), string headers,
/// payload, CRC32 of everything before it.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        head.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        head.extend_from_slice(name.as_bytes());
        head.push(7); // value type: string
        head.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        head.extend_from_slice(value.as_bytes());
    }
    let total = 12 + head.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// Decodes eventstream messages into (event type, payload JSON); test-side reader of what the
/// client received. Stops at the first incomplete or corrupt message.
pub fn decode(bytes: &[u8]) -> Vec<(String, Value)> {
    decode_counting(bytes).0
}

/// `decode`, and how many bytes formed whole, valid messages (less than all when the rest is torn
/// or corrupt).
pub fn decode_counting(bytes: &[u8]) -> (Vec<(String, Value)>, usize) {
    decode_parsing(bytes, |payload| serde_json::from_slice(payload).ok())
}

/// `decode`, with payloads read by `parse` (a lenient client's JSON parser); a payload it cannot
/// read is `Null`.
pub fn decode_lenient(bytes: &[u8], parse: fn(&[u8]) -> Option<Value>) -> Vec<(String, Value)> {
    decode_parsing(bytes, parse).0
}

fn decode_parsing(bytes: &[u8], parse: impl Fn(&[u8]) -> Option<Value>) -> (Vec<(String, Value)>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    // A message whose CRCs check out but whose headers do not parse is corrupt too: stop there.
    while let Some((event, total)) = bytes.get(at..).and_then(|b| decode_one(b, &parse)) {
        out.push(event);
        at += total;
    }
    (out, at)
}

/// The first message of `bytes` and its length.
fn decode_one(bytes: &[u8], parse: &impl Fn(&[u8]) -> Option<Value>) -> Option<((String, Value), usize)> {
    let word = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_be_bytes(b) as usize)
    };
    let (total, head_len) = (word(0)?, word(4)?);
    let body_end = total.checked_sub(4)?;
    if total < 16 || crc32fast::hash(bytes.get(..8)?) as usize != word(8)? {
        return None;
    }
    if crc32fast::hash(bytes.get(..body_end)?) as usize != word(body_end)? {
        return None;
    }
    let mut headers = bytes.get(12..12usize.checked_add(head_len)?)?;
    let mut event_type = String::new();
    let mut names = Vec::new();
    while let Some((&name_len, rest)) = headers.split_first() {
        let name = String::from_utf8_lossy(rest.get(..usize::from(name_len))?).to_string();
        // botocore refuses a message that repeats a header (DuplicateHeader): the stream ends there.
        if names.contains(&name) {
            return None;
        }
        names.push(name.clone());
        let rest = rest.get(usize::from(name_len) + 1..)?;
        let value_len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let value = String::from_utf8_lossy(rest.get(2..2 + value_len)?).to_string();
        if name == ":event-type" || name == ":exception-type" {
            event_type = value;
        }
        headers = rest.get(2 + value_len..)?;
    }
    let payload = parse(bytes.get(12 + head_len..body_end)?).unwrap_or(Value::Null);
    Some(((event_type, payload), total))
}

/// The control plane's `GET /inference-profiles` (ListInferenceProfiles).
pub fn inference_profiles() -> Canned {
    let profile = |id: &str, status: &str| {
        json!({"inferenceProfileId": id, "inferenceProfileName": id, "status": status, "type": "SYSTEM_DEFINED",
               "inferenceProfileArn": format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{id}"),
               "models": []})
    };
    Canned::json(
        200,
        &json!({"inferenceProfileSummaries": [
            profile("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "ACTIVE"),
            profile("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "ACTIVE"),
            profile("us.deepseek.r1-v1:0", "ACTIVE"),
            profile("us.meta.llama3-3-70b-instruct-v1:0", "ACTIVE"),
            profile("us.amazon.nova-pro-v1:0", "DISABLED")
        ]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_events_decode_back() {
        let canned = converse(&Content::ToolCall, true);
        let events = decode(&canned.parts.concat());
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.first(), Some(&"messageStart"));
        assert_eq!(names.last(), Some(&"metadata"));
        assert!(names.contains(&"contentBlockStart"));
    }

    #[test]
    fn prelude_crc_covers_the_first_eight_bytes() {
        let msg = encode(&[(":event-type", "x")], b"{}");
        assert_eq!(msg.get(8..12).unwrap(), crc32fast::hash(&msg[..8]).to_be_bytes());
    }
}
