//! The text the model receives instead of tool calls the gateway blocked (DESIGN §5.1). Our own
//! wording: it names every blocked tool, its arguments and the reason, and says what was withheld.

use super::tools::BlockedCall;

/// Arguments are shown compactly and cut here, so a huge argument cannot flood the reply.
const MAX_ARGUMENT_CHARS: usize = 500;
const MAX_NAME_CHARS: usize = 200;

pub fn message(blocked: &[BlockedCall]) -> String {
    let mut out = String::from("The Warden gateway blocked ");
    out.push_str(match blocked.len() {
        0 | 1 => "a tool call",
        _ => "tool calls",
    });
    // True whole or streamed: calls a stream delivered before the blocked one (tools that are
    // always allowed stream live) went out; every other call of the response was withheld.
    out.push_str(" in this response and withheld every tool call of the response not yet delivered.\n");
    for call in blocked {
        out.push_str(&format!(
            "\n- Tool `{}` with arguments {}\n  Reason: {}\n",
            truncate(&call.name, MAX_NAME_CHARS),
            truncate(&call.arguments.display(), MAX_ARGUMENT_CHARS),
            call.reason
        ));
    }
    out.push_str(
        "\nThe gateway enforces the tool policies configured for this agent. Do not repeat the blocked call; \
         continue without it, or tell the user it was blocked.",
    );
    out
}

/// The text that ends a response the gateway stopped passing on because it could not read the rest
/// of it (`why`), so could not check it against the tool policies.
pub fn stopped(why: &str) -> String {
    format!(
        "The Warden gateway stopped this response here: {why}. The rest of it could not be checked against the \
         tool policies configured for this agent, so it was not passed on. Retry the request; if this keeps \
         happening, tell the gateway administrator."
    )
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… (truncated)", text.get(..cut).unwrap_or("")),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn blocked(name: &str, arguments: serde_json::Value, reason: &str) -> BlockedCall {
        BlockedCall { index: 0, name: name.into(), arguments: arguments.into(), reason: reason.into() }
    }

    #[test]
    fn message_names_tool_arguments_and_reason() {
        let text = message(&[blocked("read_file", json!({"file_path": "/etc/passwd"}), "system files are off limits")]);
        assert!(text.starts_with("The Warden gateway blocked a tool call"), "{text}");
        assert!(text.contains("`read_file`"), "{text}");
        assert!(text.contains(r#"{"file_path":"/etc/passwd"}"#), "{text}");
        assert!(text.contains("system files are off limits"), "{text}");
    }

    #[test]
    fn message_lists_every_blocked_call() {
        let text = message(&[blocked("a", json!({}), "r1"), blocked("b", json!({"x": 1}), "r2")]);
        assert!(text.contains("blocked tool calls"), "{text}");
        assert!(text.contains("`a`") && text.contains("r1") && text.contains("`b`") && text.contains("r2"), "{text}");
    }

    #[test]
    fn long_arguments_are_truncated_on_a_character_boundary() {
        let text = message(&[blocked("w", json!({"body": "é".repeat(2000)}), "r")]);
        assert!(text.contains("… (truncated)"), "{text}");
        assert!(text.chars().count() < 1000, "{}", text.chars().count());
    }
}
