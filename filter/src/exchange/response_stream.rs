//! A streaming response in flight: framing decoder + provider fold. Frames the fold forwards are
//! written out byte for byte; bytes of a frame not yet complete wait for the next chunk.

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
}

impl ResponseStream {
    pub fn new(framing: Framing, fold: StreamFold) -> Self {
        ResponseStream {
            decoder: Decoder::new(framing),
            fold,
            unemitted: Vec::new(),
            broken: false,
            frames: Vec::new(),
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
            if !self.fold.on_frame(&frame).drop {
                out.extend_from_slice(&frame.raw);
            }
        }
        self.frames = frames;
        let consumed = consumed.min(self.unemitted.len());
        self.unemitted.drain(..consumed);
        match result {
            Err(_) => {
                // Give up on meaning, never on bytes.
                self.broken = true;
                out.append(&mut self.unemitted);
            }
            Ok(()) if end => {
                out.extend_from_slice(&tail);
                self.unemitted.clear();
            }
            Ok(()) => {}
        }
    }

    pub fn response(&self) -> &view::Response {
        self.fold.response()
    }

    /// Whether the framing broke mid-stream (the rest went through unparsed).
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}
