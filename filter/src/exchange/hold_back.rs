//! Stream hold-back (DESIGN §5.1). A tool call that could be blocked is held from its first frame
//! until the frame that ends the assistant message; every frame after it is held too, so order is
//! kept. Then all calls of the message are evaluated together: allowed, the held frames go out as
//! they came; blocked, the provider strips the tool calls from them and ends the message with the
//! refusal text. Tools that cannot be blocked stream live. Memory: only the held frames of one
//! message.

use super::guard::Guard;
use crate::policy::refusal;
use crate::policy::tools::BlockedCall;
use crate::providers::{FrameInfo, StreamFold};
use crate::stream::Frame;
use crate::view::ToolCall;

#[derive(Debug)]
pub struct HoldBack {
    guard: Guard,
    hold: Hold,
    /// Set once a message's calls were blocked.
    blocked: Option<Blocked>,
}

/// The holding itself, apart from the policy that picks the calls to hold and decides on them, so
/// the provider tests can drive the same mechanics with a policy of their own.
#[derive(Debug, Default)]
pub(crate) struct Hold {
    /// Frames held since the first holdable tool call of the message, in order.
    held: Vec<Frame>,
    holding: bool,
}

/// What was refused: every call of the message that did not reach the client, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub tools: Vec<String>,
    pub calls: Vec<BlockedCall>,
}

impl Blocked {
    pub fn reason(&self) -> String {
        let reasons: Vec<String> = self.calls.iter().map(|c| format!("{}: {}", c.name, c.reason)).collect();
        reasons.join("; ")
    }
}

/// Evaluates the calls of a whole response; `Some` when they must be refused.
pub fn evaluate(guard: &Guard, calls: &[ToolCall]) -> Option<Blocked> {
    let outcome = guard.evaluate(calls);
    outcome
        .any_blocked
        .then(|| Blocked { tools: calls.iter().map(|c| c.name.clone()).collect(), calls: outcome.blocked })
}

impl HoldBack {
    pub fn new(guard: Guard) -> Self {
        HoldBack { guard, hold: Hold::default(), blocked: None }
    }

    pub fn blocked(&self) -> Option<&Blocked> {
        self.blocked.as_ref()
    }

    /// One decoded frame and what the fold said about it; appends what the client gets now.
    pub fn on_frame(&mut self, fold: &mut StreamFold, frame: Frame, info: &FrameInfo, out: &mut Vec<u8>) {
        let (guard, blocked) = (&self.guard, &mut self.blocked);
        let must_hold = |name: &str| guard.must_hold(name);
        self.hold.on_frame(fold, frame, info, out, must_hold, |calls| refuse(guard, calls, blocked));
    }

    /// The stream ended (or broke) while frames were held: decide with what arrived.
    pub fn finish(&mut self, fold: &mut StreamFold, out: &mut Vec<u8>) {
        let (guard, blocked) = (&self.guard, &mut self.blocked);
        self.hold.finish(fold, out, |calls| refuse(guard, calls, blocked));
    }
}

/// The refusal text for `calls` when the guard blocks them, noting what was blocked.
fn refuse(guard: &Guard, calls: &[ToolCall], blocked: &mut Option<Blocked>) -> Option<String> {
    let refused = evaluate(guard, calls)?;
    let message = refusal::message(&refused.calls);
    *blocked = Some(refused);
    Some(message)
}

impl Hold {
    /// One frame: held from the first one that starts a call `must_hold` names, until the one that
    /// ends the message; then `refuse` decides on the message's calls (`Some` refusal text blocks
    /// them). Appends what the client gets now.
    pub(crate) fn on_frame(
        &mut self,
        fold: &mut StreamFold,
        frame: Frame,
        info: &FrameInfo,
        out: &mut Vec<u8>,
        must_hold: impl Fn(&str) -> bool,
        refuse: impl FnOnce(&[ToolCall]) -> Option<String>,
    ) {
        if !self.holding && info.tool && info.started_tools.iter().any(|name| must_hold(name)) {
            self.holding = true;
        }
        if !self.holding {
            if !info.drop {
                out.extend_from_slice(&frame.raw);
            }
            return;
        }
        if info.ends_message {
            self.decide(fold, Some(frame), out, refuse);
        } else if !info.drop {
            self.held.push(frame);
        }
    }

    /// The stream ended (or broke) while frames were held: decide with what arrived.
    pub(crate) fn finish(
        &mut self,
        fold: &mut StreamFold,
        out: &mut Vec<u8>,
        refuse: impl FnOnce(&[ToolCall]) -> Option<String>,
    ) {
        if self.holding {
            self.decide(fold, None, out, refuse);
        }
    }

    fn decide(
        &mut self,
        fold: &mut StreamFold,
        finish: Option<Frame>,
        out: &mut Vec<u8>,
        refuse: impl FnOnce(&[ToolCall]) -> Option<String>,
    ) {
        self.holding = false;
        let held = std::mem::take(&mut self.held);
        match refuse(&fold.response().tool_calls) {
            None => {
                for frame in held.iter().chain(finish.iter()) {
                    out.extend_from_slice(&frame.raw);
                }
            }
            Some(message) => {
                for frame in &held {
                    if let Some(stripped) = fold.strip_tools(frame) {
                        out.extend_from_slice(&stripped.raw);
                    }
                }
                for frame in fold.refusal(&message, finish.as_ref()) {
                    out.extend_from_slice(&frame.raw);
                }
            }
        }
    }
}
