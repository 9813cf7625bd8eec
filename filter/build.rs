//! Prepares the cl100k tables `meter::tokens` counts with, so that the module carries neither
//! bpe-openai's compiled-in tables (15 MB in the data section, copied into every wasm VM whether
//! or not a profile counts tokens) nor a regex compiler (V8 in Envoy compiles every function of
//! the module with its optimising compiler at start, run or not).
//!
//! 1. `cl100k_bpe.bin`: counting (`count`, `count_till_limit`, and `encode`, which share the
//!    backtracking encoder) reads only some of `bpe::BytePairEncoding`'s fields: the token bytes and
//!    starts, the split table and pair lookup, the leftmost-longest automaton and the next-prefix
//!    table. The two overlapping automata (used only by the table, appendable, prependable and
//!    interval encoders) and the bytes-to-token hash map (used only while building a dictionary)
//!    are more than half of the bytes. bpe-openai's cl100k tables are serialised, those three
//!    fields replaced by empty stand-ins, the result checked to encode like the original.
//! 2. `cl100k_split.bin`: cl100k's pre-tokenising regex compiled into a dense DFA (anchored,
//!    leftmost-first, one pattern id per alternative, little-endian).
//!
//! Each file is a 4-byte little-endian length of the table, then its raw deflate stream;
//! `Tokenizer::new` inflates both at configure time, only when a profile needs counts.
//! `cl100k_bpe.bin` comes after a 20-byte header (a marker and the length of what follows) that
//! tools/passive-data finds in the built module to move the table into a passive data segment.

use std::error::Error;
use std::path::PathBuf;

use bpe::byte_pair_encoding::BytePairEncoding;
use regex_automata::dfa::{dense, StartKind};
use rmpv::Value;

/// cl100k's pre-tokenisation: tiktoken's `cl100k_base` pattern, whose last alternative
/// `\s+(?!\S)` needs a negative look-ahead no DFA has. As bpe-openai does, it becomes two more
/// patterns: `\s+\s` (pattern 1, `LOOKAHEAD_PATTERN` in `meter/tokens.rs`), whose last character
/// the splitter gives back to the next piece, and `\s+` for what is left. Leftmost-first: the
/// first pattern that matches at a position wins, as in bpe-openai's `Regex::new_many`.
const CL100K_PATTERNS: [&str; 3] = [
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+$",
    r"\s+\s",
    r"\s+",
];

/// `BytePairEncoding`'s fields in serialisation order (bpe 0.2.3, pinned in Cargo.toml), with the
/// shape each one must have and whether counting reads it.
const FIELDS: [(&str, Shape, Keep); 10] = [
    ("all_tokens", Shape::Array, Keep::Yes),
    ("token_starts", Shape::Array, Keep::Yes),
    ("bytes_hash_to_token", Shape::Map, Keep::EmptyMap),
    ("split_table", Shape::Array, Keep::Yes),
    ("pair_lookup", Shape::Map, Keep::Yes),
    ("longest_searcher", Shape::Binary, Keep::Yes),
    ("overlapping_searcher", Shape::Binary, Keep::TinyAutomaton),
    ("overlapping_searcher_rev", Shape::Binary, Keep::TinyAutomaton),
    ("next_prefix_match", Shape::Array, Keep::Yes),
    ("hash_factor", Shape::Integer, Keep::Yes),
];

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Array,
    Map,
    Binary,
    Integer,
}

#[derive(Clone, Copy)]
enum Keep {
    Yes,
    EmptyMap,
    /// An automaton is deserialised without validation (`deserialize_unchecked`), so the stand-in
    /// must be a real serialised automaton: one over a single pattern that never occurs in UTF-8.
    TinyAutomaton,
}

/// Deflate level 10 (miniz_oxide's best): this runs only when the build script changes.
const DEFLATE_LEVEL: u8 = 10;

/// `warden_passive_data::MARKER` (tools/passive-data), which looks for exactly these bytes.
const PASSIVE_MARKER: &[u8; 16] = b"warden-passive\0\x01";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);

    let full = &bpe_openai::cl100k_base().bpe;
    let serialized = rmp_serde::to_vec(full)?;
    let mut value = rmpv::decode::read_value(&mut serialized.as_slice())?;
    prune(&mut value)?;
    let mut pruned = Vec::new();
    rmpv::encode::write_value(&mut pruned, &value)?;
    check_encodes_like(full, &rmp_serde::from_slice(&pruned)?)?;
    // Marked for tools/passive-data, which moves the table into a passive data segment of the
    // module (copied into a VM's memory only when that VM builds the tokenizer).
    let table = framed_deflate(&pruned)?;
    let mut marked = PASSIVE_MARKER.to_vec();
    marked.extend(u32::try_from(table.len())?.to_le_bytes());
    marked.extend(table);
    std::fs::write(out.join("cl100k_bpe.bin"), marked)?;

    let split = dense::Builder::new()
        .configure(dense::Config::new().start_kind(StartKind::Anchored))
        .build_many(&CL100K_PATTERNS)?;
    let (bytes, pad) = split.to_bytes_little_endian();
    let bytes = bytes.get(pad..).ok_or("serialised DFA shorter than its padding")?;
    std::fs::write(out.join("cl100k_split.bin"), framed_deflate(bytes)?)?;
    Ok(())
}

fn framed_deflate(table: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut framed = u32::try_from(table.len())?.to_le_bytes().to_vec();
    framed.extend(miniz_oxide::deflate::compress_to_vec(table, DEFLATE_LEVEL));
    Ok(framed)
}

fn prune(value: &mut Value) -> Result<(), Box<dyn Error>> {
    let Value::Array(fields) = value else {
        return Err("bpe's BytePairEncoding no longer serialises as an array: check FIELDS".into());
    };
    if fields.len() != FIELDS.len() {
        return Err(format!("BytePairEncoding has {} fields, FIELDS lists {}", fields.len(), FIELDS.len()).into());
    }
    let tiny = aneubeck_daachorse::DoubleArrayAhoCorasick::<u32>::new([[0xff_u8, 0xff]])
        .map_err(|e| format!("building the stand-in automaton: {e}"))?
        .serialize();
    for (field, (name, shape, keep)) in fields.iter_mut().zip(FIELDS) {
        let actual = match field {
            Value::Array(_) => Some(Shape::Array),
            Value::Map(_) => Some(Shape::Map),
            Value::Binary(_) => Some(Shape::Binary),
            Value::Integer(_) => Some(Shape::Integer),
            _ => None,
        };
        if actual != Some(shape) {
            return Err(format!("BytePairEncoding field {name} changed shape: check FIELDS").into());
        }
        match keep {
            Keep::Yes => {}
            Keep::EmptyMap => *field = Value::Map(Vec::new()),
            Keep::TinyAutomaton => *field = Value::Binary(tiny.clone()),
        }
    }
    Ok(())
}

/// Every 7th token's bytes, and runs of tokens glued together, must encode to the same tokens with
/// the pruned tables as with the full ones. (The unit tests compare whole fixtures as well.)
fn check_encodes_like(full: &BytePairEncoding, pruned: &BytePairEncoding) -> Result<(), Box<dyn Error>> {
    let ids = u32::try_from(full.num_tokens())?;
    let mut glued = Vec::new();
    for id in (0..ids).step_by(7) {
        let bytes = full.token_bytes(id);
        glued.extend_from_slice(bytes);
        if full.encode_via_backtracking(bytes) != pruned.encode_via_backtracking(bytes) {
            return Err(format!("pruned cl100k tables encode token {id} differently").into());
        }
        if glued.len() > 200 {
            if full.encode_via_backtracking(&glued) != pruned.encode_via_backtracking(&glued) {
                return Err(format!("pruned cl100k tables encode a run ending at token {id} differently").into());
            }
            glued.clear();
        }
    }
    Ok(())
}
