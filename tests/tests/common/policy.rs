//! Shared by the policy test files: a stack under the policy config, and one request with listed
//! tool calls.

use serde_json::Value;
use warden_e2e::cases::Case;
use warden_e2e::policy;
use warden_e2e::run::{self, Outcome, Via};
use warden_e2e::{Stack, StackOptions};

pub fn policy_stack() -> Stack {
    super::warden_stack_with(StackOptions { plugin_config: policy::plugin_config(), ..StackOptions::default() })
}

/// Sends `case` with the mock making exactly `calls` (through `scenario`'s layout), labelled with
/// the calls so a failure says which request it was.
pub fn send(
    stack: &Stack,
    case: &Case,
    scenario: &str,
    calls: &[(&str, Value)],
    chunk: Option<usize>,
    extra: &[(&str, &str)],
) -> Outcome {
    let header = policy::calls_header(calls);
    let mut headers: Vec<(&str, &str)> = vec![("x-mock-tool-calls", header.as_str())];
    headers.extend_from_slice(extra);
    let mut o = run::send(stack, case, Via::Filter, scenario, chunk, &headers);
    let names: Vec<String> = calls
        .iter()
        .map(|(n, a)| {
            let args = a.to_string();
            match args.char_indices().nth(60) {
                Some((cut, _)) => format!("{n}{}…", args.get(..cut).unwrap_or_default()),
                None => format!("{n}{args}"),
            }
        })
        .collect();
    o.label = format!("{} calls {}", o.label, names.join(" + "));
    if !extra.is_empty() {
        o.label.push_str(&format!(" {extra:?}"));
    }
    o
}

/// `cases × chunk sizes`, to run in parallel.
pub fn matrix(cases: Vec<Case>, chunks: &[Option<usize>]) -> Vec<(Case, Option<usize>)> {
    cases.into_iter().flat_map(|c| chunks.iter().map(move |k| (c.clone(), *k))).collect()
}
