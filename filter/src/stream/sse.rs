//! Server-sent events (`text/event-stream`), cut by the WHATWG parsing rules: lines end in `\n`,
//! `\r\n` or a lone `\r`; a blank line ends an event; `event:` names it and `data:` lines make its
//! data. `id:`, `retry:`, unknown fields and comments carry no meaning here but stay in `raw`.

use super::{Frame, StreamError};

#[derive(Debug)]
pub struct Decoder {
    limit: usize,
    /// Bytes not yet yielded: `buf[start..]` belongs to the frame being built. `buf[..start]` went
    /// out in frames during the current `push` and is dropped at its end (one drain per push).
    buf: Vec<u8>,
    start: usize,
    /// `buf[start..line]` is made of complete lines already parsed into `event`.
    line: usize,
    /// Where the search for the end of the line at `line` resumes, so a long line that arrives in
    /// many chunks is scanned once.
    scan: usize,
    event: Pending,
    /// No line has been parsed yet, so a UTF-8 BOM may still open the stream.
    at_stream_start: bool,
    /// Buffers of frames the caller is done with (`recycle`), reused for the next frames' `raw`
    /// and `data` instead of allocating two per event.
    spare: Vec<Vec<u8>>,
}

/// Most spare buffers kept, and the largest kept: enough for the two buffers of the event in
/// flight, without holding on to the memory of unusually large events (at most 64 KiB a stream).
const SPARE_BUFFERS: usize = 4;
const SPARE_MAX_CAPACITY: usize = 16 * 1024;

/// What the complete lines of the frame being built have said so far.
#[derive(Debug, Default)]
struct Pending {
    name: Option<String>,
    /// Each data line's value followed by `\n`; the last `\n` is dropped when the frame goes out.
    data: Vec<u8>,
    /// A field or comment line has been seen. Blank lines before any such line end no event; they
    /// go into the raw bytes of the next frame.
    has_lines: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Decoder {
    pub fn new(limit: usize) -> Self {
        Decoder {
            limit,
            buf: Vec::new(),
            start: 0,
            line: 0,
            scan: 0,
            event: Pending::default(),
            at_stream_start: true,
            spare: Vec::new(),
        }
    }

    /// Bytes pushed that belong to no frame yet.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Takes back the buffers of a frame nothing reads any more, for the next frames.
    pub fn recycle(&mut self, frame: Frame) {
        for mut buf in [frame.raw, frame.data] {
            if self.spare.len() < SPARE_BUFFERS && buf.capacity() > 0 && buf.capacity() <= SPARE_MAX_CAPACITY {
                buf.clear();
                self.spare.push(buf);
            }
        }
    }

    /// An empty buffer: a spare one when there is one.
    fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Ends the frame being built with `raw` and starts the next one.
    fn take_event(&mut self, raw: Vec<u8>) -> Frame {
        let next = Pending { data: self.buffer(), ..Pending::default() };
        std::mem::replace(&mut self.event, next).into_frame(raw)
    }

    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
        self.buf.extend_from_slice(chunk);
        let result = self.parse_lines(false, out);
        self.compact();
        result?;
        self.check_pending()
    }

    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError> {
        self.parse_lines(true, out)?;
        let rest = self.buf.get(self.start..).unwrap_or_default();
        if rest.len() > self.limit {
            return Err(StreamError::FrameTooLarge { actual: rest.len(), limit: self.limit });
        }
        // A stream cut before its final blank line still delivered its last event.
        let rest = if self.event.has_lines {
            let raw = rest.to_vec();
            out.push(self.take_event(raw));
            Vec::new()
        } else {
            rest.to_vec()
        };
        self.buf.clear();
        self.start = 0;
        self.line = 0;
        self.scan = 0;
        Ok(rest)
    }

    /// Parses every complete line after `self.line`. A `\r` as the last byte buffered ends a line
    /// only at the end of input: until then the next byte may be the `\n` of a `\r\n`, and the line
    /// (and the frame it may close) must come out the same however the input was cut.
    fn parse_lines(&mut self, at_end: bool, out: &mut Vec<Frame>) -> Result<(), StreamError> {
        loop {
            let Some((content_end, line_end)) = self.find_line_end(at_end) else { return Ok(()) };
            let mut line = self.buf.get(self.line..content_end).unwrap_or_default();
            if self.at_stream_start {
                line = line.strip_prefix(BOM).unwrap_or(line);
            }
            let blank = line.is_empty();
            if !blank {
                self.event.field(line);
            }
            self.at_stream_start = false;
            self.line = line_end;
            self.scan = line_end;
            if blank && self.event.has_lines {
                let len = line_end.saturating_sub(self.start);
                if len > self.limit {
                    return Err(StreamError::FrameTooLarge { actual: len, limit: self.limit });
                }
                let mut raw = self.buffer();
                raw.extend_from_slice(self.buf.get(self.start..line_end).unwrap_or_default());
                out.push(self.take_event(raw));
                self.start = line_end;
            }
        }
    }

    /// The end of the line starting at `self.line` as (end of content, end of terminator), if the
    /// line is complete.
    fn find_line_end(&mut self, at_end: bool) -> Option<(usize, usize)> {
        let tail = self.buf.get(self.scan..)?;
        let Some(offset) = memchr::memchr2(b'\n', b'\r', tail) else {
            self.scan = self.buf.len();
            return None;
        };
        let at = self.scan.saturating_add(offset);
        match self.buf.get(at) {
            Some(b'\r') => match self.buf.get(at.saturating_add(1)) {
                Some(b'\n') => Some((at, at.saturating_add(2))),
                Some(_) => Some((at, at.saturating_add(1))),
                None if at_end => Some((at, at.saturating_add(1))),
                None => {
                    self.scan = at;
                    None
                }
            },
            _ => Some((at, at.saturating_add(1))),
        }
    }

    /// Drops the bytes already yielded, keeping offsets relative to the frame being built.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.line = self.line.saturating_sub(self.start);
            self.scan = self.scan.saturating_sub(self.start);
            self.start = 0;
        }
    }

    /// Everything still buffered ends up in one frame (or the leftover `finish` returns), so once
    /// it passes the cap the stream can only fail; failing now keeps memory bounded.
    fn check_pending(&self) -> Result<(), StreamError> {
        let pending = self.buf.len().saturating_sub(self.start);
        if pending > self.limit {
            return Err(StreamError::FrameTooLarge { actual: pending, limit: self.limit });
        }
        Ok(())
    }
}

impl Pending {
    fn field(&mut self, line: &[u8]) {
        self.has_lines = true;
        let (name, value) = match memchr::memchr(b':', line) {
            Some(0) => return, // a comment
            Some(colon) => {
                let name = line.get(..colon).unwrap_or_default();
                let value = line.get(colon.saturating_add(1)..).unwrap_or_default();
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"event" => {
                // An empty type means the default `message` event, which has no name here.
                self.name = if value.is_empty() { None } else { Some(String::from_utf8_lossy(value).into_owned()) };
            }
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            _ => {}
        }
    }

    fn into_frame(mut self, raw: Vec<u8>) -> Frame {
        if self.data.last() == Some(&b'\n') {
            self.data.pop();
        }
        Frame { name: self.name, data: self.data, raw }
    }
}

/// One SSE event: an optional `event:` line, one `data:` line per line of `data` (so the decoder
/// gives `data` back unchanged), then the blank line that ends it.
///
/// A `\r` in `name` or `data` would end a line on the wire, so it is written as a line break too;
/// a newline in `name` is replaced by a space because an event name has one line.
pub fn encode(name: Option<&str>, data: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().saturating_add(32));
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend(name.bytes().map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }));
        out.push(b'\n');
    }
    for line in data.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
