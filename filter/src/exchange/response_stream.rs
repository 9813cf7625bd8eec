//! A streaming response in flight: framing decoder + provider fold + hold-back. Frames the fold
//! forwards are written out byte for byte; bytes of a frame not yet complete wait for the next
//! chunk.
//!
//! Fail closed: when the framing breaks (a frame over the size cap, a bad CRC, bytes that are not
//! the expected framing at all, such as a compressed body) the gateway cannot tell what the rest of
//! the stream says. Whatever it held is refused, the client's stream ends with a valid refusal in
//! the provider's shape, and nothing after that reaches the client.

use super::hold_back::{Flow, HoldBack};
use super::router::Translation;
use crate::policy::tools::Blocked;
use crate::providers::StreamFold;
use crate::stream::{Decoder, Frame, Framing, StreamError};

/// Whether `byte` (the stream's last) ends a line.
fn ends_line(byte: Option<u8>) -> bool {
    matches!(byte, None | Some(b'\n' | b'\r'))
}

/// Whether the bytes left after the last frame say nothing: blank lines (SSE), the closing `]` of
/// a JSON array with whitespace around it, nothing at all (eventstream).
fn inert(decoder: &Decoder, tail: &[u8]) -> bool {
    match decoder {
        Decoder::Sse(_) => tail.iter().all(|b| matches!(b, b'\n' | b'\r')),
        Decoder::JsonArray(_) => {
            let rest = tail.trim_ascii();
            rest.is_empty() || rest == b"]"
        }
        Decoder::EventStream(_) => tail.is_empty(),
    }
}
use crate::view;

#[derive(Debug)]
pub struct ResponseStream {
    decoder: Decoder,
    fold: StreamFold,
    /// Decoded frames, reused between chunks to save allocations.
    frames: Vec<Frame>,
    /// Tool-call hold-back; `None` only where no policy applies (a stream the gateway meters but
    /// does not police).
    hold_back: Option<HoldBack>,
    state: State,
    /// The upstream's end of stream arrived.
    upstream_done: bool,
    /// The last byte the upstream sent, so an SSE stream whose last line has no terminator can be
    /// given one at its end.
    last_byte: Option<u8>,
    /// Some byte has gone to the client.
    sent_any: bool,
    /// A model-router stream: the target's frames are translated to the chat stream this one
    /// polices, and back to the client's API after.
    translation: Option<Box<Translation>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    /// The end of the upstream stream was seen.
    Complete,
    /// The gateway ended the client's stream (`why`); later upstream bytes are folded for usage
    /// where they can still be decoded, but never sent.
    Ended {
        why: &'static str,
        readable: bool,
    },
    /// The framing broke on a stream nobody polices: the rest went through unread.
    Unread,
}

impl ResponseStream {
    pub fn new(framing: Framing, fold: StreamFold, hold_back: Option<HoldBack>) -> Self {
        ResponseStream {
            decoder: Decoder::new(framing),
            fold,
            frames: Vec::new(),
            hold_back,
            state: State::Open,
            upstream_done: false,
            last_byte: None,
            sent_any: false,
            translation: None,
        }
    }

    /// This stream with a translation stage (model router) in front of and behind the policing.
    pub fn translated(mut self, translation: Option<Translation>) -> Self {
        self.translation = translation.map(Box::new);
        self
    }

    /// Feeds one chunk from upstream; appends what the client should receive now to `out`.
    /// Returns true only when what it appended is exactly `chunk` (so the caller need not compare):
    /// every byte of the chunk made whole frames that all went out as they came, and nothing else.
    /// False says nothing either way.
    pub fn push(&mut self, chunk: &[u8], end: bool, out: &mut Vec<u8>) -> bool {
        let Some(mut translation) = self.translation.take() else {
            return self.push_policed(chunk, end, out);
        };
        let chat = translation.to_chat(chunk, end);
        let mut policed = Vec::new();
        let start = out.len();
        self.push_frames(chat, end, &mut policed);
        translation.to_client(&policed, end, out);
        self.sent_any |= out.len() > start;
        self.translation = Some(translation);
        false
    }

    /// Chat frames a translation made (already cut, so never re-decoded): policed as they come.
    fn push_frames(&mut self, frames: Vec<Frame>, end: bool, out: &mut Vec<u8>) {
        self.upstream_done |= end;
        match self.state {
            State::Unread => {
                frames.iter().for_each(|f| out.extend_from_slice(&f.raw));
                return;
            }
            State::Ended { readable: false, .. } | State::Complete => return,
            State::Open | State::Ended { readable: true, .. } => {}
        }
        for frame in frames {
            let _ = self.on_frame(frame, out);
        }
        if end && self.is_open() {
            if let Some(hold) = self.hold_back.as_mut() {
                hold.finish(&mut self.fold, out);
            }
            self.state = State::Complete;
        }
    }

    /// A translated stream's answer as the record meters it: the policed chat answer with the
    /// target's own usage (cache writes included, which chat usage cannot carry).
    pub fn translated_response(&self) -> Option<view::Response> {
        let usage = self.translation.as_ref()?.usage();
        let mut response = self.fold.response().clone();
        if usage.is_some() {
            response.usage = usage;
        }
        Some(response)
    }

    fn push_policed(&mut self, chunk: &[u8], end: bool, out: &mut Vec<u8>) -> bool {
        let (start, was_open) = (out.len(), self.is_open());
        // Whole frames only: the decoder holds no bytes of an earlier chunk, and (checked after)
        // none of this one. The decoder's contract makes the frames' raw bytes the input itself.
        let aligned = was_open && self.decoder.buffered() == Some(0);
        let passed = self.push_inner(chunk, end, out);
        if was_open && matches!(self.state, State::Ended { .. }) {
            self.close_array(out, start);
        }
        self.sent_any |= out.len() > start;
        aligned && passed && matches!(self.state, State::Open | State::Complete) && self.decoder.buffered() == Some(0)
    }

    /// A JSON-array stream the gateway ended: the upstream's closing `]` will never go out, and
    /// when nothing went out before, the refusal is the array's first element.
    fn close_array(&self, out: &mut Vec<u8>, start: usize) {
        if !matches!(self.decoder, Decoder::JsonArray(_)) {
            return;
        }
        if !self.sent_any {
            let written = out.get(start..).unwrap_or_default();
            let first = written.iter().position(|b| !b.is_ascii_whitespace()).map(|i| start.saturating_add(i));
            match first.and_then(|i| out.get_mut(i)) {
                Some(b) if *b == b',' => *b = b'[',
                Some(b) if *b == b'[' => {}
                _ => out.insert(start, b'['),
            }
        }
        out.push(b']');
    }

    /// True when every frame the chunk completed went out as it came (and no error or end was
    /// handled).
    fn push_inner(&mut self, chunk: &[u8], end: bool, out: &mut Vec<u8>) -> bool {
        self.upstream_done |= end;
        match self.state {
            State::Unread => {
                out.extend_from_slice(chunk);
                return false;
            }
            State::Ended { readable: false, .. } | State::Complete => return false,
            State::Open | State::Ended { readable: true, .. } => {}
        }
        let mut frames = std::mem::take(&mut self.frames);
        let mut result = self.decoder.push(chunk, &mut frames);
        self.last_byte = chunk.last().copied().or(self.last_byte);
        let mut tail = Vec::new();
        let terminate = end && result.is_ok() && matches!(self.decoder, Decoder::Sse(_)) && !ends_line(self.last_byte);
        if terminate {
            // A last line without its terminator is still a line to an SSE client that reads to
            // the end (google-genai does): it is read as one here too, so it is judged like any.
            result = self.decoder.push(b"\n", &mut frames);
        }
        if end && result.is_ok() {
            match self.decoder.finish(&mut frames) {
                Ok(rest) => tail = rest,
                Err(e) => result = Err(e),
            }
        }
        let mut passed = true;
        for frame in frames.drain(..) {
            passed &= self.on_frame(frame, out);
        }
        self.frames = frames;
        match result {
            Err(e) => {
                self.unreadable(&e, out);
                false
            }
            Ok(()) if end => {
                if self.is_open() && self.hold_back.is_some() && !inert(&self.decoder, &tail) {
                    // Bytes that belong to no whole frame (a cut-off last event, something after a
                    // JSON array's end) were never read, so they are not passed on.
                    self.end_unread("the stream ended inside an event", "torn_final_event", out);
                    false
                } else if self.is_open() {
                    let before = out.len();
                    if let Some(hold) = self.hold_back.as_mut() {
                        hold.finish(&mut self.fold, out);
                    }
                    // Frames and the bytes after the last one are the input itself, unless a line
                    // end was added or the hold-back wrote something at the end.
                    let quiet = out.len() == before && !terminate;
                    out.extend_from_slice(&tail);
                    self.state = State::Complete;
                    passed && quiet
                } else {
                    false
                }
            }
            Ok(()) => passed,
        }
    }

    fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Folds and polices one frame; true when it went to the client exactly as it came and
    /// nothing else was written.
    fn on_frame(&mut self, frame: Frame, out: &mut Vec<u8>) -> bool {
        let info = self.fold.on_frame(&frame);
        if !self.is_open() {
            // Folded for usage only: the client's stream has ended.
            self.decoder.recycle(frame);
            return false;
        }
        if info.unreadable && self.hold_back.is_some() {
            // A client's parser may read calls into what the gateway could not read at all.
            self.end_unread("a stream event is not JSON the gateway can read", "unreadable_event", out);
            return false;
        }
        let flow = match self.hold_back.as_mut() {
            Some(hold) => hold.on_frame(&mut self.fold, frame, &info, out),
            None if info.drop => Flow::Continue,
            None => {
                out.extend_from_slice(&frame.raw);
                Flow::Passed(frame)
            }
        };
        match flow {
            Flow::Passed(frame) => {
                self.decoder.recycle(frame);
                true
            }
            Flow::Ended => {
                self.state = State::Ended { why: "held_bytes_limit", readable: true };
                false
            }
            Flow::Continue => false,
        }
    }

    /// The framing broke: fail closed where the stream is policed.
    fn unreadable(&mut self, err: &StreamError, out: &mut Vec<u8>) {
        if !self.is_open() {
            if let State::Ended { why, .. } = self.state {
                self.state = State::Ended { why, readable: false };
            }
            return;
        }
        let (why, label) = match err {
            StreamError::FrameTooLarge { .. } => {
                ("a stream event is larger than the gateway reads (4 MiB)", "frame_too_large")
            }
            StreamError::Crc { .. } => ("a stream event failed its checksum", "bad_checksum"),
            StreamError::Malformed(_) => {
                ("the stream is not in the provider's stream format (it may be compressed)", "malformed_stream")
            }
        };
        if self.hold_back.is_some() {
            self.end_unread(why, label, out);
        } else {
            self.state = State::Unread;
        }
    }

    /// Refuses what is held and ends the client's stream: the rest cannot be read (`why`).
    fn end_unread(&mut self, why: &str, label: &'static str, out: &mut Vec<u8>) {
        if let Some(hold) = self.hold_back.as_mut() {
            hold.end_unread(&mut self.fold, why, out);
        }
        self.state = State::Ended { why: label, readable: false };
    }

    /// The tool policies this stream is judged with (moved here from the exchange when it began).
    pub(super) fn guard(&self) -> Option<&super::guard::Guard> {
        self.hold_back.as_ref().map(super::hold_back::HoldBack::guard)
    }

    pub fn response(&self) -> &view::Response {
        self.fold.response()
    }

    pub fn blocked(&self) -> Option<&Blocked> {
        self.hold_back.as_ref().and_then(HoldBack::blocked)
    }

    /// Why the gateway ended the client's stream early, for the record (`unpoliced`).
    pub fn ended_because(&self) -> Option<&'static str> {
        match self.state {
            State::Ended { why, .. } => Some(why),
            State::Unread => Some("unread_stream_passed"),
            State::Open | State::Complete => None,
        }
    }

    /// Whether the upstream's stream never reached its end (reset, cut, client gone).
    pub fn is_incomplete(&self) -> bool {
        !self.upstream_done
    }
}
