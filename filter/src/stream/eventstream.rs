//! `application/vnd.amazon.eventstream`, the binary framing of Bedrock's ConverseStream.
//!
//! A message is: total length (u32 BE), headers length (u32 BE), CRC32 of those 8 bytes, the
//! headers, the payload, and a CRC32 of everything before it.

use super::{Frame, StreamError};

/// Prelude (12 bytes) plus the trailing message CRC.
const OVERHEAD: usize = 16;
const PRELUDE: usize = 12;

#[derive(Debug)]
pub struct Decoder {
    limit: usize,
    /// `buf[start..]` is not yet yielded; `buf[..start]` went out during the current `push` and is
    /// dropped at its end.
    buf: Vec<u8>,
    start: usize,
}

/// A header value, one variant per wire type code (0–9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// Types 0 (true) and 1 (false): the value is the type itself, no bytes follow.
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// One decoded eventstream message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// In wire order; names may repeat, as the format allows.
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The value of a string header.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        match self.header(name) {
            Some(HeaderValue::String(s)) => Some(s),
            _ => None,
        }
    }

    /// What `Frame.name` carries: the event type of an event, the exception type of an exception,
    /// the error code of an error.
    pub fn frame_name(&self) -> Option<&str> {
        match self.header_str(":message-type") {
            Some("exception") => self.header_str(":exception-type"),
            Some("error") => self.header_str(":error-code"),
            _ => self.header_str(":event-type"),
        }
    }
}

impl Decoder {
    pub fn new(limit: usize) -> Self {
        Decoder { limit, buf: Vec::new(), start: 0 }
    }

    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
        self.buf.extend_from_slice(chunk);
        let result = self.decode_frames(out);
        if self.start > 0 {
            self.buf.drain(..self.start.min(self.buf.len()));
            self.start = 0;
        }
        result?;
        if self.buf.len() > self.limit {
            return Err(StreamError::FrameTooLarge { actual: self.buf.len(), limit: self.limit });
        }
        Ok(())
    }

    /// Returns the partial message of a cut stream, if any.
    pub fn finish(&mut self, _out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError> {
        let rest = std::mem::take(&mut self.buf);
        self.start = 0;
        if rest.len() > self.limit {
            return Err(StreamError::FrameTooLarge { actual: rest.len(), limit: self.limit });
        }
        Ok(rest)
    }

    fn decode_frames(&mut self, out: &mut Vec<Frame>) -> Result<(), StreamError> {
        loop {
            let avail = self.buf.get(self.start..).unwrap_or_default();
            let Some(prelude) = avail.get(..PRELUDE) else { return Ok(()) };
            // The length is trusted only once its CRC matches, so a corrupt prelude cannot make
            // the decoder wait for (or reserve) gigabytes.
            let total = checked_prelude(prelude)?;
            if total > self.limit {
                return Err(StreamError::FrameTooLarge { actual: total, limit: self.limit });
            }
            let Some(raw) = avail.get(..total) else { return Ok(()) };
            let message = decode_message(raw)?;
            out.push(Frame { name: message.frame_name().map(str::to_owned), data: message.payload, raw: raw.to_vec() });
            self.start = self.start.saturating_add(total);
        }
    }
}

/// Checks the prelude CRC and returns the total message length.
fn checked_prelude(prelude: &[u8]) -> Result<usize, StreamError> {
    let expected = be_u32(prelude.get(8..12))?;
    let lengths = prelude.get(..8).unwrap_or_default();
    let computed = crc32fast::hash(lengths);
    if expected != computed {
        return Err(StreamError::Crc { which: "prelude", expected, computed });
    }
    let total = be_usize(prelude.get(..4))?;
    if total < OVERHEAD {
        return Err(StreamError::Malformed("eventstream message shorter than its 16-byte framing"));
    }
    Ok(total)
}

/// Decodes exactly one complete message, checking both CRCs.
pub fn decode_message(raw: &[u8]) -> Result<Message, StreamError> {
    let prelude = raw.get(..PRELUDE).ok_or(StreamError::Malformed("eventstream message truncated in its prelude"))?;
    let total = checked_prelude(prelude)?;
    if total != raw.len() {
        return Err(StreamError::Malformed("eventstream length does not match the message bytes"));
    }
    let crc_at = total.saturating_sub(4);
    let expected = be_u32(raw.get(crc_at..))?;
    let computed = crc32fast::hash(raw.get(..crc_at).unwrap_or_default());
    if expected != computed {
        return Err(StreamError::Crc { which: "message", expected, computed });
    }
    let headers_end = PRELUDE.saturating_add(be_usize(raw.get(4..8))?);
    if headers_end > crc_at {
        return Err(StreamError::Malformed("eventstream headers run past the message"));
    }
    let headers = parse_headers(raw.get(PRELUDE..headers_end).unwrap_or_default())?;
    let payload = raw.get(headers_end..crc_at).unwrap_or_default().to_vec();
    Ok(Message { headers, payload })
}

fn parse_headers(mut bytes: &[u8]) -> Result<Vec<(String, HeaderValue)>, StreamError> {
    let mut headers = Vec::new();
    while !bytes.is_empty() {
        let [name_len] = take_array::<1>(&mut bytes)?;
        let name = utf8(take(&mut bytes, usize::from(name_len))?)?;
        let [kind] = take_array::<1>(&mut bytes)?;
        let value = match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(take_array(&mut bytes)?)),
            3 => HeaderValue::Short(i16::from_be_bytes(take_array(&mut bytes)?)),
            4 => HeaderValue::Int(i32::from_be_bytes(take_array(&mut bytes)?)),
            5 => HeaderValue::Long(i64::from_be_bytes(take_array(&mut bytes)?)),
            6 | 7 => {
                let len = usize::from(u16::from_be_bytes(take_array(&mut bytes)?));
                let value = take(&mut bytes, len)?;
                if kind == 6 {
                    HeaderValue::Bytes(value.to_vec())
                } else {
                    HeaderValue::String(utf8(value)?)
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(take_array(&mut bytes)?)),
            9 => HeaderValue::Uuid(take_array(&mut bytes)?),
            _ => return Err(StreamError::Malformed("eventstream header has an unknown value type")),
        };
        // Readers disagree on which of two same-named headers counts (botocore refuses the
        // message, others take the first or the last): a message that can be read two ways is not
        // read at all.
        if headers.iter().any(|(seen, _)| *seen == name) {
            return Err(StreamError::Malformed("eventstream message repeats a header name"));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], StreamError> {
    if n > bytes.len() {
        return Err(StreamError::Malformed("eventstream header truncated"));
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

fn take_array<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], StreamError> {
    take(bytes, N)?.try_into().map_err(|_| StreamError::Malformed("eventstream header truncated"))
}

fn be_u32(bytes: Option<&[u8]>) -> Result<u32, StreamError> {
    let bytes: [u8; 4] = bytes
        .and_then(|b| b.get(..4))
        .and_then(|b| b.try_into().ok())
        .ok_or(StreamError::Malformed("eventstream message truncated"))?;
    Ok(u32::from_be_bytes(bytes))
}

fn be_usize(bytes: Option<&[u8]>) -> Result<usize, StreamError> {
    usize::try_from(be_u32(bytes)?).map_err(|_| StreamError::Malformed("eventstream length overflows usize"))
}

fn utf8(bytes: &[u8]) -> Result<String, StreamError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| StreamError::Malformed("eventstream header is not UTF-8"))
}

/// Encodes one message. The format caps a header name at 255 bytes and a string or bytes value at
/// 65,535; longer ones are cut to fit (Warden only writes short, fixed headers).
pub fn encode(headers: &[(String, HeaderValue)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        let name = cut(name, usize::from(u8::MAX)).as_bytes();
        head.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        head.extend_from_slice(name);
        match value {
            HeaderValue::Bool(true) => head.push(0),
            HeaderValue::Bool(false) => head.push(1),
            HeaderValue::Byte(v) => push_typed(&mut head, 2, &v.to_be_bytes()),
            HeaderValue::Short(v) => push_typed(&mut head, 3, &v.to_be_bytes()),
            HeaderValue::Int(v) => push_typed(&mut head, 4, &v.to_be_bytes()),
            HeaderValue::Long(v) => push_typed(&mut head, 5, &v.to_be_bytes()),
            HeaderValue::Bytes(v) => push_sized(&mut head, 6, v.get(..usize::from(u16::MAX)).unwrap_or(v)),
            HeaderValue::String(v) => push_sized(&mut head, 7, cut(v, usize::from(u16::MAX)).as_bytes()),
            HeaderValue::Timestamp(v) => push_typed(&mut head, 8, &v.to_be_bytes()),
            HeaderValue::Uuid(v) => push_typed(&mut head, 9, v),
        }
    }
    let total = OVERHEAD.saturating_add(head.len()).saturating_add(payload.len());
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

/// An event message with the headers Bedrock sends, in its order.
pub fn encode_event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    let headers = [
        (":event-type".to_owned(), HeaderValue::String(event_type.to_owned())),
        (":content-type".to_owned(), HeaderValue::String("application/json".to_owned())),
        (":message-type".to_owned(), HeaderValue::String("event".to_owned())),
    ];
    encode(&headers, payload)
}

fn push_typed(head: &mut Vec<u8>, kind: u8, value: &[u8]) {
    head.push(kind);
    head.extend_from_slice(value);
}

fn push_sized(head: &mut Vec<u8>, kind: u8, value: &[u8]) {
    head.push(kind);
    head.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    head.extend_from_slice(value);
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary, so a cut
/// string stays valid UTF-8 for the decoder.
fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
#[path = "eventstream_tests.rs"]
mod tests;
