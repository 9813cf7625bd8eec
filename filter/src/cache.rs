//! Per-VM caches of values computed from texts that come back every turn: an agent resends its
//! whole history with each request, so the same system prompt and tool results are read,
//! tokenized and compressed again and again. A leaf module: the providers' readers, metering and
//! transforms all keep caches here.

use std::hash::BuildHasher;

/// A hash map for the per-VM caches of the request path (token counts of pieces, metric ids): their
/// keys are short, and std's SipHash costs more than the lookup it serves.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// An empty `FastMap`, seeded from std's random source (WASI `random_get`, which the module
/// imports already; foldhash's own random seeding would import the clock): the keys come from the
/// wire, so collisions must not be predictable.
pub fn fast_map<K, V>() -> FastMap<K, V> {
    let seed = std::collections::hash_map::RandomState::new().hash_one(0u64);
    FastMap::with_hasher(foldhash::fast::FixedState::with_seed(seed))
}

/// Values keyed by a text and a tag (what the value is of, e.g. the role a count was made with).
/// A hit compares the whole text: a hash collision, which an attacker controlling a tool result
/// could aim for, must never hand back another text's value. Bounded in entries and in the bytes
/// of text kept (texts come from the wire); flushed whole when full, like the other per-VM caches.
pub struct TextCache<V> {
    map: FastMap<u64, (&'static str, Box<str>, V)>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl<V> TextCache<V> {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        TextCache { map: fast_map(), bytes: 0, max_entries, max_bytes }
    }

    pub fn get(&self, tag: &'static str, text: &str) -> Option<&V> {
        let (kept_tag, kept, value) = self.map.get(&self.key(tag, text))?;
        (*kept_tag == tag && same_bytes(kept.as_bytes(), text.as_bytes())).then_some(value)
    }

    pub fn insert(&mut self, tag: &'static str, text: &str, value: V) {
        if text.len() > self.max_bytes {
            return;
        }
        if self.map.len() >= self.max_entries || self.bytes.saturating_add(text.len()) > self.max_bytes {
            self.map.clear();
            self.bytes = 0;
        }
        let key = self.key(tag, text);
        if let Some((_, replaced, _)) = self.map.insert(key, (tag, text.into(), value)) {
            self.bytes = self.bytes.saturating_sub(replaced.len());
        }
        self.bytes = self.bytes.saturating_add(text.len());
    }

    fn key(&self, tag: &str, text: &str) -> u64 {
        self.map.hasher().hash_one((tag, text))
    }
}

/// `a == b`, eight bytes at a time: the module's `memcmp` (wasi-libc's) compares byte by byte,
/// which on the kilobytes of a tool result costs more than the hash that found it.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_rest) = a.as_chunks::<8>();
    let (b_words, b_rest) = b.as_chunks::<8>();
    a_words.iter().zip(b_words).all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
        && a_rest.iter().zip(b_rest).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn same_bytes_is_equality(a in proptest::collection::vec(any::<u8>(), 0..40), flip in any::<proptest::sample::Index>(), len_change in 0usize..3) {
            prop_assert!(same_bytes(&a, &a.clone()));
            if !a.is_empty() {
                let mut b = a.clone();
                let i = flip.index(b.len());
                b[i] ^= 1;
                prop_assert!(!same_bytes(&a, &b));
            }
            let mut c = a.clone();
            c.extend(std::iter::repeat_n(0u8, len_change));
            prop_assert_eq!(same_bytes(&a, &c), len_change == 0);
        }
    }

    #[test]
    fn a_hit_needs_the_same_tag_and_text_and_the_cache_stays_within_its_bounds() {
        let mut cache = TextCache::new(3, 20);
        cache.insert("user", "hello world", 1);
        assert_eq!(cache.get("user", "hello world"), Some(&1));
        assert_eq!(cache.get("system", "hello world"), None, "another tag");
        assert_eq!(cache.get("user", "hello worle"), None, "another text");
        cache.insert("user", "hello world", 2);
        assert_eq!(cache.get("user", "hello world"), Some(&2), "replaced");
        assert_eq!(cache.bytes, 11, "a replaced text is not counted twice");
        cache.insert("user", "0123456789", 3);
        assert_eq!(cache.get("user", "hello world"), None, "21 bytes > 20: flushed first");
        assert_eq!(cache.get("user", "0123456789"), Some(&3));
        cache.insert("user", &"x".repeat(21), 4);
        assert_eq!(cache.get("user", &"x".repeat(21)), None, "a text over the byte bound is not kept");
        for (n, text) in ["a", "b", "c", "d"].into_iter().enumerate() {
            cache.insert("user", text, n);
        }
        assert!(cache.map.len() <= 3);
        assert_eq!(cache.get("user", "d"), Some(&3));
    }

    /// Every entry the hash points at is checked against the text: forced collisions (one map
    /// key for every text) never return another text's value.
    #[test]
    fn a_colliding_key_never_gives_another_texts_value() {
        let mut cache: TextCache<u32> = TextCache::new(8, 1024);
        cache.insert("user", "first", 1);
        let key = cache.key("user", "first");
        let value = cache.map.remove(&key).unwrap();
        // Put "first"'s entry where "second" will be looked up.
        cache.map.insert(cache.key("user", "second"), value);
        assert_eq!(cache.get("user", "second"), None);
    }
}
