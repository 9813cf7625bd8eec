//! Proxy-wasm shared data as the logic sees it: a key-value store shared by every worker of one
//! Envoy, with compare-and-swap. Cost-limit counters and cached credentials live there; the host
//! implements it over `get_shared_data`/`set_shared_data`, tests over `MemoryStore`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A stored value and the CAS token it was read with.
pub type Versioned = (Vec<u8>, Option<u32>);

/// A shared key-value store with compare-and-swap, as proxy-wasm shared data offers it.
pub trait SharedStore {
    /// The value and its CAS token; `Ok(None)` when the key was never written, an error when the
    /// host could not say (which is not the same as zero).
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError>;
    /// With `cas`, succeeds only if the key still holds the value that token was read with (or does
    /// not exist yet: that is how Envoy behaves); without, overwrites.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another worker wrote the key since it was read: read again and retry.
    #[error("the value changed since it was read")]
    CasMismatch,
    /// The host refused the read or write for another reason; retrying will not help.
    #[error("the shared store failed: {status}")]
    Host { status: String },
}

/// An in-process `SharedStore` with Envoy's shared-data semantics (CAS tokens from a counter that
/// skips 0; a CAS write to a missing key creates it), for tests and native tools.
#[derive(Debug)]
pub struct MemoryStore {
    entries: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    next_cas: Cell<u32>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { entries: RefCell::new(HashMap::new()), next_cas: Cell::new(1) }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys exist (the ring slots bound this per scope id).
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.entries.borrow().keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl SharedStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.entries.borrow().get(key).map(|(value, cas)| (value.clone(), Some(*cas))))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        let mut entries = self.entries.borrow_mut();
        if let (Some(expected), Some((_, current))) = (cas, entries.get(key)) {
            if expected != *current {
                return Err(StoreError::CasMismatch);
            }
        }
        let token = self.next_cas.get();
        self.next_cas.set(token.checked_add(1).unwrap_or(1));
        entries.insert(key.to_owned(), (value.to_vec(), token));
        Ok(())
    }
}
