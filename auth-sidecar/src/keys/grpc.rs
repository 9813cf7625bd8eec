//! `warden.v1.Keys/Resolve`: the filter sends the SHA-256 of a `wdn_` key (never the key) or the
//! client id of a verified JWT, and the provider the request goes to.

use super::set::{Identity, ProviderCredential, Resolution, Subject};
use super::KeyStore;
use crate::error::KeysError;
use crate::metrics::Metrics;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use warden_proto::v1::keys_server::{Keys, KeysServer};
use warden_proto::v1::{self as pb, resolve_reply::Outcome, resolve_request};

pub struct KeysService {
    /// `None` when the sidecar's configuration has no `keys:` block.
    store: Option<Arc<KeyStore>>,
    metrics: Arc<Metrics>,
}

impl KeysService {
    pub fn new(store: Option<Arc<KeyStore>>, metrics: Arc<Metrics>) -> KeysServer<KeysService> {
        KeysServer::new(KeysService { store, metrics })
    }

    fn answer(&self, request: &pb::ResolveRequest) -> Result<pb::ResolveReply, KeysError> {
        let store = self.store.as_ref().ok_or(KeysError::NotConfigured)?;
        let subject = match &request.subject {
            Some(resolve_request::Subject::KeySha256(bytes)) => subject(Some(bytes), None),
            Some(resolve_request::Subject::OauthClientId(id)) => subject(None, Some(id)),
            None => subject(None, None),
        }?;
        let set = store.current();
        let resolution = set.resolve(subject, &request.provider, now_ms());
        self.metrics.key_resolve(resolution.outcome());
        Ok(to_reply(&resolution))
    }
}

/// The subject a request names (`Keys.Resolve`, `Models.List`): a `wdn_` key's SHA-256, 32 bytes,
/// or a non-empty OAuth client id.
pub fn subject<'a>(key_sha256: Option<&'a [u8]>, oauth_client_id: Option<&'a str>) -> Result<Subject<'a>, KeysError> {
    match (key_sha256, oauth_client_id) {
        (Some(bytes), _) => bytes
            .try_into()
            .map(Subject::KeySha256)
            .map_err(|_| KeysError::BadRequest(format!("key_sha256 must be 32 bytes (got {})", bytes.len()))),
        (None, Some(id)) if !id.is_empty() => Ok(Subject::OAuthClient(id)),
        (None, Some(_)) => Err(KeysError::BadRequest("oauth_client_id is empty".into())),
        (None, None) => Err(KeysError::BadRequest("name a subject: key_sha256 or oauth_client_id".into())),
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// The wire form. Unknown carries nothing but the outcome; every other outcome carries the id,
/// profile, mapped providers, limits and expiry; only OK carries a credential.
pub fn to_reply(resolution: &Resolution<'_>) -> pb::ResolveReply {
    let described = |outcome: Outcome, identity: &Identity, expires_at: Option<i64>| pb::ResolveReply {
        outcome: outcome as i32,
        id: identity.id.clone(),
        profile: identity.profile.clone().unwrap_or_default(),
        mapped_providers: identity.provider_names(),
        credential: None,
        expires_at_unix_ms: expires_at.unwrap_or(0),
        limits: identity
            .limits
            .iter()
            .map(|l| pb::KeyLimit { usd: l.usd, window: l.window.as_str().to_string(), models: l.models.clone() })
            .collect(),
        served_by: String::new(),
    };
    match *resolution {
        Resolution::Unknown => pb::ResolveReply { outcome: Outcome::Unknown as i32, ..Default::default() },
        Resolution::Expired { identity, expires_at_unix_ms } => {
            described(Outcome::Expired, identity, Some(expires_at_unix_ms))
        }
        Resolution::NotMapped { identity, expires_at_unix_ms } => {
            described(Outcome::NotMapped, identity, expires_at_unix_ms)
        }
        Resolution::Ok { identity, credential, served_by, expires_at_unix_ms } => pb::ResolveReply {
            credential: credential.map(|c| pb::ProviderCredential {
                kind: match c {
                    ProviderCredential::ApiKey(key) => {
                        Some(pb::provider_credential::Kind::ApiKey(key.expose().to_string()))
                    }
                    ProviderCredential::Sigv4 => Some(pb::provider_credential::Kind::Sigv4(true)),
                    // `resolve` follows `via:` to the serving provider's own credential.
                    ProviderCredential::Via(_) => None,
                },
            }),
            served_by: served_by.unwrap_or_default().to_string(),
            ..described(Outcome::Ok, identity, expires_at_unix_ms)
        },
    }
}

#[tonic::async_trait]
impl Keys for KeysService {
    async fn resolve(
        &self,
        request: tonic::Request<pb::ResolveRequest>,
    ) -> Result<tonic::Response<pb::ResolveReply>, tonic::Status> {
        match self.answer(request.get_ref()) {
            Ok(reply) => Ok(tonic::Response::new(reply)),
            Err(e) => {
                self.metrics.key_resolve("error");
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::set::{KeyLimit, Secret};
    use warden_filter::config::limits::Window;

    fn identity() -> Identity {
        Identity {
            id: "team-a-dev".into(),
            profile: None,
            providers: [("openai".to_string(), ProviderCredential::ApiKey(Secret::new("sk-x".into())))].into(),
            limits: vec![KeyLimit { usd: 5.0, window: Window::CalendarMonth, models: vec!["gpt-5*".into()] }],
        }
    }

    #[test]
    fn an_unknown_key_says_nothing_but_unknown() {
        assert_eq!(to_reply(&Resolution::Unknown), pb::ResolveReply { outcome: 2, ..Default::default() });
    }

    #[test]
    fn a_key_that_is_not_mapped_lists_its_providers_and_carries_no_credential() {
        let id = identity();
        let reply = to_reply(&Resolution::NotMapped { identity: &id, expires_at_unix_ms: Some(42) });
        assert_eq!(reply.outcome, Outcome::NotMapped as i32);
        assert_eq!(reply.mapped_providers, ["openai"]);
        assert_eq!((reply.credential, reply.expires_at_unix_ms, reply.profile.as_str()), (None, 42, ""));
        assert_eq!(
            reply.limits,
            [pb::KeyLimit { usd: 5.0, window: "calendar_month".into(), models: vec!["gpt-5*".into()] }]
        );
    }

    #[test]
    fn sigv4_travels_as_a_flag_and_an_api_key_as_the_key() {
        let id = identity();
        let reply = to_reply(&Resolution::Ok {
            identity: &id,
            credential: Some(&ProviderCredential::Sigv4),
            served_by: None,
            expires_at_unix_ms: None,
        });
        assert_eq!(reply.credential.unwrap().kind, Some(pb::provider_credential::Kind::Sigv4(true)));
        let key = ProviderCredential::ApiKey(Secret::new("sk-x".into()));
        let reply = to_reply(&Resolution::Ok {
            identity: &id,
            credential: Some(&key),
            served_by: Some("bedrock"),
            expires_at_unix_ms: None,
        });
        assert_eq!(reply.credential.unwrap().kind, Some(pb::provider_credential::Kind::ApiKey("sk-x".into())));
        assert_eq!(reply.served_by, "bedrock");
    }
}
