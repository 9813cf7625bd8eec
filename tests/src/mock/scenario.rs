//! What a test asks the mock for (control headers) and the canned reply each wire module builds.

use serde_json::Value;

/// The text every `text` scenario answers with, split as the streams deliver it. Non-ASCII on
/// purpose: chunk boundaries then fall inside multi-byte UTF-8 sequences.
pub const TEXT_PIECES: [&str; 3] = ["héllo", " wörld", " ✓"];

pub fn text() -> String {
    TEXT_PIECES.concat()
}

/// Usage the mock reports everywhere (provider field names differ, numbers do not), so tests can
/// check the filter's normalisation: uncached input = `INPUT - CACHED` where the provider's input
/// includes the cache, `INPUT` where it does not.
pub const INPUT: u64 = 25;
pub const OUTPUT: u64 = 12;
pub const CACHED: u64 = 5;
pub const CACHE_WRITE: u64 = 3;
pub const REASONING: u64 = 2;

/// The content a test asks for (`x-mock-scenario`, comma-separated with delivery modifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text,
    ToolCall,
    ParallelTools,
    Error429,
    Fixture(String),
    /// `script:NAME`: the reply a test stored with `PUT /__mock/scripts/NAME`, byte for byte.
    Script(String),
    /// `pieces:N`: a text answer streamed as N small deltas (the benchmark's long stream).
    Pieces(usize),
    /// Exactly these tool calls (`x-mock-tool-calls`, or `text_then_tools` / `mixed_chunk` alone,
    /// which call `get_weather`), in the layout asked for.
    Calls(Calls),
    /// A control header the mock cannot read: answered with a 400 saying why.
    BadControl(String),
}

/// A tool call a scenario makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

/// Tool calls in a layout: `text_first` (`text_then_tools`) sends the scenario text before the
/// calls; `mixed_chunk` (Gemini streams) puts that text and the calls in one chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    pub calls: Vec<Call>,
    pub text_first: bool,
    pub mixed_chunk: bool,
}

/// How the bytes go out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// `x-mock-chunk-size`: write the body in pieces of this many bytes, ~1 ms apart.
    pub chunk_size: Option<usize>,
    /// `cut`: stop in the middle of an event and close the connection.
    pub cut: bool,
    /// `slow_stream`: 50 ms between events.
    pub slow: bool,
    /// `first_apart`: the first piece alone, the rest 1 ms later (a stream's first event comes
    /// before the model has written the rest; `make bench` times the first byte with it).
    pub first_apart: bool,
    /// `x-mock-status`: override the status code.
    pub status: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub content: Content,
    pub delivery: Delivery,
}

impl Scenario {
    /// Reads the control headers: `x-mock-scenario`, `x-mock-chunk-size`, `x-mock-status` and
    /// `x-mock-tool-calls` (a JSON array of `{"name", "arguments"}`).
    pub fn from_headers(
        scenario: Option<&str>,
        chunk_size: Option<&str>,
        status: Option<&str>,
        tool_calls_header: Option<&str>,
    ) -> Scenario {
        let mut content = Content::Text;
        let (mut text_first, mut mixed_chunk) = (false, false);
        let mut delivery = Delivery {
            chunk_size: chunk_size.and_then(|s| s.trim().parse().ok()).filter(|n| *n > 0),
            status: status.and_then(|s| s.trim().parse().ok()),
            ..Delivery::default()
        };
        for token in scenario.unwrap_or("text").split(',').map(str::trim) {
            match token {
                "tool_call" => content = Content::ToolCall,
                "parallel_tools" => content = Content::ParallelTools,
                "error_429" => content = Content::Error429,
                "cut" => delivery.cut = true,
                "slow_stream" => delivery.slow = true,
                "first_apart" => delivery.first_apart = true,
                "text_then_tools" => text_first = true,
                "mixed_chunk" => mixed_chunk = true,
                t => {
                    if let Some(path) = t.strip_prefix("fixture:") {
                        content = Content::Fixture(path.to_string());
                    } else if let Some(name) = t.strip_prefix("script:") {
                        content = Content::Script(name.to_string());
                    } else if let Some(n) = t.strip_prefix("pieces:").and_then(|n| n.parse().ok()) {
                        content = Content::Pieces(n);
                    }
                }
            }
        }
        let listed = match tool_calls_header.map(parse_tool_calls) {
            Some(Ok(calls)) => Some(calls),
            Some(Err(why)) => return Scenario { content: Content::BadControl(why), delivery },
            None => None,
        };
        if listed.is_some() || text_first || mixed_chunk {
            let calls = listed.unwrap_or_else(|| match &content {
                Content::ToolCall | Content::ParallelTools => tool_calls(&content),
                _ => tool_calls(&Content::ToolCall),
            });
            content = Content::Calls(Calls { calls, text_first: text_first || mixed_chunk, mixed_chunk });
        }
        Scenario { content, delivery }
    }
}

/// `[{"name": "read_file", "arguments": {"path": "/etc/passwd"}}, …]`; ids are made up per position.
pub fn parse_tool_calls(header: &str) -> Result<Vec<Call>, String> {
    let why = |e: String| format!("x-mock-tool-calls: {e}; want a JSON array of {{\"name\", \"arguments\"}}");
    let items: Vec<Value> = serde_json::from_str(header).map_err(|e| why(e.to_string()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = item.get("name").and_then(Value::as_str).ok_or_else(|| why(format!("item {i} has no name")))?;
            let arguments = item.get("arguments").cloned().unwrap_or_else(|| serde_json::json!({}));
            Ok(Call { id: format!("call_mock_{i}"), name: name.to_string(), arguments })
        })
        .collect()
}

/// Whether the scenario's text comes before its tool calls (always, when there are no calls).
pub fn text_first(content: &Content) -> bool {
    match content {
        Content::Calls(c) => c.text_first || c.calls.is_empty(),
        other => tool_calls(other).is_empty(),
    }
}

/// Gemini: the text and the calls share one chunk.
pub fn mixed_chunk(content: &Content) -> bool {
    matches!(content, Content::Calls(c) if c.mixed_chunk)
}

/// The text deltas a streamed text answer is made of.
pub fn text_pieces(content: &Content) -> Vec<String> {
    match content {
        Content::Pieces(n) => (0..*n).map(|i| format!("tok{i} ")).collect(),
        _ => TEXT_PIECES.iter().map(|s| s.to_string()).collect(),
    }
}

/// The tool calls a scenario makes, in order.
pub fn tool_calls(content: &Content) -> Vec<Call> {
    let call = |id: &str, name: &str, arguments: Value| Call { id: id.into(), name: name.into(), arguments };
    let weather = call("call_mock_weather", "get_weather", serde_json::json!({"city": "Paris"}));
    match content {
        Content::ToolCall => vec![weather],
        Content::ParallelTools => {
            vec![weather, call("call_mock_time", "get_time", serde_json::json!({"timezone": "Europe/Paris"}))]
        }
        Content::Calls(c) => c.calls.clone(),
        _ => Vec::new(),
    }
}

/// Splits a tool call's argument JSON into pieces as streams deliver them (mid-token on purpose).
pub fn argument_pieces(args: &Value) -> Vec<String> {
    let text = args.to_string();
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(6).map(|c| c.iter().collect()).collect()
}

/// A reply ready to write: status, headers and the body as its natural write units (one part for
/// a plain body, one per event for streams).
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Vec<u8>>,
    pub stream: bool,
}

impl Canned {
    pub fn json(status: u16, body: &Value) -> Canned {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            parts: vec![body.to_string().into_bytes()],
            stream: false,
        }
    }

    pub fn stream(content_type: &str, parts: Vec<Vec<u8>>) -> Canned {
        Canned { status: 200, headers: vec![("content-type".into(), content_type.into())], parts, stream: true }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One SSE event with an `event:` line (Anthropic, Responses, Cohere).
pub fn sse_event(name: &str, data: &Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

/// One SSE event with a `data:` line only (OpenAI chat).
pub fn sse_data(data: &str) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

/// Cuts the concatenated parts in the middle of the event at half the stream, so the client
/// gets whole events first and then a torn one.
pub fn cut_point(parts: &[Vec<u8>]) -> usize {
    let middle = parts.len() / 2;
    let before: usize = parts.iter().take(middle).map(Vec::len).sum();
    let torn = parts.get(middle).map_or(0, |p| p.len() / 2);
    before + torn.max(1)
}

/// How many leading bytes of the delivery form whole events: everything for a normal reply, the
/// events before the torn one for a cut.
pub fn complete_bytes(canned: &Canned, delivery: &Delivery) -> usize {
    if delivery.cut {
        canned.parts.iter().take(canned.parts.len() / 2).map(Vec::len).sum()
    } else {
        canned.parts.iter().map(Vec::len).sum()
    }
}

/// The pieces to write, in order, and whether the connection is to be broken after them.
pub fn pieces(canned: &Canned, delivery: &Delivery) -> (Vec<Vec<u8>>, bool) {
    let all: Vec<u8> = canned.parts.concat();
    let limit = if delivery.cut { cut_point(&canned.parts).min(all.len()) } else { all.len() };
    let out = match delivery.chunk_size {
        Some(n) => all.get(..limit).unwrap_or_default().chunks(n).map(<[u8]>::to_vec).collect(),
        None => {
            let mut out = Vec::new();
            let mut left = limit;
            for part in &canned.parts {
                if left == 0 {
                    break;
                }
                let take = part.len().min(left);
                out.push(part.get(..take).unwrap_or_default().to_vec());
                left -= take;
            }
            out
        }
    };
    (out, delivery.cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_tokens_combine_content_and_delivery() {
        let s = Scenario::from_headers(Some("tool_call, cut"), Some("7"), None, None);
        assert_eq!(s.content, Content::ToolCall);
        assert!(s.delivery.cut);
        assert_eq!(s.delivery.chunk_size, Some(7));
    }

    #[test]
    fn listed_tool_calls_combine_with_text_then_tools() {
        let header = r#"[{"name":"read_file","arguments":{"path":"/etc/passwd"}},{"name":"x"}]"#;
        let s = Scenario::from_headers(Some("text_then_tools"), None, None, Some(header));
        let Content::Calls(calls) = &s.content else { panic!("{:?}", s.content) };
        assert!(calls.text_first && !calls.mixed_chunk);
        assert_eq!(calls.calls.len(), 2);
        assert_eq!(calls.calls[0].name, "read_file");
        assert_eq!(calls.calls[0].arguments, serde_json::json!({"path": "/etc/passwd"}));
        assert_eq!(calls.calls[1].arguments, serde_json::json!({}));
    }

    #[test]
    fn mixed_chunk_alone_calls_get_weather_after_text() {
        let s = Scenario::from_headers(Some("mixed_chunk"), None, None, None);
        assert!(text_first(&s.content) && mixed_chunk(&s.content));
        assert_eq!(tool_calls(&s.content)[0].name, "get_weather");
    }

    #[test]
    fn an_unreadable_tool_call_header_is_reported() {
        let s = Scenario::from_headers(None, None, None, Some("{not json"));
        assert!(matches!(s.content, Content::BadControl(ref why) if why.contains("x-mock-tool-calls")));
    }

    #[test]
    fn cut_falls_inside_the_middle_event() {
        let parts = vec![b"aaaa".to_vec(), b"bbbb".to_vec(), b"cccc".to_vec()];
        assert_eq!(cut_point(&parts), 6);
        let canned = Canned::stream("text/event-stream", parts);
        let delivery = Delivery { cut: true, chunk_size: Some(4), ..Delivery::default() };
        let (out, broken) = pieces(&canned, &delivery);
        assert!(broken);
        assert_eq!(out.concat(), b"aaaabb");
    }
}
