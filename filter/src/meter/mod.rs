//! Token usage, prices and cost.

pub mod agents;
pub mod cache;
pub mod limits;
pub mod metrics;
pub mod prices;
pub mod record;
pub mod tokens;
pub mod trace;

/// A hash map for the per-VM caches of the request path (token counts of pieces, metric ids): their
/// keys are short, and std's SipHash costs more than the lookup it serves.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// An empty `FastMap`, seeded from std's random source (WASI `random_get`, which the module
/// imports already; foldhash's own random seeding would import the clock): the keys come from the
/// wire, so collisions must not be predictable.
pub fn fast_map<K, V>() -> FastMap<K, V> {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new().hash_one(0u64);
    FastMap::with_hasher(foldhash::fast::FixedState::with_seed(seed))
}
