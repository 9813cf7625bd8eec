//! Prints the adversarial corpus (`warden_e2e::adversary::corpus`) as JSON, one object per case:
//! the request the SDK should make (API, stream, route, declared tools, body), the script the mock
//! replays, and whether the case is a control. Read by `tests/clients/test_adversarial.py`.

use serde_json::{json, Value};
use warden_e2e::adversary::{corpus, label};

fn main() {
    let cases: Vec<Value> = corpus::corpus()
        .into_iter()
        .map(|case| {
            let calls: Vec<String> = case.output.choices.iter().flat_map(|c| &c.calls).map(|c| c.name()).collect();
            json!({
                "name": case.name,
                "script_name": case.name.replace(['/', '+'], "_"),
                "format": label(case.format),
                "attack": case.attack,
                "api": case.request.api,
                "stream": case.request.stream,
                "gemini_sse": case.request.client_path.contains("alt=sse"),
                "client_path": case.request.client_path,
                "declared": case.declared,
                "body": case.request.body,
                "control": case.control,
                "calls": calls,
                "chunk": case.chunk,
                "script": case.script,
            })
        })
        .collect();
    println!("{}", Value::Array(cases));
}
