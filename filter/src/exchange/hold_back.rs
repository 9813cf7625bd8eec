//! Stream hold-back (DESIGN §5.1). A tool call that could be blocked is held from its first frame
//! until the frame that ends the assistant message; every frame after it is held too, so order is
//! kept. Then all calls of the message are judged together: allowed, the held frames go out as
//! they came; blocked, the provider strips the tool calls from them and ends the message with the
//! refusal text. Tools that cannot be blocked stream live.
//!
//! Memory is bounded: the held frames of one message, at most `limit` bytes (plus, for the moment
//! of refusing, the one frame that overflowed it). Reaching the limit refuses the message's calls
//! unjudged, strips every held frame and ends the client's stream there — a call too large to hold
//! is never released unchecked.

use super::guard::Guard;
use crate::policy::refusal;
use crate::policy::tools::Blocked;
use crate::providers::{FrameInfo, StreamFold};
use crate::stream::Frame;
use crate::view::ToolCall;

/// Decides for the hold-back: which calls to hold, and what to do with a message's calls.
pub(crate) trait Judge {
    /// Whether a call to `name` must be held until its arguments are complete and judged.
    fn must_hold(&self, name: &str) -> bool;
    /// The refusal text when the message's `calls` are blocked; `None` lets them go out.
    fn judge(&mut self, calls: &[ToolCall]) -> Option<String>;
    /// The refusal text for `calls` refused without judging them, because `why`.
    fn refuse_unjudged(&mut self, calls: &[ToolCall], why: &str) -> String;
    /// The text that ends a stream the gateway stopped reading (`why`) while no call was held.
    fn stopped(&mut self, why: &str) -> String {
        refusal::stopped(why)
    }
}

/// What the client's stream does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// The frame went to the client exactly as it came, and nothing else was written: it is
    /// handed back (its buffers can serve the next frames).
    Passed(Frame),
    /// The gateway ended the client's stream with a refusal: nothing more goes to the client.
    Ended,
}

#[derive(Debug)]
pub struct HoldBack {
    guard: Guard,
    hold: Hold,
    /// Set once a message's calls were refused.
    blocked: Option<Blocked>,
}

/// The holding itself, apart from the policy that picks the calls to hold and decides on them, so
/// the provider tests can drive the same mechanics with a judge of their own.
#[derive(Debug)]
pub(crate) struct Hold {
    /// Frames held since the first holdable tool call of the message, in order.
    held: Vec<Frame>,
    /// Bytes in `held`; never more than `limit`.
    held_bytes: usize,
    limit: usize,
    holding: bool,
}

impl Default for Hold {
    fn default() -> Self {
        Hold::new(crate::stream::DEFAULT_MAX_HELD_BYTES)
    }
}

/// Evaluates the calls of a whole response; `Some` when they must be refused.
pub fn evaluate(guard: &Guard, calls: &[ToolCall]) -> Option<Blocked> {
    let outcome = guard.evaluate(calls);
    outcome
        .any_blocked
        .then(|| Blocked { tools: calls.iter().map(|c| c.name.clone()).collect(), calls: outcome.blocked })
}

/// The guard as the hold-back's judge, noting what it refused.
struct Policy<'a> {
    guard: &'a Guard,
    blocked: &'a mut Option<Blocked>,
}

impl Judge for Policy<'_> {
    fn must_hold(&self, name: &str) -> bool {
        self.guard.must_hold(name)
    }

    fn judge(&mut self, calls: &[ToolCall]) -> Option<String> {
        let refused = evaluate(self.guard, calls)?;
        let message = refusal::message(&refused.calls);
        *self.blocked = Some(refused);
        Some(message)
    }

    fn refuse_unjudged(&mut self, calls: &[ToolCall], why: &str) -> String {
        let refused = Blocked::unjudged(calls, why);
        let message = refusal::message(&refused.calls);
        *self.blocked = Some(refused);
        message
    }
}

impl HoldBack {
    /// The policies the stream's calls are judged with.
    pub(super) fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn new(guard: Guard, limit: usize) -> Self {
        HoldBack { guard, hold: Hold::new(limit), blocked: None }
    }

    pub fn blocked(&self) -> Option<&Blocked> {
        self.blocked.as_ref()
    }

    /// One decoded frame and what the fold said about it; appends what the client gets now.
    pub(crate) fn on_frame(
        &mut self,
        fold: &mut StreamFold,
        frame: Frame,
        info: &FrameInfo,
        out: &mut Vec<u8>,
    ) -> Flow {
        let mut judge = Policy { guard: &self.guard, blocked: &mut self.blocked };
        self.hold.on_frame(fold, frame, info, out, &mut judge)
    }

    /// The stream ended (or broke) while frames were held: decide with what arrived.
    pub(crate) fn finish(&mut self, fold: &mut StreamFold, out: &mut Vec<u8>) {
        let mut judge = Policy { guard: &self.guard, blocked: &mut self.blocked };
        self.hold.finish(fold, out, &mut judge);
    }

    /// The stream cannot be read any further (`why`): whatever is held, and whatever the rest of
    /// the stream would have said, is refused, and the client's stream ends here.
    pub(crate) fn end_unread(&mut self, fold: &mut StreamFold, why: &str, out: &mut Vec<u8>) {
        let mut judge = Policy { guard: &self.guard, blocked: &mut self.blocked };
        self.hold.refuse_and_end(fold, why, out, &mut judge);
    }
}

impl Hold {
    pub(crate) fn new(limit: usize) -> Self {
        Hold { held: Vec::new(), held_bytes: 0, limit, holding: false }
    }

    /// One frame: held from the first one that starts a call the judge must hold, until the one
    /// that ends the message; then the judge decides on the message's calls. Appends what the
    /// client gets now.
    pub(crate) fn on_frame(
        &mut self,
        fold: &mut StreamFold,
        frame: Frame,
        info: &FrameInfo,
        out: &mut Vec<u8>,
        judge: &mut dyn Judge,
    ) -> Flow {
        if !self.holding && info.tool && info.started_tools.iter().any(|name| judge.must_hold(name)) {
            self.holding = true;
            fold.hold_begins();
        }
        if !self.holding {
            if info.drop {
                return Flow::Continue;
            }
            out.extend_from_slice(&frame.raw);
            return Flow::Passed(frame);
        }
        if info.ends_message {
            self.decide(fold, Some(frame), out, judge);
            return Flow::Continue;
        }
        if info.drop {
            return Flow::Continue;
        }
        if self.held_bytes.saturating_add(frame.raw.len()) > self.limit {
            let why = format!(
                "the tool call is larger than the {} bytes the gateway holds for checking (max_held_bytes)",
                self.limit
            );
            // The frame is stripped with the others rather than dropped unseen: a call it announces
            // must be known as withheld, or a terminal event the gateway writes would list it.
            self.held.push(frame);
            self.refuse_and_end(fold, &why, out, judge);
            return Flow::Ended;
        }
        self.held_bytes = self.held_bytes.saturating_add(frame.raw.len());
        self.held.push(frame);
        Flow::Continue
    }

    /// The stream ended (or broke) while frames were held: decide with what arrived.
    pub(crate) fn finish(&mut self, fold: &mut StreamFold, out: &mut Vec<u8>, judge: &mut dyn Judge) {
        if self.holding {
            self.decide(fold, None, out, judge);
        }
    }

    /// Refuses every call of the message without judging it, strips the held frames and ends the
    /// client's stream with the refusal.
    pub(crate) fn refuse_and_end(
        &mut self,
        fold: &mut StreamFold,
        why: &str,
        out: &mut Vec<u8>,
        judge: &mut dyn Judge,
    ) {
        let message =
            if self.holding { judge.refuse_unjudged(&fold.response().tool_calls, why) } else { judge.stopped(why) };
        self.refuse(fold, None, &message, out);
    }

    fn decide(&mut self, fold: &mut StreamFold, finish: Option<Frame>, out: &mut Vec<u8>, judge: &mut dyn Judge) {
        match judge.judge(&fold.response().tool_calls) {
            None => {
                self.holding = false;
                self.held_bytes = 0;
                fold.hold_released();
                for frame in std::mem::take(&mut self.held).iter().chain(finish.iter()) {
                    out.extend_from_slice(&frame.raw);
                }
            }
            Some(message) => self.refuse(fold, finish, &message, out),
        }
    }

    fn refuse(&mut self, fold: &mut StreamFold, finish: Option<Frame>, message: &str, out: &mut Vec<u8>) {
        self.holding = false;
        self.held_bytes = 0;
        for frame in std::mem::take(&mut self.held) {
            if let Some(stripped) = fold.strip_tools(&frame) {
                out.extend_from_slice(&stripped.raw);
            }
        }
        for frame in fold.refusal(message, finish.as_ref()) {
            out.extend_from_slice(&frame.raw);
        }
    }
}
