//! Stream translations do not depend on where the upstream cut its bytes: every recorded stream,
//! decoded and translated in one piece, gives the client the same bytes as when it arrives cut at
//! random points or one byte at a time — and so does the Responses stream made of the result.

use super::cases::{bytes_of, meta, translate_cut, translator, upstream_bytes, StreamCase, STREAMS};
use crate::providers::openai_responses::via_chat::{Echo, Stream as ResponsesStream};
use crate::stream::Framing;
use crate::testutil::cut_points;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Map;
use std::sync::LazyLock;

/// Each case with its upstream bytes, its one-shot chat bytes and its one-shot Responses bytes.
struct Whole {
    case: &'static StreamCase,
    upstream: Vec<u8>,
    chat: Vec<u8>,
    responses: Vec<u8>,
}

fn responses_translator(case: &StreamCase) -> ResponsesStream {
    ResponsesStream::new(Echo::of(&Map::new()), meta(case.model))
}

static WHOLE: LazyLock<Vec<Whole>> = LazyLock::new(|| {
    STREAMS
        .iter()
        .map(|case| {
            let upstream = upstream_bytes(case);
            let chat = bytes_of(&translate_cut(translator(case).as_mut(), case.framing, &upstream, &[]));
            let responses = bytes_of(&translate_cut(&mut responses_translator(case), Framing::Sse, &chat, &[]));
            Whole { case, upstream, chat, responses }
        })
        .collect()
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn stream_translations_do_not_depend_on_where_the_bytes_were_cut(cuts in vec(any::<Index>(), 0..16)) {
        for whole in WHOLE.iter() {
            let case = whole.case;
            let points = cut_points(&cuts, whole.upstream.len());
            let chat = bytes_of(&translate_cut(translator(case).as_mut(), case.framing, &whole.upstream, &points));
            prop_assert_eq!(&chat, &whole.chat, "{}", case.name);
            let points = cut_points(&cuts, whole.chat.len());
            let responses = bytes_of(&translate_cut(&mut responses_translator(case), Framing::Sse, &chat, &points));
            prop_assert_eq!(&responses, &whole.responses, "{} (Responses)", case.name);
        }
    }
}

#[test]
fn stream_translations_survive_byte_by_byte_delivery() {
    for whole in WHOLE.iter() {
        let case = whole.case;
        let every: Vec<usize> = (0..whole.upstream.len()).collect();
        let chat = bytes_of(&translate_cut(translator(case).as_mut(), case.framing, &whole.upstream, &every));
        assert_eq!(chat, whole.chat, "{}", case.name);
    }
}
