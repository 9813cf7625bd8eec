//! Property checks the three decoders share: whatever the chunking of the input, a decoder yields
//! the same frames, and those frames plus the leftover rebuild the input.

use super::frames::{decode, decode_bytewise, decode_cut, reassemble};
use crate::stream::{eventstream, json_array, sse, Decoder, Framing, StreamError};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

/// A decoder for `framing` that refuses frames over `limit` bytes.
pub fn limited(framing: Framing, limit: usize) -> Decoder {
    match framing {
        Framing::Sse => Decoder::Sse(sse::Decoder::new(limit)),
        Framing::JsonArray => Decoder::JsonArray(json_array::Decoder::new(limit)),
        Framing::EventStream => Decoder::EventStream(eventstream::Decoder::new(limit)),
    }
}

/// `input`, one frame of `size` bytes, decodes under a limit of `size` and is refused as too large
/// under one byte less, cut at each of `cuts` or not at all.
pub fn frame_limit_is_exact(framing: Framing, input: &[u8], size: usize, cuts: &[usize]) {
    assert!(decode_cut(limited(framing, size), input, &[]).is_ok());
    let limit = size - 1;
    for cut in std::iter::once(None).chain(cuts.iter().map(Some)) {
        let err =
            decode_cut(limited(framing, limit), input, cut.map(std::slice::from_ref).unwrap_or_default()).unwrap_err();
        assert!(matches!(err, StreamError::FrameTooLarge { limit: l, .. } if l == limit), "{err:?}");
    }
}

/// Cut points drawn by proptest, placed inside an input of `len` bytes (either end included).
pub fn cut_points(cuts: &[Index], len: usize) -> Vec<usize> {
    cuts.iter().map(|i| i.index(len + 1)).collect()
}

/// Every fixture decodes the same cut at `cuts` as in one piece, and its frames rebuild it.
pub fn fixtures_survive_cuts(
    framing: Framing,
    fixtures: &[(String, Vec<u8>)],
    cuts: &[Index],
) -> Result<(), TestCaseError> {
    for (path, bytes) in fixtures {
        let points = cut_points(cuts, bytes.len());
        let split = decode_cut(Decoder::new(framing), bytes, &points).unwrap();
        prop_assert_eq!(&split, &decode(framing, bytes), "{}", path);
        prop_assert_eq!(&reassemble(&split.0, &split.1), bytes);
    }
    Ok(())
}

/// `input` decodes the same in one piece, cut at `cuts` and byte by byte, and rebuilds from its
/// frames. With a small cap, the outcome may be an error but never depends on the cuts.
pub fn input_survives_cuts(framing: Framing, input: &[u8], cuts: &[Index], limit: usize) -> Result<(), TestCaseError> {
    let points = cut_points(cuts, input.len());
    let whole = decode_cut(Decoder::new(framing), input, &[]).unwrap();
    prop_assert_eq!(reassemble(&whole.0, &whole.1), input);
    prop_assert_eq!(&decode_cut(Decoder::new(framing), input, &points).unwrap(), &whole);
    prop_assert_eq!(&decode_bytewise(Decoder::new(framing), input).unwrap(), &whole);
    let capped = decode_cut(limited(framing, limit), input, &[]).is_ok();
    prop_assert_eq!(decode_cut(limited(framing, limit), input, &points).is_ok(), capped);
    Ok(())
}

/// Arbitrary bytes cut once either fail to decode or rebuild from their frames.
pub fn random_bytes_rebuild(framing: Framing, input: &[u8], cut: Index) -> Result<(), TestCaseError> {
    let cut = cut.index(input.len() + 1);
    if let Ok((frames, rest)) = decode_cut(Decoder::new(framing), input, &[cut]) {
        prop_assert_eq!(reassemble(&frames, &rest), input);
    }
    Ok(())
}
