use super::{decode_message, encode, encode_event, Decoder, HeaderValue, Message};
use crate::stream::{self, Frame, Framing, StreamError};
use crate::testutil::*;
use proptest::prelude::*;

fn decoder() -> stream::Decoder {
    stream::Decoder::new(Framing::EventStream)
}

fn one_shot(input: &[u8]) -> (Vec<Frame>, Vec<u8>) {
    decode(Framing::EventStream, input)
}

fn bedrock_streams() -> Vec<(String, Vec<u8>)> {
    let streams = fixtures_ending(".eventstream.bin");
    assert!(streams.len() >= 6, "expected 3 top-level and 3 extracted bedrock streams");
    assert!(streams.iter().filter(|(p, _)| p.contains("/extracted/")).count() >= 3);
    streams
}

fn header(name: &str, value: &str) -> (String, HeaderValue) {
    (name.to_owned(), HeaderValue::String(value.to_owned()))
}

fn exception(kind: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            header(":exception-type", kind),
            header(":content-type", "application/json"),
            header(":message-type", "exception"),
        ],
        payload,
    )
}

#[test]
fn fixture_frames_pass_both_crcs_and_carry_event_types() {
    let (frames, rest) = one_shot(&read("bedrock/agw__bedrock-basic.eventstream.bin"));
    assert!(rest.is_empty());
    assert_eq!(frames.first().unwrap().name.as_deref(), Some("messageStart"));
    assert_eq!(frames.last().unwrap().name.as_deref(), Some("metadata"));
    assert!(names(&frames).contains(&Some("contentBlockDelta")));
    assert!(names(&frames).contains(&Some("messageStop")));
    let usage: serde_json::Value = serde_json::from_slice(&frames.last().unwrap().data).unwrap();
    assert!(usage["usage"]["inputTokens"].is_u64());
}

#[test]
fn every_fixture_frame_re_encodes_to_the_same_bytes() {
    for (path, bytes) in bedrock_streams() {
        let (frames, rest) = one_shot(&bytes);
        assert!(rest.is_empty(), "{path}");
        assert_eq!(reassemble(&frames, &rest), bytes, "{path}");
        for frame in &frames {
            let message = decode_message(&frame.raw).unwrap();
            assert_eq!(message.payload, frame.data);
            assert_eq!(encode(&message.headers, &message.payload), frame.raw, "{path}");
            let event_headers = [
                header(":event-type", message.header_str(":event-type").unwrap_or_default()),
                header(":content-type", "application/json"),
                header(":message-type", "event"),
            ];
            // Bedrock's event frames have exactly the headers encode_event writes, in its order.
            assert_eq!(message.headers, event_headers, "{path}");
            assert_eq!(encode_event(frame.name.as_deref().unwrap(), &frame.data), frame.raw, "{path}");
        }
    }
}

#[test]
fn a_payload_crc_mismatch_is_an_error() {
    let mut bytes = encode_event("messageStop", b"{\"stopReason\":\"end_turn\"}");
    let at = bytes.len() - 6;
    bytes[at] ^= 1;
    let err = decode_cut(decoder(), &bytes, &[]).unwrap_err();
    assert!(matches!(err, StreamError::Crc { which: "message", .. }), "{err:?}");
    assert!(matches!(decode_message(&bytes), Err(StreamError::Crc { which: "message", .. })));
}

#[test]
fn a_prelude_crc_mismatch_is_an_error_before_the_length_is_trusted() {
    let mut bytes = encode_event("messageStop", b"{}");
    bytes[1] = 0x7f; // claims a 2 GB message
    let mut d = decoder();
    let err = d.push(&bytes[..12], &mut Vec::new()).unwrap_err();
    assert!(matches!(err, StreamError::Crc { which: "prelude", .. }), "{err:?}");
}

#[test]
fn a_truncated_frame_is_left_over_at_finish() {
    let frame = encode_event("messageStart", b"{\"role\":\"assistant\"}");
    let mut input = frame.clone();
    input.extend_from_slice(&frame[..frame.len() - 3]);
    let (frames, rest) = decode_bytewise(decoder(), &input).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(rest, &frame[..frame.len() - 3]);
    assert!(matches!(decode_message(&rest), Err(StreamError::Malformed(_))));
}

#[test]
fn a_frame_larger_than_the_limit_is_rejected_from_its_prelude() {
    let frame = encode_event("contentBlockDelta", &[b'x'; 100]);
    let limit = frame.len() - 1;
    let mut d = Decoder::new(limit);
    let err = d.push(&frame[..12], &mut Vec::new()).unwrap_err();
    assert_eq!(err, StreamError::FrameTooLarge { actual: frame.len(), limit });
    assert!(decode_cut(limited(Framing::EventStream, frame.len()), &frame, &[]).is_ok());
}

#[test]
fn a_length_below_the_framing_overhead_is_malformed() {
    let mut bytes = 15u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&0u32.to_be_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes.extend_from_slice(&[0; 4]);
    assert!(matches!(decode_cut(decoder(), &bytes, &[]), Err(StreamError::Malformed(_))));
}

/// Makes the trailing CRC match the edited message again, so only the edit is wrong.
fn fix_message_crc(bytes: &mut [u8]) {
    let end = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn headers_longer_than_the_message_are_malformed() {
    let mut bytes = encode_event("x", b"");
    bytes[4..8].copy_from_slice(&1000u32.to_be_bytes());
    let prelude_crc = crc32fast::hash(&bytes[..8]);
    bytes[8..12].copy_from_slice(&prelude_crc.to_be_bytes());
    fix_message_crc(&mut bytes);
    assert!(matches!(decode_message(&bytes), Err(StreamError::Malformed(_))));
}

#[test]
fn decode_message_wants_exactly_one_message() {
    let mut bytes = encode_event("x", b"{}");
    bytes.push(0);
    assert!(matches!(decode_message(&bytes), Err(StreamError::Malformed(_))));
}

#[test]
fn exceptions_and_errors_are_named_by_their_type_and_code() {
    let mut input = exception("throttlingException", b"{\"message\":\"slow down\"}");
    input.extend(encode(&[header(":error-code", "InternalFailure"), header(":message-type", "error")], b""));
    let (frames, _) = one_shot(&input);
    assert_eq!(names(&frames), [Some("throttlingException"), Some("InternalFailure")]);
    assert_eq!(frames[0].data, b"{\"message\":\"slow down\"}");
}

#[test]
fn every_header_type_round_trips() {
    let headers = vec![
        ("t".to_owned(), HeaderValue::Bool(true)),
        ("f".to_owned(), HeaderValue::Bool(false)),
        ("b".to_owned(), HeaderValue::Byte(-3)),
        ("s".to_owned(), HeaderValue::Short(-300)),
        ("i".to_owned(), HeaderValue::Int(70_000)),
        ("l".to_owned(), HeaderValue::Long(-5_000_000_000)),
        ("y".to_owned(), HeaderValue::Bytes(vec![0, 255, 7])),
        ("str".to_owned(), HeaderValue::String("héllo".to_owned())),
        ("ts".to_owned(), HeaderValue::Timestamp(1_700_000_000_000)),
        ("u".to_owned(), HeaderValue::Uuid([9; 16])),
    ];
    let message = Message { headers, payload: b"payload".to_vec() };
    assert_eq!(decode_message(&encode(&message.headers, &message.payload)).unwrap(), message);
}

#[test]
fn an_unknown_header_type_is_malformed() {
    let mut bytes = encode(&[("x".to_owned(), HeaderValue::Bool(true))], b"");
    bytes[14] = 10;
    fix_message_crc(&mut bytes);
    assert!(matches!(decode_message(&bytes), Err(StreamError::Malformed(_))));
}

#[test]
fn over_long_header_values_are_cut_to_fit_and_stay_decodable() {
    let long = "é".repeat(40_000);
    let bytes = encode(&[("é".repeat(200), HeaderValue::String(long))], b"");
    let message = decode_message(&bytes).unwrap();
    let (name, value) = &message.headers[0];
    assert_eq!(name.len(), 254);
    assert!(matches!(value, HeaderValue::String(s) if s.len() == 65_534));
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        any::<bool>().prop_map(HeaderValue::Bool),
        any::<i8>().prop_map(HeaderValue::Byte),
        any::<i16>().prop_map(HeaderValue::Short),
        any::<i32>().prop_map(HeaderValue::Int),
        any::<i64>().prop_map(HeaderValue::Long),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(HeaderValue::Bytes),
        ".{0,20}".prop_map(HeaderValue::String),
        any::<i64>().prop_map(HeaderValue::Timestamp),
        any::<[u8; 16]>().prop_map(HeaderValue::Uuid),
    ]
}

proptest! {
    #[test]
    fn fixtures_decode_the_same_however_they_are_cut(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24)) {
        fixtures_survive_cuts(Framing::EventStream, &bedrock_streams(), &cuts)?;
    }

    #[test]
    fn encoded_messages_decode_the_same_however_they_are_cut(
        messages in prop::collection::vec(
            // Header names are unique within a message: a repeated name is malformed.
            (
                prop::collection::btree_map("[:a-z-]{0,12}", header_value(), 0..5)
                    .prop_map(|h| h.into_iter().collect::<Vec<(String, HeaderValue)>>()),
                prop::collection::vec(any::<u8>(), 0..64),
            ),
            0..6,
        ),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
    ) {
        let input: Vec<u8> = messages.iter().flat_map(|(h, p)| encode(h, p)).collect();
        let (frames, rest) = decode_cut(decoder(), &input, &cut_points(&cuts, input.len())).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(frames.len(), messages.len());
        for (frame, (headers, payload)) in frames.iter().zip(&messages) {
            prop_assert_eq!(&frame.data, payload);
            let message = decode_message(&frame.raw).unwrap();
            prop_assert_eq!(&message.headers, headers);
        }
    }

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..512), cut in any::<prop::sample::Index>()) {
        random_bytes_rebuild(Framing::EventStream, &input, cut)?;
        let _ = decode_message(&input);
    }

    #[test]
    fn corrupting_any_byte_of_a_fixture_frame_is_detected(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let bytes = read("bedrock/agw__bedrock-basic.eventstream.bin");
        let (frames, _) = one_shot(&bytes);
        let mut raw = frames[0].raw.clone();
        let at = index.index(raw.len());
        raw[at] ^= flip;
        prop_assert!(decode_message(&raw).is_err());
    }
}

#[test]
fn a_message_that_repeats_a_header_name_is_malformed() {
    let raw = encode(
        &[
            (":event-type".to_string(), HeaderValue::String("messageStart".into())),
            (":event-type".to_string(), HeaderValue::String("contentBlockStart".into())),
        ],
        b"{}",
    );
    assert_eq!(decode_message(&raw).err(), Some(StreamError::Malformed("eventstream message repeats a header name")));
}
