//! The filter's stream hold-back (`exchange::hold_back::Hold`) driven by a test's own policy, so a
//! provider's refusal tests put its stream fold through the very mechanics the filter runs.

use crate::exchange::{Flow, Hold, Judge};
use crate::providers::{FrameInfo, StreamFold};
use crate::stream::{Frame, Framing};
use crate::view::{Api, ToolCall};
use std::cell::Cell;

/// What the client received from a stream that went through the hold-back.
#[derive(Debug)]
pub struct Held {
    /// Bytes that reached the client before the hold began (all of them when nothing was held).
    pub live: Vec<u8>,
    /// Every byte the client received.
    pub out: Vec<u8>,
    /// What the fold said about each frame, in order.
    pub infos: Vec<FrameInfo>,
}

/// Runs `frames` through `fold` and the hold-back: from the first frame that starts a call `holds`
/// names, frames are held until the one that ends the message (or the end of the stream); then the
/// held frames go out as they came (`refusal` is `None`), or are stripped and followed by
/// `refusal`.
pub fn hold_back(fold: &mut StreamFold, frames: &[Frame], holds: &dyn Fn(&str) -> bool, refusal: Option<&str>) -> Held {
    hold_back_within(fold, frames, holds, refusal, crate::stream::DEFAULT_MAX_HELD_BYTES)
}

/// `hold_back` holding at most `limit` bytes: past it the calls are refused unjudged and the
/// client's stream ends there, as the filter does.
pub fn hold_back_within(
    fold: &mut StreamFold,
    frames: &[Frame],
    holds: &dyn Fn(&str) -> bool,
    refusal: Option<&str>,
    limit: usize,
) -> Held {
    let mut hold = Hold::new(limit);
    let (mut out, mut infos, mut live) = (Vec::new(), Vec::new(), None);
    let mut judge = TestJudge { holds, refusal, started: Cell::new(false) };
    for frame in frames {
        let info = fold.on_frame(frame);
        let before = out.len();
        let flow = hold.on_frame(fold, frame.clone(), &info, &mut out, &mut judge);
        if judge.started.get() && live.is_none() {
            live = Some(out[..before].to_vec());
        }
        infos.push(info);
        if flow == Flow::Ended {
            return Held { live: live.unwrap_or_else(|| out.clone()), out, infos };
        }
    }
    hold.finish(fold, &mut out, &mut judge);
    Held { live: live.unwrap_or_else(|| out.clone()), out, infos }
}

/// A test's own policy: hold what `holds` names, refuse with `refusal` when it is set.
struct TestJudge<'a> {
    holds: &'a dyn Fn(&str) -> bool,
    refusal: Option<&'a str>,
    /// The hold-back asks only while it is not holding yet, so the first yes is where the hold
    /// begins.
    started: Cell<bool>,
}

impl Judge for TestJudge<'_> {
    fn must_hold(&self, name: &str) -> bool {
        let yes = (self.holds)(name);
        self.started.set(self.started.get() || yes);
        yes
    }

    fn judge(&mut self, _: &[ToolCall]) -> Option<String> {
        self.refusal.map(str::to_owned)
    }

    fn refuse_unjudged(&mut self, _: &[ToolCall], why: &str) -> String {
        self.refusal.map_or_else(|| why.to_owned(), str::to_owned)
    }
}

/// `hold_back` with a new fold of `api` reading `framing`, for streams whose every frame goes to
/// the client (checked: the fold drops none).
pub fn hold_back_forwarding(
    api: Api,
    framing: Framing,
    frames: &[Frame],
    holds: &dyn Fn(&str) -> bool,
    refusal: Option<&str>,
) -> Held {
    let mut fold = StreamFold::new(api, false, framing).unwrap_or_else(|| panic!("{api:?} has no stream fold"));
    let held = hold_back(&mut fold, frames, holds, refusal);
    assert!(held.infos.iter().all(|info| !info.drop), "{api:?}: every frame goes to the client");
    held
}

/// What a fold makes of `frames` when all of them are held and refused, whatever they are: every
/// frame folded, then stripped, except the last when `end_held` (it ends the message instead).
pub fn strip_and_refuse(fold: &mut StreamFold, frames: &[Frame], end_held: bool, refusal: &str) -> Vec<Frame> {
    for frame in frames {
        fold.on_frame(frame);
    }
    let (held, finish) = match frames.split_last() {
        Some((last, rest)) if end_held => (rest, Some(last)),
        _ => (frames, None),
    };
    for frame in held {
        fold.strip_tools(frame);
    }
    fold.refusal(refusal, finish)
}
