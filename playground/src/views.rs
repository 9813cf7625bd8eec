//! One exchange through the filter's own pipeline (`warden_filter::exchange::Exchange`), as the
//! host would drive it with Envoy, and what each view of the page shows of it. Nothing here
//! decides anything: it reads the decisions the filter made and names the configuration rows
//! that made them.

use serde_json::{json, Value};
use std::rc::Rc;
use warden_filter::config::{Config, ConfigError};
use warden_filter::error::Reply;
use warden_filter::exchange::{Buffered, Exchange, ResponseHead, ResponsePlan, ResponseStream};
use warden_filter::meter::record::Record;
use warden_filter::policy::trust::ResultDecision;
use warden_filter::providers;
use warden_filter::view::Arguments;

/// What the user gave the page.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub config: String,
    /// The request path the client calls, e.g. `/v1/openai/secure/chat/completions`.
    pub path: String,
    /// Request headers as a JSON object (`{"x-warden-agent-id": "a1"}`); empty for none.
    pub headers: String,
    pub request: String,
    /// The upstream's answer: a whole JSON body or a stream (SSE, Gemini's JSON array); empty
    /// when the user only wants the request side.
    pub response: String,
}

/// Every view, as JSON.
#[derive(Debug, Clone)]
pub struct Views {
    pub config: Value,
    pub trust: Value,
    pub tool_calls: Value,
    pub refusal: Value,
    pub toon: Value,
    pub optimisation: Value,
    pub record: Value,
}

/// The configuration check alone: `{ok, profiles}` or `{ok: false, path, message}` with the path
/// exactly as the filter reports it to Envoy.
pub fn check_config(text: &str) -> Value {
    config_view(&Config::from_json(text.as_bytes()))
}

fn config_view(parsed: &Result<Config, ConfigError>) -> Value {
    match parsed {
        Ok(config) => json!({
            "ok": true,
            "default_profile": config.default_profile,
            "profiles": config.profiles.keys().collect::<Vec<_>>(),
        }),
        Err(err) => json!({"ok": false, "path": err.path, "message": err.message, "text": err.to_string()}),
    }
}

fn reply_json(reply: &Reply) -> Value {
    let headers: Vec<Value> = reply.headers.iter().map(|(k, v)| json!([k, v])).collect();
    json!({"status": reply.status, "headers": headers, "body": String::from_utf8_lossy(&reply.body)})
}

fn headers_of(text: &str) -> Result<Vec<(String, String)>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("headers are not a JSON object: {e}"))?;
    let object = value.as_object().ok_or("headers are not a JSON object")?;
    Ok(object
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect())
}

/// The content type an upstream would have sent with `body`: JSON when it starts like JSON (a
/// Gemini stream without `alt=sse` is a JSON array the route reads as a stream), else SSE.
fn content_type_of(body: &str) -> &'static str {
    match body.trim_start().chars().next() {
        Some('{' | '[') => "application/json",
        _ => "text/event-stream",
    }
}

fn empty_views(config: Value, why: &str) -> Views {
    let skipped = json!({"skipped": why});
    Views {
        config,
        trust: skipped.clone(),
        tool_calls: skipped.clone(),
        refusal: skipped.clone(),
        toon: skipped.clone(),
        optimisation: skipped.clone(),
        record: skipped,
    }
}

/// The row `index` of `list` in the profile's configuration, as the user wrote it.
fn row_of(config: &Value, profile: &str, list: &str, index: Option<usize>) -> Value {
    index.and_then(|i| config.get("profiles")?.get(profile)?.get(list)?.get(i).cloned()).unwrap_or(Value::Null)
}

fn decision_json(decision: &ResultDecision) -> (&'static str, Option<&str>) {
    match decision {
        ResultDecision::Trusted => ("mark_as_trusted", None),
        ResultDecision::Untrusted => ("mark_as_untrusted", None),
        ResultDecision::Blocked { reason } => ("block_always", Some(reason)),
        ResultDecision::Sanitize => ("sanitize_with_dual_llm", None),
    }
}

fn arguments_json(arguments: &Arguments) -> Value {
    match arguments {
        Arguments::Object(v) => v.clone(),
        Arguments::Custom(text) => json!({"input": text}),
        Arguments::Unreadable(why) => json!({"unreadable": why.describe()}),
    }
}

/// Runs the exchange and builds every view.
pub fn run(input: &Input) -> Views {
    // Parsed once: building the tokenizer tables is the slow part of a configuration.
    let parsed = Config::from_json(input.config.as_bytes());
    let config_view = config_view(&parsed);
    let Ok(config) = parsed else {
        return empty_views(config_view, "the configuration has errors");
    };
    let config_json: Value = serde_json::from_str(&input.config).unwrap_or(Value::Null);
    let headers = match headers_of(&input.headers) {
        Ok(h) => h,
        Err(why) => return empty_views(config_view, &why),
    };
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut exchange = match Exchange::begin(Rc::new(config), "POST", &input.path, &get) {
        Ok(exchange) => exchange,
        Err(rejected) => {
            let mut views = empty_views(config_view, "the gateway refused the request path");
            views.refusal = json!({"request": reply_json(&rejected.reply)});
            return views;
        }
    };
    let profile = exchange.profile().to_owned();
    let api = exchange.route().api;
    let request = input.request.as_bytes();

    // The request: tool-result trust, TOON, model optimisation, as `on_request_body` runs them
    // (without a sidecar: a result to sanitise is withheld, as when the sidecar cannot answer).
    let forwarded = exchange.request_body(request);
    let results = exchange.explain_results(request);
    let (forward, request_refusal) = match forwarded {
        Ok(forward) => (Some(forward), None),
        Err(err) => {
            let reply = exchange.reject(&err);
            (None, Some(reply_json(&reply)))
        }
    };

    // The response: whole or streamed, as `on_response_body` polices it.
    let mut stream: Option<Box<ResponseStream>> = None;
    let mut client = Value::Null;
    if forward.is_some() && !input.response.trim().is_empty() {
        let content_type = content_type_of(&input.response);
        let head = ResponseHead { status: 200, content_type: Some(content_type), content_encoding: None };
        let body = input.response.as_bytes();
        client = match exchange.response_headers(&head) {
            ResponsePlan::PassThrough => json!({"status": 200, "body": input.response, "policed": false}),
            ResponsePlan::Refuse(reply) => reply_json(&reply),
            ResponsePlan::Buffer => match exchange.buffered_response(body) {
                Buffered::Unchanged => json!({"status": 200, "body": input.response}),
                Buffered::Refusal { body, blocked } => {
                    json!({"status": 200, "body": String::from_utf8_lossy(&body), "x-warden-blocked": blocked})
                }
                Buffered::Refused(reply) => reply_json(&reply),
                Buffered::Translated { status, body, blocked } => json!({
                    "status": status.unwrap_or(200), "body": String::from_utf8_lossy(&body), "x-warden-blocked": blocked,
                }),
            },
            ResponsePlan::Stream(mut s) => {
                let mut out = Vec::new();
                s.push(body, true, &mut out);
                stream = Some(s);
                json!({"status": 200, "body": String::from_utf8_lossy(&out), "stream": true})
            }
        };
    }
    let (record, _) = exchange.finish(stream.as_deref(), None, None, None);
    let record_json = serde_json::to_value(&record).unwrap_or(Value::Null);

    let trust = json!({
        "profile": profile,
        "context_trusted": record.context_trusted,
        "untrusted_reason": record.untrusted_reason,
        "results": results.iter().map(|r| {
            let (action, reason) = decision_json(&r.decision);
            json!({
                "tool": r.tool, "call_id": r.call_id, "decision": action, "reason": reason,
                "row": r.row, "policy": row_of(&config_json, &profile, "result_policies", r.row),
            })
        }).collect::<Vec<_>>(),
    });
    let calls = exchange.explain_calls(stream.as_deref());
    let tool_calls = json!({
        "calls": calls.iter().map(|(call, judgement)| json!({
            "name": call.name,
            "arguments": arguments_json(&call.arguments),
            "allowed": judgement.blocked.is_none(),
            "reason": judgement.blocked,
            "row": judgement.row,
            "policy": row_of(&config_json, &profile, "tool_policies", judgement.row),
        })).collect::<Vec<_>>(),
        "blocked_tools": record.blocked_tools,
        "block_reason": record.block_reason,
    });
    let refusal = json!({
        "request": request_refusal,
        "forwarded": forward.as_ref().map(|f| json!({
            "path": f.path,
            "body": f.body.as_ref().map_or_else(|| input.request.clone(), |b| String::from_utf8_lossy(b).into_owned()),
        })),
        "response": client,
    });
    let toon = toon_view(api, &record, request, forward.as_ref().and_then(|f| f.body.as_deref()));
    let optimisation = json!({
        "rule": exchange.optimization_rule(),
        "policy": row_of(&config_json, &profile, "optimization_rules", exchange.optimization_rule()),
        "model": record.model,
        "baseline_model": record.baseline_model,
        "cost_usd": record.cost_usd,
        "baseline_cost_usd": record.baseline_cost_usd,
        "priced": record.priced,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
    });
    Views { config: config_view, trust, tool_calls, refusal, toon, optimisation, record: record_json }
}

/// The tool results before and after, with the record's token counts.
fn toon_view(api: Option<warden_filter::view::Api>, record: &Record, before: &[u8], after: Option<&[u8]>) -> Value {
    let contents = |bytes: &[u8]| -> Vec<String> {
        let Some(api) = api else { return Vec::new() };
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|json| providers::parse_request(api, &json))
            .map(|view| view.tool_results.into_iter().map(|r| r.content).collect())
            .unwrap_or_default()
    };
    let before_texts = contents(before);
    let after_texts = after.map(contents).unwrap_or_else(|| before_texts.clone());
    json!({
        "tokens_before": record.toon_tokens_before,
        "tokens_after": record.toon_tokens_after,
        "skip_reason": record.toon_skip_reason,
        "results": before_texts.iter().zip(after_texts.iter()).map(|(b, a)| json!({"before": b, "after": a})).collect::<Vec<_>>(),
    })
}
