//! The tool policies as they apply to one request: its profile, its caller, whether its context is
//! trusted and which tools it declared. Built when the request body is read, consulted for the
//! response (whole or streamed).

use crate::config::Config;
use crate::policy::tools::{self, Declared, ToolOutcome};
use crate::policy::{CompiledPolicies, Context};
use crate::view::ToolCall;
use std::rc::Rc;

#[derive(Debug)]
pub struct Guard {
    config: Rc<Config>,
    profile: String,
    ctx: Context,
    trusted: bool,
    declared: Vec<Declared>,
}

impl Guard {
    pub fn new(config: Rc<Config>, profile: String, ctx: Context, trusted: bool, declared: Vec<Declared>) -> Guard {
        Guard { config, profile, ctx, trusted, declared }
    }

    fn policies(&self) -> Option<&CompiledPolicies> {
        self.config.profiles.get(&self.profile).map(|p| &p.policies)
    }

    fn undeclared(&self, name: &str) -> bool {
        !self.declared.is_empty() && !self.declared.iter().any(|d| d.name == name)
    }

    /// Whether a call to `name` must be held back until its arguments are complete: it could be
    /// blocked under this profile and trust, or the request did not declare it. A request that
    /// declared no tools expects no call at all: whatever comes is held, so a name streamed in
    /// pieces ("read_", "file") cannot go out live under its harmless first piece.
    pub fn must_hold(&self, name: &str) -> bool {
        // A call whose name has not arrived yet could be anything.
        name.is_empty()
            || self.declared.is_empty()
            || self.undeclared(name)
            || self.policies().is_none_or(|p| tools::could_block(p, name, self.trusted))
    }

    /// Each call's judgement and deciding row (`tools::explain`).
    pub fn explain(&self, calls: &[ToolCall]) -> Vec<tools::Judgement> {
        match self.policies() {
            Some(p) => tools::explain(p, calls, &self.declared, &self.ctx, self.trusted),
            None => Vec::new(),
        }
    }

    pub fn evaluate(&self, calls: &[ToolCall]) -> ToolOutcome {
        match self.policies() {
            Some(p) => tools::evaluate(p, calls, &self.declared, &self.ctx, self.trusted),
            None => ToolOutcome { blocked: Vec::new(), any_blocked: false },
        }
    }
}
