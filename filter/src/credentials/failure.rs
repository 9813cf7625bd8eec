//! What a failed `Credentials/Get` call means, in words for the 503 the client gets. Envoy reports
//! its own failures (no connection, timeout) and the sidecar's statuses alike, as a gRPC code and a
//! message with Envoy's response-code details appended in braces; `{via_upstream}` means the
//! sidecar itself answered. The sidecar's message is percent-encoded on the wire (gRPC's
//! `grpc-message`) and names the cloud and what failed; it never holds a secret (the sidecar
//! redacts before it answers).

/// Longest part of a sidecar message quoted back to the client.
const MAX_QUOTED: usize = 600;

pub fn describe(code: u32, raw_message: &str) -> String {
    let (text, details) = split_details(raw_message);
    if details == Some("via_upstream") {
        let text = quote(&crate::routes::percent_decode(text));
        return match code {
            9 => format!("the sidecar does not have this cloud's credentials enabled ({text})"),
            14 => format!("the sidecar could not get one ({text})"),
            _ => format!("the sidecar refused the request (gRPC status {code}: {text})"),
        };
    }
    let what = match code {
        4 => "the sidecar did not answer in time",
        14 => "the sidecar is unreachable",
        _ => "the call to the sidecar failed",
    };
    if raw_message.is_empty() {
        format!("{what} (gRPC status {code})")
    } else {
        format!("{what} (gRPC status {code}: {raw_message})")
    }
}

/// `message{details}` → (`message`, `details`).
fn split_details(raw: &str) -> (&str, Option<&str>) {
    let Some(body) = raw.strip_suffix('}') else { return (raw, None) };
    match body.rfind('{') {
        Some(open) => (body.get(..open).unwrap_or(raw), body.get(open + 1..)),
        None => (raw, None),
    }
}

fn quote(text: &str) -> String {
    if text.len() <= MAX_QUOTED {
        return text.to_owned();
    }
    let mut end = MAX_QUOTED;
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}
