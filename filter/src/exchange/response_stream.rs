//! A streaming response in flight: framing decoder + provider fold + hold-back. Frames the fold
//! forwards are written out byte for byte; bytes of a frame not yet complete wait for the next
//! chunk.
//!
//! Fail closed: when the framing breaks (a frame over the size cap, a bad CRC, bytes that are not
//! the expected framing at all, such as a compressed body) the gateway cannot tell what the rest of
//! the stream says. Whatever it held is refused, the client's stream ends with a valid refusal in
//! the provider's shape, and nothing after that reaches the client.

use super::hold_back::{Flow, HoldBack};
use crate::policy::tools::Blocked;
use crate::providers::StreamFold;
use crate::stream::{Decoder, Frame, Framing, StreamError};
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
        }
    }

    /// Feeds one chunk from upstream; appends what the client should receive now to `out`.
    pub fn push(&mut self, chunk: &[u8], end: bool, out: &mut Vec<u8>) {
        self.upstream_done |= end;
        match self.state {
            State::Unread => {
                out.extend_from_slice(chunk);
                return;
            }
            State::Ended { readable: false, .. } | State::Complete => return,
            State::Open | State::Ended { readable: true, .. } => {}
        }
        let mut frames = std::mem::take(&mut self.frames);
        let mut result = self.decoder.push(chunk, &mut frames);
        let mut tail = Vec::new();
        if end && result.is_ok() {
            match self.decoder.finish(&mut frames) {
                Ok(rest) => tail = rest,
                Err(e) => result = Err(e),
            }
        }
        for frame in frames.drain(..) {
            self.on_frame(frame, out);
        }
        self.frames = frames;
        match result {
            Err(e) => self.unreadable(&e, out),
            Ok(()) if end => {
                if self.is_open() {
                    if let Some(hold) = self.hold_back.as_mut() {
                        hold.finish(&mut self.fold, out);
                    }
                    out.extend_from_slice(&tail);
                    self.state = State::Complete;
                }
            }
            Ok(()) => {}
        }
    }

    fn is_open(&self) -> bool {
        self.state == State::Open
    }

    fn on_frame(&mut self, frame: Frame, out: &mut Vec<u8>) {
        let info = self.fold.on_frame(&frame);
        if !self.is_open() {
            // Folded for usage only: the client's stream has ended.
            return;
        }
        let flow = match self.hold_back.as_mut() {
            Some(hold) => hold.on_frame(&mut self.fold, frame, &info, out),
            None => {
                if !info.drop {
                    out.extend_from_slice(&frame.raw);
                }
                Flow::Continue
            }
        };
        if flow == Flow::Ended {
            self.state = State::Ended { why: "held_bytes_limit", readable: true };
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
        match self.hold_back.as_mut() {
            Some(hold) => {
                hold.end_unread(&mut self.fold, why, out);
                self.state = State::Ended { why: label, readable: false };
            }
            None => self.state = State::Unread,
        }
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
