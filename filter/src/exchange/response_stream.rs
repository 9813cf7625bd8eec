//! A streaming response in flight: framing decoder + provider fold. Frames the fold forwards are
//! written out byte for byte; bytes of a frame not yet complete wait for the next chunk.

use super::hold_back::{Blocked, HoldBack};
use crate::providers::StreamFold;
use crate::stream::{Decoder, Frame, Framing};
use crate::view;

#[derive(Debug)]
pub struct ResponseStream {
    decoder: Decoder,
    fold: StreamFold,
    /// Input bytes not yet accounted to an emitted frame. Kept so that when the decoder gives up
    /// on malformed input, every byte still reaches the client.
    unemitted: Vec<u8>,
    /// Set after a framing error: the rest of the stream passes through untouched.
    broken: bool,
    frames: Vec<Frame>,
    /// Tool-call hold-back; `None` when the request's policies cannot block anything.
    hold_back: Option<HoldBack>,
}

impl ResponseStream {
    pub fn new(framing: Framing, fold: StreamFold, hold_back: Option<HoldBack>) -> Self {
        ResponseStream {
            decoder: Decoder::new(framing),
            fold,
            unemitted: Vec::new(),
            broken: false,
            frames: Vec::new(),
            hold_back,
        }
    }

    /// Feeds one chunk from upstream; appends what the client should receive now to `out`.
    pub fn push(&mut self, chunk: &[u8], end: bool, out: &mut Vec<u8>) {
        if self.broken {
            out.extend_from_slice(chunk);
            return;
        }
        self.unemitted.extend_from_slice(chunk);
        let mut frames = std::mem::take(&mut self.frames);
        let mut result = self.decoder.push(chunk, &mut frames);
        let mut tail = Vec::new();
        if end && result.is_ok() {
            match self.decoder.finish(&mut frames) {
                Ok(rest) => tail = rest,
                Err(e) => result = Err(e),
            }
        }
        let mut consumed = 0usize;
        for frame in frames.drain(..) {
            consumed = consumed.saturating_add(frame.raw.len());
            let info = self.fold.on_frame(&frame);
            match self.hold_back.as_mut() {
                Some(hold) => hold.on_frame(&mut self.fold, frame, &info, out),
                None if !info.drop => out.extend_from_slice(&frame.raw),
                None => {}
            }
        }
        self.frames = frames;
        let consumed = consumed.min(self.unemitted.len());
        self.unemitted.drain(..consumed);
        match result {
            Err(_) => {
                // Give up on meaning, never on bytes — but held tool calls are decided first, so a
                // broken stream cannot smuggle a blocked call out.
                self.broken = true;
                if let Some(hold) = self.hold_back.as_mut() {
                    hold.finish(&mut self.fold, out);
                }
                out.append(&mut self.unemitted);
            }
            Ok(()) if end => {
                if let Some(hold) = self.hold_back.as_mut() {
                    hold.finish(&mut self.fold, out);
                }
                out.extend_from_slice(&tail);
                self.unemitted.clear();
            }
            Ok(()) => {}
        }
    }

    pub fn response(&self) -> &view::Response {
        self.fold.response()
    }

    pub fn blocked(&self) -> Option<&Blocked> {
        self.hold_back.as_ref().and_then(HoldBack::blocked)
    }

    /// Whether the framing broke mid-stream (the rest went through unparsed).
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}
