//! TOON compression of tool results through real Envoy, per native API (README "Cost controls",
//! DESIGN §5.4): with `toon.enabled` the upstream sees the table form, without it the original
//! JSON; the record and the metrics say how many tokens were saved.

use crate::common;
use crate::cost;

use cost::{Extras, Kind, APIS, FILES_TOON_HEADER};
use serde_json::{json, Value};
use warden_e2e::run::Failures;
use warden_e2e::{Stack, StackOptions};

const ON: &str = "toon";
const OFF: &str = "default";

fn toon_stack() -> Stack {
    common::warden_stack_with(StackOptions {
        plugin_config: json!({"default_profile": OFF, "profiles": {
            OFF: {},
            ON: {"toon": {"enabled": true}},
        }}),
        ..StackOptions::default()
    })
}

fn with_files(stream: bool) -> Extras {
    Extras { tools: true, tool_result: Some(cost::files_result()), stream }
}

fn n(record: &Value, key: &str) -> Option<u64> {
    record.get(key).and_then(Value::as_u64)
}

#[test]
fn toon_rewrites_json_tool_results_for_every_api() {
    let stack = toon_stack();
    let mut f = Failures::default();
    for api in APIS {
        for stream in [false, true] {
            let body = api.body(api.model, "What is in this directory?", &with_files(stream));
            let saved_labels = [("provider", api.provider), ("profile", ON)];
            let saved_before = cost::metric(&stack, "warden_toon_tokens_saved_total", &saved_labels);
            let s = cost::send(&stack, &api, ON, api.model, &body, stream, &[]);
            let label = format!("{}{}", s.label, if stream { " (stream)" } else { "" });
            f.check(s.reply.status == 200, || format!("{label}: status {} ({})", s.reply.status, s.reply.text()));
            let Some(up) = &s.upstream else {
                f.0.push(format!("{label}: the mock saw no request"));
                continue;
            };
            let up_text = up.get("body").and_then(Value::as_str).unwrap_or_default();
            f.check(up_text.contains(FILES_TOON_HEADER), || {
                format!("{label}: upstream body lacks {FILES_TOON_HEADER:?}: {up_text}")
            });
            f.check(!up_text.contains("README.md\\\",\\\"size") && !up_text.contains("\"README.md\",\"size\""), || {
                format!("{label}: the original JSON result is still upstream: {up_text}")
            });
            let record = cost::record(&stack, &s.request_id);
            let (before, after) = (n(&record, "toon_tokens_before"), n(&record, "toon_tokens_after"));
            f.check(matches!((before, after), (Some(b), Some(a)) if b > a), || {
                format!(
                    "{label}: record toon_tokens_before {before:?} / after {after:?}, want before > after: {record}"
                )
            });
            f.check(record.get("toon_skip_reason").is_none_or(Value::is_null), || {
                format!(
                    "{label}: record toon_skip_reason {:?} although a result was compressed",
                    record["toon_skip_reason"]
                )
            });
            let saved = cost::metric(&stack, "warden_toon_tokens_saved_total", &saved_labels) - saved_before;
            let want = before.unwrap_or(0).saturating_sub(after.unwrap_or(0)) as f64;
            f.check(saved > 0.0 && saved == want, || {
                format!("{label}: warden_toon_tokens_saved_total moved by {saved}, want {want} (before - after)")
            });
        }
    }
    f.assert_none("TOON on");
}

#[test]
fn without_toon_the_upstream_gets_the_original_json() {
    let stack = toon_stack();
    let mut f = Failures::default();
    for api in APIS {
        let body = api.body(api.model, "What is in this directory?", &with_files(false));
        let saved_before = cost::metric(&stack, "warden_toon_tokens_saved_total", &[]);
        let s = cost::send(&stack, &api, OFF, api.model, &body, false, &[]);
        f.check(s.reply.status == 200, || format!("{}: status {} ({})", s.label, s.reply.status, s.reply.text()));
        let Some(up) = &s.upstream else {
            f.0.push(format!("{}: the mock saw no request", s.label));
            continue;
        };
        let up_body = cost::upstream_body(up);
        f.check(up_body == body, || {
            format!("{}: upstream body changed without TOON:\n{up_body}\nsent:\n{body}", s.label)
        });
        f.check(!up_body.to_string().contains(FILES_TOON_HEADER), || format!("{}: TOON text upstream", s.label));
        let record = cost::record(&stack, &s.request_id);
        f.check(record.get("toon_skip_reason").and_then(Value::as_str) == Some("not_enabled"), || {
            format!("{}: record toon_skip_reason {:?}, want \"not_enabled\"", s.label, record.get("toon_skip_reason"))
        });
        let saved = cost::metric(&stack, "warden_toon_tokens_saved_total", &[]) - saved_before;
        f.check(saved == 0.0, || format!("{}: warden_toon_tokens_saved_total moved by {saved} with TOON off", s.label));
    }
    f.assert_none("TOON off");
}

#[test]
fn toon_leaves_requests_without_json_results_alone() {
    let stack = toon_stack();
    let mut f = Failures::default();
    let openai = APIS.iter().find(|a| a.kind == Kind::OpenAiChat).copied().unwrap_or(APIS[0]);
    let anthropic = APIS.iter().find(|a| a.kind == Kind::Anthropic).copied().unwrap_or(APIS[0]);

    // No tool results at all.
    let s = cost::send_text(&stack, &openai, ON, "Say hello", false, &[]);
    let record = cost::record(&stack, &s.request_id);
    f.check(record.get("toon_skip_reason").and_then(Value::as_str) == Some("no_tool_results"), || {
        format!("no results: toon_skip_reason {:?}, want \"no_tool_results\"", record.get("toon_skip_reason"))
    });

    // A plain-text result is not JSON: nothing to re-encode.
    let mut body = openai.body(openai.model, "List", &with_files(false));
    body["messages"][2]["content"] = json!("README.md src Cargo.toml target LICENSE");
    let s = cost::send(&stack, &openai, ON, openai.model, &body, false, &[]);
    let up = s.upstream.as_ref().map(cost::upstream_body).unwrap_or(Value::Null);
    f.check(up == body, || format!("text result: upstream body changed: {up}"));
    let record = cost::record(&stack, &s.request_id);
    f.check(record.get("toon_skip_reason").and_then(Value::as_str) == Some("not_effective"), || {
        format!("text result: toon_skip_reason {:?}, want \"not_effective\"", record.get("toon_skip_reason"))
    });

    // Error results and results of several blocks keep their content (README "Cost controls").
    let files = cost::files_result().to_string();
    for (what, block) in [
        ("error result", json!({"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": files})),
        (
            "two blocks",
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "text", "text": files}, {"type": "text", "text": "and more"}]}),
        ),
    ] {
        let mut body = anthropic.body(anthropic.model, "List", &with_files(false));
        body["messages"][2]["content"] = json!([block]);
        let s = cost::send(&stack, &anthropic, ON, anthropic.model, &body, false, &[]);
        f.check(s.reply.status == 200, || format!("{what}: status {} ({})", s.reply.status, s.reply.text()));
        let up = s.upstream.as_ref().map(cost::upstream_body).unwrap_or(Value::Null);
        f.check(up == body, || format!("{what}: upstream body changed: {up}"));
    }
    f.assert_none("TOON skips");
}

/// The module these tests run carries the tokenizer tables in a passive data segment (built by
/// scripts/build-wasm.sh through tools/passive-data): VMs that never count tokens get no copy,
/// and the TOON tests above prove the VMs that do still build the tokenizer from it. It has no name
/// section either (Envoy would keep it in every copy of the module: docs/efficiency.md §4), and
/// its functions are in the order requests first run them (§6).
#[test]
fn the_module_keeps_the_tokenizer_tables_out_of_every_vms_memory() {
    let path = warden_e2e::stack::wasm_path();
    let module = walrus::Module::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let layout = warden_passive_data::layout(&module);
    assert!(!layout.copy_export, "the copy function is still exported: the module was not transformed");
    assert!(!layout.marker_in_active, "a marked table is still in an active segment");
    assert!(matches!(layout.passive.as_slice(), [n] if *n > 3_000_000), "passive segments: {:?}", layout.passive);
    assert!(layout.active_bytes < 1_000_000, "active data: {} bytes", layout.active_bytes);
    assert!(!layout.named_functions, "the module carries a name section");
    // The functions requests run come first (filter/wasm-order.txt): the request callbacks, whose
    // exported names every toolchain keeps, are among the first sixth of the defined functions.
    let defined: Vec<_> =
        module.funcs.iter().filter(|f| matches!(f.kind, walrus::FunctionKind::Local(_))).map(|f| f.id()).collect();
    for callback in [
        "proxy_on_context_create",
        "proxy_on_request_headers",
        "proxy_on_request_body",
        "proxy_on_response_body",
        "proxy_on_log",
    ] {
        let place = module.exports.iter().find_map(|e| match e.item {
            walrus::ExportItem::Function(f) if e.name == callback => defined.iter().position(|d| *d == f),
            _ => None,
        });
        assert!(
            matches!(place, Some(p) if p < defined.len() / 6),
            "{callback} is function {place:?} of {}: the module was built without its function order",
            defined.len()
        );
    }
}
