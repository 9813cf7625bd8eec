//! cl100k token counts, the way the reference counts them (its §5.2 and §7): a message is
//! `role + text` run through cl100k with special tokens treated as ordinary text, and the count of a
//! request is the sum over its turns plus one pseudo user message holding the tool definitions.
//!
//! The tables are built once per VM (`Tokenizer::new` at configure time: inflate and deserialise,
//! about 0.1 s inside V8), and only when a profile needs counts; after that a `Tokenizer` is a
//! cheap handle. Counting is the costly part of the hot path (~10 MB/s in V8), so callers count
//! only what a feature needs and use `count_request_within` when they only have to compare against
//! a limit.

use std::sync::OnceLock;

use crate::cache::TextCache;
use crate::view::{Request, Role, ToolDecl};
use bpe::byte_pair_encoding::BytePairEncoding;
use regex_automata::dfa::{dense, Automaton};
use regex_automata::{Anchored, Input};

/// The parts of bpe-openai's cl100k tables that counting reads, serialised and deflated by
/// `build.rs` (4-byte little-endian serialised length, then the deflate stream): 3.2 MB where
/// bpe-openai's own compiled-in tables would be 15 MB. After a 20-byte header (a marker and the
/// length of the rest) that tools/passive-data finds in the built module: it moves the table into
/// a passive data segment, which a VM reads (`Passive`, 64 KB at a time) only when it builds the
/// tokenizer, instead of every VM getting a copy of it at start.
static CL100K_BPE_FILE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_bpe.bin"));
const PASSIVE_HEADER: usize = 20;
/// The length of the table after the header.
const CL100K_BPE_LEN: usize = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_bpe.bin")).len() - PASSIVE_HEADER;
/// How much of the table is in the VM's memory at once while the tokenizer is built.
const PASSIVE_CHUNK: usize = 64 * 1024;

/// Copies `len` bytes of the BPE table from `offset` to `dst` (`len` ≤ `PASSIVE_CHUNK`, and
/// `offset + len` ≤ `CL100K_BPE_LEN`: `Passive` never asks for more). In the filter module,
/// tools/passive-data replaces this body by a `memory.init` of the passive segment it moved the
/// table to (and removes the export); untransformed, and in native builds, it copies from the
/// static. Not inlined, so that body is the only place the table is read.
// `no_mangle` counts as unsafe code: it is what makes the export tools/passive-data looks for.
#[cfg_attr(all(target_family = "wasm", target_os = "wasi"), allow(unsafe_code), no_mangle)]
#[inline(never)]
pub extern "C" fn warden_passive_cl100k_bpe(dst: &mut [u8; PASSIVE_CHUNK], offset: u32, len: u32) {
    let (offset, len) = (offset as usize, len as usize);
    let table = CL100K_BPE_FILE.get(PASSIVE_HEADER..).unwrap_or_default();
    if let (Some(from), Some(to)) = (table.get(offset..offset.saturating_add(len)), dst.get_mut(..len)) {
        to.copy_from_slice(from);
    }
}

/// The BPE table as a buffered reader over `warden_passive_cl100k_bpe`: one 64 KB chunk in the
/// VM's memory at a time (linear memory never shrinks, so a whole copy would stay part of every
/// VM's footprint).
struct Passive {
    chunk: Box<[u8; PASSIVE_CHUNK]>,
    /// Where `chunk` starts in the table, how much of it holds table bytes, how much is consumed.
    offset: usize,
    filled: usize,
    consumed: usize,
}

impl Passive {
    fn new() -> Passive {
        Passive { chunk: Box::new([0; PASSIVE_CHUNK]), offset: 0, filled: 0, consumed: 0 }
    }
}

impl std::io::Read for Passive {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = std::io::BufRead::fill_buf(self)?;
        let n = available.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl std::io::BufRead for Passive {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.consumed == self.filled {
            let next = self.offset + self.filled;
            let len = (CL100K_BPE_LEN - next.min(CL100K_BPE_LEN)).min(PASSIVE_CHUNK);
            if len > 0 {
                // Both fit in u32: the table is a few MB.
                warden_passive_cl100k_bpe(&mut self.chunk, next as u32, len as u32);
            }
            (self.offset, self.filled, self.consumed) = (next, len, 0);
        }
        Ok(self.chunk.get(self.consumed..self.filled).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.consumed = (self.consumed + amount).min(self.filled);
    }
}

/// cl100k's pre-tokenisation regex compiled by `build.rs` into a dense DFA (same framing as
/// above; 20 KB deflated, 1.6 MB inflated). Searching it needs only regex-automata's small DFA
/// search code: the regex parser and compilers, which V8 would otherwise compile eagerly at every
/// start whether or not they run, stay out of the module.
static CL100K_SPLIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_split.bin"));

/// The index of the look-ahead pattern among `build.rs`'s `CL100K_PATTERNS` (`\s+\s`): its match
/// ends one character past the piece, and that character is given back to the next piece. This
/// stands in for tiktoken's `\s+(?!\S)`, a look-ahead the DFA cannot express.
const LOOKAHEAD_PATTERN: usize = 1;

/// Built by the first `Tokenizer::new` of the VM; shared by every handle after that.
static CL100K: OnceLock<Cl100k> = OnceLock::new();

/// The cl100k encoder: a pre-tokenising split, then byte-pair encoding of each piece (what
/// bpe-openai's `Tokenizer` does with a regex; the same splits, checked against it in the tests).
struct Cl100k {
    bpe: BytePairEncoding,
    split: dense::DFA<&'static [u32]>,
}

impl Cl100k {
    fn build() -> Result<Cl100k, TokenizerError> {
        let fail = |what: String| TokenizerError::Build(what);
        // Deserialised straight from the inflating reader: the 6.9 MB serialised form is never
        // held whole (linear memory never shrinks, so it would stay part of every VM's footprint).
        // The table's first 4 bytes are its inflated length; the deflate stream follows.
        let mut table = Passive::new();
        std::io::Read::read_exact(&mut table, &mut [0; 4]).map_err(|e| fail(format!("cl100k tables: {e}")))?;
        let reader = std::io::BufReader::with_capacity(64 * 1024, flate2::bufread::DeflateDecoder::new(table));
        let bpe = rmp_serde::from_read(reader).map_err(|e| fail(format!("cl100k tables: {e}")))?;
        // Kept for the life of the VM: the DFA borrows its transition table.
        let (table, len) = inflate(CL100K_SPLIT)?;
        let table: &'static [u32] = table.leak();
        let table = bytemuck::cast_slice::<u32, u8>(table).get(..len).unwrap_or_default();
        let (split, _) = dense::DFA::from_bytes(table).map_err(|e| fail(format!("cl100k split automaton: {e}")))?;
        Ok(Cl100k { bpe, split })
    }

    /// The pieces the pre-tokenising regex cuts `text` into, in order; together they are `text`.
    fn pieces<'t>(&'t self, text: &'t str) -> impl Iterator<Item = &'t str> + 't {
        let mut rest = text;
        std::iter::from_fn(move || {
            let input = Input::new(rest).anchored(Anchored::Yes);
            // Every character matches one of the patterns, and the automaton has no quit bytes,
            // so `None` and errors only happen at the end of the text.
            let found = self.split.try_search_fwd(&input).ok().flatten()?;
            let mut end = found.offset();
            if found.pattern().as_usize() == LOOKAHEAD_PATTERN {
                end = end.saturating_sub(rest.get(..end)?.chars().next_back()?.len_utf8());
            }
            let (piece, after) = (rest.get(..end)?, rest.get(end..)?);
            if piece.is_empty() {
                return None;
            }
            rest = after;
            Some(piece)
        })
    }

    fn count(&self, text: &str) -> usize {
        self.pieces(text).map(|piece| self.piece_count(piece.as_bytes())).sum()
    }

    fn count_till_limit(&self, text: &str, limit: usize) -> Option<usize> {
        self.pieces(text).try_fold(0usize, |sum, piece| {
            let count = self.piece_count(piece.as_bytes());
            (count <= limit.checked_sub(sum)?).then(|| sum.saturating_add(count))
        })
    }

    /// Tokens in one piece. Short pieces come back again and again (JSON keys and punctuation,
    /// common words), and each count starts a new encoder (two allocations), so this VM's
    /// recent short pieces keep their counts.
    fn piece_count(&self, piece: &[u8]) -> usize {
        let Some(key) = PieceKey::new(piece) else {
            return self.bpe.count(piece);
        };
        KNOWN_PIECES.with(|known| {
            let Ok(mut known) = known.try_borrow_mut() else { return self.bpe.count(piece) };
            if let Some(count) = known.get(&key) {
                return *count;
            }
            let count = self.bpe.count(piece);
            if known.len() >= KNOWN_PIECES_MAX {
                // Pieces come from the wire: the table is bounded, and starts over when full.
                known.clear();
            }
            known.insert(key, count);
            count
        })
    }
}

/// Longest piece whose count is kept, and most pieces kept (about 100 KB at most).
const KNOWN_PIECE_BYTES: usize = 24;
const KNOWN_PIECES_MAX: usize = 2048;

/// A short piece as a map key held in place: no allocation to keep it, and it compares as three
/// words rather than through the module's byte-by-byte `memcmp`.
#[derive(PartialEq, Eq, Hash)]
struct PieceKey {
    words: [u64; 3],
    len: u8,
}

impl PieceKey {
    fn new(piece: &[u8]) -> Option<PieceKey> {
        let mut bytes = [0u8; KNOWN_PIECE_BYTES];
        bytes.get_mut(..piece.len())?.copy_from_slice(piece);
        let (words, _) = bytes.as_chunks::<8>();
        let word = |i: usize| words.get(i).map_or(0, |w| u64::from_le_bytes(*w));
        Some(PieceKey { words: [word(0), word(1), word(2)], len: u8::try_from(piece.len()).ok()? })
    }
}

thread_local! {
    static KNOWN_PIECES: std::cell::RefCell<crate::cache::FastMap<PieceKey, usize>> =
        std::cell::RefCell::new(crate::cache::fast_map());
    /// Counts of whole messages (agents resend their history every turn), from the first
    /// `KNOWN_MESSAGE_BYTES` on; about 512 KiB of text at most.
    static KNOWN_MESSAGES: std::cell::RefCell<TextCache<MessageCount>> =
        std::cell::RefCell::new(TextCache::new(1024, 512 << 10));
}

/// Shortest message whose count is kept: below it the piece counts do the work.
const KNOWN_MESSAGE_BYTES: usize = 128;

/// What a count of one message found: its tokens, or only that they are more than a limit (a
/// bounded count stopped there).
#[derive(Clone, Copy)]
enum MessageCount {
    Exact(u64),
    MoreThan(u64),
}

/// Inflates one of `build.rs`'s tables into words (so a DFA can use it in place: it needs 4-byte
/// alignment) and gives its length in bytes. The buffer is allocated once at its final size:
/// growing by doubling would leave a larger high-water mark in linear memory.
fn inflate(framed: &[u8]) -> Result<(Vec<u32>, usize), TokenizerError> {
    let fail = |what: String| TokenizerError::Build(what);
    let (len, deflated) = framed.split_first_chunk::<4>().ok_or_else(|| fail("table too short".into()))?;
    let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| fail("table too long".into()))?;
    let mut words = vec![0u32; len.div_ceil(4)];
    let bytes = bytemuck::cast_slice_mut::<u32, u8>(&mut words);
    let inflated = miniz_oxide::inflate::decompress_slice_iter_to_slice(bytes, std::iter::once(deflated), false, true)
        .map_err(|status| fail(format!("inflating a table: {status:?}")))?;
    if inflated != len {
        return Err(fail(format!("table inflated to {inflated} bytes, expected {len}")));
    }
    Ok((words, len))
}

/// A cl100k tokenizer with tiktoken's counts (checked on every fixture in the tests), using
/// bpe-openai's linear-time encoder; the tables are built once per VM, so copies of this handle
/// share them.
#[derive(Clone, Copy)]
pub struct Tokenizer {
    bpe: &'static Cl100k,
}

/// Building the tokenizer failed. The tables are compiled in and checked by `build.rs`, so this is
/// not expected in practice; it exists so the host can report a failure at configure time instead
/// of assuming success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    #[error("the cl100k tokenizer could not be built: {0}")]
    Build(String),
}

/// Every handle points at the same per-VM tables.
impl PartialEq for Tokenizer {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokenizer(cl100k_base)")
    }
}

impl Tokenizer {
    /// Builds (first call in the VM) or reuses the cl100k tables. Call it from `on_configure`,
    /// and only when a profile needs counts: the first build takes about 0.1 s in V8 and about
    /// 20 MB of the VM's memory.
    pub fn new() -> Result<Tokenizer, TokenizerError> {
        let bpe = match CL100K.get() {
            Some(bpe) => bpe,
            None => {
                let built = Cl100k::build()?;
                // Only `Err` when another thread set it first; either value is the same tables.
                let _ = CL100K.set(built);
                CL100K.get().ok_or_else(|| TokenizerError::Build("tables not kept".to_string()))?
            }
        };
        // A probe runs the regex and the encoder once now, not on the first request.
        if bpe.count("probe") == 0 {
            return Err(TokenizerError::Build("probe text counted as zero tokens".to_string()));
        }
        Ok(Tokenizer { bpe })
    }

    /// Tokens in `text`, special-token markers (`<|endoftext|>`) counted as ordinary text.
    pub fn count(&self, text: &str) -> usize {
        self.bpe.count(text)
    }

    /// Tokens in one message as the reference counts it: `role` and `text` run together
    /// (`"user" + text`), so the role's token is included.
    pub fn count_message(&self, role: &'static str, text: &str) -> u64 {
        match self.known_message(role, text) {
            Some(MessageCount::Exact(count)) => count,
            _ => {
                let count = to_u64(self.count(&joined(role, text)));
                self.keep_message(role, text, MessageCount::Exact(count));
                count
            }
        }
    }

    /// Like `count_message`, but gives up once the count passes `limit`: `None` means "more than
    /// `limit`". Cheaper than a full count when the text is much longer than the limit.
    pub fn count_message_within(&self, role: &'static str, text: &str, limit: u64) -> Option<u64> {
        match self.known_message(role, text) {
            Some(MessageCount::Exact(count)) => return (count <= limit).then_some(count),
            Some(MessageCount::MoreThan(known)) if limit <= known => return None,
            _ => {}
        }
        let within = usize::try_from(limit).unwrap_or(usize::MAX);
        let count = self.bpe.count_till_limit(&joined(role, text), within).map(to_u64);
        self.keep_message(role, text, count.map_or(MessageCount::MoreThan(limit), MessageCount::Exact));
        count
    }

    fn known_message(&self, role: &'static str, text: &str) -> Option<MessageCount> {
        if text.len() < KNOWN_MESSAGE_BYTES {
            return None;
        }
        KNOWN_MESSAGES.with(|known| known.try_borrow().ok()?.get(role, text).copied())
    }

    fn keep_message(&self, role: &'static str, text: &str, count: MessageCount) {
        if text.len() >= KNOWN_MESSAGE_BYTES {
            KNOWN_MESSAGES.with(|known| {
                if let Ok(mut known) = known.try_borrow_mut() {
                    known.insert(role, text, count);
                }
            });
        }
    }
}

/// The role names the reference prefixes (the provider's own; Gemini's `model` becomes `assistant`).
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Tokens in a request for the model-optimisation `max_tokens` condition (DESIGN §5.4): every turn
/// (`role + text`), every system prompt kept outside the turns (`"system" + text`; the reference
/// leaves these out, DESIGN counts them) and the tool definitions as one user message.
pub fn count_request(tok: &Tokenizer, req: &Request) -> u64 {
    parts(req).fold(0u64, |sum, (role, text)| sum.saturating_add(tok.count_message(role, &text)))
}

/// `Some(count_request(..))` when it is at most `limit`, otherwise `None`, stopping as soon as the
/// limit is passed: long conversations against a small limit cost only the first `limit` tokens.
pub fn count_request_within(tok: &Tokenizer, req: &Request, limit: u64) -> Option<u64> {
    let mut sum = 0u64;
    for (role, text) in parts(req) {
        let left = limit.checked_sub(sum)?;
        sum = sum.saturating_add(tok.count_message_within(role, &text, left)?);
    }
    Some(sum)
}

/// The text the reference builds for tool definitions: per tool `name`, then ` description` when
/// non-empty, then ` <parameters as JSON>` when present and not null; tools joined by one space.
pub fn tool_definitions_text(tools: &[ToolDecl]) -> String {
    let mut text = String::new();
    for (i, tool) in tools.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&tool.name);
        if let Some(description) = tool.description.as_deref().filter(|d| !d.is_empty()) {
            text.push(' ');
            text.push_str(description);
        }
        if let Some(parameters) = tool.parameters.as_ref().filter(|p| !p.is_null()) {
            text.push(' ');
            text.push_str(parameters.as_str());
        }
    }
    text
}

/// Every (role, text) the request count is made of, in order.
fn parts(req: &Request) -> impl Iterator<Item = (&'static str, std::borrow::Cow<'_, str>)> {
    let system = req.system.iter().map(|text| ("system", text.as_str().into()));
    let turns = req.messages.iter().map(|m| (role_name(m.role), m.text.as_str().into()));
    // Built only when a count gets this far (`count_request_within` often stops before).
    let tools =
        std::iter::once(&req.tools).filter(|t| !t.is_empty()).map(|t| ("user", tool_definitions_text(t).into()));
    system.chain(turns).chain(tools)
}

fn joined(role: &str, text: &str) -> String {
    let mut s = String::with_capacity(role.len().saturating_add(text.len()));
    s.push_str(role);
    s.push_str(text);
    s
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
