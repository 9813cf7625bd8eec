//! Checks on what a client received, shared by the providers' refusal tests.

/// With `WARDEN_REFUSAL_DUMP=<dir>`, writes what a client received to `<dir>/<rel>` for the
/// official SDKs to parse (`tests/clients/offline/`); an empty `rel` writes nothing.
pub fn dump_refusal(rel: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("WARDEN_REFUSAL_DUMP").filter(|_| !rel.is_empty()) {
        let path = std::path::Path::new(&dir).join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
    }
}

/// How often `needle` occurs in `haystack` (overlaps counted).
pub fn count(haystack: &[u8], needle: impl AsRef<[u8]>) -> usize {
    haystack.windows(needle.as_ref().len()).filter(|w| *w == needle.as_ref()).count()
}

pub fn contains(haystack: &[u8], needle: impl AsRef<[u8]>) -> bool {
    count(haystack, needle) > 0
}

/// The order content blocks (Anthropic blocks, Cohere content parts) come in on a valid stream:
/// each starts at the next index once the previous one ended, and deltas and ends address the
/// open one.
#[derive(Debug, Default)]
pub struct BlockOrder {
    open: Option<u64>,
    started: u64,
}

impl BlockOrder {
    pub fn start(&mut self, index: Option<u64>) {
        assert_eq!(self.open, None, "a block starts after the previous one ended");
        assert_eq!(index, Some(self.started), "block indices are contiguous");
        self.started += 1;
        self.open = index;
    }

    pub fn delta(&self, index: Option<u64>) {
        assert_eq!(index, self.open, "a delta addresses the open block");
    }

    pub fn end(&mut self, index: Option<u64>) {
        assert_eq!(index, self.open, "an end closes the open block");
        self.open = None;
    }

    /// The message ends: no block may be left open.
    pub fn closed(&self) {
        assert_eq!(self.open, None, "every block ended before the message ended");
    }
}
