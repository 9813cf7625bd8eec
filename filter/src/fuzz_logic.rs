//! The bodies of the fuzz targets in `filter/fuzz/fuzz_targets/`, built only under `cfg(fuzzing)`.
//! A failed assertion here is a finding, so asserting is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::providers::{parse_request, parse_response, stream_framing, StreamFold};
use crate::stream::{eventstream, json_array, sse, Frame, StreamError, MAX_FRAME_BYTES};
use crate::view::Api;

const APIS: [Api; 8] = [
    Api::ChatCompletions,
    Api::Responses,
    Api::Embeddings,
    Api::Models,
    Api::Messages,
    Api::GenerateContent,
    Api::Converse,
    Api::Chat,
];

/// Fails to compile when `Api` gains a variant, so `APIS` stays complete.
const _: fn(Api) = |api| match api {
    Api::ChatCompletions
    | Api::Responses
    | Api::Embeddings
    | Api::Models
    | Api::Messages
    | Api::GenerateContent
    | Api::Converse
    | Api::Chat => {}
};

pub fn sse(data: &[u8]) {
    check_decoder(data, sse::Decoder::new, sse::Decoder::push, sse::Decoder::finish);
}

pub fn json_array(data: &[u8]) {
    check_decoder(data, json_array::Decoder::new, json_array::Decoder::push, json_array::Decoder::finish);
}

pub fn eventstream(data: &[u8]) {
    check_decoder(data, eventstream::Decoder::new, eventstream::Decoder::push, eventstream::Decoder::finish);
    if let Ok(message) = eventstream::decode_message(data) {
        assert_eq!(eventstream::encode(&message.headers, &message.payload), data, "decode→encode is not the identity");
    }
}

/// Every request and response parser over any JSON, and every stream fold over the frames of the
/// input decoded as each framing.
pub fn request_parsers(data: &[u8]) {
    let tree = serde_json::from_slice::<serde_json::Value>(data).ok();
    if let Some(value) = &tree {
        for api in APIS {
            let _ = parse_request(api, value);
            let _ = parse_response(api, value);
        }
    }
    // The typed request readers take only bodies the tree reads as an object, and give the view
    // the tree gives.
    for api in [Api::ChatCompletions, Api::Messages, Api::Responses, Api::Chat, Api::Converse] {
        if let Some((_, view)) = crate::providers::read_request(api, data) {
            let tree = tree.as_ref().filter(|v| v.is_object());
            assert_eq!(Some(view), tree.and_then(|t| parse_request(api, t)), "typed reader and tree differ ({api:?})");
        }
    }
    let sse_frames = frames(data, sse::Decoder::new(MAX_FRAME_BYTES), sse::Decoder::push, sse::Decoder::finish);
    let array_frames =
        frames(data, json_array::Decoder::new(MAX_FRAME_BYTES), json_array::Decoder::push, json_array::Decoder::finish);
    let event_frames = frames(
        data,
        eventstream::Decoder::new(MAX_FRAME_BYTES),
        eventstream::Decoder::push,
        eventstream::Decoder::finish,
    );
    let hide_usage_chunk = data.first().is_some_and(|b| b & 1 == 1);
    for api in APIS {
        // Every fold sees SSE frames (what a confused upstream may send), plus its own framing.
        let own = match stream_framing(api, false) {
            crate::stream::Framing::EventStream => Some(&event_frames),
            crate::stream::Framing::JsonArray => Some(&array_frames),
            crate::stream::Framing::Sse => None,
        };
        for (framing, batch) in std::iter::once((crate::stream::Framing::Sse, &sse_frames))
            .chain(own.map(|frames| (stream_framing(api, false), frames)))
        {
            if let Some(mut fold) = StreamFold::new(api, hide_usage_chunk, framing) {
                // Every frame is also stripped and the stream refused, as the hold-back would.
                let mut last = None;
                for frame in batch {
                    let _ = fold.on_frame(frame);
                    let _ = fold.strip_tools(frame);
                    last = Some(frame);
                }
                let _ = fold.refusal("blocked", last);
                let _ = fold.response();
            }
        }
    }
}

/// The last three bytes steer the run: a cut point (u16, taken modulo the body length) and a frame
/// cap (0 = the production cap, else 8 × the byte). Trailing rather than leading, so a recorded
/// stream used as a seed keeps its framing.
fn controls(data: &[u8]) -> (&[u8], usize, usize) {
    let Some((body, ctl)) = data.split_last_chunk::<3>() else { return (data, 0, MAX_FRAME_BYTES) };
    let cut = usize::from(u16::from_be_bytes([ctl[0], ctl[1]])) % (body.len() + 1);
    let limit = if ctl[2] == 0 { MAX_FRAME_BYTES } else { usize::from(ctl[2]) * 8 };
    (body, cut, limit)
}

type Decoded = Result<(Vec<Frame>, Vec<u8>), StreamError>;

fn run<D>(
    mut decoder: D,
    pieces: &[&[u8]],
    push: fn(&mut D, &[u8], &mut Vec<Frame>) -> Result<(), StreamError>,
    finish: fn(&mut D, &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>,
) -> Decoded {
    let mut out = Vec::new();
    for piece in pieces {
        push(&mut decoder, piece, &mut out)?;
    }
    let rest = finish(&mut decoder, &mut out)?;
    Ok((out, rest))
}

fn frames<D>(
    data: &[u8],
    decoder: D,
    push: fn(&mut D, &[u8], &mut Vec<Frame>) -> Result<(), StreamError>,
    finish: fn(&mut D, &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>,
) -> Vec<Frame> {
    run(decoder, &[data], push, finish).map(|(frames, _)| frames).unwrap_or_default()
}

/// The decoder contract: one-shot and cut input give the same frames (or both fail), and the raw
/// bytes of the frames plus the leftover are the input.
fn check_decoder<D>(
    data: &[u8],
    new: fn(usize) -> D,
    push: fn(&mut D, &[u8], &mut Vec<Frame>) -> Result<(), StreamError>,
    finish: fn(&mut D, &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>,
) {
    let (body, cut, limit) = controls(data);
    let (head, tail) = body.split_at(cut);
    let whole = run(new(limit), &[body], push, finish);
    let split = run(new(limit), &[head, tail], push, finish);
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    let single = run(new(limit), &bytewise, push, finish);
    assert_eq!(whole.is_ok(), split.is_ok(), "cutting at {cut} changed the outcome: {whole:?} vs {split:?}");
    assert_eq!(whole.is_ok(), single.is_ok(), "byte-wise pushes changed the outcome");
    if let (Ok(whole), Ok(split), Ok(single)) = (whole, split, single) {
        let mut raw: Vec<u8> = whole.0.iter().flat_map(|f| f.raw.iter().copied()).collect();
        raw.extend_from_slice(&whole.1);
        assert_eq!(raw, body, "raw bytes do not rebuild the input");
        assert_eq!(whole, split, "cutting at {cut} changed the frames");
        assert_eq!(whole, single, "byte-wise pushes changed the frames");
    }
}

/// The policed APIs, each with a client path and a request that declares the tools the profile
/// names, so every call the fuzzer invents is judged.
const POLICED: [(&str, &str); 9] = [
    (
        "/v1/openai/chat/completions",
        r#"{"model":"gpt-4o","messages":[],"tools":[{"type":"function","function":{"name":"read_file"}}]}"#,
    ),
    (
        "/v1/openai/responses",
        r#"{"model":"gpt-4o","input":"x","tools":[{"type":"function","name":"read_file"},{"type":"local_shell"}]}"#,
    ),
    (
        "/v1/anthropic/v1/messages",
        r#"{"model":"claude-sonnet-4-5","max_tokens":9,"messages":[],"tools":[{"name":"read_file"}]}"#,
    ),
    (
        "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        r#"{"contents":[],"tools":[{"functionDeclarations":[{"name":"read_file"}]}]}"#,
    ),
    (
        "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        r#"{"contents":[],"tools":[{"functionDeclarations":[{"name":"read_file"}]}]}"#,
    ),
    ("/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", r#"{"contents":[]}"#),
    ("/v1/bedrock/model/m/converse", r#"{"messages":[],"toolConfig":{"tools":[{"toolSpec":{"name":"read_file"}}]}}"#),
    (
        "/v1/bedrock/model/m/converse-stream",
        r#"{"messages":[],"toolConfig":{"tools":[{"toolSpec":{"name":"read_file"}}]}}"#,
    ),
    (
        "/v1/cohere/v2/chat",
        r#"{"model":"command-a","messages":[],"tools":[{"type":"function","function":{"name":"read_file"}}]}"#,
    ),
];

/// A profile that blocks every tool call, whatever its name, arguments or context.
const BLOCK_ALL: &str =
    r#"{"max_held_bytes":4096,"profiles":{"default":{"tool_policies":[{"tool":"*","action":"block_always"}]}}}"#;

/// The whole response path of one exchange over arbitrary upstream bytes: content-type and
/// encoding, whole-body refusal, the stream decoder, fold, hold-back (with a small held-bytes cap)
/// and refusal builders, fed in pieces. The profile blocks every call, so whatever leaves the
/// gateway, read back by the provider's own fold, must carry no tool call.
pub fn response_path(data: &[u8]) {
    use crate::exchange::{Buffered, Exchange, ResponseHead, ResponsePlan};
    let Some((&ctl, rest)) = data.split_first() else { return };
    let Some((&cut_ctl, body)) = rest.split_first() else { return };
    let (path, request) = POLICED[usize::from(ctl) % POLICED.len()];
    let stream = ctl & 0x10 != 0;
    let content_type = match ctl >> 5 {
        0 => None,
        1 => Some("application/json"),
        2 => Some("application/vnd.amazon.eventstream"),
        _ => Some("text/event-stream"),
    };
    fast_paths_agree(body);
    let config = std::rc::Rc::new(crate::config::Config::from_json(BLOCK_ALL.as_bytes()).unwrap());
    let mut ex = Exchange::begin(config, "POST", path, &|_| None).unwrap();
    let request = if stream && !path.contains("stream") {
        request.replacen('{', "{\"stream\":true,", 1)
    } else {
        request.to_owned()
    };
    ex.request_body(request.as_bytes()).unwrap();
    let head = ResponseHead { status: 200, content_type, content_encoding: None };
    let api = ex.route().api.unwrap();
    match ex.response_headers(&head) {
        ResponsePlan::Stream(mut s) => {
            let framing = s_framing(content_type, api, path);
            let mut out = Vec::new();
            let step = usize::from(cut_ctl).max(1);
            let mut pieces = body.chunks(step).peekable();
            if pieces.peek().is_none() {
                s.push(&[], true, &mut out);
            }
            while let Some(piece) = pieces.next() {
                let before = out.len();
                // The host keeps a chunk reported verbatim as it came: it must be what went out.
                let verbatim = s.push(piece, pieces.peek().is_none(), &mut out);
                assert!(!verbatim || out.get(before..) == Some(piece), "a chunk reported verbatim was changed");
            }
            let _ = ex.finish(Some(&s), None, None, None);
            assert_no_calls_in_stream(api, framing, &out);
        }
        ResponsePlan::Buffer => match ex.buffered_response(body) {
            Buffered::Unchanged => {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
                    let calls = parse_response(api, &v).map(|r| r.tool_calls).unwrap_or_default();
                    assert!(calls.is_empty(), "a whole body with calls went out unchanged: {calls:?}");
                }
            }
            Buffered::Refusal { body: refused, .. } => {
                let v: serde_json::Value = serde_json::from_slice(&refused).unwrap();
                let calls = parse_response(api, &v).map(|r| r.tool_calls).unwrap_or_default();
                assert!(calls.is_empty(), "a refusal body still carries calls: {calls:?}");
            }
            Buffered::Refused(reply) => assert!(reply.status >= 500),
            Buffered::Translated { .. } => unreachable!("only model-router requests are translated"),
        },
        ResponsePlan::PassThrough | ResponsePlan::Refuse(_) => {}
    }
}

/// The typed fast paths of the stream folds (text read without a tree) fold every frame of
/// `body`, read as SSE, as their general paths do: the same answer for each frame and the same
/// state after it.
fn fast_paths_agree(body: &[u8]) {
    use crate::providers::{anthropic, bedrock, cohere, fast_path_agrees, gemini, openai_chat, openai_responses};
    use crate::stream::{Decoder, Framing};
    let mut frames = Vec::new();
    let mut decoder = Decoder::new(Framing::Sse);
    if decoder.push(body, &mut frames).is_err() {
        return;
    }
    let _ = decoder.finish(&mut frames);
    let new = || openai_chat::stream::Fold::new(true);
    let agreed = fast_path_agrees(&frames, new(), new(), openai_chat::stream::Fold::on_frame, |f| &mut f.general_only);
    assert_eq!(agreed, Ok(()), "Chat Completions");
    let new = anthropic::stream::Fold::new;
    let agreed = fast_path_agrees(&frames, new(), new(), anthropic::stream::Fold::on_frame, |f| &mut f.general_only);
    assert_eq!(agreed, Ok(()), "Anthropic");
    let new = openai_responses::stream::Fold::new;
    let on_frame = openai_responses::stream::Fold::on_frame;
    assert_eq!(fast_path_agrees(&frames, new(), new(), on_frame, |f| &mut f.general_only), Ok(()), "Responses");
    let new = || gemini::stream::Fold::new(Framing::Sse);
    let agreed = fast_path_agrees(&frames, new(), new(), gemini::stream::Fold::on_frame, |f| &mut f.general_only);
    assert_eq!(agreed, Ok(()), "Gemini");
    // Bedrock's events are named by the EventStream framing; SSE names stand in for them here.
    let new = bedrock::stream::Fold::new;
    let agreed = fast_path_agrees(&frames, new(), new(), bedrock::stream::Fold::on_frame, |f| &mut f.general_only);
    assert_eq!(agreed, Ok(()), "Bedrock");
    let new = cohere::stream::Fold::new;
    let agreed = fast_path_agrees(&frames, new(), new(), cohere::stream::Fold::on_frame, |f| &mut f.general_only);
    assert_eq!(agreed, Ok(()), "Cohere");
}

/// The framing the exchange picked for this content type (as `exchange::response` decides it).
fn s_framing(content_type: Option<&str>, api: Api, path: &str) -> crate::stream::Framing {
    use crate::stream::Framing;
    match content_type {
        Some("text/event-stream") => Framing::Sse,
        Some("application/vnd.amazon.eventstream") => Framing::EventStream,
        _ => stream_framing(api, path.contains("alt=sse")),
    }
}

/// Reads what the client got with a fresh fold of the same API: no tool call may be in it.
fn assert_no_calls_in_stream(api: Api, framing: crate::stream::Framing, out: &[u8]) {
    use crate::stream::Decoder;
    let mut decoder = Decoder::new(framing);
    let mut frames = Vec::new();
    if decoder.push(out, &mut frames).is_err() {
        return;
    }
    let _ = decoder.finish(&mut frames);
    let Some(mut fold) = StreamFold::new(api, false, framing) else { return };
    for frame in &frames {
        fold.on_frame(frame);
    }
    let calls = &fold.response().tool_calls;
    assert!(calls.is_empty(), "tool calls reached the client through a block-everything profile: {calls:?}");
}

/// Policy evaluation over arbitrary configuration and arguments: the bytes up to the first NUL are
/// a plugin configuration (kept when it parses), the rest the arguments and result of a call.
pub fn policies(data: &[u8]) {
    use crate::policy::{tools, trust, Context};
    use crate::view::{Arguments, ToolCall, ToolResult};
    let (config_bytes, rest) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let config = crate::config::Config::from_json(config_bytes)
        .or_else(|_| crate::config::Config::from_json(FALLBACK_POLICIES.as_bytes()))
        .unwrap();
    let text = String::from_utf8_lossy(rest);
    let arguments = crate::providers::json::parse_arguments(&text);
    let ctx = Context {
        agent_id: Some(text.chars().take(8).collect()),
        user_id: None,
        session_id: Some(String::new()),
        groups: vec![text.chars().rev().take(4).collect()],
    };
    for profile in config.profiles.values() {
        for name in ["read_file", "", "github__x", text.as_ref()] {
            let call = ToolCall { id: None, name: name.to_owned(), arguments: arguments.clone() };
            let raw_call = ToolCall {
                id: None,
                name: name.to_owned(),
                arguments: Arguments::from(serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default()),
            };
            for trusted in [true, false] {
                let out = tools::evaluate(&profile.policies, &[call.clone(), raw_call.clone()], &[], &ctx, trusted);
                if matches!(call.arguments, Arguments::Unreadable(_))
                    && tools::could_block(&profile.policies, name, trusted)
                {
                    assert!(out.any_blocked, "an unreadable call that could be blocked went through");
                }
                let _ = tools::could_block(&profile.policies, name, trusted);
            }
            let result = ToolResult {
                pointer: "/x".into(),
                call_id: None,
                tool_name: Some(name.to_owned()),
                content: text.to_string(),
                is_error: false,
            };
            let _ = trust::evaluate(&profile.policies, std::slice::from_ref(&result), &ctx, false);
        }
    }
}

/// Used when the fuzzed configuration does not parse: every operator, paths with wildcards and
/// context keys.
const FALLBACK_POLICIES: &str = r#"{"profiles":{"default":{
  "tool_policies":[
    {"tool":"read_file","conditions":[{"key":"path","operator":"starts_with","value":"/etc/"}],"action":"block_always"},
    {"tool":"read_file","conditions":[{"key":"a.b[0].c","operator":"regex","value":"^x+y$"}],"action":"require_approval"},
    {"tool":"*","conditions":[{"key":"context.groups","operator":"contains","value":"admin"}],"action":"allow_when_context_is_untrusted"},
    {"tool":"github__*","conditions":[{"key":"n","operator":"equal","value":1}],"action":"block_when_context_is_untrusted"}],
  "result_policies":[
    {"tool":"*","conditions":[{"key":"items[*].source","operator":"ends_with","value":".corp"}],"action":"mark_as_trusted"},
    {"tool":"read_file","conditions":[{"key":"secret","operator":"not_equal","value":""}],"action":"block_always"}]}}}"#;

/// The TOON encoder over arbitrary JSON, and the compression step that counts its tokens.
pub fn toon(data: &[u8]) {
    use crate::transform::toon::{self, ToonInput};
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let _ = toon::encode(&value);
    static TOKENIZER: std::sync::OnceLock<Option<crate::meter::tokens::Tokenizer>> = std::sync::OnceLock::new();
    if let Some(tok) = TOKENIZER.get_or_init(|| crate::meter::tokens::Tokenizer::new().ok()) {
        let content = String::from_utf8_lossy(data);
        let _ = toon::compress(tok, ToonInput { content: &content, is_error: false, policy_replaced: false });
    }
}
