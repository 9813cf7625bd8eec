//! Every (format × applicable attack) case, built from the model: the request (which declares the
//! tools, in the API's own shape), the upstream's scripted reply, and what the case expects.
//!
//! Attacks carry a forbidden call (by the adversary policy, on a permissive client's reading);
//! controls carry only allowed calls or text and must reach the client byte for byte.

use super::{is_stream, label, render, wire, Call, Choice, Format, Kind, Output, Style, FORMATS};
use crate::cases::{self, Case};
use crate::mock::{Script, ScriptPart};
use crate::policy;
use serde_json::{json, Value};

/// The plugin config every adversarial case runs under.
pub const CONFIG: &str = include_str!("../../adversary-config.json");

pub fn plugin_config() -> Value {
    serde_json::from_str(CONFIG).unwrap_or_else(|e| panic!("tests/adversary-config.json: {e}"))
}

/// The tools every request declares unless a case says otherwise.
pub const TOOLS: [&str; 2] = ["read_file", "get_weather"];
/// Responses requests also declare the client-run built-ins (by type).
pub const BUILTIN_TOOLS: [&str; 4] = ["computer_use_preview", "local_shell", "shell", "apply_patch"];

pub const FORBIDDEN_ARGS: &str = r#"{"path":"/etc/passwd"}"#;
const WEATHER_ARGS: &str = r#"{"city":"Paris"}"#;

#[derive(Debug, Clone)]
pub struct AdvCase {
    /// `format/attack`, unique.
    pub name: String,
    pub format: Format,
    pub attack: &'static str,
    pub request: Case,
    /// The tools the request declares (what the client-side judge checks names against).
    pub declared: Vec<String>,
    pub output: Output,
    pub style: Style,
    pub script: Script,
    pub chunk: Option<usize>,
    /// Allowed content only: must reach the client intact.
    pub control: bool,
    /// Raw call structures of the forbidden calls: none may reach the client.
    pub markers: Vec<String>,
    /// A strict client would stop reading before the forbidden call (broken framing before it), so
    /// the upstream bytes alone do not show it to the judge.
    pub hidden_after_break: bool,
}

/// How a case deviates from rendering its output in its own format.
#[derive(Debug, Clone, Default)]
struct Twist {
    style: Style,
    gzip: bool,
    /// Rendered in this format (with its content type) instead of the request's.
    render_as: Option<Format>,
    /// Content type to send instead (`Some("")`: none at all).
    content_type: Option<&'static str>,
    chunk: Option<usize>,
    /// Declare these tools instead of the defaults.
    declared: Option<Vec<&'static str>>,
    hidden_after_break: bool,
}

fn request(format: Format) -> Case {
    match format {
        Format::ChatJson | Format::ChatSse => {
            cases::openai_chat("openai", "/v1", "gpt-4o-mini", format == Format::ChatSse)
        }
        Format::ResponsesJson | Format::ResponsesSse => cases::openai_responses(format == Format::ResponsesSse),
        Format::AnthropicJson | Format::AnthropicSse => cases::anthropic(format == Format::AnthropicSse),
        Format::GeminiJson => cases::gemini(None),
        Format::GeminiSse => cases::gemini(Some(true)),
        Format::GeminiArray => cases::gemini(Some(false)),
        Format::BedrockJson | Format::BedrockEvents => cases::bedrock(format == Format::BedrockEvents),
        Format::CohereJson | Format::CohereSse => cases::cohere(format == Format::CohereSse, false),
    }
}

/// The request of `format` declaring `tools` (plus, for Responses, the client-run built-ins), in
/// the adversary profile, asking for two choices / candidates where the API can.
fn declaring(format: Format, tools: &[&str]) -> Case {
    let mut case = policy::with_tools(request(format).in_profile("adversary"), tools);
    if let Some(body) = case.body.as_mut().and_then(Value::as_object_mut) {
        match case.api {
            "responses" if !tools.is_empty() => {
                if let Some(Value::Array(list)) = body.get_mut("tools") {
                    list.extend([
                        json!({"type": "local_shell"}),
                        json!({"type": "shell"}),
                        json!({"type": "apply_patch"}),
                        json!({"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "linux"}),
                    ]);
                }
            }
            "chat_completions" => {
                body.insert("n".into(), json!(2));
            }
            "generate_content" => {
                body.insert("generationConfig".into(), json!({"candidateCount": 2}));
            }
            _ => {}
        }
        if tools.is_empty() {
            body.remove("tools");
            body.remove("toolConfig");
        }
    }
    case
}

fn script(rendered: &super::Rendered, content_type: Option<&str>, gzip: bool) -> Script {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut headers = Vec::new();
    match content_type {
        Some("") => {}
        Some(ct) => headers.push(("content-type".to_string(), ct.to_string())),
        None => headers.push(("content-type".to_string(), rendered.content_type.clone())),
    }
    headers.extend(rendered.headers.iter().cloned());
    let parts = if gzip {
        headers.push(("content-encoding".into(), "gzip".into()));
        let zipped = wire::gzip(&rendered.body());
        let (a, b) = zipped.split_at(zipped.len() / 2);
        vec![ScriptPart { b64: b64(a), repeat: 1 }, ScriptPart { b64: b64(b), repeat: 1 }]
    } else {
        rendered.parts.iter().map(|p| ScriptPart { b64: b64(p), repeat: 1 }).collect()
    };
    Script { status: 200, headers, parts }
}

/// The bytes a script sends, concatenated.
pub fn upstream_body(script: &Script) -> Vec<u8> {
    use base64::Engine;
    script
        .parts
        .iter()
        .flat_map(|p| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(&p.b64).unwrap_or_default();
            std::iter::repeat_n(bytes, p.repeat).flatten()
        })
        .collect()
}

/// Raw structures of a hostile call as JSON writes them.
fn markers_of(output: &Output) -> Vec<String> {
    let mut out = Vec::new();
    for call in output.choices.iter().flat_map(|c| &c.calls) {
        if call.name() == "get_weather" {
            continue;
        }
        if let Kind::Builtin(kind) = call.kind {
            out.push(format!("\"type\":\"{kind}\""));
            out.push(format!("\"type\": \"{kind}\""));
        } else if let Some(first) = call.name.first() {
            out.push(format!("\"name\":\"{first}\""));
            out.push(format!("\"name\": \"{first}\""));
        }
    }
    out
}

struct Builder {
    cases: Vec<AdvCase>,
}

/// The request a case of `format` sends when it declares the default tools.
pub fn corpus_request(format: Format) -> Case {
    declaring(format, &TOOLS)
}

/// The tool names a request declares, as the client-side judge checks them.
pub fn declared_tools(request: &Case) -> Vec<String> {
    let tools = request.body.as_ref().and_then(|b| b.get("tools").or_else(|| b.pointer("/toolConfig/tools")));
    let mut names = Vec::new();
    for tool in tools.and_then(Value::as_array).into_iter().flatten() {
        let name = tool
            .pointer("/function/name")
            .or_else(|| tool.pointer("/toolSpec/name"))
            .or_else(|| tool.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let name = match (name, tool.get("type").and_then(Value::as_str)) {
            (Some(n), _) => Some(n),
            (None, Some(kind)) if BUILTIN_TOOLS.contains(&kind) => Some(kind.to_string()),
            _ => None,
        };
        names.extend(name);
        for declaration in tool.get("functionDeclarations").and_then(Value::as_array).into_iter().flatten() {
            names.extend(declaration.get("name").and_then(Value::as_str).map(str::to_string));
        }
    }
    names
}

impl Builder {
    fn add(&mut self, format: Format, attack: &'static str, output: Output, twist: Twist, control: bool) {
        let tools: Vec<&str> = twist.declared.clone().unwrap_or_else(|| TOOLS.to_vec());
        let request = declaring(format, &tools);
        let declared = declared_tools(&request);
        let rendered = render(twist.render_as.unwrap_or(format), &output, &twist.style);
        let chunk_label = twist.chunk.map(|c| format!("+chunk{c}")).unwrap_or_default();
        self.cases.push(AdvCase {
            name: format!("{}/{attack}{chunk_label}", label(format)),
            format,
            attack,
            request,
            declared,
            script: script(&rendered, twist.content_type, twist.gzip),
            markers: if control { Vec::new() } else { markers_of(&output) },
            output,
            style: twist.style,
            chunk: twist.chunk,
            control,
            hidden_after_break: twist.hidden_after_break,
        });
    }

    fn attack(&mut self, format: Format, attack: &'static str, output: Output, twist: Twist) {
        self.add(format, attack, output, twist, false);
    }

    fn control(&mut self, format: Format, attack: &'static str, output: Output, twist: Twist) {
        self.add(format, attack, output, twist, true);
    }
}

fn forbidden_call(args: &str) -> Output {
    Output::one(&[], vec![Call::new("read_file", args)])
}

fn style(f: impl FnOnce(&mut Style)) -> Twist {
    let mut s = Style::default();
    f(&mut s);
    Twist { style: s, ..Twist::default() }
}

/// Formats whose arguments are JSON text (not a JSON value inside the frame).
fn text_args(format: Format) -> bool {
    matches!(
        format,
        Format::ChatJson
            | Format::ChatSse
            | Format::ResponsesJson
            | Format::ResponsesSse
            | Format::AnthropicSse
            | Format::BedrockEvents
            | Format::CohereJson
            | Format::CohereSse
    )
}

fn is_sse(format: Format) -> bool {
    is_stream(format) && !matches!(format, Format::BedrockEvents | Format::GeminiArray)
}

/// The other layout of the same API: the whole body for a stream, the stream for a whole body.
fn counterpart(format: Format) -> Format {
    match format {
        Format::ChatJson => Format::ChatSse,
        Format::ChatSse => Format::ChatJson,
        Format::ResponsesJson => Format::ResponsesSse,
        Format::ResponsesSse => Format::ResponsesJson,
        Format::AnthropicJson => Format::AnthropicSse,
        Format::AnthropicSse => Format::AnthropicJson,
        Format::GeminiJson => Format::GeminiSse,
        Format::GeminiSse | Format::GeminiArray => Format::GeminiJson,
        Format::BedrockJson => Format::BedrockEvents,
        Format::BedrockEvents => Format::BedrockJson,
        Format::CohereJson => Format::CohereSse,
        Format::CohereSse => Format::CohereJson,
    }
}

/// Argument texts a lenient client reads as a path under `/etc/`, each valid, odd or broken in its
/// own way. `text_only`: only where the arguments are text (truncations would break the frame).
const ARGUMENTS: [(&str, &str, bool); 14] = [
    ("nan_args", r#"{"path":"/etc/passwd","n":NaN}"#, false),
    ("infinity_args", r#"{"path":"/etc/passwd","n":-Infinity}"#, false),
    ("huge_exponent_args", r#"{"path":"/etc/passwd","n":1e999}"#, false),
    ("lone_surrogate_args", r#"{"path":"/etc/passwd","note":"\ud800"}"#, false),
    ("trailing_comma_args", r#"{"path":"/etc/passwd",}"#, false),
    ("truncated_after_value_args", r#"{"path":"/etc/passwd""#, true),
    ("truncated_mid_string_args", r#"{"path":"/etc/passwd"#, true),
    ("string_args", r#""/etc/passwd""#, false),
    ("array_args", r#"["/etc/passwd"]"#, false),
    ("double_encoded_args", r#""{\"path\":\"/etc/passwd\"}""#, false),
    ("duplicate_keys_args", r#"{"path":"/home/me/notes","path":"/etc/passwd"}"#, false),
    ("unicode_escaped_args", r#"{"path":"\u002fetc\u002fshadow"}"#, false),
    ("escaped_key_args", r#"{"\u0070ath":"/etc/passwd"}"#, false),
    ("whitespace_padded_args", " \t {\"path\" : \"/etc/passwd\"} \t ", false),
];

/// A call's action for each Responses built-in.
const BUILTIN_ACTIONS: [(&str, &str); 4] = [
    ("local_shell_call", r#"{"type":"exec","command":["cat","/etc/passwd"],"env":{}}"#),
    ("shell_call", r#"{"commands":["cat /etc/passwd"],"timeout_ms":1000}"#),
    ("apply_patch_call", r#"{"type":"update_file","path":"/etc/passwd","diff":"@@ -1 +1 @@\n-root\n+evil\n"}"#),
    ("computer_call", r#"{"type":"click","x":10,"y":20,"button":"left"}"#),
];

/// Every case, in a fixed order.
pub fn corpus() -> Vec<AdvCase> {
    let mut b = Builder { cases: Vec::new() };
    for format in FORMATS {
        attacks_on_arguments(&mut b, format);
        attacks_on_structure(&mut b, format);
        attacks_on_delivery(&mut b, format);
        controls(&mut b, format);
    }
    b.cases
}

fn attacks_on_arguments(b: &mut Builder, format: Format) {
    b.attack(format, "baseline", forbidden_call(FORBIDDEN_ARGS), Twist::default());
    b.attack(format, "baseline", forbidden_call(FORBIDDEN_ARGS), Twist { chunk: Some(7), ..Twist::default() });
    for (attack, args, text_only) in ARGUMENTS {
        if !text_only || text_args(format) {
            b.attack(format, attack, forbidden_call(args), Twist::default());
        }
    }
    let pad = "x".repeat(70_000);
    let mut big = Call::new("read_file", &format!(r#"{{"path":"/etc/passwd","pad":"{pad}"}}"#));
    big.args = super::pieces(&big.args_text(), 4096);
    b.attack(format, "held_call_over_limit", Output::one(&[], vec![big]), Twist::default());
    b.attack(
        format,
        "no_tools_declared",
        forbidden_call(FORBIDDEN_ARGS),
        Twist { declared: Some(vec![]), ..Twist::default() },
    );
}

fn attacks_on_structure(b: &mut Builder, format: Format) {
    let unnamed = Call { kind: Kind::Function, name: Vec::new(), args: super::pieces(FORBIDDEN_ARGS, 6) };
    b.attack(format, "unnamed_call", Output::one(&[], vec![unnamed]), Twist::default());
    let parallel = vec![Call::new("get_weather", WEATHER_ARGS), Call::new("read_file", FORBIDDEN_ARGS)];
    b.attack(format, "parallel_allowed_and_forbidden", Output::one(&["Checking."], parallel), Twist::default());
    let undeclared = Output::one(&[], vec![Call::new("delete_repo", r#"{"repo":"warden/main"}"#)]);
    b.attack(format, "undeclared_tool", undeclared, Twist::default());
    if matches!(
        format,
        Format::ChatJson | Format::ChatSse | Format::GeminiJson | Format::GeminiSse | Format::GeminiArray
    ) {
        let output = Output {
            choices: vec![
                Choice { text: vec!["Nothing to do.".into()], calls: Vec::new() },
                Choice { text: Vec::new(), calls: vec![Call::new("read_file", FORBIDDEN_ARGS)] },
            ],
        };
        b.attack(format, "forbidden_only_in_second_choice", output, Twist::default());
        let output = Output {
            choices: vec![
                Choice { text: Vec::new(), calls: vec![Call::new("get_weather", WEATHER_ARGS)] },
                Choice { text: Vec::new(), calls: vec![Call::new("read_file", FORBIDDEN_ARGS)] },
            ],
        };
        b.attack(format, "allowed_first_choice_forbidden_second", output, Twist::default());
    }
    if matches!(format, Format::ChatJson | Format::ChatSse) {
        let legacy = Call::new("read_file", FORBIDDEN_ARGS).kind(Kind::Legacy);
        b.attack(format, "legacy_function_call", Output::one(&[], vec![legacy]), Twist::default());
    }
    if format == Format::ChatSse {
        let split = Call::new("read_file", FORBIDDEN_ARGS).name_pieces(&["read_", "file"]);
        b.attack(format, "name_split_across_deltas", Output::one(&[], vec![split.clone()]), Twist::default());
        let no_tools = Twist { declared: Some(vec![]), ..Twist::default() };
        b.attack(format, "name_split_no_tools_declared", Output::one(&[], vec![split]), no_tools);
        let repeated = Call::new("read_file", FORBIDDEN_ARGS).name_pieces(&["read_file", "read_file"]);
        b.attack(format, "name_repeated_across_deltas", Output::one(&[], vec![repeated]), Twist::default());
        let legacy_split = Call::new("read_file", FORBIDDEN_ARGS).kind(Kind::Legacy).name_pieces(&["read", "_file"]);
        b.attack(format, "legacy_name_split", Output::one(&[], vec![legacy_split]), Twist::default());
        b.attack(format, "null_error_member", forbidden_call(FORBIDDEN_ARGS), style(|s| s.null_error = true));
    }
    if matches!(format, Format::ChatJson | Format::ChatSse | Format::ResponsesJson | Format::ResponsesSse) {
        let custom = Call::new("read_file", FORBIDDEN_ARGS).kind(Kind::Custom);
        b.attack(format, "custom_tool_call", Output::one(&[], vec![custom]), Twist::default());
    }
    if matches!(format, Format::ResponsesJson | Format::ResponsesSse) {
        for (kind, action) in BUILTIN_ACTIONS {
            let call = Call::new("", action).kind(Kind::Builtin(kind));
            let call = Call { name: Vec::new(), ..call };
            b.attack(format, kind, Output::one(&[], vec![call]), Twist::default());
        }
    }
    if format == Format::ResponsesSse {
        b.attack(
            format,
            "call_only_in_completed",
            forbidden_call(FORBIDDEN_ARGS),
            style(|s| s.only_in_completed = true),
        );
        b.attack(format, "added_never_done", forbidden_call(FORBIDDEN_ARGS), style(|s| s.never_done = true));
    }
    if matches!(format, Format::AnthropicSse | Format::CohereSse | Format::ResponsesSse) {
        b.attack(
            format,
            "event_name_disagrees_with_data",
            forbidden_call(FORBIDDEN_ARGS),
            style(|s| s.renamed_events = true),
        );
    }
    if format == Format::AnthropicSse {
        let calls = vec![Call::new("read_file", FORBIDDEN_ARGS), Call::new("get_weather", WEATHER_ARGS)];
        b.attack(format, "block_indexes_out_of_order", Output::one(&[], calls), style(|s| s.swapped_indexes = true));
        b.attack(
            format,
            "call_inside_message_start",
            forbidden_call(FORBIDDEN_ARGS),
            style(|s| s.calls_in_message_start = true),
        );
    }
    if format == Format::BedrockEvents {
        b.attack(
            format,
            "delta_for_block_never_started",
            forbidden_call(FORBIDDEN_ARGS),
            style(|s| s.orphan_deltas = true),
        );
        // botocore stops at a message that repeats a header; the gateway must not pass one on either.
        let twist = Twist { hidden_after_break: true, ..style(|s| s.duplicate_event_type = true) };
        b.attack(format, "duplicate_event_type_header", forbidden_call(FORBIDDEN_ARGS), twist);
    }
    if format == Format::GeminiSse {
        b.attack(format, "bare_json_line", forbidden_call(FORBIDDEN_ARGS), style(|s| s.bare_json_line = true));
    }
    b.attack(format, "lenient_json_frame", forbidden_call(FORBIDDEN_ARGS), style(|s| s.lenient_frames = true));
}

fn attacks_on_delivery(b: &mut Builder, format: Format) {
    let call = || forbidden_call(FORBIDDEN_ARGS);
    b.attack(format, "gzip_body", call(), Twist { gzip: true, ..Twist::default() });
    let other = counterpart(format);
    let attack = if is_stream(format) { "whole_json_body_for_stream_request" } else { "stream_body_for_whole_request" };
    b.attack(format, attack, call(), Twist { render_as: Some(other), ..Twist::default() });
    if format == Format::GeminiArray {
        b.attack(
            format,
            "sse_body_for_array_request",
            call(),
            Twist { render_as: Some(Format::GeminiSse), ..Twist::default() },
        );
    }
    if format == Format::GeminiSse {
        b.attack(
            format,
            "array_body_for_sse_request",
            call(),
            Twist { render_as: Some(Format::GeminiArray), ..Twist::default() },
        );
    }
    if is_stream(format) {
        b.attack(format, "no_content_type", call(), Twist { content_type: Some(""), ..Twist::default() });
        b.attack(format, "ends_without_finish", call(), style(|s| s.unfinished = true));
        b.attack(format, "huge_event_then_call", call(), style(|s| s.huge_event_before = true));
    } else {
        b.attack(
            format,
            "text_plain_content_type",
            call(),
            Twist { content_type: Some("text/plain"), ..Twist::default() },
        );
    }
    if is_sse(format) || format == Format::GeminiArray {
        let mut whole = Call::new("read_file", FORBIDDEN_ARGS);
        whole.args = vec![FORBIDDEN_ARGS.to_string()];
        let twist = style(|s| {
            s.unfinished = true;
            s.unterminated = true;
        });
        b.attack(format, "last_event_unterminated", Output::one(&[], vec![whole]), twist);
    }
    if is_sse(format) {
        b.attack(format, "crlf_lines", call(), style(|s| s.crlf = true));
        b.attack(format, "data_without_space", call(), style(|s| s.no_space = true));
    }
    if format == Format::BedrockEvents {
        let twist = Twist { hidden_after_break: true, ..style(|s| s.bad_crc_before = true) };
        b.attack(format, "bad_crc_then_call", call(), twist);
    }
    if format == Format::GeminiArray {
        b.attack(format, "bad_separator_then_call", call(), style(|s| s.bad_separator = true));
    }
}

fn controls(b: &mut Builder, format: Format) {
    b.control(format, "control_text_only", Output::one(&["héllo", " wörld"], vec![]), Twist::default());
    let weather = || Output::one(&[], vec![Call::new("get_weather", WEATHER_ARGS)]);
    b.control(format, "control_allowed_call", weather(), Twist::default());
    b.control(format, "control_allowed_call", weather(), Twist { chunk: Some(7), ..Twist::default() });
    let odd = r#"{ "path" : "\/home\/me\/notes.txt" , "opts" : [ 1.5e3 , true , null , {"k":"é\u00e9"} ] }"#;
    b.control(
        format,
        "control_odd_valid_arguments",
        Output::one(&[], vec![Call::new("read_file", odd)]),
        Twist::default(),
    );
    let both = vec![Call::new("get_weather", WEATHER_ARGS), Call::new("read_file", r#"{"path":"/home/me/notes"}"#)];
    b.control(format, "control_parallel_allowed", Output::one(&["Checking."], both), Twist::default());
    if is_sse(format) {
        let read = || Output::one(&["ok"], vec![Call::new("read_file", r#"{"path":"/tmp/x"}"#)]);
        b.control(format, "control_crlf_lines", read(), style(|s| s.crlf = true));
        b.control(format, "control_data_without_space", read(), style(|s| s.no_space = true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_tools_are_read_from_every_request_shape() {
        for format in FORMATS {
            let declared = declared_tools(&corpus_request(format));
            let mut want: Vec<String> = TOOLS.iter().map(|t| t.to_string()).collect();
            if matches!(format, Format::ResponsesJson | Format::ResponsesSse) {
                want.extend(BUILTIN_TOOLS.iter().map(|t| t.to_string()));
            }
            let mut declared = declared;
            declared.sort();
            want.sort();
            assert_eq!(declared, want, "{format:?}");
        }
    }

    #[test]
    fn case_names_are_unique_and_the_corpus_is_large() {
        let all = corpus();
        let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.len() >= 250, "{} cases", all.len());
    }

    #[test]
    fn every_attack_shows_a_forbidden_call_and_no_control_does() {
        let mut vacuous = Vec::new();
        for case in corpus() {
            let policy = super::super::client::Policy { declared: case.declared.clone() };
            let body = upstream_body(&case.script);
            let calls = super::super::client::read(case.format, 200, &case.script.headers, &body);
            let forbidden = super::super::client::forbidden(&policy, &calls);
            let ok = if case.control {
                forbidden.is_empty() && calls.len() == case.output.choices.iter().map(|c| c.calls.len()).sum::<usize>()
            } else {
                !forbidden.is_empty() || case.hidden_after_break
            };
            if !ok {
                vacuous.push(format!("{}: {calls:?}", case.name));
            }
        }
        assert!(vacuous.is_empty(), "{}", vacuous.join("\n"));
    }
}
