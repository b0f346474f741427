//! RFC 6455 §5.4: fragmentation, on the receiving side (assembled and streaming delivery,
//! interleaved control frames, sequence errors, limits) and on the sending side
//! (`send_fragment`, `Config::outgoing_fragment_size`).
//!
//! Expected bytes come from the RFC text or from the independent encoder/decoder in
//! `tests/common`, never from the crate's own codec.

mod common;
use common::*;
use wsmachine::{Config, Delivery, MessageKind, OwnedEvent, ProtocolError, SendError};

/// Concatenates frames.
fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

/// The fragments among `events` as `(kind, data, fin)`, asserting there is nothing else.
fn fragments(events: &[OwnedEvent]) -> Vec<(MessageKind, Vec<u8>, bool)> {
    events
        .iter()
        .map(|e| match e {
            OwnedEvent::Fragment { kind, data, fin } => (*kind, data.clone(), *fin),
            other => panic!("expected only fragments, got {other:?}"),
        })
        .collect()
}

/// Asserts that `pieces` form one streamed message of `kind` equal to `message`: all of that
/// kind, only the last one `fin`.
fn assert_streamed(pieces: &[(MessageKind, Vec<u8>, bool)], kind: MessageKind, message: &[u8]) {
    assert!(!pieces.is_empty());
    assert!(pieces.iter().all(|p| p.0 == kind), "kinds of {pieces:?}");
    let fins: Vec<bool> = pieces.iter().map(|p| p.2).collect();
    let mut expected = vec![false; pieces.len() - 1];
    expected.push(true);
    assert_eq!(fins, expected, "only the last piece is fin");
    let joined: Vec<u8> = pieces.iter().flat_map(|p| p.1.clone()).collect();
    assert_eq!(joined, message);
}

fn streaming() -> Config {
    Config::new().with_delivery(Delivery::Streaming)
}

/// `(fin, opcode, payload)` of each decoded frame.
fn summary(frames: &[Decoded]) -> Vec<(bool, u8, Vec<u8>)> {
    frames
        .iter()
        .map(|f| (f.fin, f.opcode, f.payload.clone()))
        .collect()
}

// ----- receiving: reassembly and streaming -----------------------------------------------------

/// §5.4: a fragmented text message (FIN clear, then continuations, FIN on the last) is
/// delivered as one message.
#[test]
fn fragmented_text_message_is_reassembled() {
    let mut server = server_open(Config::new());
    let bytes = cat(&[
        cframe(false, TEXT, b"Hel"),
        cframe(false, CONT, b"lo, "),
        cframe(true, CONT, b"world"),
    ]);
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Text("Hello, world".into())]
    );
}

/// §5.4: a fragmented binary message is delivered as one message.
#[test]
fn fragmented_binary_message_is_reassembled() {
    let mut client = client_open(Config::new());
    let bytes = cat(&[
        sframe(false, BINARY, &[0, 1]),
        sframe(false, CONT, &[]),
        sframe(true, CONT, &[2, 255]),
    ]);
    assert_eq!(
        feed(&mut client, &bytes),
        vec![OwnedEvent::Binary(vec![0, 1, 2, 255])]
    );
}

/// §5.4: nothing of a fragmented message is delivered (in assembled mode) before its final
/// fragment arrives.
#[test]
fn assembled_message_is_delivered_only_after_the_final_fragment() {
    let mut server = server_open(Config::new());
    assert_eq!(feed(&mut server, &cframe(false, TEXT, b"Hel")), vec![]);
    assert_eq!(feed(&mut server, &cframe(false, CONT, b"l")), vec![]);
    assert_eq!(
        feed(&mut server, &cframe(true, CONT, b"o")),
        vec![OwnedEvent::Text("Hello".into())]
    );
}

/// §5.4: a fragmented text message whose code point is split between frames is reassembled
/// (only the message as a whole must be valid UTF-8).
#[test]
fn assembled_text_with_code_point_split_across_frames_is_valid() {
    let mut server = server_open(Config::new());
    let bytes = cat(&[
        cframe(false, TEXT, &[b'a', 0xE2, 0x82]),
        cframe(true, CONT, &[0xAC, b'b']),
    ]);
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Text("a€b".into())]
    );
}

/// §5.4: in streaming delivery a fragmented text message arrives as pieces whose
/// concatenation is the message, the last one marked fin.
#[test]
fn streamed_text_pieces_concatenate_to_the_message() {
    let mut server = server_open(streaming());
    let bytes = cat(&[
        cframe(false, TEXT, b"Hel"),
        cframe(false, CONT, b"lo, "),
        cframe(true, CONT, b"world"),
    ]);
    let events = feed(&mut server, &bytes);
    assert_streamed(&fragments(&events), MessageKind::Text, b"Hello, world");
}

/// §5.4: in streaming delivery a fragmented binary message arrives as pieces whose
/// concatenation is the message, the last one marked fin.
#[test]
fn streamed_binary_pieces_concatenate_to_the_message() {
    let mut client = client_open(streaming());
    let bytes = cat(&[
        sframe(false, BINARY, &[0, 1]),
        sframe(false, CONT, &[2]),
        sframe(true, CONT, &[3, 255]),
    ]);
    let events = feed(&mut client, &bytes);
    assert_streamed(&fragments(&events), MessageKind::Binary, &[0, 1, 2, 3, 255]);
}

/// §5.4: streaming delivery hands out the first piece before the rest of the message exists.
#[test]
fn streaming_delivers_a_piece_before_the_message_ends() {
    let mut server = server_open(streaming());
    let first = fragments(&feed(&mut server, &cframe(false, BINARY, b"abc")));
    assert!(!first.is_empty());
    let rest = fragments(&feed(&mut server, &cframe(true, CONT, b"def")));
    let all: Vec<_> = first.into_iter().chain(rest).collect();
    assert_streamed(&all, MessageKind::Binary, b"abcdef");
}

/// §5.4: an unfragmented message in streaming delivery is a single fin piece.
#[test]
fn streamed_single_frame_message_is_one_fin_piece() {
    let mut server = server_open(streaming());
    let events = feed(&mut server, &cframe(true, TEXT, b"Hello"));
    assert_eq!(
        fragments(&events),
        vec![(MessageKind::Text, b"Hello".to_vec(), true)]
    );
}

/// §5.4: a streamed message may end with an empty final continuation frame; the end of the
/// message is still reported.
#[test]
fn streamed_message_ending_with_empty_continuation_reports_fin() {
    let mut client = client_open(streaming());
    let bytes = cat(&[sframe(false, TEXT, b"abc"), sframe(true, CONT, b"")]);
    let events = feed(&mut client, &bytes);
    assert_streamed(&fragments(&events), MessageKind::Text, b"abc");
}

/// §5.4 with §5.6: a code point split across two frames is delivered whole in streaming mode:
/// every text piece is valid UTF-8 on its own.
#[test]
fn streamed_code_point_split_across_two_frames_is_delivered_whole() {
    let mut server = server_open(streaming());
    // "a€b": € is E2 82 AC, split after its first two bytes.
    let bytes = cat(&[
        cframe(false, TEXT, &[b'a', 0xE2, 0x82]),
        cframe(true, CONT, &[0xAC, b'b']),
    ]);
    let pieces = fragments(&feed(&mut server, &bytes));
    for (_, data, _) in &pieces {
        assert!(
            std::str::from_utf8(data).is_ok(),
            "piece {data:?} is not whole UTF-8"
        );
    }
    assert_streamed(&pieces, MessageKind::Text, "a€b".as_bytes());
}

/// §5.4: a four-byte code point sent one byte per frame is delivered whole in streaming mode.
#[test]
fn streamed_code_point_split_across_four_frames_is_delivered_whole() {
    let mut client = client_open(streaming());
    let emoji = "🌍".as_bytes();
    let bytes = cat(&[
        sframe(false, TEXT, &emoji[..1]),
        sframe(false, CONT, &emoji[1..2]),
        sframe(false, CONT, &emoji[2..3]),
        sframe(true, CONT, &emoji[3..]),
    ]);
    let pieces = fragments(&feed_bytewise(&mut client, &bytes));
    for (_, data, _) in &pieces {
        assert!(
            std::str::from_utf8(data).is_ok(),
            "piece {data:?} is not whole UTF-8"
        );
    }
    assert_streamed(&pieces, MessageKind::Text, emoji);
}

/// §5.4: "Control frames MAY be injected in the middle of a fragmented message"; they are
/// delivered when they arrive, before the message they interrupt.
#[test]
fn control_frames_inside_fragmented_message_are_delivered_in_between() {
    let mut server = server_open(Config::new());
    let bytes = cat(&[
        cframe(false, TEXT, b"Hel"),
        cframe(true, PING, b"p1"),
        cframe(false, CONT, b"lo"),
        cframe(true, PONG, b"p2"),
        cframe(true, CONT, b"!"),
    ]);
    assert_eq!(
        feed(&mut server, &bytes),
        vec![
            OwnedEvent::Ping(b"p1".to_vec()),
            OwnedEvent::Pong(b"p2".to_vec()),
            OwnedEvent::Text("Hello!".into()),
        ]
    );
}

/// §5.4: a ping inside a fragmented message is answered right away, before the message ends.
#[test]
fn ping_inside_fragmented_message_is_answered_before_the_message_ends() {
    let mut server = server_open(Config::new());
    let bytes = cat(&[cframe(false, BINARY, b"abc"), cframe(true, PING, b"now")]);
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Ping(b"now".to_vec())]
    );
    assert_eq!(
        summary(&decode_frames(&take_output(&mut server))),
        vec![(true, PONG, b"now".to_vec())]
    );
    assert_eq!(
        feed(&mut server, &cframe(true, CONT, b"def")),
        vec![OwnedEvent::Binary(b"abcdef".to_vec())]
    );
}

/// §5.4: in streaming delivery, control frames inside a fragmented message come between its
/// pieces, in wire order.
#[test]
fn control_frames_inside_streamed_message_are_delivered_in_order() {
    let mut client = client_open(streaming());
    let bytes = cat(&[
        sframe(false, TEXT, b"Hel"),
        sframe(true, PING, b"p1"),
        sframe(false, CONT, b"lo"),
        sframe(true, PONG, b"p2"),
        sframe(true, CONT, b"!"),
    ]);
    assert_eq!(
        feed(&mut client, &bytes),
        vec![
            OwnedEvent::Fragment {
                kind: MessageKind::Text,
                data: b"Hel".to_vec(),
                fin: false
            },
            OwnedEvent::Ping(b"p1".to_vec()),
            OwnedEvent::Fragment {
                kind: MessageKind::Text,
                data: b"lo".to_vec(),
                fin: false
            },
            OwnedEvent::Pong(b"p2".to_vec()),
            OwnedEvent::Fragment {
                kind: MessageKind::Text,
                data: b"!".to_vec(),
                fin: true
            },
        ]
    );
}

/// §5.4: a ping between two frames that split a code point is delivered in between, and the
/// code point is still delivered whole in streaming mode.
#[test]
fn ping_between_halves_of_a_split_code_point_is_delivered_in_between() {
    let mut server = server_open(streaming());
    let bytes = cat(&[
        cframe(false, TEXT, &[b'a', 0xE2, 0x82]),
        cframe(true, PING, b"p"),
        cframe(true, CONT, &[0xAC, b'b']),
    ]);
    let events = feed(&mut server, &bytes);
    let ping_at = events
        .iter()
        .position(|e| *e == OwnedEvent::Ping(b"p".to_vec()))
        .expect("the ping is delivered");
    let before = fragments(&events[..ping_at]);
    let after = fragments(&events[ping_at + 1..]);
    let joined: Vec<u8> = before
        .iter()
        .map(|p| p.1.clone())
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(joined, b"a", "only whole code points before the ping");
    let all: Vec<_> = before.into_iter().chain(after).collect();
    for (_, data, _) in &all {
        assert!(
            std::str::from_utf8(data).is_ok(),
            "piece {data:?} is not whole UTF-8"
        );
    }
    assert_streamed(&all, MessageKind::Text, "a€b".as_bytes());
}

// ----- receiving: sequence errors ----------------------------------------------------------

/// §5.4: a continuation frame with no fragmented message in progress fails with 1002.
#[test]
fn continuation_without_started_message_fails_with_1002() {
    let mut server = server_open(Config::new());
    let events = feed(&mut server, &cframe(true, CONT, b"orphan"));
    assert_failed(
        &mut server,
        &events,
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

/// §5.4: a continuation frame after a message already ended (FIN set) fails with 1002.
#[test]
fn continuation_after_finished_message_fails_with_1002() {
    let mut client = client_open(Config::new());
    let bytes = cat(&[sframe(true, TEXT, b"done"), sframe(false, CONT, b"more")]);
    let events = feed(&mut client, &bytes);
    assert_eq!(events[0], OwnedEvent::Text("done".into()));
    assert_failed(
        &mut client,
        &events,
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

/// §5.4: a continuation without a started message also fails in streaming delivery.
#[test]
fn streamed_continuation_without_started_message_fails_with_1002() {
    let mut server = server_open(streaming());
    let events = feed(&mut server, &cframe(false, CONT, b"orphan"));
    assert_failed(
        &mut server,
        &events,
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

/// §5.4: fragments of one message MUST NOT be interleaved with another: a new text frame
/// inside a fragmented message fails with 1002.
#[test]
fn new_text_frame_inside_fragmented_message_fails_with_1002() {
    let mut server = server_open(Config::new());
    let bytes = cat(&[cframe(false, TEXT, b"Hel"), cframe(true, TEXT, b"new")]);
    let events = feed(&mut server, &bytes);
    assert_failed(
        &mut server,
        &events,
        ProtocolError::ExpectedContinuation,
        1002,
    );
}

/// §5.4: a new binary frame inside a fragmented text message fails with 1002.
#[test]
fn new_binary_frame_inside_fragmented_message_fails_with_1002() {
    let mut client = client_open(Config::new());
    let bytes = cat(&[sframe(false, TEXT, b"Hel"), sframe(false, BINARY, b"new")]);
    let events = feed(&mut client, &bytes);
    assert_failed(
        &mut client,
        &events,
        ProtocolError::ExpectedContinuation,
        1002,
    );
}

/// §5.4: a new data frame inside a streamed message fails with 1002, after the pieces that
/// were already valid.
#[test]
fn new_data_frame_inside_streamed_message_fails_with_1002() {
    let mut server = server_open(streaming());
    let bytes = cat(&[cframe(false, BINARY, b"abc"), cframe(true, BINARY, b"new")]);
    let events = feed(&mut server, &bytes);
    assert_eq!(
        events[0],
        OwnedEvent::Fragment {
            kind: MessageKind::Binary,
            data: b"abc".to_vec(),
            fin: false
        }
    );
    assert_failed(
        &mut server,
        &events,
        ProtocolError::ExpectedContinuation,
        1002,
    );
}

/// §5.4/§5.5: "Control frames themselves MUST NOT be fragmented": a close, ping or pong with
/// FIN clear fails with 1002.
#[test]
fn fragmented_control_frame_fails_with_1002() {
    for op in [CLOSE, PING, PONG] {
        let mut server = server_open(Config::new());
        let payload = if op == CLOSE {
            close_payload(1000, "")
        } else {
            b"x".to_vec()
        };
        let events = feed(&mut server, &cframe(false, op, &payload));
        assert_failed(
            &mut server,
            &events,
            ProtocolError::FragmentedControlFrame,
            1002,
        );
    }
}

// ----- receiving: limits ---------------------------------------------------------------------

/// §5.4 with §10.4: a message of exactly `max_fragments` frames is accepted.
#[test]
fn message_with_max_fragments_frames_is_accepted() {
    let mut server = server_open(Config::new().with_max_fragments(3));
    let bytes = cat(&[
        cframe(false, TEXT, b"a"),
        cframe(false, CONT, b"b"),
        cframe(true, CONT, b"c"),
    ]);
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Text("abc".into())]
    );
}

/// §5.4 with §10.4: a message split into more than `max_fragments` frames fails with 1008 at
/// the header of the frame that exceeds the limit.
#[test]
fn exceeding_max_fragments_fails_with_1008() {
    let mut server = server_open(Config::new().with_max_fragments(3));
    let bytes = cat(&[
        cframe(false, TEXT, b"a"),
        cframe(false, CONT, b"b"),
        cframe(false, CONT, b"c"),
    ]);
    assert_eq!(feed(&mut server, &bytes), vec![]);
    let fourth = cframe(true, CONT, b"d");
    // The header alone (2 bytes and the mask key) is enough to fail.
    let events = feed(&mut server, &fourth[..6]);
    assert_failed(&mut server, &events, ProtocolError::TooManyFragments, 1008);
}

/// §5.4 with §10.4: fragments adding up to exactly `max_message_size` are accepted.
#[test]
fn fragments_adding_up_to_max_message_size_are_accepted() {
    let mut server = server_open(Config::new().with_max_message_size(10));
    let bytes = cat(&[
        cframe(false, BINARY, b"abcd"),
        cframe(false, CONT, b"efgh"),
        cframe(true, CONT, b"ij"),
    ]);
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Binary(b"abcdefghij".to_vec())]
    );
}

/// §5.4 with §10.4: fragments whose total exceeds `max_message_size` fail with 1009 at the
/// header that crosses the limit, before its payload arrives.
#[test]
fn exceeding_max_message_size_across_fragments_fails_with_1009_at_the_header() {
    let mut server = server_open(Config::new().with_max_message_size(10));
    let bytes = cat(&[cframe(false, BINARY, b"abcd"), cframe(false, CONT, b"efgh")]);
    assert_eq!(feed(&mut server, &bytes), vec![]);
    let third = cframe(true, CONT, b"ijk");
    let events = feed(&mut server, &third[..6]);
    assert_failed(&mut server, &events, ProtocolError::MessageTooLarge, 1009);
}

// ----- sending -------------------------------------------------------------------------------

/// §5.4/§5.7: a server sending "Hel" then "lo" as fragments writes exactly the RFC's
/// fragmented example `01 03 48 65 6c`, `80 02 6c 6f`.
#[test]
fn server_fragments_match_rfc_example() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Text, b"Hel", false)
        .unwrap();
    server
        .send_fragment(MessageKind::Text, b"lo", true)
        .unwrap();
    assert_eq!(
        take_output(&mut server),
        [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
    );
}

/// §5.4: a fragmented text send is a text frame with FIN clear, then continuation frames,
/// FIN only on the last (and masked, from a client).
#[test]
fn text_fragment_sequence_uses_text_then_continuation_opcodes() {
    let mut client = client_open(Config::new());
    client
        .send_fragment(MessageKind::Text, b"one ", false)
        .unwrap();
    client
        .send_fragment(MessageKind::Text, b"two ", false)
        .unwrap();
    client
        .send_fragment(MessageKind::Text, b"three", true)
        .unwrap();
    let frames = decode_frames(&take_output(&mut client));
    assert!(frames.iter().all(|f| f.masked && f.rsv == 0));
    assert_eq!(
        summary(&frames),
        vec![
            (false, TEXT, b"one ".to_vec()),
            (false, CONT, b"two ".to_vec()),
            (true, CONT, b"three".to_vec()),
        ]
    );
}

/// §5.4: a fragmented binary send is a binary frame with FIN clear, then continuation frames,
/// FIN only on the last.
#[test]
fn binary_fragment_sequence_uses_binary_then_continuation_opcodes() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Binary, &[1, 2], false)
        .unwrap();
    server
        .send_fragment(MessageKind::Binary, &[], false)
        .unwrap();
    server
        .send_fragment(MessageKind::Binary, &[3], true)
        .unwrap();
    assert_eq!(
        take_output(&mut server),
        cat(&[
            sframe(false, BINARY, &[1, 2]),
            sframe(false, CONT, &[]),
            sframe(true, CONT, &[3])
        ])
    );
}

/// §5.4: a single fragment with fin is a complete unfragmented message.
#[test]
fn single_final_fragment_is_an_unfragmented_message() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Text, b"whole", true)
        .unwrap();
    assert_eq!(take_output(&mut server), sframe(true, TEXT, b"whole"));
}

/// §5.4: control frames may be sent between the fragments of an outgoing message, and
/// appear on the wire between them.
#[test]
fn control_frames_may_be_sent_between_outgoing_fragments() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Text, b"Hel", false)
        .unwrap();
    server.ping(b"p").unwrap();
    server.pong(b"q").unwrap();
    server
        .send_fragment(MessageKind::Text, b"lo", true)
        .unwrap();
    assert_eq!(
        take_output(&mut server),
        cat(&[
            sframe(false, TEXT, b"Hel"),
            sframe(true, PING, b"p"),
            sframe(true, PONG, b"q"),
            sframe(true, CONT, b"lo")
        ])
    );
}

/// §5.4: a fragment of another kind than the unfinished message is refused with
/// `FragmentSequence`, queuing nothing; the message can still be completed.
#[test]
fn fragment_of_mismatched_kind_is_refused() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Text, b"Hel", false)
        .unwrap();
    let before = take_output(&mut server);
    assert_eq!(
        server.send_fragment(MessageKind::Binary, b"lo", true),
        Err(SendError::FragmentSequence)
    );
    assert!(server.output().is_empty(), "nothing queued");
    server
        .send_fragment(MessageKind::Text, b"lo", true)
        .unwrap();
    let after = take_output(&mut server);
    assert_eq!(
        cat(&[before, after]),
        cat(&[sframe(false, TEXT, b"Hel"), sframe(true, CONT, b"lo")])
    );
}

/// §5.4: `send_text` while a fragmented send is unfinished would interleave two messages;
/// it is refused with `FragmentSequence`, queuing nothing.
#[test]
fn send_text_during_unfinished_fragmented_send_is_refused() {
    let mut client = client_open(Config::new());
    client
        .send_fragment(MessageKind::Text, b"Hel", false)
        .unwrap();
    take_output(&mut client);
    assert_eq!(client.send_text("other"), Err(SendError::FragmentSequence));
    assert!(client.output().is_empty(), "nothing queued");
}

/// §5.4: `send_binary` while a fragmented send is unfinished is refused with
/// `FragmentSequence`, queuing nothing.
#[test]
fn send_binary_during_unfinished_fragmented_send_is_refused() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Binary, b"abc", false)
        .unwrap();
    take_output(&mut server);
    assert_eq!(
        server.send_binary(b"other"),
        Err(SendError::FragmentSequence)
    );
    assert!(server.output().is_empty(), "nothing queued");
}

/// §5.4: once the final fragment is sent, the next message starts with a fresh data opcode.
#[test]
fn message_after_final_fragment_starts_a_new_message() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Binary, b"ab", false)
        .unwrap();
    server
        .send_fragment(MessageKind::Binary, b"cd", true)
        .unwrap();
    server.send_text("next").unwrap();
    server.send_fragment(MessageKind::Text, b"x", true).unwrap();
    assert_eq!(
        take_output(&mut server),
        cat(&[
            sframe(false, BINARY, b"ab"),
            sframe(true, CONT, b"cd"),
            sframe(true, TEXT, b"next"),
            sframe(true, TEXT, b"x"),
        ])
    );
}

/// §5.4/§5.6: text fragments may split a code point; only the whole message must be UTF-8.
#[test]
fn text_fragments_splitting_a_code_point_are_accepted() {
    let mut server = server_open(Config::new());
    // € is E2 82 AC.
    server
        .send_fragment(MessageKind::Text, &[b'a', 0xE2], false)
        .unwrap();
    server
        .send_fragment(MessageKind::Text, &[0x82], false)
        .unwrap();
    server
        .send_fragment(MessageKind::Text, &[0xAC, b'b'], true)
        .unwrap();
    assert_eq!(
        take_output(&mut server),
        cat(&[
            sframe(false, TEXT, &[b'a', 0xE2]),
            sframe(false, CONT, &[0x82]),
            sframe(true, CONT, &[0xAC, b'b'])
        ])
    );
}

/// §5.6/§8.1: a text fragment that is not valid UTF-8 is refused with `InvalidUtf8`,
/// queuing nothing.
#[test]
fn invalid_utf8_text_fragment_is_refused() {
    let mut server = server_open(Config::new());
    assert_eq!(
        server.send_fragment(MessageKind::Text, &[b'a', 0xFF], false),
        Err(SendError::InvalidUtf8)
    );
    assert!(server.output().is_empty(), "nothing queued");
}

/// §5.6/§8.1: a fragment that does not continue the code point the previous fragment began
/// is refused with `InvalidUtf8`, queuing nothing.
#[test]
fn fragment_breaking_a_split_code_point_is_refused() {
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Text, &[b'a', 0xE2], false)
        .unwrap();
    take_output(&mut server);
    assert_eq!(
        server.send_fragment(MessageKind::Text, b"x", false),
        Err(SendError::InvalidUtf8)
    );
    assert!(server.output().is_empty(), "nothing queued");
}

/// §5.6/§8.1: a text message whose final fragment ends inside a code point is refused with
/// `InvalidUtf8`, queuing nothing; completing the code point afterwards still works.
#[test]
fn final_text_fragment_ending_mid_code_point_is_refused() {
    let mut client = client_open(Config::new());
    client
        .send_fragment(MessageKind::Text, &[b'a', 0xE2], false)
        .unwrap();
    take_output(&mut client);
    assert_eq!(
        client.send_fragment(MessageKind::Text, &[0x82], true),
        Err(SendError::InvalidUtf8)
    );
    assert!(client.output().is_empty(), "nothing queued");
    client
        .send_fragment(MessageKind::Text, &[0x82, 0xAC], true)
        .unwrap();
    let frames = decode_frames(&take_output(&mut client));
    assert_eq!(summary(&frames), vec![(true, CONT, vec![0x82, 0xAC])]);
}

/// §5.6/§8.1: a single final text fragment that ends mid-code-point is refused.
#[test]
fn single_final_text_fragment_with_truncated_code_point_is_refused() {
    let mut server = server_open(Config::new());
    assert_eq!(
        server.send_fragment(MessageKind::Text, &[b'a', 0xE2, 0x82], true),
        Err(SendError::InvalidUtf8)
    );
    assert!(server.output().is_empty(), "nothing queued");
}

/// §5.4: with `outgoing_fragment_size`, a large message is sent as frames of that many payload
/// bytes: the first with the data opcode, then continuations, FIN on the last.
#[test]
fn outgoing_fragment_size_splits_large_text_messages() {
    let mut server = server_open(Config::new().with_outgoing_fragment_size(4));
    server.send_text("Hello, world").unwrap();
    assert_eq!(
        take_output(&mut server),
        cat(&[
            sframe(false, TEXT, b"Hell"),
            sframe(false, CONT, b"o, w"),
            sframe(true, CONT, b"orld")
        ])
    );
}

/// §5.4: the last frame of a split message carries the remainder.
#[test]
fn outgoing_fragment_size_leaves_the_remainder_in_the_last_frame() {
    let mut client = client_open(Config::new().with_outgoing_fragment_size(4));
    client.send_binary(b"0123456789").unwrap();
    let frames = decode_frames(&take_output(&mut client));
    assert!(frames.iter().all(|f| f.masked));
    assert_eq!(
        summary(&frames),
        vec![
            (false, BINARY, b"0123".to_vec()),
            (false, CONT, b"4567".to_vec()),
            (true, CONT, b"89".to_vec()),
        ]
    );
}

/// §5.4: a message no longer than `outgoing_fragment_size` is sent unfragmented.
#[test]
fn message_within_outgoing_fragment_size_is_one_frame() {
    let mut server = server_open(Config::new().with_outgoing_fragment_size(5));
    server.send_text("Hello").unwrap();
    assert_eq!(take_output(&mut server), sframe(true, TEXT, b"Hello"));
}

/// §5.4: text split by `outgoing_fragment_size` inside code points arrives intact at the peer.
#[test]
fn text_split_by_outgoing_fragment_size_reassembles_at_the_peer() {
    let text = "Grüße, κόσμε, 世界 🌍 and more";
    let mut p = Pair::new(Config::new().with_outgoing_fragment_size(3), Config::new());
    p.client.send_text(text).unwrap();
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Text(text.into())]);
}
