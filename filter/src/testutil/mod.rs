//! What every module's tests share: the recorded fixtures in `tests/fixtures/`, the VCR cassettes
//! among them, and streams cut into frames by the filter's own decoders, so a provider test folds
//! exactly the frames the filter would see.

mod cassette;
mod client;
mod cuts;
mod frames;
mod hold;
mod wire_json;
mod yaml;

mod tests;

pub use cassette::{cassette, cassette_request, cassette_response, cassette_response_text};
pub use client::{contains, count, dump_refusal, BlockOrder};
pub use cuts::{
    cut_points, fixtures_survive_cuts, frame_limit_is_exact, input_survives_cuts, limited, random_bytes_rebuild,
};
pub use frames::{
    data_frame, datas, decode, decode_bytewise, decode_cut, event, fold_forwarding, frames, jsonl_frames, names,
    read_frames, reassemble,
};
pub use hold::{hold_back, hold_back_forwarding, hold_back_within, strip_and_refuse, Held};
pub use wire_json::{arb_wire_frames, arb_wire_json};

use crate::view::{Request, Role};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The recorded provider payloads kept in the repository (`tests/fixtures/`, with their MANIFEST
/// and licences).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub fn path(rel: &str) -> PathBuf {
    fixtures_dir().join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    let path = path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("fixture {rel} is not JSON: {e}"))
}

/// Every fixture whose name ends in `suffix`, in each provider folder and its `extracted/`, as
/// (path relative to the fixtures dir, bytes), sorted by path.
pub fn fixtures_ending(suffix: &str) -> Vec<(String, Vec<u8>)> {
    let root = fixtures_dir();
    let mut found = Vec::new();
    for api in std::fs::read_dir(&root).unwrap() {
        let api = api.unwrap().path();
        if !api.is_dir() {
            continue;
        }
        for dir in [api.clone(), api.join("extracted")] {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() && path.to_string_lossy().ends_with(suffix) {
                    let rel = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                    found.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
    }
    found.sort();
    found
}

/// The role of each message, in order.
pub fn roles(req: &Request) -> Vec<Role> {
    req.messages.iter().map(|m| m.role).collect()
}
