//! The current key set and its reloading. The keys file (and every `api_key_file` it names, so
//! a rotated provider key is picked up too) is read again every [`POLL_INTERVAL`]; when what it
//! holds changed, it is loaded afresh and swapped in whole. A load that fails keeps the last good
//! set and logs why, once per change; the error names the file and the path inside it, never a
//! key. Reading contents rather than watching mtimes also follows Kubernetes' symlink swaps of
//! mounted secrets and config maps.

use super::file::{self, Context, KeysFileError, Seen};
use super::set::KeySet;
use crate::metrics::Metrics;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// DESIGN §4.6 allows 10 s for a change to take effect; a poll reads a few small files.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub struct KeyStore {
    file: PathBuf,
    context: Context,
    current: RwLock<Arc<KeySet>>,
    /// What the last load attempt read, good or not: polls compare against it.
    seen: Mutex<Seen>,
    metrics: Arc<Metrics>,
}

impl KeyStore {
    /// Loads the keys file once; the sidecar does not start with a keys file it cannot load.
    pub fn open(file: &Path, context: Context, metrics: Arc<Metrics>) -> Result<KeyStore, KeysFileError> {
        let (outcome, seen) = file::load(file, context);
        let set = outcome.inspect_err(|_| metrics.keys_reload(false))?;
        metrics.keys_reload(true);
        metrics.keys_loaded(set.key_count(), set.client_count());
        tracing::info!(file = %file.display(), keys = set.key_count(), oauth_clients = set.client_count(), "keys file loaded");
        Ok(KeyStore {
            file: file.to_path_buf(),
            context,
            current: RwLock::new(Arc::new(set)),
            seen: Mutex::new(seen),
            metrics,
        })
    }

    /// The set in force.
    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            // A writer only swaps an Arc; a poisoned lock still holds a whole set.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads when the files changed since the last attempt. Returns whether a new set is in
    /// force.
    pub fn poll(&self) -> bool {
        let mut seen = match self.seen.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if Seen::observe(&self.file, &seen.secret_paths()) == *seen {
            return false;
        }
        let (outcome, now_seen) = file::load(&self.file, self.context);
        *seen = now_seen;
        match outcome {
            Ok(set) => {
                tracing::info!(
                    file = %self.file.display(),
                    keys = set.key_count(),
                    oauth_clients = set.client_count(),
                    "keys file changed: reloaded"
                );
                self.metrics.keys_reload(true);
                self.metrics.keys_loaded(set.key_count(), set.client_count());
                match self.current.write() {
                    Ok(mut guard) => *guard = Arc::new(set),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "keys file changed but cannot be loaded: keeping the last good set");
                self.metrics.keys_reload(false);
                false
            }
        }
    }

    /// Polls until the process ends.
    pub async fn watch(self: Arc<Self>) {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let store = self.clone();
            // File reads block; keep them off the runtime's workers.
            if tokio::task::spawn_blocking(move || store.poll()).await.is_err() {
                tracing::error!("the keys file poller panicked; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::set::{Resolution, Subject};

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    fn resolves(store: &KeyStore, key: &str) -> bool {
        let d = file::digest(key.as_bytes());
        matches!(store.current().resolve(Subject::KeySha256(&d), "openai", 0), Resolution::Ok { .. })
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_broken_one_keeps_the_last_good_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.yaml");
        let secret = dir.path().join("openai");
        write(&secret, "sk-one\n");
        let entry = |key: &str| {
            format!(
                "  - {{id: {}, key: {key}, providers: {{openai: {{api_key_file: {}}}}}}}\n",
                key.trim_start_matches("wdn_"),
                secret.display()
            )
        };
        write(&path, &format!("keys:\n{}", entry("wdn_a")));
        let metrics = Arc::new(Metrics::default());
        let store = KeyStore::open(&path, Context::default(), metrics.clone()).unwrap();
        assert!(resolves(&store, "wdn_a"));
        assert!(!store.poll(), "nothing changed");

        write(&path, &format!("keys:\n{}{}", entry("wdn_a"), entry("wdn_b")));
        assert!(store.poll());
        assert!(resolves(&store, "wdn_b"));

        write(&path, "keys: [{id: x, key: wdn_c, providers: {}}]\n");
        assert!(!store.poll());
        assert!(resolves(&store, "wdn_a") && resolves(&store, "wdn_b"), "the last good set stays");
        assert!(!store.poll(), "a failure is tried once per change");

        write(&path, &format!("keys:\n{}", entry("wdn_b")));
        assert!(store.poll());
        assert!(!resolves(&store, "wdn_a") && resolves(&store, "wdn_b"));
        let text = metrics.render();
        assert!(text.contains("warden_sidecar_keys_reloads_total 3"), "{text}");
        assert!(text.contains("warden_sidecar_keys_reload_failures_total 1"), "{text}");
    }

    #[test]
    fn a_rotated_provider_key_file_is_picked_up_without_touching_the_keys_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.yaml");
        let secret = dir.path().join("openai");
        write(&secret, "sk-one");
        write(
            &path,
            &format!("keys: [{{id: a, key: wdn_a, providers: {{openai: {{api_key_file: {}}}}}}}]\n", secret.display()),
        );
        let store = KeyStore::open(&path, Context::default(), Arc::new(Metrics::default())).unwrap();
        write(&secret, "sk-two");
        assert!(store.poll());
        let d = file::digest(b"wdn_a");
        let set = store.current();
        let Resolution::Ok { credential: Some(super::super::set::ProviderCredential::ApiKey(key)), .. } =
            set.resolve(Subject::KeySha256(&d), "openai", 0)
        else {
            panic!("not resolved")
        };
        assert_eq!(key.expose(), "sk-two");
    }

    #[test]
    fn a_keys_file_that_cannot_be_loaded_at_start_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.yaml");
        let err = KeyStore::open(&missing, Context::default(), Arc::new(Metrics::default())).err().unwrap();
        assert!(matches!(err, KeysFileError::Read { .. }), "{err}");
    }
}
