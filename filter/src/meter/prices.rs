//! USD prices per million tokens: a built-in table for current models, overridable by the plugin
//! config's `prices`. Lookup tolerates the decorations providers add to model ids (date suffixes,
//! Bedrock region prefixes and version suffixes, vendor prefixes of routers).

use crate::providers::Provider;
use crate::view::Usage;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0)))]
    pub input: f64,
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0)))]
    pub output: f64,
    /// Defaults to the input price when the model has no cache pricing.
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0)))]
    pub cache_read: Option<f64>,
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0)))]
    pub cache_write: Option<f64>,
}

impl Price {
    const fn new(input: f64, output: f64, cache_read: Option<f64>, cache_write: Option<f64>) -> Price {
        Price { input, output, cache_read, cache_write }
    }

    /// Cost of `usage` in USD.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let per_token = |tokens: u64, price: f64| tokens as f64 * price / 1_000_000.0;
        per_token(usage.input, self.input)
            + per_token(usage.output, self.output)
            + per_token(usage.cache_read, self.cache_read.unwrap_or(self.input))
            + per_token(usage.cache_write, self.cache_write.unwrap_or(self.input))
    }
}

/// Applied to models no table knows. Deliberately high so that cost limits err on the safe side;
/// the `warden_unpriced_requests_total` metric says when it was used.
pub const UNKNOWN_MODEL_PRICE: Price = Price::new(10.0, 30.0, None, None);

/// Which table answered a lookup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceSource {
    Configured(Price),
    BuiltIn(Price),
    Unknown,
}

impl PriceSource {
    pub fn price(self) -> Price {
        match self {
            PriceSource::Configured(p) | PriceSource::BuiltIn(p) => p,
            PriceSource::Unknown => UNKNOWN_MODEL_PRICE,
        }
    }
}

// (family, model prefix, price). A model matches an entry when it equals the prefix or continues it
// with '-' (dated snapshots like gpt-4o-2024-08-06, claude-sonnet-4-5-20250929); the longest wins.
const OPENAI: &str = "openai";
const ANTHROPIC: &str = "anthropic";
const GEMINI: &str = "gemini";
const BUILT_IN: &[(&str, &str, Price)] = &[
    (OPENAI, "gpt-5", Price::new(1.25, 10.0, Some(0.125), None)),
    (OPENAI, "gpt-5.1", Price::new(1.25, 10.0, Some(0.125), None)),
    (OPENAI, "gpt-5-mini", Price::new(0.25, 2.0, Some(0.025), None)),
    (OPENAI, "gpt-5-nano", Price::new(0.05, 0.4, Some(0.005), None)),
    (OPENAI, "gpt-4.1", Price::new(2.0, 8.0, Some(0.5), None)),
    (OPENAI, "gpt-4.1-mini", Price::new(0.4, 1.6, Some(0.1), None)),
    (OPENAI, "gpt-4.1-nano", Price::new(0.1, 0.4, Some(0.025), None)),
    (OPENAI, "gpt-4o", Price::new(2.5, 10.0, Some(1.25), None)),
    (OPENAI, "gpt-4o-mini", Price::new(0.15, 0.6, Some(0.075), None)),
    (OPENAI, "gpt-4-turbo", Price::new(10.0, 30.0, None, None)),
    (OPENAI, "gpt-3.5-turbo", Price::new(0.5, 1.5, None, None)),
    (OPENAI, "o1", Price::new(15.0, 60.0, Some(7.5), None)),
    (OPENAI, "o3", Price::new(2.0, 8.0, Some(0.5), None)),
    (OPENAI, "o3-mini", Price::new(1.1, 4.4, Some(0.55), None)),
    (OPENAI, "o4-mini", Price::new(1.1, 4.4, Some(0.275), None)),
    (OPENAI, "text-embedding-3-small", Price::new(0.02, 0.0, None, None)),
    (OPENAI, "text-embedding-3-large", Price::new(0.13, 0.0, None, None)),
    (OPENAI, "text-embedding-ada-002", Price::new(0.1, 0.0, None, None)),
    (ANTHROPIC, "claude-opus-4-5", Price::new(5.0, 25.0, Some(0.5), Some(6.25))),
    (ANTHROPIC, "claude-opus-4-1", Price::new(15.0, 75.0, Some(1.5), Some(18.75))),
    (ANTHROPIC, "claude-opus-4", Price::new(15.0, 75.0, Some(1.5), Some(18.75))),
    (ANTHROPIC, "claude-sonnet-4-5", Price::new(3.0, 15.0, Some(0.3), Some(3.75))),
    (ANTHROPIC, "claude-sonnet-4", Price::new(3.0, 15.0, Some(0.3), Some(3.75))),
    (ANTHROPIC, "claude-3-7-sonnet", Price::new(3.0, 15.0, Some(0.3), Some(3.75))),
    (ANTHROPIC, "claude-3-5-sonnet", Price::new(3.0, 15.0, Some(0.3), Some(3.75))),
    (ANTHROPIC, "claude-haiku-4-5", Price::new(1.0, 5.0, Some(0.1), Some(1.25))),
    (ANTHROPIC, "claude-3-5-haiku", Price::new(0.8, 4.0, Some(0.08), Some(1.0))),
    (ANTHROPIC, "claude-3-haiku", Price::new(0.25, 1.25, Some(0.03), Some(0.3))),
    (ANTHROPIC, "claude-3-opus", Price::new(15.0, 75.0, Some(1.5), Some(18.75))),
    (GEMINI, "gemini-3-pro-preview", Price::new(2.0, 12.0, Some(0.2), None)),
    (GEMINI, "gemini-2.5-pro", Price::new(1.25, 10.0, Some(0.125), None)),
    (GEMINI, "gemini-2.5-flash", Price::new(0.3, 2.5, Some(0.03), None)),
    (GEMINI, "gemini-2.5-flash-lite", Price::new(0.1, 0.4, Some(0.01), None)),
    (GEMINI, "gemini-2.0-flash", Price::new(0.1, 0.4, Some(0.025), None)),
    (GEMINI, "gemini-2.0-flash-lite", Price::new(0.075, 0.3, None, None)),
    (GEMINI, "gemini-1.5-pro", Price::new(1.25, 5.0, Some(0.3125), None)),
    (GEMINI, "gemini-1.5-flash", Price::new(0.075, 0.3, Some(0.01875), None)),
    ("amazon", "nova-premier", Price::new(2.5, 12.5, Some(0.625), None)),
    ("amazon", "nova-pro", Price::new(0.8, 3.2, Some(0.2), None)),
    ("amazon", "nova-lite", Price::new(0.06, 0.24, Some(0.015), None)),
    ("amazon", "nova-micro", Price::new(0.035, 0.14, Some(0.00875), None)),
    ("meta", "llama3-3-70b-instruct", Price::new(0.72, 0.72, None, None)),
    ("cohere", "command-a", Price::new(2.5, 10.0, None, None)),
    ("cohere", "command-r-plus", Price::new(2.5, 10.0, None, None)),
    ("cohere", "command-r", Price::new(0.15, 0.6, None, None)),
    ("cohere", "command-r7b", Price::new(0.0375, 0.15, None, None)),
    ("groq", "llama-3.3-70b-versatile", Price::new(0.59, 0.79, None, None)),
    ("groq", "llama-3.1-8b-instant", Price::new(0.05, 0.08, None, None)),
    ("groq", "openai/gpt-oss-120b", Price::new(0.15, 0.75, None, None)),
    ("groq", "openai/gpt-oss-20b", Price::new(0.1, 0.5, None, None)),
    ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", Price::new(0.11, 0.34, None, None)),
    ("mistral", "mistral-large", Price::new(2.0, 6.0, None, None)),
    ("mistral", "mistral-medium", Price::new(0.4, 2.0, None, None)),
    ("mistral", "mistral-small", Price::new(0.1, 0.3, None, None)),
    ("mistral", "codestral", Price::new(0.3, 0.9, None, None)),
    ("mistral", "magistral-medium", Price::new(2.0, 5.0, None, None)),
    ("mistral", "open-mistral-nemo", Price::new(0.15, 0.15, None, None)),
    ("xai", "grok-4", Price::new(3.0, 15.0, Some(0.75), None)),
    ("xai", "grok-4-fast", Price::new(0.2, 0.5, Some(0.05), None)),
    ("xai", "grok-3", Price::new(3.0, 15.0, Some(0.75), None)),
    ("xai", "grok-3-mini", Price::new(0.3, 0.5, Some(0.075), None)),
    ("xai", "grok-code-fast-1", Price::new(0.2, 1.5, Some(0.02), None)),
    ("deepseek", "deepseek-chat", Price::new(0.28, 0.42, Some(0.028), None)),
    ("deepseek", "deepseek-reasoner", Price::new(0.28, 0.42, Some(0.028), None)),
];

/// The built-in families a provider's model ids are looked up in.
fn families(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::OpenAi | Provider::Azure => &[OPENAI],
        Provider::Anthropic => &[ANTHROPIC],
        Provider::Gemini => &[GEMINI],
        Provider::Bedrock => &[ANTHROPIC, "amazon", "meta", "cohere"],
        Provider::Cohere => &["cohere"],
        Provider::Groq => &["groq"],
        Provider::Mistral => &["mistral"],
        Provider::Xai => &["xai"],
        Provider::DeepSeek => &["deepseek"],
        // Routers and self-hosted servers serve other vendors' models under their own names.
        Provider::OpenRouter
        | Provider::Cerebras
        | Provider::MiniMax
        | Provider::ZhipuAi
        | Provider::Perplexity
        | Provider::Vllm
        | Provider::Ollama => &[OPENAI, ANTHROPIC, GEMINI, "mistral", "xai", "deepseek", "groq"],
    }
}

/// Strips what providers wrap around a model id: `models/` (Gemini), a router's `vendor/` prefix,
/// Bedrock's cross-region prefix (`us.`), vendor (`anthropic.`) and version suffix (`-v1:0`).
fn normalise(provider: Provider, model: &str) -> String {
    let mut m = model.strip_prefix("models/").unwrap_or(model);
    if matches!(provider, Provider::OpenRouter | Provider::Vllm | Provider::Ollama | Provider::Cerebras) {
        if let Some((_, rest)) = m.split_once('/') {
            m = rest;
        }
    }
    if provider == Provider::Bedrock {
        for region in ["us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.", "ca."] {
            if let Some(rest) = m.strip_prefix(region) {
                m = rest;
                break;
            }
        }
        if let Some((_, rest)) = m.split_once('.') {
            m = rest;
        }
        if let Some(pos) = m.rfind("-v") {
            let tail = m.get(pos + 2..).unwrap_or("");
            if tail.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                m = m.get(..pos).unwrap_or(m);
            }
        }
    }
    m.to_string()
}

fn matches_prefix(model: &str, prefix: &str) -> bool {
    model == prefix || model.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('-') || rest.starts_with('@'))
}

/// Looks up the price of `model` served by `provider`: configured exact key first, then the
/// built-in table (longest matching prefix).
pub fn lookup(configured: &BTreeMap<String, Price>, provider: Provider, model: &str) -> PriceSource {
    if !configured.is_empty() {
        if let Some(p) = configured.get(&format!("{}:{}", provider.name(), model)) {
            return PriceSource::Configured(*p);
        }
    }
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else { return from_table(provider, model) };
        if let Some((_, _, found)) = recent.entries.iter().find(|(p, m, _)| *p == provider && m == model) {
            return *found;
        }
        let found = from_table(provider, model);
        let slot = recent.next % RECENT_MODELS;
        recent.next = slot.wrapping_add(1);
        match recent.entries.get_mut(slot) {
            Some(entry) => *entry = (provider, model.to_owned(), found),
            None => recent.entries.push((provider, model.to_owned(), found)),
        }
        found
    })
}

/// The built-in table's price of `model` served by `provider` (longest matching prefix).
fn from_table(provider: Provider, model: &str) -> PriceSource {
    let normalised = normalise(provider, model);
    let fams = families(provider);
    BUILT_IN
        .iter()
        .filter(|(fam, prefix, _)| fams.contains(fam) && matches_prefix(&normalised, prefix))
        .max_by_key(|(_, prefix, _)| prefix.len())
        .map_or(PriceSource::Unknown, |(_, _, p)| PriceSource::BuiltIn(*p))
}

/// The last few built-in lookups of this VM: requests name the same few models again and again,
/// and each lookup scans the whole table. Bounded (models come from the wire), replaced in turn.
const RECENT_MODELS: usize = 8;

#[derive(Default)]
struct Recent {
    entries: Vec<(Provider, String, PriceSource)>,
    next: usize,
}

thread_local! {
    static RECENT: std::cell::RefCell<Recent> = std::cell::RefCell::new(Recent::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in(provider: Provider, model: &str) -> Price {
        match lookup(&BTreeMap::new(), provider, model) {
            PriceSource::BuiltIn(p) => p,
            other => panic!("{model}: {other:?}"),
        }
    }

    #[test]
    fn dated_snapshots_take_the_base_model_price() {
        assert_eq!(built_in(Provider::OpenAi, "gpt-4o-2024-08-06").input, 2.5);
        assert_eq!(built_in(Provider::OpenAi, "gpt-4o-mini-2024-07-18").input, 0.15);
        assert_eq!(built_in(Provider::Anthropic, "claude-sonnet-4-5-20250929").output, 15.0);
        assert_eq!(built_in(Provider::Anthropic, "claude-3-5-haiku-latest").input, 0.8);
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(built_in(Provider::OpenAi, "gpt-5-mini").input, 0.25);
        assert_eq!(built_in(Provider::Gemini, "gemini-2.5-flash-lite").input, 0.1);
        assert_eq!(built_in(Provider::Gemini, "models/gemini-2.5-flash").input, 0.3);
    }

    #[test]
    fn bedrock_ids_are_normalised() {
        assert_eq!(built_in(Provider::Bedrock, "anthropic.claude-3-haiku-20240307-v1:0").input, 0.25);
        assert_eq!(built_in(Provider::Bedrock, "us.anthropic.claude-sonnet-4-20250514-v1:0").input, 3.0);
        assert_eq!(built_in(Provider::Bedrock, "amazon.nova-pro-v1:0").output, 3.2);
    }

    #[test]
    fn recent_lookups_answer_like_the_table() {
        let models = (0..3 * RECENT_MODELS).map(|i| format!("gpt-4o-mini-{i}")).chain(["my-finetune".to_owned()]);
        let models: Vec<String> = models.collect();
        for round in 0..3 {
            for (i, model) in models.iter().enumerate() {
                let provider = if (i + round) % 2 == 0 { Provider::OpenAi } else { Provider::Anthropic };
                assert_eq!(lookup(&BTreeMap::new(), provider, model), from_table(provider, model), "{model}");
            }
        }
    }

    #[test]
    fn unknown_models_are_reported_as_unknown() {
        assert_eq!(lookup(&BTreeMap::new(), Provider::OpenAi, "my-finetune"), PriceSource::Unknown);
        assert_eq!(lookup(&BTreeMap::new(), Provider::OpenAi, "gpt-5x"), PriceSource::Unknown);
    }

    #[test]
    fn configured_prices_override_the_table() {
        let mut configured = BTreeMap::new();
        configured.insert("openai:gpt-5".to_string(), Price::new(1.0, 2.0, None, None));
        assert_eq!(
            lookup(&configured, Provider::OpenAi, "gpt-5"),
            PriceSource::Configured(Price::new(1.0, 2.0, None, None))
        );
    }

    #[test]
    fn cost_counts_cache_tokens_at_their_prices() {
        let p = Price::new(3.0, 15.0, Some(0.3), Some(3.75));
        let u =
            Usage { input: 1_000_000, output: 100_000, cache_read: 2_000_000, cache_write: 1_000_000, reasoning: 0 };
        let cost = p.cost(&u);
        assert!((cost - (3.0 + 1.5 + 0.6 + 3.75)).abs() < 1e-9, "{cost}");
        let no_cache_price = Price::new(1.0, 1.0, None, None);
        let u = Usage { cache_read: 1_000_000, ..Usage::default() };
        assert!((no_cache_price.cost(&u) - 1.0).abs() < 1e-9);
    }
}
