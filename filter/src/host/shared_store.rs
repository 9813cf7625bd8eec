//! Cost-limit counters in proxy-wasm shared data: one store per Envoy, shared by all its workers,
//! with the host's CAS tokens guarding concurrent adds (`meter::limits`).

use crate::meter::limits::{CounterStore, StoreError};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

/// Stateless: the data lives in the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedDataStore;

impl CounterStore for SharedDataStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, Option<u32>)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(value), cas)) => Some((value, cas)),
            // The key exists with an empty value: its CAS token still guards the next write.
            Ok((None, Some(cas))) => Some((Vec::new(), Some(cas))),
            Ok((None, None)) | Err(_) => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        hostcalls::set_shared_data(key, Some(value), cas).map_err(|status| match status {
            Status::CasMismatch => StoreError::CasMismatch,
            other => StoreError::Host { status: format!("{other:?}") },
        })
    }
}
