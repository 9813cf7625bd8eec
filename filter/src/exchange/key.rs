//! The virtual key of one request (DESIGN §4.6): resolved from the shared cache or by asking the
//! sidecar, before the body is decided, because the key can choose the profile whose policies
//! apply; its grant then puts the real key in the header the client used.

use super::{Exchange, Forward};
use crate::error::WardenError;
use crate::keys::{self, cache, Credential, Grant, Presented};
use crate::store::SharedStore;
use warden_proto::v1 as pb;

#[derive(Debug, Default)]
pub(super) enum KeyState {
    /// No `wdn_` key in the auth headers: whatever the client sent passes through.
    #[default]
    None,
    /// A key waiting to be resolved.
    Presented(Presented),
    Granted(Grant),
}

/// Whether the request can go on, or must ask the sidecar about its key first.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyStep {
    Ready,
    /// Send this `Keys.Resolve`, then `Exchange::key_resolved`.
    Ask(pb::ResolveRequest),
}

impl KeyState {
    pub(super) fn from_headers(get: &dyn Fn(&str) -> Option<String>) -> Result<KeyState, WardenError> {
        Ok(keys::presented(get)?.map_or(KeyState::None, KeyState::Presented))
    }

    pub(super) fn grant(&self) -> Option<&Grant> {
        match self {
            KeyState::Granted(g) => Some(g),
            _ => None,
        }
    }

    /// The real key replaces the virtual one; with SigV4 the virtual one is only removed.
    pub(super) fn edit_headers(&self, forward: &mut Forward) {
        match self {
            KeyState::Granted(Grant { credential: Credential::Header { name, value }, .. }) => {
                forward.set_headers.push((name, value.clone()));
            }
            KeyState::Granted(Grant { credential: Credential::Sigv4 { remove }, .. }) => {
                forward.remove_headers.push(remove);
            }
            // A key still unresolved never goes upstream (the host resolves before forwarding;
            // this keeps it so if it did not).
            KeyState::Presented(p) => forward.remove_headers.push(p.header),
            KeyState::None => {}
        }
    }
}

impl Exchange {
    /// Resolves the request's virtual key from the shared cache when it can; otherwise says what
    /// to ask the sidecar. Without a virtual key there is nothing to do.
    pub fn key_step(&mut self, store: &dyn SharedStore, now_ms: u64) -> Result<KeyStep, WardenError> {
        let KeyState::Presented(presented) = &self.key else { return Ok(KeyStep::Ready) };
        let provider = self.route.provider;
        match cache::read(store, presented, provider, now_ms) {
            Some(reply) => {
                self.apply_key(&reply, now_ms)?;
                Ok(KeyStep::Ready)
            }
            None => Ok(KeyStep::Ask(keys::request(presented, provider))),
        }
    }

    /// The sidecar's answer about the key: cached for every worker, then applied.
    pub fn key_resolved(
        &mut self,
        reply: &pb::ResolveReply,
        store: &dyn SharedStore,
        now_ms: u64,
    ) -> Result<(), WardenError> {
        if let KeyState::Presented(presented) = &self.key {
            cache::write(store, presented, self.route.provider, reply, now_ms);
        }
        self.apply_key(reply, now_ms)
    }

    fn apply_key(&mut self, reply: &pb::ResolveReply, now_ms: u64) -> Result<(), WardenError> {
        let KeyState::Presented(presented) = &self.key else { return Ok(()) };
        // The key's id goes in the record even when the key is refused for this route.
        self.key_id = (!reply.id.is_empty()).then(|| reply.id.clone());
        let grant = keys::grant(reply, presented, &self.route, &self.config, now_ms)?;
        if let Some(profile) = &grant.profile {
            self.route.profile.clone_from(profile);
        }
        self.key = KeyState::Granted(grant);
        Ok(())
    }

    /// The virtual key's id, once the sidecar named it.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
}
