//! Cost-limit counters in proxy-wasm shared data: one store per Envoy, shared by all its workers,
//! with the host's CAS tokens guarding concurrent adds (`meter::limits`).

use crate::store::{SharedStore, StoreError, Versioned};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

/// Stateless: the data lives in the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedDataStore;

impl SharedStore for SharedDataStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(value), cas)) => Ok(Some((value, cas))),
            // The key exists with an empty value: its CAS token still guards the next write.
            Ok((None, Some(cas))) => Ok(Some((Vec::new(), Some(cas)))),
            Ok((None, None)) | Err(Status::NotFound) => Ok(None),
            Err(other) => Err(StoreError::Host { status: format!("{other:?}") }),
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        hostcalls::set_shared_data(key, Some(value), cas).map_err(|status| match status {
            Status::CasMismatch => StoreError::CasMismatch,
            other => StoreError::Host { status: format!("{other:?}") },
        })
    }
}
