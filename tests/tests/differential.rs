//! Differential property tests, one per provider (issue 7): random and adversarial model outputs
//! (valid, odd and broken JSON in arguments, several choices / candidates, huge calls and frames),
//! rendered by the adversary module, cut at random points and fed to the filter's own
//! `Exchange` natively (no Envoy). Whatever a permissive client extracts from the filter's output
//! as a tool call is one the policy allows on the client's own reading of its arguments, or it is
//! absent; and the output does not depend on where the chunks were cut.

use proptest::prelude::*;
use std::rc::Rc;
use warden_e2e::adversary::client::{self, Policy};
use warden_e2e::adversary::corpus;
use warden_e2e::adversary::{render, Call, Choice, Format, Kind, Output, Style};
use warden_filter::config::Config;
use warden_filter::exchange::{Buffered, Exchange, ResponseHead, ResponsePlan};

/// What the client receives: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Delivered {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

fn config() -> Rc<Config> {
    Rc::new(Config::from_json(corpus::CONFIG.as_bytes()).unwrap_or_else(|e| panic!("adversary config: {e}")))
}

/// The request of `format` as the corpus sends it, and the tools it declares.
fn request(format: Format) -> (warden_e2e::cases::Case, Vec<String>) {
    let case = corpus::corpus_request(format);
    let declared = corpus::declared_tools(&case);
    (case, declared)
}

/// Drives one exchange: request body, response headers, then the body cut at `cuts`.
fn deliver(format: Format, output: &Output, style: &Style, cuts: &[usize]) -> Delivered {
    let (case, _) = request(format);
    let mut exchange = Exchange::begin(config(), "POST", &case.client_path, &|_| None)
        .unwrap_or_else(|e| panic!("{format:?}: the route was refused: {:?}", e.reply));
    exchange.request_body(&case.body_bytes()).unwrap_or_else(|e| panic!("{format:?}: request refused: {e}"));
    let rendered = render(format, output, style);
    let body = rendered.body();
    let head = ResponseHead { status: 200, content_type: Some(&rendered.content_type), content_encoding: None };
    let ok = |body: Vec<u8>| Delivered { status: 200, content_type: rendered.content_type.clone(), body };
    match exchange.response_headers(&head) {
        ResponsePlan::PassThrough => ok(body),
        ResponsePlan::Refuse(reply) => {
            Delivered { status: reply.status, content_type: "application/json".into(), body: reply.body }
        }
        ResponsePlan::Buffer => match exchange.buffered_response(&body) {
            Buffered::Unchanged => ok(body),
            Buffered::Refusal { body, .. } => ok(body),
            Buffered::Translated { status, body, .. } => {
                Delivered { status: status.unwrap_or(200), content_type: "application/json".into(), body }
            }
            Buffered::Refused(reply) => {
                Delivered { status: reply.status, content_type: "application/json".into(), body: reply.body }
            }
        },
        ResponsePlan::Stream(mut stream) => {
            let mut out = Vec::new();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
            points.sort_unstable();
            points.dedup();
            let mut at = 0;
            for point in points.into_iter().chain(std::iter::once(body.len())) {
                let end = point == body.len();
                stream.push(body.get(at..point).unwrap_or_default(), end, &mut out);
                at = point;
                if end {
                    break;
                }
            }
            ok(out)
        }
    }
}

fn names(format: Format) -> Vec<&'static str> {
    let mut names = vec!["read_file", "read_file", "get_weather", "delete_repo", ""];
    if matches!(format, Format::ResponsesJson | Format::ResponsesSse) {
        names.push("apply_patch");
    }
    names
}

/// Argument text: valid, odd (a lenient parser takes it, serde does not) and broken.
fn arguments() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"path":"/etc/passwd"}"#.to_string()),
        Just(r#"{"path":"/home/me/notes"}"#.to_string()),
        Just(r#"{"city":"Paris"}"#.to_string()),
        Just(String::new()),
        Just(r#"{"path":"/etc/passwd","n":NaN}"#.to_string()),
        Just(r#"{"path":"/etc/shadow","n":1e999}"#.to_string()),
        Just(r#"{"path":"/etc/passwd","x":"\ud800"}"#.to_string()),
        Just(r#"{"path":"/etc/passwd",}"#.to_string()),
        Just(r#"{"path":"/home","path":"/etc/passwd"}"#.to_string()),
        Just(r#"{"path":"\u002fetc\u002fgroup"}"#.to_string()),
        Just(r#""/etc/passwd""#.to_string()),
        Just(r#"["/etc/hosts"]"#.to_string()),
        (0usize..22).prop_map(|n| r#"{"path":"/etc/passwd"}"#.chars().take(n).collect()),
        "[ -~]{0,24}",
        (60_000usize..70_000).prop_map(|n| format!(r#"{{"path":"/etc/passwd","pad":"{}"}}"#, "x".repeat(n))),
    ]
}

fn call(format: Format) -> impl Strategy<Value = Call> {
    let builtin = matches!(format, Format::ResponsesJson | Format::ResponsesSse);
    let legacy = matches!(format, Format::ChatJson | Format::ChatSse);
    (prop::sample::select(names(format)), arguments(), 1usize..40, any::<bool>(), 0u8..10).prop_map(
        move |(name, args, piece, split, kind)| {
            let mut call = Call::new(name, "");
            call.args = warden_e2e::adversary::pieces(&args, piece);
            if split && name.len() > 4 {
                call.name = vec![name[..4].to_string(), name[4..].to_string()];
            }
            if name.is_empty() {
                call.name = Vec::new();
            }
            call.kind = match kind {
                0 if legacy || builtin => Kind::Custom,
                1 if legacy => Kind::Legacy,
                1 if builtin => Kind::Builtin("shell_call"),
                _ => Kind::Function,
            };
            call
        },
    )
}

fn output(format: Format) -> impl Strategy<Value = Output> {
    let choices = if matches!(
        format,
        Format::ChatJson | Format::ChatSse | Format::GeminiJson | Format::GeminiSse | Format::GeminiArray
    ) {
        2
    } else {
        1
    };
    let choice = (prop::collection::vec("[a-zé ]{1,8}", 0..3), prop::collection::vec(call(format), 0..4))
        .prop_map(|(text, calls)| Choice { text, calls });
    prop::collection::vec(choice, 1..=choices).prop_map(|choices| Output { choices })
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>(), any::<bool>(), 0u8..24).prop_map(|(unfinished, crlf, no_space, huge)| Style {
        unfinished,
        crlf,
        no_space,
        huge_event_before: huge == 0,
        ..Style::default()
    })
}

/// The property for one case: nothing forbidden reaches the client, whatever the cuts.
fn check(format: Format, output: &Output, style: &Style, cuts: &[usize]) -> Result<(), TestCaseError> {
    let (_, declared) = request(format);
    let policy = Policy { declared };
    let got = deliver(format, output, style, cuts);
    let headers = vec![("content-type".to_string(), got.content_type.clone())];
    let calls = client::read(format, got.status, &headers, &got.body);
    let forbidden = client::forbidden(&policy, &calls);
    prop_assert!(
        forbidden.is_empty(),
        "{format:?}: the client can run {forbidden:?}\nreply: {}",
        String::from_utf8_lossy(&got.body)
    );
    let whole = deliver(format, output, style, &[]);
    prop_assert_eq!(&got, &whole, "{:?}: the output depends on where the chunks were cut", format);
    Ok(())
}

fn formats(family: &[Format]) -> impl Strategy<Value = Format> {
    prop::sample::select(family.to_vec())
}

fn case(family: &'static [Format]) -> impl Strategy<Value = (Format, Output, Style, Vec<usize>)> {
    formats(family)
        .prop_flat_map(|format| (Just(format), output(format), style(), prop::collection::vec(any::<usize>(), 0..12)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn openai_chat_never_hands_a_client_a_forbidden_call((format, output, style, cuts) in case(&[Format::ChatJson, Format::ChatSse])) {
        check(format, &output, &style, &cuts)?;
    }

    #[test]
    fn openai_responses_never_hands_a_client_a_forbidden_call((format, output, style, cuts) in case(&[Format::ResponsesJson, Format::ResponsesSse])) {
        check(format, &output, &style, &cuts)?;
    }

    #[test]
    fn anthropic_never_hands_a_client_a_forbidden_call((format, output, style, cuts) in case(&[Format::AnthropicJson, Format::AnthropicSse])) {
        check(format, &output, &style, &cuts)?;
    }

    #[test]
    fn gemini_never_hands_a_client_a_forbidden_call((format, output, style, cuts) in case(&[Format::GeminiJson, Format::GeminiSse, Format::GeminiArray])) {
        check(format, &output, &style, &cuts)?;
    }

    #[test]
    fn bedrock_never_hands_a_client_a_forbidden_call((format, output, style, cuts) in case(&[Format::BedrockJson, Format::BedrockEvents])) {
        check(format, &output, &style, &cuts)?;
    }

    #[test]
    fn cohere_never_hands_a_client_a_forbidden_call((format, output, style, cuts) in case(&[Format::CohereJson, Format::CohereSse])) {
        check(format, &output, &style, &cuts)?;
    }
}
