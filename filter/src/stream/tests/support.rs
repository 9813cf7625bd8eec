//! Shared by the decoder tests: fixture loading and decoding with the input cut at given points.
#![allow(dead_code)]

use crate::stream::{eventstream, json_array, sse, Frame, StreamError};
use std::path::PathBuf;

/// `shared/` sits beside the clone (`<clone>/../shared`); a worktree nested one level deeper finds
/// it further up, so the nearest ancestor that has it wins.
pub fn fixtures_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/fixtures"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| manifest.join("../../shared/fixtures"))
}

pub fn fixture(rel: &str) -> Vec<u8> {
    let path = fixtures_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
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

/// The decoder interface shared by the three framings, so one harness drives them all.
pub trait Chunked {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError>;
    fn finish(&mut self, out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError>;
}

macro_rules! chunked {
    ($($t:ty),*) => {$(
        impl Chunked for $t {
            fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
                <$t>::push(self, chunk, out)
            }
            fn finish(&mut self, out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError> {
                <$t>::finish(self, out)
            }
        }
    )*};
}
chunked!(sse::Decoder, json_array::Decoder, eventstream::Decoder);

/// Decodes `input` pushed in pieces cut at `cuts` (any order, out-of-range points ignored).
pub fn decode_cut<D: Chunked>(
    mut decoder: D,
    input: &[u8],
    cuts: &[usize],
) -> Result<(Vec<Frame>, Vec<u8>), StreamError> {
    let mut points: Vec<usize> = cuts.iter().copied().filter(|&c| c <= input.len()).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut frames = Vec::new();
    let mut from = 0;
    for to in points {
        decoder.push(&input[from..to], &mut frames)?;
        from = to;
    }
    let rest = decoder.finish(&mut frames)?;
    Ok((frames, rest))
}

/// Decodes `input` one byte per push.
pub fn decode_bytewise<D: Chunked>(decoder: D, input: &[u8]) -> Result<(Vec<Frame>, Vec<u8>), StreamError> {
    let cuts: Vec<usize> = (0..input.len()).collect();
    decode_cut(decoder, input, &cuts)
}

/// The raw bytes of every frame, then the leftover.
pub fn reassemble(frames: &[Frame], rest: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = frames.iter().flat_map(|f| f.raw.iter().copied()).collect();
    out.extend_from_slice(rest);
    out
}

pub fn names(frames: &[Frame]) -> Vec<Option<&str>> {
    frames.iter().map(|f| f.name.as_deref()).collect()
}

pub fn datas(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| std::str::from_utf8(&f.data).unwrap()).collect()
}
