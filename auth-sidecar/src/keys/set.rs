//! A loaded set of virtual keys and OAuth clients, and how a subject resolves against it. Keys
//! are held only as SHA-256 digests; the lookup compares the asked digest with every key's in
//! constant time, so how long it takes does not depend on which key (if any) matched.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use warden_filter::config::limits::Window;

/// A real provider key. Never printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How a request to one provider is authenticated with this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderCredential {
    /// The real provider key, put in the header the client used.
    ApiKey(Secret),
    /// No static key: the filter signs with the sidecar's AWS credentials (Bedrock).
    Sigv4,
    /// Served through another provider the same key maps with a credential of its own (keys file
    /// `via:`): requests for this provider's models go there.
    Via(String),
}

/// A key's own budget (the same windows as a profile's limits).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLimit {
    pub usd: f64,
    pub window: Window,
    /// Model ids or globs; empty: every model.
    pub models: Vec<String>,
}

/// What a key or OAuth client stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The key's `id` or the client's `client_id`: shown in records and metrics.
    pub id: String,
    pub profile: Option<String>,
    /// Provider name → credential, sorted by name.
    pub providers: BTreeMap<String, ProviderCredential>,
    pub limits: Vec<KeyLimit>,
}

impl Identity {
    pub fn provider_names(&self) -> Vec<String> {
        self.providers.keys().cloned().collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VirtualKey {
    pub key_sha256: [u8; 32],
    /// Unix milliseconds; `None`: the key does not expire.
    pub expires_at_unix_ms: Option<i64>,
    pub identity: Identity,
}

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The SHA-256 of a `wdn_` key.
    KeySha256(&'a [u8; 32]),
    /// The `azp` / `client_id` of a verified JWT.
    OAuthClient(&'a str),
}

/// The answer to one subject and provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolution<'a> {
    Unknown,
    Expired {
        identity: &'a Identity,
        expires_at_unix_ms: i64,
    },
    /// The subject exists but maps no credential for the provider asked about.
    NotMapped {
        identity: &'a Identity,
        expires_at_unix_ms: Option<i64>,
    },
    /// `credential` is `None` only when no provider was asked about (a listing of what the key
    /// maps, as the model router's `GET /models` needs).
    Ok {
        identity: &'a Identity,
        credential: Option<&'a ProviderCredential>,
        /// The provider whose credential this is when it is not the one asked about (`via:`).
        served_by: Option<&'a str>,
        expires_at_unix_ms: Option<i64>,
    },
}

impl Resolution<'_> {
    /// The metric label.
    pub fn outcome(&self) -> &'static str {
        match self {
            Resolution::Unknown => "unknown",
            Resolution::Expired { .. } => "expired",
            Resolution::NotMapped { .. } => "not_mapped",
            Resolution::Ok { .. } => "ok",
        }
    }
}

#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<VirtualKey>,
    clients: HashMap<String, Identity>,
}

impl KeySet {
    /// `keys` must hold distinct digests (the loader checks).
    pub fn new(keys: Vec<VirtualKey>, clients: HashMap<String, Identity>) -> KeySet {
        KeySet { keys, clients }
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Resolves `subject` for `provider` (empty: no provider in particular) at `now_ms`.
    pub fn resolve(&self, subject: Subject<'_>, provider: &str, now_ms: i64) -> Resolution<'_> {
        let (identity, expires_at_unix_ms) = match subject {
            Subject::KeySha256(digest) => match self.find_key(digest) {
                Some(key) => (&key.identity, key.expires_at_unix_ms),
                None => return Resolution::Unknown,
            },
            // A client id is not a secret (it is in every token the client shows).
            Subject::OAuthClient(client_id) => match self.clients.get(client_id) {
                Some(identity) => (identity, None),
                None => return Resolution::Unknown,
            },
        };
        if let Some(at) = expires_at_unix_ms.filter(|at| now_ms >= *at) {
            return Resolution::Expired { identity, expires_at_unix_ms: at };
        }
        if provider.is_empty() {
            return Resolution::Ok { identity, credential: None, served_by: None, expires_at_unix_ms };
        }
        match identity.providers.get(provider) {
            // The loader checked that `host` has a credential of its own.
            Some(ProviderCredential::Via(host)) => match identity.providers.get(host.as_str()) {
                Some(credential) if !matches!(credential, ProviderCredential::Via(_)) => Resolution::Ok {
                    identity,
                    credential: Some(credential),
                    served_by: Some(host.as_str()),
                    expires_at_unix_ms,
                },
                _ => Resolution::NotMapped { identity, expires_at_unix_ms },
            },
            Some(credential) => {
                Resolution::Ok { identity, credential: Some(credential), served_by: None, expires_at_unix_ms }
            }
            None => Resolution::NotMapped { identity, expires_at_unix_ms },
        }
    }

    /// Visits every key and keeps the index of the match with constant-time selects; no branch
    /// depends on the comparison.
    fn find_key(&self, digest: &[u8; 32]) -> Option<&VirtualKey> {
        let mut found = u64::MAX;
        for (i, key) in self.keys.iter().enumerate() {
            let i = u64::try_from(i).unwrap_or(u64::MAX);
            found.conditional_assign(&i, key.key_sha256.as_slice().ct_eq(digest.as_slice()));
        }
        usize::try_from(found).ok().and_then(|i| self.keys.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::file::digest;

    fn identity(id: &str, providers: &[(&str, ProviderCredential)]) -> Identity {
        Identity {
            id: id.into(),
            profile: Some("team-a".into()),
            providers: providers.iter().map(|(n, c)| (n.to_string(), c.clone())).collect(),
            limits: vec![],
        }
    }

    fn set() -> KeySet {
        let openai = ProviderCredential::ApiKey(Secret::new("sk-real".into()));
        let keys = (0..50)
            .map(|i| VirtualKey {
                key_sha256: digest(format!("wdn_key_{i}").as_bytes()),
                expires_at_unix_ms: (i == 7).then_some(1_000),
                identity: identity(
                    &format!("k{i}"),
                    &[("openai", openai.clone()), ("bedrock", ProviderCredential::Sigv4)],
                ),
            })
            .collect();
        let clients = [("billing-bot".to_string(), identity("billing-bot", &[("anthropic", openai.clone())]))].into();
        KeySet::new(keys, clients)
    }

    #[test]
    fn every_key_in_the_set_is_found_by_its_digest_and_only_by_it() {
        let set = set();
        for i in 0..50 {
            let d = digest(format!("wdn_key_{i}").as_bytes());
            let found = set.find_key(&d).map(|k| k.identity.id.clone());
            assert_eq!(found, Some(format!("k{i}")));
        }
        assert!(set.find_key(&digest(b"wdn_key_50")).is_none());
        assert!(KeySet::default().find_key(&[0; 32]).is_none());
    }

    #[test]
    fn a_mapped_provider_resolves_to_its_credential() {
        let set = set();
        let d = digest(b"wdn_key_3");
        match set.resolve(Subject::KeySha256(&d), "openai", 0) {
            Resolution::Ok {
                identity,
                credential: Some(ProviderCredential::ApiKey(key)),
                served_by: None,
                expires_at_unix_ms: None,
            } => {
                assert_eq!((identity.id.as_str(), key.expose()), ("k3", "sk-real"));
            }
            other => panic!("{other:?}"),
        }
        let r = set.resolve(Subject::KeySha256(&d), "bedrock", 0);
        assert!(matches!(r, Resolution::Ok { credential: Some(ProviderCredential::Sigv4), .. }), "{r:?}");
    }

    #[test]
    fn an_unmapped_provider_an_unknown_key_and_an_expired_key_are_told_apart() {
        let set = set();
        let d = digest(b"wdn_key_3");
        let r = set.resolve(Subject::KeySha256(&d), "gemini", 0);
        let Resolution::NotMapped { identity, .. } = r else { panic!("{r:?}") };
        assert_eq!(identity.provider_names(), ["bedrock", "openai"]);
        assert_eq!(set.resolve(Subject::KeySha256(&digest(b"wdn_nope")), "openai", 0), Resolution::Unknown);
        let expired = digest(b"wdn_key_7");
        assert!(matches!(set.resolve(Subject::KeySha256(&expired), "openai", 999), Resolution::Ok { .. }));
        let r = set.resolve(Subject::KeySha256(&expired), "openai", 1_000);
        assert!(matches!(r, Resolution::Expired { expires_at_unix_ms: 1_000, .. }), "{r:?}");
    }

    #[test]
    fn a_provider_served_via_another_resolves_to_that_ones_credential() {
        let bedrock = ProviderCredential::ApiKey(Secret::new("ABSK-real".into()));
        let via = identity("k", &[("bedrock", bedrock), ("deepseek", ProviderCredential::Via("bedrock".into()))]);
        let set = KeySet::new(
            vec![VirtualKey { key_sha256: digest(b"wdn_via"), expires_at_unix_ms: None, identity: via }],
            HashMap::new(),
        );
        let r = set.resolve(Subject::KeySha256(&digest(b"wdn_via")), "deepseek", 0);
        let Resolution::Ok { credential: Some(ProviderCredential::ApiKey(key)), served_by: Some("bedrock"), .. } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(key.expose(), "ABSK-real");
        let r = set.resolve(Subject::KeySha256(&digest(b"wdn_via")), "bedrock", 0);
        assert!(matches!(r, Resolution::Ok { served_by: None, .. }), "{r:?}");
    }

    #[test]
    fn no_provider_asked_lists_the_mapping_without_a_credential() {
        let set = set();
        let r = set.resolve(Subject::KeySha256(&digest(b"wdn_key_1")), "", 0);
        assert!(matches!(r, Resolution::Ok { credential: None, .. }), "{r:?}");
    }

    #[test]
    fn oauth_clients_resolve_by_client_id() {
        let set = set();
        let r = set.resolve(Subject::OAuthClient("billing-bot"), "anthropic", 0);
        assert!(matches!(r, Resolution::Ok { credential: Some(_), expires_at_unix_ms: None, .. }), "{r:?}");
        assert_eq!(set.resolve(Subject::OAuthClient("other"), "anthropic", 0), Resolution::Unknown);
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let text = format!("{:?}", ProviderCredential::ApiKey(Secret::new("sk-live-123456".into())));
        assert!(!text.contains("sk-live"), "{text}");
    }
}
