//! The views say what the filter decides, for the same inputs the e2e policy tests send through
//! Envoy (`tests/tests/{trust,tool}_policies.rs`), and a broken configuration shows its path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use serde_json::Value;
use warden_playground::views::{self, Input};

fn example(name_starts: &str) -> Input {
    let all = warden_playground::examples::all();
    let e = all.as_array().unwrap().iter().find(|e| e["name"].as_str().unwrap().starts_with(name_starts)).unwrap();
    let text = |k: &str| e[k].as_str().unwrap().to_owned();
    Input {
        config: text("config"),
        path: text("path"),
        headers: text("headers"),
        request: text("request"),
        response: text("response"),
    }
}

#[test]
fn send_email_after_an_untrusted_web_fetch_is_refused_as_in_the_e2e_test() {
    let v = views::run(&example("e2e: send_email"));
    assert_eq!(v.trust["context_trusted"], false, "{}", v.trust);
    let result = &v.trust["results"][0];
    assert_eq!(result["tool"], "web_fetch");
    assert_eq!(result["decision"], "mark_as_untrusted");
    // `secure` trusts only intranet pages: no row matched, the profile default decided.
    assert_eq!(result["row"], Value::Null);
    let call = &v.tool_calls["calls"][0];
    assert_eq!((call["name"].as_str(), call["allowed"].as_bool()), (Some("send_email"), Some(false)), "{call}");
    assert_eq!(v.tool_calls["blocked_tools"][0], "send_email");
    let body = v.refusal["response"]["body"].as_str().unwrap();
    assert!(body.contains("attacker@evil.example") && body.contains("send_email"), "{body}");
    assert_eq!(v.refusal["response"]["x-warden-blocked"], "send_email");
}

#[test]
fn read_file_on_etc_is_refused_by_the_first_tool_policy_row() {
    let v = views::run(&example("e2e: read_file"));
    assert_eq!(v.trust["context_trusted"], true);
    let call = &v.tool_calls["calls"][0];
    assert_eq!(call["allowed"], false);
    assert_eq!(call["row"], 0);
    assert_eq!(call["policy"]["reason"], "system files are off limits");
    assert!(v.refusal["response"]["body"].as_str().unwrap().contains("system files are off limits"));
}

#[test]
fn recorded_exchanges_show_trust_toon_and_optimisation() {
    let v = views::run(&example("recorded: Anthropic"));
    assert_eq!(v.trust["results"][0]["decision"], "mark_as_trusted", "{}", v.trust);
    assert_eq!(v.trust["results"][0]["row"], 0);
    let (before, after) = (v.toon["tokens_before"].as_u64().unwrap(), v.toon["tokens_after"].as_u64().unwrap());
    assert!(after < before, "{}", v.toon);
    assert!(v.toon["results"][0]["after"].as_str().unwrap().contains("condition: Sunny"), "{}", v.toon);
    assert_eq!(v.optimisation["rule"], 0, "{}", v.optimisation);
    assert_eq!(
        (v.optimisation["baseline_model"].as_str(), v.optimisation["model"].as_str()),
        (Some("claude-haiku-4-5"), Some("claude-3-5-haiku"))
    );
    let (before, after) =
        (v.optimisation["baseline_cost_usd"].as_f64().unwrap(), v.optimisation["cost_usd"].as_f64().unwrap());
    assert!(after < before, "{}", v.optimisation);
    let v = views::run(&example("recorded: Gemini"));
    assert_eq!(v.trust["results"][0]["tool"], "pelican_name_generator");
    assert!(v.optimisation["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{}", v.optimisation);
    // A call streamed live (it could not be blocked) is still shown with the row that allows it.
    let v = views::run(&example("recorded: OpenAI"));
    let call = &v.tool_calls["calls"][0];
    assert_eq!(
        (call["name"].as_str(), call["allowed"].as_bool()),
        (Some("GetWeatherArgs"), Some(true)),
        "{}",
        v.tool_calls
    );
}

#[test]
fn a_broken_configuration_names_its_path() {
    let mut input = example("e2e: read_file");
    input.config = input.config.replace("\"starts_with\"", "\"starts_wth\"");
    let v = views::run(&input);
    assert_eq!(v.config["ok"], false);
    assert_eq!(v.config["path"], "profiles.secure.tool_policies[0].conditions[0].operator");
    assert!(v.tool_calls.get("skipped").is_some());
}
