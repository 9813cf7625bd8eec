use crate::stream::{self, Frame, Framing, StreamError};
use crate::testutil::*;
use proptest::prelude::*;

fn decoder() -> stream::Decoder {
    stream::Decoder::new(Framing::JsonArray)
}

fn one_shot(input: &[u8]) -> (Vec<Frame>, Vec<u8>) {
    decode(Framing::JsonArray, input)
}

/// Real JSON-array streams, plus one synthetic stream built from the data payloads of Gemini's
/// `alt=sse` fixture (labelled as such) in the `[{…}\r\n,\r\n{…}\r\n]` shape Gemini uses.
fn array_streams() -> Vec<(String, Vec<u8>)> {
    let mut streams = fixtures_ending(".jsonarray.json");
    assert!(streams.len() >= 3, "expected the llm-gemini JSON-array fixtures");
    let sse_bytes = read("gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse");
    let (frames, _) = decode(Framing::Sse, &sse_bytes);
    let mut synthetic = b"[".to_vec();
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            synthetic.extend_from_slice(b"\r\n,\r\n");
        }
        synthetic.extend_from_slice(&frame.data);
    }
    synthetic.extend_from_slice(b"\r\n]");
    streams.push(("synthetic: gemini alt=sse payloads as a JSON array".to_owned(), synthetic));
    streams
}

#[test]
fn each_top_level_element_is_a_frame_with_separators_in_raw() {
    let input = b"[{\"a\":1}\r\n,\r\n{\"b\":[2,3]}\r\n]";
    let (frames, rest) = one_shot(input);
    assert_eq!(datas(&frames), ["{\"a\":1}", "{\"b\":[2,3]}"]);
    assert_eq!(frames[0].raw, b"[{\"a\":1}");
    assert_eq!(frames[1].raw, b"\r\n,\r\n{\"b\":[2,3]}");
    assert_eq!(rest, b"\r\n]");
    assert!(frames.iter().all(|f| f.name.is_none()));
}

#[test]
fn brackets_commas_and_quotes_inside_strings_do_not_end_an_element() {
    let element = br#"{"t":"] , { [ \" \\","u":"\\\"}"}"#;
    let mut input = b"[".to_vec();
    input.extend_from_slice(element);
    input.extend_from_slice(b",{}]");
    let (frames, rest) = decode_bytewise(decoder(), &input).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].data, element);
    assert_eq!(frames[1].data, b"{}");
    assert_eq!(rest, b"]");
    serde_json::from_slice::<serde_json::Value>(&frames[0].data).unwrap();
}

#[test]
fn strings_and_scalars_can_be_elements() {
    let (frames, rest) = one_shot(b" [\"a]\\\"\", 12 ,true,null,[1,[2]] ]");
    assert_eq!(datas(&frames), ["\"a]\\\"\"", "12", "true", "null", "[1,[2]]"]);
    assert_eq!(rest, b" ]");
}

#[test]
fn a_scalar_waits_for_its_delimiter() {
    let mut d = decoder();
    let mut out = Vec::new();
    d.push(b"[12", &mut out).unwrap();
    assert!(out.is_empty());
    d.push(b"3,", &mut out).unwrap();
    assert_eq!(datas(&out), ["123"]);
}

#[test]
fn an_element_is_yielded_as_soon_as_it_closes() {
    let mut d = decoder();
    let mut out = Vec::new();
    d.push(b"[{\"a\":{}", &mut out).unwrap();
    assert!(out.is_empty());
    d.push(b"}", &mut out).unwrap();
    assert_eq!(datas(&out), ["{\"a\":{}}"]);
}

#[test]
fn a_cut_stream_leaves_its_partial_element() {
    let (frames, rest) = one_shot(b"[{\"a\":1},\n{\"b\":\"x]");
    assert_eq!(frames.len(), 1);
    assert_eq!(rest, b",\n{\"b\":\"x]");
}

#[test]
fn an_empty_array_and_an_empty_body_yield_nothing() {
    assert_eq!(one_shot(b"[ ]\n"), (Vec::new(), b"[ ]\n".to_vec()));
    assert_eq!(one_shot(b""), (Vec::new(), Vec::new()));
}

#[test]
fn input_that_is_not_an_array_is_malformed() {
    for input in [&b"{\"a\":1}"[..], b"  data: {}", b"\xEF\xBB\xBF["] {
        assert!(matches!(decode_cut(decoder(), input, &[]), Err(StreamError::Malformed(_))), "{input:?}");
    }
}

#[test]
fn bytes_after_the_closing_bracket_are_left_over() {
    let (frames, rest) = one_shot(b"[1]\n[2]");
    assert_eq!(datas(&frames), ["1"]);
    assert_eq!(rest, b"]\n[2]");
}

#[test]
fn an_element_larger_than_the_limit_is_rejected_however_it_arrives() {
    frame_limit_is_exact(Framing::JsonArray, b"[{\"k\":\"0123456789\"}]", 19, &[3, 18]);
}

#[test]
fn gemini_fixtures_yield_one_json_object_per_element() {
    for (path, bytes) in array_streams() {
        let (frames, rest) = one_shot(&bytes);
        assert!(!frames.is_empty(), "{path}");
        assert_eq!(reassemble(&frames, &rest), bytes, "{path}");
        assert_eq!(String::from_utf8_lossy(&rest).trim(), "]", "{path}");
        for frame in &frames {
            let value: serde_json::Value = serde_json::from_slice(&frame.data).unwrap();
            assert!(value.get("candidates").is_some() || value.get("usageMetadata").is_some(), "{path}");
        }
        assert_eq!(decode_bytewise(decoder(), &bytes).unwrap(), (frames, rest), "{path}");
    }
}

proptest! {
    #[test]
    fn fixtures_decode_the_same_however_they_are_cut(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24)) {
        fixtures_survive_cuts(Framing::JsonArray, &array_streams(), &cuts)?;
    }

    #[test]
    fn json_like_bytes_decode_the_same_however_they_are_cut(
        body in prop::collection::vec(prop::sample::select(b"[]{},\"\\ \r\n1a".to_vec()), 0..200),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        limit in 1usize..64,
    ) {
        let mut input = b"[".to_vec();
        input.extend_from_slice(&body);
        input_survives_cuts(Framing::JsonArray, &input, &cuts, limit)?;
    }

    #[test]
    fn serialized_json_values_come_back_element_by_element(
        values in prop::collection::vec(any::<(String, i64, bool)>(), 0..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let values: Vec<serde_json::Value> =
            values.into_iter().map(|(s, n, b)| serde_json::json!({"s": s, "n": n, "b": [b, {"s": s}]})).collect();
        let input = serde_json::to_vec_pretty(&values).unwrap();
        let (frames, _) = decode_cut(decoder(), &input, &cut_points(&cuts, input.len())).unwrap();
        let parsed: Vec<serde_json::Value> = frames.iter().map(|f| serde_json::from_slice(&f.data).unwrap()).collect();
        prop_assert_eq!(parsed, values);
    }

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..512), cut in any::<prop::sample::Index>()) {
        random_bytes_rebuild(Framing::JsonArray, &input, cut)?;
    }
}
