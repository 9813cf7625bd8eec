//! A virtual key in the query string. Google's SDKs and curl users put a Gemini API key in
//! `?key=…`; a `wdn_` key there resolves like one in a header, and is cut out of the path before
//! anything else happens: Envoy's access log prints `:path` as it is when the request ends, and an
//! upstream must never see a virtual key.

use super::PREFIX;
use crate::error::WardenError;
use crate::routes::percent_decode;
use sha2::{Digest, Sha256};

/// The query parameter Google's API keys travel in.
const PARAM: &str = "key";

/// A virtual key found in a path's query.
#[derive(Clone, PartialEq, Eq)]
pub struct InQuery {
    /// The path without any `key` parameter.
    pub path: String,
    pub sha256: [u8; 32],
}

// Hand-written so the digest of a key never shows in a debug print.
impl std::fmt::Debug for InQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InQuery").field("path", &self.path).finish()
    }
}

/// The `wdn_` key in `path`'s `key` query parameter, with the path it leaves behind; `None` when
/// no `key` parameter holds a virtual key (a provider's own key there passes through untouched).
/// When one does, every `key` parameter goes, so that the gateway's credential is the only one
/// upstream. Names and values are compared percent-decoded (`%6Bey=wdn%5F…` is the same key).
/// Two different virtual keys are refused: which one counts would be a guess.
pub fn take(path: &str) -> Result<Option<InQuery>, WardenError> {
    let Some((path, digests)) = split(path) else { return Ok(None) };
    let Some((&sha256, rest)) = digests.split_first() else { return Ok(None) };
    if rest.iter().any(|d| *d != sha256) {
        return Err(WardenError::InvalidRequest {
            message: "the request carries two different Warden virtual keys in its key query parameters; send one key"
                .into(),
        });
    }
    Ok(Some(InQuery { path, sha256 }))
}

/// `path` without its `key` parameters when one holds a virtual key, whether or not `take` would
/// accept it: what the host puts in `:path` before anything can log it.
pub fn redacted(path: &str) -> Option<String> {
    split(path).map(|(path, _)| path)
}

/// The path without `key` parameters, and the digest of each virtual key among them; `None` when
/// none holds a virtual key.
fn split(path: &str) -> Option<(String, Vec<[u8; 32]>)> {
    let (head, query) = path.split_once('?')?;
    let mut digests = Vec::new();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(name) != PARAM {
            if !pair.is_empty() {
                kept.push(pair);
            }
            continue;
        }
        let value = percent_decode(value);
        if value.starts_with(PREFIX) {
            digests.push(Sha256::digest(value.as_bytes()).into());
        }
    }
    if digests.is_empty() {
        return None;
    }
    let path = if kept.is_empty() { head.to_owned() } else { format!("{head}?{}", kept.join("&")) };
    Some((path, digests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(key: &str) -> [u8; 32] {
        Sha256::digest(key.as_bytes()).into()
    }

    #[test]
    fn a_virtual_key_is_cut_out_of_the_query_and_the_other_parameters_stay() {
        let got = take("/v1/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key=wdn_abc").unwrap().unwrap();
        assert_eq!(got.path, "/v1/gemini/v1beta/models/m:streamGenerateContent?alt=sse");
        assert_eq!(got.sha256, digest("wdn_abc"));
        let got = take("/v1/gemini/v1beta/models/m:generateContent?key=wdn_abc").unwrap().unwrap();
        assert_eq!(got.path, "/v1/gemini/v1beta/models/m:generateContent");
        let got = take("/p?key=wdn_abc&alt=sse&x=1").unwrap().unwrap();
        assert_eq!(got.path, "/p?alt=sse&x=1");
    }

    #[test]
    fn a_percent_encoded_virtual_key_is_the_same_key() {
        let got = take("/p?%6Bey=wdn%5Fabc").unwrap().unwrap();
        assert_eq!((got.path.as_str(), got.sha256), ("/p", digest("wdn_abc")));
    }

    #[test]
    fn provider_keys_and_paths_without_a_key_are_left_alone() {
        for path in ["/p", "/p?alt=sse", "/p?key=AIza-real", "/p?keys=wdn_x", "/p?key", "/p?monkey=wdn_x"] {
            assert_eq!(take(path).unwrap(), None, "{path}");
        }
    }

    #[test]
    fn every_key_parameter_goes_when_one_holds_a_virtual_key() {
        let got = take("/p?key=AIza-own&key=wdn_abc&alt=sse").unwrap().unwrap();
        assert_eq!(got.path, "/p?alt=sse");
        let got = take("/p?key=wdn_abc&key=wdn_abc").unwrap().unwrap();
        assert_eq!(got.sha256, digest("wdn_abc"), "the same key twice is one key");
    }

    #[test]
    fn two_different_virtual_keys_are_refused_without_quoting_either() {
        let err = take("/p?key=wdn_one&key=wdn_two").unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(!err.to_string().contains("wdn_one") && !err.to_string().contains("wdn_two"), "{err}");
        assert_eq!(redacted("/p?key=wdn_one&alt=sse&key=wdn_two").as_deref(), Some("/p?alt=sse"), "nor logs either");
        assert_eq!(redacted("/p?key=AIza-own"), None);
    }

    #[test]
    fn debug_output_never_shows_the_digest() {
        let got = take("/p?key=wdn_secret").unwrap().unwrap();
        let text = format!("{got:?}");
        assert!(!text.contains("wdn_") && !text.contains("sha256"), "{text}");
    }
}
