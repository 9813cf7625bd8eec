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
    /// `pieces:N`: a text answer streamed as N small deltas (the benchmark's long stream).
    Pieces(usize),
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
    /// `x-mock-status`: override the status code.
    pub status: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub content: Content,
    pub delivery: Delivery,
}

impl Scenario {
    pub fn from_headers(scenario: Option<&str>, chunk_size: Option<&str>, status: Option<&str>) -> Scenario {
        let mut content = Content::Text;
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
                t => {
                    if let Some(path) = t.strip_prefix("fixture:") {
                        content = Content::Fixture(path.to_string());
                    } else if let Some(n) = t.strip_prefix("pieces:").and_then(|n| n.parse().ok()) {
                        content = Content::Pieces(n);
                    }
                }
            }
        }
        Scenario { content, delivery }
    }
}

/// The text deltas a streamed text answer is made of.
pub fn text_pieces(content: &Content) -> Vec<String> {
    match content {
        Content::Pieces(n) => (0..*n).map(|i| format!("tok{i} ")).collect(),
        _ => TEXT_PIECES.iter().map(|s| s.to_string()).collect(),
    }
}

/// A tool call the scenarios produce: name and JSON arguments.
pub fn tool_calls(content: &Content) -> Vec<(&'static str, &'static str, Value)> {
    let weather = ("call_mock_weather", "get_weather", serde_json::json!({"city": "Paris"}));
    match content {
        Content::ToolCall => vec![weather],
        Content::ParallelTools => {
            vec![weather, ("call_mock_time", "get_time", serde_json::json!({"timezone": "Europe/Paris"}))]
        }
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
        let s = Scenario::from_headers(Some("tool_call, cut"), Some("7"), None);
        assert_eq!(s.content, Content::ToolCall);
        assert!(s.delivery.cut);
        assert_eq!(s.delivery.chunk_size, Some(7));
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
