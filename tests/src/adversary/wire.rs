//! Framing helpers the renderers share: SSE events in the upstream's line style, gzip, and the
//! finishing touches (`unterminated`, a huge event) that do not depend on the API.

use super::Style;
use std::io::Write;

/// One SSE event: `event:` line when named, one `data:` line, blank line, in `style`'s spelling.
pub fn sse(style: &Style, name: Option<&str>, data: &str) -> Vec<u8> {
    let eol = if style.crlf { "\r\n" } else { "\n" };
    let colon = if style.no_space { "data:" } else { "data: " };
    let mut out = String::new();
    if let Some(name) = name {
        out.push_str(if style.no_space { "event:" } else { "event: " });
        out.push_str(name);
        out.push_str(eol);
    }
    out.push_str(colon);
    out.push_str(data);
    out.push_str(eol);
    out.push_str(eol);
    out.into_bytes()
}

/// The last part without its line terminators: the stream ends inside its last event.
pub fn unterminate(parts: &mut [Vec<u8>]) {
    if let Some(last) = parts.last_mut() {
        while last.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            last.pop();
        }
    }
}

/// Text for a single event larger than the gateway's 4 MiB frame cap.
pub fn huge_text() -> String {
    "lorem ipsum ".repeat(5 * 1024 * 1024 / 12 + 1)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

pub fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).ok()?;
    Some(out)
}

/// A Bedrock eventstream event with these headers (names may repeat).
pub fn eventstream(headers: &[(&str, &str)], payload: &str) -> Vec<u8> {
    crate::mock::bedrock::encode(headers, payload.as_bytes())
}
