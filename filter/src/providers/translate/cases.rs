//! The recorded upstream answers the translation tests run (from `tests/fixtures/`, never
//! edited), and the one way each is fed to its translator.

use super::{for_provider, ChunkTranslator, ReplyMeta};
use crate::providers::Provider;
use crate::stream::{Decoder, Frame, Framing};
use crate::testutil;
use serde_json::Value;

/// Where a recorded body is.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A file under `tests/fixtures/`.
    File(&'static str),
    /// The response body of interaction `i` of a VCR cassette.
    Cassette(&'static str, usize),
    /// The response of entry `i` of an anthropic-sdk inline snapshot (a JSON list of exchanges).
    Snapshot(&'static str, usize),
    /// One SSE data payload per line (a recorder dropped the SSE framing).
    Jsonl(&'static str),
}

impl Source {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Source::File(rel) | Source::Jsonl(rel) => testutil::read(rel),
            Source::Cassette(rel, i) => {
                let cassette = testutil::cassette(rel);
                let side = &cassette["interactions"][i]["response"];
                match side.get("parsed_body") {
                    Some(parsed) => parsed.to_string().into_bytes(),
                    None => testutil::cassette_response_text(rel, i).into_bytes(),
                }
            }
            Source::Snapshot(rel, i) => testutil::read_json(rel)[i]["response"]["body"].to_string().into_bytes(),
        }
    }

    /// The recorded HTTP status of an error answer.
    pub fn status(self) -> u16 {
        let status = match self {
            Source::Cassette(rel, i) => {
                testutil::cassette(rel)["interactions"][i]["response"]["status"]["code"].as_u64()
            }
            Source::Snapshot(rel, i) => testutil::read_json(rel)[i]["response"]["status_code"].as_u64(),
            Source::File(_) | Source::Jsonl(_) => None,
        };
        status.and_then(|s| u16::try_from(s).ok()).unwrap_or(0)
    }
}

/// A recorded streaming answer and the target it comes from.
#[derive(Debug, Clone, Copy)]
pub struct StreamCase {
    pub name: &'static str,
    pub provider: Provider,
    pub framing: Framing,
    pub source: Source,
    pub model: &'static str,
    pub include_usage: bool,
}

const fn stream(
    name: &'static str,
    provider: Provider,
    framing: Framing,
    source: Source,
    model: &'static str,
    include_usage: bool,
) -> StreamCase {
    StreamCase { name, provider, framing, source, model, include_usage }
}

use Framing::{EventStream, JsonArray, Sse};
use Provider::{Anthropic, Bedrock, Cohere, Gemini, OpenAi};
use Source::{Cassette, File, Jsonl, Snapshot};

pub const STREAMS: &[StreamCase] = &[
    stream(
        "anthropic__text",
        Anthropic,
        Sse,
        File("anthropic-messages/agw__anthropic-stream_basic.sse"),
        "claude",
        false,
    ),
    stream(
        "anthropic__tool",
        Anthropic,
        Sse,
        File("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse"),
        "claude",
        true,
    ),
    stream(
        "anthropic__max_tokens_mid_tool",
        Anthropic,
        Sse,
        File("anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse"),
        "claude",
        true,
    ),
    stream(
        "anthropic__thinking",
        Anthropic,
        Sse,
        File("anthropic-messages/extracted/pydantic-ai__anthropic_thinking_stream.i0.response.sse"),
        "claude",
        true,
    ),
    stream(
        "gemini__sse_tool",
        Gemini,
        Sse,
        File("gemini/louter__streaming_function_calling_response_0.sse"),
        "gemini",
        true,
    ),
    stream(
        "gemini__sse_tool_signature",
        Gemini,
        Sse,
        File("gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse"),
        "gemini",
        true,
    ),
    stream(
        "gemini__array_tool",
        Gemini,
        JsonArray,
        File("gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json"),
        "gemini",
        true,
    ),
    stream(
        "gemini__array_text",
        Gemini,
        JsonArray,
        File("gemini/extracted/llm-gemini__test_tools.i2.response.jsonarray.json"),
        "gemini",
        false,
    ),
    stream("bedrock__text", Bedrock, EventStream, File("bedrock/agw__bedrock-basic.eventstream.bin"), "nova", false),
    stream(
        "bedrock__max_tokens",
        Bedrock,
        EventStream,
        File("bedrock/plano__converse-stream-text.eventstream.bin"),
        "nova",
        true,
    ),
    stream(
        "bedrock__tool",
        Bedrock,
        EventStream,
        File("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i0.response.eventstream.bin"),
        "nova",
        true,
    ),
    stream(
        "bedrock__thinking",
        Bedrock,
        EventStream,
        File("bedrock/extracted/pydantic-ai__bedrock_thinking_stream.i0.response.eventstream.bin"),
        "nova",
        true,
    ),
    stream(
        "cohere__text",
        Cohere,
        Sse,
        File("cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse"),
        "command",
        false,
    ),
    stream(
        "cohere__tool",
        Cohere,
        Sse,
        Cassette("cohere/lc-cohere__test_streaming_tool_call.yaml", 0),
        "command",
        true,
    ),
    stream(
        "cohere__parallel_tools",
        Cohere,
        Sse,
        Jsonl("cohere/vercel-ai__cohere-tool-call.chunks.jsonl"),
        "command",
        true,
    ),
    stream("openai__tool", OpenAi, Sse, File("openai-chat/openai-py__stream-tool-call__c6aa7e39.sse"), "gpt", true),
    stream(
        "openai__usage_length",
        OpenAi,
        Sse,
        File("openai-chat/extracted/envoy-aigw__chat-streaming-detailed-usage.i0.response.sse"),
        "gpt",
        true,
    ),
];

/// A recorded whole answer (2xx) or error answer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerCase {
    pub name: &'static str,
    pub provider: Provider,
    pub source: Source,
    pub model: &'static str,
    /// The status for an error case whose recording does not keep it.
    pub status: u16,
}

const fn answer(name: &'static str, provider: Provider, source: Source, model: &'static str) -> AnswerCase {
    AnswerCase { name, provider, source, model, status: 200 }
}

const fn error(name: &'static str, provider: Provider, source: Source, status: u16) -> AnswerCase {
    AnswerCase { name, provider, source, model: "", status }
}

pub const ANSWERS: &[AnswerCase] = &[
    answer(
        "anthropic__tool_use",
        Anthropic,
        Snapshot("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json", 0),
        "claude",
    ),
    answer(
        "anthropic__parallel_tools",
        Anthropic,
        Cassette("anthropic-messages/pydantic-ai__test_multiple_parallel_tool_calls.yaml", 0),
        "claude",
    ),
    answer(
        "anthropic__cache_read",
        Anthropic,
        Cassette("anthropic-messages/pydantic-ai__test_anthropic_cache_real_api.yaml", 0),
        "claude",
    ),
    answer("gemini__tool_call_signature", Gemini, File("gemini/vercel-ai__google-tool-call-gemini3.json"), "gemini"),
    answer("gemini__tool_call", Gemini, Cassette("gemini/pydantic-ai__test_google_tool_output.yaml", 0), "gemini"),
    answer(
        "gemini__cached",
        Gemini,
        Cassette("gemini/pydantic-ai__test_google_model_cached_content.yaml", 1),
        "gemini",
    ),
    answer(
        "bedrock__tool_use",
        Bedrock,
        Cassette("bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml", 0),
        "nova",
    ),
    answer(
        "bedrock__cache_write",
        Bedrock,
        Cassette("bedrock/pydantic-ai__test_bedrock_cache_write_and_read.yaml", 0),
        "nova",
    ),
    answer(
        "bedrock__cache_read",
        Bedrock,
        Cassette("bedrock/pydantic-ai__test_bedrock_cache_write_and_read.yaml", 1),
        "nova",
    ),
    answer("cohere__parallel_tools", Cohere, File("cohere/vercel-ai__cohere-tool-call.json"), "command"),
    answer("cohere__reasoning", Cohere, File("cohere/vercel-ai__cohere-reasoning.json"), "command"),
    answer("openai__text", OpenAi, File("openai-chat/agw__completions-basic.json"), "gpt"),
    answer("openai__parallel_tools", OpenAi, Cassette("openai-chat/envoy-aigw__chat-parallel-tools.yaml", 0), "gpt"),
];

pub const ERRORS: &[AnswerCase] = &[
    error("anthropic__400", Anthropic, Snapshot("anthropic-messages/anthropic-sdk-py__runner-tools-400__f59a9391.json", 1), 0),
    error("anthropic__429", Anthropic, Snapshot("anthropic-messages/anthropic-sdk-py__parse-429-retry__d743d628.json", 0), 0),
    error("gemini__429", Gemini, File("gemini/vercel-ai__google-429-retry-info.json"), 429),
    error(
        "gemini__400",
        Gemini,
        Cassette("gemini/pydantic-ai__vertex-400-error__test_multimodal_tool_return_matrix_direct-url-image-google_vertex.yaml", 2),
        0,
    ),
    error("bedrock__400", Bedrock, Cassette("bedrock/pydantic-ai__test_bedrock_error.yaml", 0), 0),
];

impl AnswerCase {
    pub fn status(&self) -> u16 {
        if self.status != 0 {
            self.status
        } else {
            self.source.status()
        }
    }
}

/// The fixed meta every test translation uses, so snapshots need no masking.
pub fn meta(model: &str) -> ReplyMeta {
    ReplyMeta { id: "chatcmpl-router-golden".into(), created: 1_767_225_600, model: model.into() }
}

/// The upstream frames of a stream case, decoded in one piece.
pub fn upstream_frames(case: &StreamCase) -> Vec<Frame> {
    let bytes = case.source.bytes();
    match case.source {
        Source::Jsonl(_) => testutil::jsonl_frames(&bytes),
        _ => testutil::frames(case.framing, &bytes),
    }
}

/// The upstream bytes of a stream case, in its own framing (a JSONL recording re-framed as SSE).
pub fn upstream_bytes(case: &StreamCase) -> Vec<u8> {
    match case.source {
        Source::Jsonl(_) => upstream_frames(case).iter().flat_map(|f| f.raw.clone()).collect(),
        _ => case.source.bytes(),
    }
}

/// The frames `translator` makes of `bytes` (in `framing`) arriving cut at `cuts`: decoded and
/// translated frame by frame, as the filter will.
pub fn translate_cut(
    translator: &mut dyn ChunkTranslator,
    framing: Framing,
    bytes: &[u8],
    cuts: &[usize],
) -> Vec<Frame> {
    let mut decoder = Decoder::new(framing);
    let mut points: Vec<usize> = cuts.iter().copied().filter(|&c| c <= bytes.len()).collect();
    points.push(bytes.len());
    points.sort_unstable();
    let (mut from, mut frames, mut out) = (0, Vec::new(), Vec::new());
    for to in points {
        decoder.push(&bytes[from..to], &mut frames).unwrap();
        from = to;
        for frame in frames.drain(..) {
            translator.frame(&frame, &mut out);
        }
    }
    decoder.finish(&mut frames).unwrap();
    for frame in frames.drain(..) {
        translator.frame(&frame, &mut out);
    }
    translator.finish(&mut out);
    out
}

/// A fresh translator for a stream case.
pub fn translator(case: &StreamCase) -> Box<dyn ChunkTranslator> {
    for_provider(case.provider).stream(meta(case.model), case.include_usage)
}

/// Frames run through `translator`, then its end.
pub fn run(translator: &mut dyn ChunkTranslator, frames: &[Frame]) -> Vec<Frame> {
    let mut out = Vec::new();
    for frame in frames {
        translator.frame(frame, &mut out);
    }
    translator.finish(&mut out);
    out
}

/// The client bytes of `frames`.
pub fn bytes_of(frames: &[Frame]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.raw.iter().copied()).collect()
}

/// The JSON payloads of an SSE output, `[DONE]` as a string.
pub fn payloads(frames: &[Frame]) -> Vec<Value> {
    frames
        .iter()
        .map(|f| {
            serde_json::from_slice(&f.data).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&f.data).into()))
        })
        .collect()
}
