//! The virtual key of one request (DESIGN §4.6): resolved from the shared cache or by asking the
//! sidecar, before the body is decided, because the key can choose the profile whose policies
//! apply; its grant then puts the real key in the header the client used.
//!
//! A request without a `wdn_` key whose verified token names an OAuth client resolves that client
//! the same way. A `wdn_` key wins over a client token: it is the more specific credential, and
//! the token still says who the user is. A client the keys file does not list changes nothing:
//! users' tokens name their front end's client too, and such requests carry their own provider
//! credentials, which pass through as before.

use super::{Exchange, Forward};
use crate::config::OnFailure;
use crate::error::WardenError;
use crate::keys::{self, cache, Credential, Grant, Presented, Subject};
use crate::store::SharedStore;
use warden_proto::v1::{self as pb, resolve_reply::Outcome};

#[derive(Debug, Default)]
pub(super) enum KeyState {
    /// No `wdn_` key and no OAuth client: whatever the client sent passes through.
    #[default]
    None,
    /// A key waiting to be resolved.
    Presented(Presented),
    /// The client id of a verified token, waiting to be resolved.
    Client(String),
    Granted(Grant),
}

/// Why the sidecar gave no answer about a key or client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFailure {
    /// Nothing can know a key or client: the sidecar runs without a keys file
    /// (`FAILED_PRECONDITION`), or Envoy has no cluster to reach a sidecar (the call could not even
    /// be made — a deployment without a sidecar).
    NoKeysFile(String),
    /// The sidecar could not be reached or did not answer in time.
    Unavailable(String),
}

/// Whether the request can go on, or must ask the sidecar about its key first.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyStep {
    Ready,
    /// Send this `Keys.Resolve`, then `Exchange::key_resolved`.
    Ask(pb::ResolveRequest),
}

impl KeyState {
    /// The request's `wdn_` key: in its auth headers, or (`query`) the digest of the one its path
    /// carried.
    pub(super) fn from_request(
        get: &dyn Fn(&str) -> Option<String>,
        query: Option<[u8; 32]>,
        provider: crate::providers::Provider,
    ) -> Result<KeyState, WardenError> {
        Ok(keys::presented_in_request(get, query, provider)?.map_or(KeyState::None, KeyState::Presented))
    }

    fn subject(&self) -> Option<Subject<'_>> {
        match self {
            KeyState::Presented(p) => Some(Subject::Key(p)),
            KeyState::Client(id) => Some(Subject::Client(id)),
            KeyState::None | KeyState::Granted(_) => None,
        }
    }

    pub(super) fn grant(&self) -> Option<&Grant> {
        match self {
            KeyState::Granted(g) => Some(g),
            _ => None,
        }
    }

    /// The real key replaces the virtual one; with SigV4 the virtual one is only removed. An
    /// OAuth client's grant is the only credential that goes upstream.
    pub(super) fn edit_headers(&self, forward: &mut Forward) {
        match self {
            KeyState::Granted(grant) => {
                let set = match &grant.credential {
                    Credential::Header { name, value } => {
                        forward.set_headers.push((name, value.clone()));
                        Some(*name)
                    }
                    Credential::Sigv4 { remove } => {
                        forward.remove_headers.push(remove);
                        None
                    }
                };
                if grant.sole_credential {
                    for header in keys::AUTH_HEADERS {
                        if Some(header) != set && !forward.remove_headers.contains(&header) {
                            forward.remove_headers.push(header);
                        }
                    }
                }
            }
            // A key still unresolved never goes upstream (the host resolves before forwarding;
            // this keeps it so if it did not).
            KeyState::Presented(p) => forward.remove_headers.push(p.header),
            // An unresolved client has added nothing to remove.
            KeyState::Client(_) | KeyState::None => {}
        }
    }
}

impl Exchange {
    /// The client id of the request's verified token (`Claims::client_id`), to resolve when the
    /// request presented no `wdn_` key. Only verified claims reach here: no header can name a client.
    pub(super) fn oauth_client(&mut self, client_id: Option<String>) {
        if let (KeyState::None, Some(id)) = (&self.key, client_id) {
            self.key = KeyState::Client(id);
        }
    }

    /// Resolves the request's virtual key or OAuth client from the shared cache when it can;
    /// otherwise says what to ask the sidecar. Without either there is nothing to do.
    pub fn key_step(&mut self, store: &dyn SharedStore, now_ms: u64) -> Result<KeyStep, WardenError> {
        let Some(subject) = self.key.subject() else { return Ok(KeyStep::Ready) };
        let provider = self.route.provider;
        let Some(reply) = cache::read(store, subject, provider, now_ms) else {
            return Ok(KeyStep::Ask(keys::request(subject, provider)));
        };
        // A routed request an optimisation rule moved to a provider the key does not map: back
        // to the one the client asked for, and its credential.
        if self.retreat(&reply) {
            return self.key_step(store, now_ms);
        }
        self.apply_key(&reply, now_ms)?;
        Ok(KeyStep::Ready)
    }

    /// The sidecar's answer about the key: cached for every worker, then applied — or, for a
    /// routed request moved to a provider the key does not map, the next question (`key_step`).
    pub fn key_resolved(
        &mut self,
        reply: &pb::ResolveReply,
        store: &dyn SharedStore,
        now_ms: u64,
    ) -> Result<KeyStep, WardenError> {
        if let Some(subject) = self.key.subject() {
            cache::write(store, subject, self.route.provider, reply, now_ms);
        }
        if self.retreat(reply) {
            return self.key_step(store, now_ms);
        }
        self.apply_key(reply, now_ms).map(|()| KeyStep::Ready)
    }

    /// The sidecar gave no answer. A virtual key cannot go on without its real key (503, whatever
    /// `on_failure` says). A client the sidecar cannot know (it has no keys file) is an unknown
    /// client; one it could not be asked about is refused, unless `sidecar.on_failure: open`, which
    /// lets the request go on with its own credentials only (nothing of the gateway's is granted).
    pub fn key_failed(&mut self, failure: KeyFailure, store: &dyn SharedStore, now_ms: u64) -> Result<(), WardenError> {
        let client = matches!(self.key, KeyState::Client(_));
        match failure {
            KeyFailure::NoKeysFile(_) if client => {
                let unknown = pb::ResolveReply { outcome: Outcome::Unknown as i32, ..pb::ResolveReply::default() };
                self.key_resolved(&unknown, store, now_ms).map(drop)
            }
            KeyFailure::Unavailable(_)
                if client && !self.route.routed && self.config.sidecar.on_failure == OnFailure::Open =>
            {
                self.key = KeyState::None;
                Ok(())
            }
            KeyFailure::NoKeysFile(detail) | KeyFailure::Unavailable(detail) => {
                let cloud = if client { "OAuth client" } else { "virtual key" };
                Err(WardenError::CredentialsUnavailable { cloud, detail })
            }
        }
    }

    fn apply_key(&mut self, reply: &pb::ResolveReply, now_ms: u64) -> Result<(), WardenError> {
        let Some(subject) = self.key.subject() else { return Ok(()) };
        if matches!(subject, Subject::Client(_)) && Outcome::try_from(reply.outcome) == Ok(Outcome::Unknown) {
            self.key = KeyState::None;
            // The model router has no credentials of the client's own to fall back on.
            return if self.route.routed { Err(WardenError::KeyRequired) } else { Ok(()) };
        }
        // The key's id goes in the record even when the key is refused for this route.
        self.key_id = (!reply.id.is_empty()).then(|| reply.id.clone());
        if self.route.routed && self.route.api == Some(crate::view::Api::Models) {
            let mapped = Exchange::mapped_providers(reply, subject)?;
            if !reply.profile.is_empty() {
                if self.route.profile_in_path && reply.profile != self.route.profile {
                    return Err(WardenError::KeyProfileMismatch {
                        key_id: reply.id.clone(),
                        bound: reply.profile.clone(),
                        asked: self.route.profile.clone(),
                    });
                }
                self.route.profile.clone_from(&reply.profile);
            }
            self.facts.router_mapped = Some(mapped);
            return Ok(());
        }
        // A key that serves this provider through another (`via:`): the request goes there, and
        // the grant is for that provider's header and signing.
        self.follow_served_by(reply)?;
        let Some(subject) = self.key.subject() else { return Ok(()) };
        let grant = keys::grant(reply, subject, &self.route, &self.config, now_ms)?;
        if let Some(profile) = &grant.profile {
            self.route.profile.clone_from(profile);
        }
        self.key = KeyState::Granted(grant);
        Ok(())
    }

    /// The virtual key's (or OAuth client's) id, once the sidecar named it.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
}
