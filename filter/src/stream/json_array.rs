//! Gemini's `:streamGenerateContent` without `alt=sse`: one JSON array whose elements arrive over
//! time (`[{…}\r\n,\r\n{…}\r\n]`). Each top-level element is a frame; the bytes between elements
//! (`[`, `,`, whitespace) go into the raw bytes of the element that follows them.
//!
//! The scanner only tracks strings, escapes and nesting depth; whether an element is valid JSON is
//! for whoever parses `Frame.data`.

use super::{Frame, StreamError};

#[derive(Debug)]
pub struct Decoder {
    limit: usize,
    /// `buf[start..]` is not yet yielded; `buf[..start]` went out during the current `push` and is
    /// dropped at its end.
    buf: Vec<u8>,
    start: usize,
    /// Every byte before `pos` has been scanned, so each byte is looked at once.
    pos: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Only whitespace so far.
    BeforeArray,
    /// Inside the array, outside any element.
    Between,
    /// In an element whose first byte is `buf[elem]`.
    InElement { elem: usize, kind: Kind },
    /// After the closing `]`: whatever follows belongs to no frame.
    AfterArray,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An object or array, `depth` brackets deep; `string`/`escape` describe the innermost string.
    Container { depth: usize, string: bool, escape: bool },
    /// A top-level string; `escape` is set right after a backslash.
    String { escape: bool },
    /// A number or literal, which ends at the first delimiter after it.
    Scalar,
}

impl Decoder {
    pub fn new(limit: usize) -> Self {
        Decoder { limit, buf: Vec::new(), start: 0, pos: 0, state: State::BeforeArray }
    }

    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
        self.buf.extend_from_slice(chunk);
        let result = self.scan(out);
        self.compact();
        result?;
        let pending = self.buf.len().saturating_sub(self.start);
        if pending > self.limit {
            return Err(StreamError::FrameTooLarge { actual: pending, limit: self.limit });
        }
        Ok(())
    }

    /// Returns the closing `]` and trailing whitespace, or the partial element of a cut stream.
    pub fn finish(&mut self, _out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError> {
        let rest = self.buf.split_off(self.start.min(self.buf.len()));
        self.buf.clear();
        self.start = 0;
        self.pos = 0;
        if rest.len() > self.limit {
            return Err(StreamError::FrameTooLarge { actual: rest.len(), limit: self.limit });
        }
        Ok(rest)
    }

    fn scan(&mut self, out: &mut Vec<Frame>) -> Result<(), StreamError> {
        while let Some(&byte) = self.buf.get(self.pos) {
            let at = self.pos;
            match self.state {
                State::BeforeArray => match byte {
                    b'[' => self.state = State::Between,
                    b if is_space(b) => {}
                    _ => return Err(StreamError::Malformed("a JSON-array stream must start with '['")),
                },
                State::Between => match byte {
                    b']' => self.state = State::AfterArray,
                    b',' => {}
                    b if is_space(b) => {}
                    b'{' | b'[' => {
                        let kind = Kind::Container { depth: 1, string: false, escape: false };
                        self.state = State::InElement { elem: at, kind };
                    }
                    b'"' => self.state = State::InElement { elem: at, kind: Kind::String { escape: false } },
                    _ => self.state = State::InElement { elem: at, kind: Kind::Scalar },
                },
                State::InElement { elem, kind } => match step(kind, byte) {
                    Step::Continue(kind) => self.state = State::InElement { elem, kind },
                    Step::EndsWith => self.emit(elem, at.saturating_add(1), out)?,
                    Step::EndedBefore => {
                        self.emit(elem, at, out)?;
                        // The delimiter is scanned again as a byte between elements.
                        continue;
                    }
                },
                State::AfterArray => {
                    self.pos = self.buf.len();
                    return Ok(());
                }
            }
            self.pos = at.saturating_add(1);
        }
        Ok(())
    }

    fn emit(&mut self, elem: usize, end: usize, out: &mut Vec<Frame>) -> Result<(), StreamError> {
        let raw = self.buf.get(self.start..end).unwrap_or_default();
        if raw.len() > self.limit {
            return Err(StreamError::FrameTooLarge { actual: raw.len(), limit: self.limit });
        }
        let data = self.buf.get(elem..end).unwrap_or_default().to_vec();
        out.push(Frame { name: None, data, raw: raw.to_vec() });
        self.start = end;
        self.pos = end;
        self.state = State::Between;
        Ok(())
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.pos = self.pos.saturating_sub(self.start);
            if let State::InElement { elem, .. } = &mut self.state {
                *elem = elem.saturating_sub(self.start);
            }
            self.start = 0;
        }
    }
}

enum Step {
    Continue(Kind),
    /// The element ends with this byte.
    EndsWith,
    /// The element ended just before this byte (a scalar's delimiter).
    EndedBefore,
}

fn step(kind: Kind, byte: u8) -> Step {
    match kind {
        Kind::Container { depth, string: true, escape } => {
            let (string, escape) = match (escape, byte) {
                (true, _) => (true, false),
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                (false, _) => (true, false),
            };
            Step::Continue(Kind::Container { depth, string, escape })
        }
        Kind::Container { depth, string: false, .. } => match byte {
            b'"' => Step::Continue(Kind::Container { depth, string: true, escape: false }),
            b'{' | b'[' => {
                Step::Continue(Kind::Container { depth: depth.saturating_add(1), string: false, escape: false })
            }
            b'}' | b']' if depth <= 1 => Step::EndsWith,
            b'}' | b']' => {
                Step::Continue(Kind::Container { depth: depth.saturating_sub(1), string: false, escape: false })
            }
            _ => Step::Continue(kind),
        },
        Kind::String { escape: true } => Step::Continue(Kind::String { escape: false }),
        Kind::String { escape: false } => match byte {
            b'\\' => Step::Continue(Kind::String { escape: true }),
            b'"' => Step::EndsWith,
            _ => Step::Continue(kind),
        },
        Kind::Scalar => match byte {
            b',' | b']' => Step::EndedBefore,
            b if is_space(b) => Step::EndedBefore,
            _ => Step::Continue(kind),
        },
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
#[path = "json_array_tests.rs"]
mod tests;
