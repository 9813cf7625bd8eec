//! Cost limits through real Envoy (DESIGN §4.4, §5.4): checked before the upstream call, counted
//! after the response (streams too), refused with a 402 in each provider's error shape.
//!
//! A limit of $0.000001 is below what any request costs: the first request passes (nothing is
//! counted yet), its cost is added once it is logged, and the next one is refused. Each test waits
//! for the first request's access-log record, which the filter writes after counting.

use crate::common;
use crate::cost;
use crate::limits;

use cost::{Api, Kind, Sent, APIS};
use limits::{check_refusal, Want, DAY, HOUR};
use serde_json::{json, Value};
use warden_e2e::run::Failures;
use warden_e2e::{Stack, StackOptions};

const TINY: f64 = 0.000001;
const WINDOWS: [&str; 6] = ["1h", "1d", "1w", "calendar_day", "calendar_week", "calendar_month"];

fn limit(scope: &str, usd: f64, window: &str) -> Value {
    json!({"scope": scope, "usd": usd, "window": window})
}

fn limits_stack() -> Stack {
    let mut profiles = json!({
        "default": {},
        "peruser": {"limits": [limit("user", TINY, "1d")]},
        "peragent": {"limits": [limit("agent", TINY, "1h")]},
        "persession": {"limits": [limit("session", TINY, "1w")]},
        "shared": {"limits": [limit("profile", TINY, "calendar_month")]},
        "roomy": {"limits": [limit("profile", 1.0, "1d"), limit("user", 1.0, "1h")]},
        "gpt5": {"limits": [{"scope": "profile", "usd": TINY, "window": "1d", "models": ["gpt-5"]}]},
    });
    for window in WINDOWS {
        profiles[format!("w-{window}")] = json!({"limits": [limit("profile", TINY, window)]});
    }
    common::warden_stack_with(StackOptions {
        plugin_config: json!({"default_profile": "default", "profiles": profiles, "limits_store": "local"}),
        ..StackOptions::default()
    })
}

fn user(id: &str) -> [(&'static str, &str); 1] {
    [("x-warden-user-id", id)]
}

/// Sends a plain request and, when it passes, waits until it has been counted; returns it with
/// its recorded cost.
fn counted(stack: &Stack, api: &Api, profile: &str, stream: bool, extra: &[(&str, &str)]) -> (Sent, f64) {
    let s = cost::send_text(stack, api, profile, "Say hello", stream, extra);
    let cost = if s.reply.status == 200 {
        cost::record(stack, &s.request_id).get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0)
    } else {
        0.0
    };
    (s, cost)
}

fn check_passed(f: &mut Failures, s: &Sent, what: &str) {
    f.check(s.reply.status == 200 && s.reply.complete, || {
        format!("{} ({what}): status {}, want 200: {}", s.label, s.reply.status, s.reply.text())
    });
    f.check(s.upstream.is_some(), || format!("{} ({what}): the mock saw no request", s.label));
}

fn api(kind: Kind) -> Api {
    APIS.iter().find(|a| a.kind == kind).copied().unwrap_or(APIS[0])
}

#[test]
fn a_reached_limit_is_a_402_in_each_providers_shape() {
    let stack = limits_stack();
    let mut f = Failures::default();
    let rejected_before = cost::metric(&stack, "warden_rejected_requests_total", &[("code", "usage_limit_exceeded")]);
    for api in APIS {
        let id = format!("u-{}", api.label().replace('/', "-"));
        let (first, cost) = counted(&stack, &api, "peruser", false, &user(&id));
        check_passed(&mut f, &first, "first request");
        f.check(cost > TINY, || format!("{}: first request cost {cost}, want more than the limit", first.label));
        let want = Want { who: &format!("user '{id}'"), limit_usd: TINY, used_usd: Some(cost) };
        let second = cost::send_text(&stack, &api, "peruser", "Say hello", false, &user(&id));
        check_refusal(&mut f, &second, api.shape, &want);
        // A streaming request is refused the same way, as JSON before any event.
        let streamed = cost::send_text(&stack, &api, "peruser", "Say hello", true, &user(&id));
        check_refusal(&mut f, &streamed, api.shape, &want);
    }
    let rejected =
        cost::metric(&stack, "warden_rejected_requests_total", &[("code", "usage_limit_exceeded")]) - rejected_before;
    f.check(rejected == 2.0 * APIS.len() as f64, || {
        format!(
            "warden_rejected_requests_total{{code=usage_limit_exceeded}} moved by {rejected}, want {}",
            2 * APIS.len()
        )
    });
    f.assert_none("402 shapes");
}

#[test]
fn under_the_limit_every_request_passes() {
    let stack = limits_stack();
    let mut f = Failures::default();
    for api in APIS {
        for stream in [false, true, false] {
            let (s, _) = counted(&stack, &api, "roomy", stream, &user("alice"));
            check_passed(&mut f, &s, "under the limit");
        }
    }
    f.assert_none("under the limit");
}

#[test]
fn a_user_limit_counts_each_user_on_their_own() {
    let stack = limits_stack();
    let mut f = Failures::default();
    let openai = api(Kind::OpenAiChat);
    let (alice, cost) = counted(&stack, &openai, "peruser", false, &user("alice"));
    check_passed(&mut f, &alice, "alice's first");
    let blocked = cost::send_text(&stack, &openai, "peruser", "Say hello", false, &user("alice"));
    check_refusal(&mut f, &blocked, openai.shape, &Want { who: "user 'alice'", limit_usd: TINY, used_usd: Some(cost) });
    let (bob, _) = counted(&stack, &openai, "peruser", false, &user("bob"));
    check_passed(&mut f, &bob, "bob after alice was blocked");
    let blocked = cost::send_text(&stack, &openai, "peruser", "Say hello", false, &user("bob"));
    check_refusal(&mut f, &blocked, openai.shape, &Want { who: "user 'bob'", limit_usd: TINY, used_usd: Some(cost) });
    // Callers without an id share one counter rather than escaping the limit.
    let (anon, _) = counted(&stack, &openai, "peruser", false, &[]);
    check_passed(&mut f, &anon, "first anonymous");
    let blocked = cost::send_text(&stack, &openai, "peruser", "Say hello", false, &[]);
    check_refusal(&mut f, &blocked, openai.shape, &Want { who: "without a user id", limit_usd: TINY, used_usd: None });
    // The same user counts across providers.
    let anthropic = api(Kind::Anthropic);
    let blocked = cost::send_text(&stack, &anthropic, "peruser", "Say hello", false, &user("alice"));
    check_refusal(&mut f, &blocked, anthropic.shape, &Want { who: "user 'alice'", limit_usd: TINY, used_usd: None });
    f.assert_none("user scope");
}

#[test]
fn agent_and_session_limits_count_per_id() {
    let stack = limits_stack();
    let mut f = Failures::default();
    let gemini = api(Kind::Gemini);
    for (profile, header, scope) in
        [("peragent", "x-warden-agent-id", "agent"), ("persession", "x-warden-session-id", "session")]
    {
        let (s, _) = counted(&stack, &gemini, profile, false, &[(header, "one")]);
        check_passed(&mut f, &s, profile);
        let blocked = cost::send_text(&stack, &gemini, profile, "Say hello", false, &[(header, "one")]);
        check_refusal(&mut f, &blocked, gemini.shape, &Want { who: &format!("{scope} 'one'"), ..want_any() });
        let (s, _) = counted(&stack, &gemini, profile, false, &[(header, "two")]);
        check_passed(&mut f, &s, &format!("{profile}: another {scope}"));
    }
    // The meta header carries agent / execution / session.
    let blocked = cost::send_text(&stack, &gemini, "persession", "Say hello", false, &[("x-warden-meta", "a/e/one")]);
    check_refusal(&mut f, &blocked, gemini.shape, &Want { who: "session 'one'", ..want_any() });
    f.assert_none("agent and session scopes");
}

fn want_any() -> Want<'static> {
    Want { who: "", limit_usd: TINY, used_usd: None }
}

#[test]
fn a_profile_limit_counts_every_caller_and_provider_of_the_profile() {
    let stack = limits_stack();
    let mut f = Failures::default();
    let (s, cost) = counted(&stack, &api(Kind::Cohere), "shared", false, &user("carol"));
    check_passed(&mut f, &s, "first request of the profile");
    for api in APIS {
        let blocked = cost::send_text(&stack, &api, "shared", "Say hello", false, &user("dave"));
        check_refusal(
            &mut f,
            &blocked,
            api.shape,
            &Want { who: "profile 'shared'", limit_usd: TINY, used_usd: Some(cost) },
        );
    }
    // Other profiles are not affected.
    let (s, _) = counted(&stack, &api(Kind::Cohere), "default", false, &user("carol"));
    check_passed(&mut f, &s, "another profile");
    f.assert_none("profile scope");
}

#[test]
fn a_model_filter_limits_only_those_models() {
    let stack = limits_stack();
    let mut f = Failures::default();
    let openai = api(Kind::OpenAiChat);
    let send = |model: &str| {
        let body = openai.body(model, "Say hello", &cost::Extras::default());
        let s = cost::send(&stack, &openai, "gpt5", model, &body, false, &[]);
        if s.reply.status == 200 {
            cost::record(&stack, &s.request_id);
        }
        s
    };
    // Spending on another model counts towards nothing here.
    check_passed(&mut f, &send("gpt-4o"), "gpt-4o before");
    check_passed(&mut f, &send("gpt-4o"), "gpt-4o again");
    check_passed(&mut f, &send("gpt-5"), "gpt-5 first");
    let blocked = send("gpt-5");
    check_refusal(&mut f, &blocked, openai.shape, &Want { who: "profile 'gpt5'", ..want_any() });
    f.check(limits::message(&blocked.reply.json()).contains("gpt-5"), || {
        format!("the message does not name the limit's model: {}", blocked.reply.text())
    });
    check_passed(&mut f, &send("gpt-4o"), "gpt-4o after gpt-5 was blocked");
    f.assert_none("model filter");
}

#[test]
fn streamed_responses_count_towards_the_limit() {
    let stack = limits_stack();
    let mut f = Failures::default();
    for api in APIS {
        let id = format!("s-{}", api.label().replace('/', "-"));
        let (first, cost) = counted(&stack, &api, "peruser", true, &user(&id));
        check_passed(&mut f, &first, "streamed first request");
        f.check(cost > TINY, || format!("{}: streamed request cost {cost}, want it counted", first.label));
        let blocked = cost::send_text(&stack, &api, "peruser", "Say hello", false, &user(&id));
        check_refusal(
            &mut f,
            &blocked,
            api.shape,
            &Want { who: &format!("user '{id}'"), limit_usd: TINY, used_usd: Some(cost) },
        );
    }
    f.assert_none("streams are counted");
}

#[test]
fn an_aborted_stream_counts_the_usage_seen_so_far() {
    let stack = limits_stack();
    let anthropic = api(Kind::Anthropic);
    // Anthropic reports input tokens in message_start, before the mock cuts the stream.
    let (first, cost) =
        counted(&stack, &anthropic, "peruser", true, &[("x-warden-user-id", "cut"), ("x-mock-scenario", "text,cut")]);
    assert!(!first.reply.complete, "{}: the cut stream looked complete", first.label);
    assert!(cost > TINY, "{}: aborted stream cost {cost}, want the input counted", first.label);
    let blocked = cost::send_text(&stack, &anthropic, "peruser", "Say hello", false, &user("cut"));
    let mut f = Failures::default();
    check_refusal(
        &mut f,
        &blocked,
        anthropic.shape,
        &Want { who: "user 'cut'", limit_usd: TINY, used_usd: Some(cost) },
    );
    f.assert_none("aborted stream");
}

#[test]
fn every_window_refuses_and_says_when_it_resets() {
    let stack = limits_stack();
    let mut f = Failures::default();
    let anthropic = api(Kind::Anthropic);
    for window in WINDOWS {
        let profile = format!("w-{window}");
        // The usage sits in the bucket current when the first request was counted.
        let before = limits::now_secs();
        let (s, _) = counted(&stack, &anthropic, &profile, false, &[]);
        check_passed(&mut f, &s, &profile);
        let blocked = cost::send_text(&stack, &anthropic, &profile, "Say hello", false, &[]);
        let after = limits::now_secs();
        check_refusal(&mut f, &blocked, anthropic.shape, &Want { who: &format!("profile '{profile}'"), ..want_any() });
        let text = limits::message(&blocked.reply.json());
        let resets = limits::timestamp(&text).unwrap_or(0);
        // Sliding windows free a bucket (5 min, 1 h, 1 day) one window after it started; calendar
        // windows reset at the next period start (UTC).
        let ok = match window {
            "1h" => resets > before + HOUR - 5 * 60 && resets <= after + HOUR,
            "1d" => resets > before + DAY - HOUR && resets <= after + DAY,
            "1w" => resets > before + 6 * DAY && resets <= after + 7 * DAY,
            calendar => [before, after].iter().any(|t| limits::next_calendar_start(calendar, *t) == Some(resets)),
        };
        f.check(ok, || format!("{profile}: resets at {resets} (now {before}): {text}"));
    }
    f.assert_none("windows");
}
