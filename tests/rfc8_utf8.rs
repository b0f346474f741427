//! UTF-8 handling of text messages and close reasons (RFC 6455 §5.6, §8.1; §5.5.1 for close
//! reasons), in the spirit of the Autobahn 6.x cases: invalid text fails the connection with
//! 1007 as soon as the bad byte arrives, valid text passes however it is split.

mod common;
use common::*;
use wsmachine::{CloseCause, CloseCode, Config, Connection, Delivery, OwnedEvent, ProtocolError};

const MODES: [Delivery; 2] = [Delivery::Assembled, Delivery::Streaming];

fn server(mode: Delivery) -> Connection {
    server_open(Config::new().with_delivery(mode))
}

/// Invalid sequences: (description, bytes, index of the first byte at which the bytes can no
/// longer be the start of valid UTF-8, per RFC 3629 §4).
const INVALID: &[(&str, &[u8], usize)] = &[
    ("overlong 2-byte NUL", &[0xC0, 0x80], 0),
    ("overlong 2-byte lead C1", &[0xC1, 0xBF], 0),
    ("overlong 3-byte NUL", &[0xE0, 0x80, 0x80], 1),
    ("overlong 3-byte U+07FF", &[0xE0, 0x9F, 0xBF], 1),
    ("overlong 4-byte NUL", &[0xF0, 0x80, 0x80, 0x80], 1),
    ("overlong 4-byte U+FFFF", &[0xF0, 0x8F, 0xBF, 0xBF], 1),
    ("high surrogate U+D800", &[0xED, 0xA0, 0x80], 1),
    ("low surrogate U+DFFF", &[0xED, 0xBF, 0xBF], 1),
    ("above U+10FFFF", &[0xF4, 0x90, 0x80, 0x80], 1),
    ("lead F5", &[0xF5, 0x80, 0x80, 0x80], 0),
    ("lead FE", &[0xFE], 0),
    ("lead FF", &[0xFF], 0),
    ("lone continuation 80", &[0x80], 0),
    ("lone continuation BF", &[0xBF], 0),
    (
        "continuation after a complete code point",
        &[0xC3, 0xA9, 0x80],
        2,
    ),
    ("2-byte sequence cut by ASCII", &[0xC3, 0x28], 1),
    ("3-byte sequence cut by ASCII", &[0xE2, 0x82, 0x28], 2),
    ("4-byte sequence cut by ASCII", &[0xF0, 0x9F, 0x98, 0x41], 3),
    (
        "4-byte sequence cut by a new lead",
        &[0xF0, 0x9F, 0xC3, 0xA9],
        2,
    ),
];

/// Valid text with multi-byte code points, including the boundaries of each sequence length.
const VALID: &[&str] = &[
    "κόσμε",
    "Ελληνικά: Καλημέρα κόσμε",
    "日本語のテキスト、中文文本",
    "😀🎉👍🏽🇪🇺",
    "mixed ascii é € 𝄞 end",
    "\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFF}\u{10000}\u{10FFFF}",
    "",
];

/// `prefix ++ bad ++ suffix`: an invalid sequence inside otherwise valid text.
fn embed(bad: &[u8]) -> Vec<u8> {
    let mut p = "κόσμε-".as_bytes().to_vec();
    p.extend_from_slice(bad);
    p.extend_from_slice("-日本".as_bytes());
    p
}

/// Where `embed` puts the first byte of the invalid sequence.
fn embed_offset() -> usize {
    "κόσμε-".len()
}

/// Asserts the connection failed with `error` (close code 1007, §7.4.1), that `Closed` is the
/// single last event, and that exactly one close frame carrying 1007 was queued (decoded
/// independently of the crate).
fn assert_failed_1007(conn: &mut Connection, events: &[OwnedEvent], error: ProtocolError) {
    let c = closed(events);
    assert_eq!(c.code, CloseCode::INVALID_PAYLOAD, "{events:?}");
    assert_eq!(c.cause, CloseCause::Failed(error));
    let frames = decode_frames(&take_output(conn));
    assert_eq!(frames.len(), 1, "{frames:?}");
    let f = &frames[0];
    assert_eq!((f.fin, f.rsv, f.opcode), (true, 0, CLOSE));
    assert_eq!(f.masked, conn.role().is_client());
    assert!(f.payload.len() >= 2);
    assert_eq!(u16::from_be_bytes([f.payload[0], f.payload[1]]), 1007);
    assert!(std::str::from_utf8(&f.payload[2..]).is_ok());
    assert!(conn.should_shutdown_write());
}

/// The text a connection delivered, checking the shape of the events: one `Text` message in
/// assembled mode; in streaming mode text pieces of whole code points, the last one final.
fn delivered_text(mode: Delivery, events: &[OwnedEvent]) -> String {
    match mode {
        Delivery::Assembled => match events {
            [OwnedEvent::Text(t)] => t.clone(),
            other => panic!("expected one text message, got {other:?}"),
        },
        _ => {
            let mut text = String::new();
            assert!(!events.is_empty());
            for (i, e) in events.iter().enumerate() {
                let OwnedEvent::Fragment { kind, data, fin } = e else {
                    panic!("expected text fragments, got {events:?}");
                };
                assert_eq!(*kind, wsmachine::MessageKind::Text);
                assert_eq!(*fin, i + 1 == events.len(), "only the last piece is final");
                // A piece is a `&str` of whole code points.
                text.push_str(std::str::from_utf8(data).expect("piece is whole code points"));
            }
            text
        }
    }
}

/// Client frames for `payload` as a text message split into fragments at `cuts` (§5.4).
fn fragments(payload: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    let mut out = Vec::new();
    for (i, w) in bounds.windows(2).enumerate() {
        let op = if i == 0 { TEXT } else { CONT };
        out.extend(cframe(i + 2 == bounds.len(), op, &payload[w[0]..w[1]]));
    }
    out
}

/// Client frames for `payload` as a text message of one-byte fragments.
fn one_byte_fragments(payload: &[u8]) -> Vec<u8> {
    let cuts: Vec<usize> = (1..payload.len()).collect();
    fragments(payload, &cuts)
}

/// §8.1: a text frame with invalid UTF-8 fails the connection with 1007, in both delivery
/// modes, for every kind of invalid sequence (overlong, surrogate, above U+10FFFF, invalid
/// lead, lone continuation, truncated sequence).
#[test]
fn invalid_utf8_in_a_text_frame_fails_with_1007() {
    for mode in MODES {
        for (name, bad, _) in INVALID {
            for payload in [bad.to_vec(), embed(bad)] {
                let mut s = server(mode);
                let ev = feed(&mut s, &cframe(true, TEXT, &payload));
                assert!(
                    ev.iter().all(|e| !matches!(e, OwnedEvent::Text(_))),
                    "{name}: no message delivered"
                );
                assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
            }
        }
    }
}

/// §8.1 ("as soon as"): a single text frame fails when its invalid byte arrives, without
/// waiting for the rest of the frame: the header and the payload up to the first bad byte are
/// enough.
#[test]
fn invalid_byte_fails_before_the_rest_of_the_frame_arrives() {
    for mode in MODES {
        for (name, bad, at) in INVALID {
            let mut payload = embed(bad);
            payload.extend(std::iter::repeat_n(b'x', 1000));
            let frame = cframe(true, TEXT, &payload);
            let header = frame.len() - payload.len();
            let upto = header + embed_offset() + at + 1;
            let mut s = server(mode);
            let ev = feed(&mut s, &frame[..upto]);
            assert!(
                matches!(ev.last(), Some(OwnedEvent::Closed(_))),
                "{mode:?} {name}: must fail after {upto} of {} bytes, got {ev:?}",
                frame.len()
            );
            assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
            // The rest of the frame is discarded.
            assert!(feed(&mut s, &frame[upto..]).is_empty());
        }
    }
}

/// §8.1: the bytes before the first bad byte are a valid prefix, so the connection does not fail
/// early (the validator needs the bad byte itself).
#[test]
fn valid_prefix_of_an_invalid_frame_does_not_fail_yet() {
    for mode in MODES {
        for (name, bad, at) in INVALID {
            let mut payload = embed(bad);
            payload.extend(std::iter::repeat_n(b'x', 1000));
            let frame = cframe(true, TEXT, &payload);
            let header = frame.len() - payload.len();
            let mut s = server(mode);
            let ev = feed(&mut s, &frame[..header + embed_offset() + at]);
            assert!(
                ev.iter().all(|e| !matches!(e, OwnedEvent::Closed(_))),
                "{mode:?} {name}: failed too early: {ev:?}"
            );
            let ev = feed(&mut s, &frame[header + embed_offset() + at..]);
            assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
        }
    }
}

/// §8.1, §5.4: an invalid first fragment fails the connection before the final fragment
/// arrives (Autobahn 6.4.1-6.4.2 style).
#[test]
fn invalid_first_fragment_fails_before_the_final_fragment() {
    for mode in MODES {
        for (name, bad, _) in INVALID {
            let mut s = server(mode);
            let ev = feed(&mut s, &cframe(false, TEXT, &embed(bad)));
            assert!(
                matches!(ev.last(), Some(OwnedEvent::Closed(_))),
                "{mode:?} {name}: got {ev:?}"
            );
            assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
            assert!(feed(&mut s, &cframe(true, CONT, b"never seen")).is_empty());
        }
    }
}

/// §8.1: a first fragment that ends with the start of a sequence that can no longer become
/// valid (E0 80, ED A0, F4 90: overlong, surrogate, above U+10FFFF) fails before the
/// continuation that would complete the code point arrives.
#[test]
fn fragment_ending_in_an_impossible_partial_sequence_fails_immediately() {
    for mode in MODES {
        for partial in [
            &[0xE0, 0x80][..],
            &[0xED, 0xA0],
            &[0xF4, 0x90],
            &[0xF0, 0x80, 0x80],
            &[0xC0],
        ] {
            let mut payload = b"ok".to_vec();
            payload.extend_from_slice(partial);
            let mut s = server(mode);
            let ev = feed(&mut s, &cframe(false, TEXT, &payload));
            assert!(
                matches!(ev.last(), Some(OwnedEvent::Closed(_))),
                "{mode:?} {partial:x?}: got {ev:?}"
            );
            assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
        }
    }
}

/// §8.1, §5.4: an invalid middle fragment fails the connection before the final fragment, and
/// a valid first fragment alone does not fail it (Autobahn 6.4.3-6.4.4 style).
#[test]
fn invalid_middle_fragment_fails_before_the_final_fragment() {
    for mode in MODES {
        let mut s = server(mode);
        let ev = feed(&mut s, &cframe(false, TEXT, "κόσμε".as_bytes()));
        assert!(
            ev.iter().all(|e| !matches!(e, OwnedEvent::Closed(_))),
            "{ev:?}"
        );
        let ev = feed(
            &mut s,
            &cframe(false, CONT, &[0xCE, 0xBA, 0xF4, 0x90, 0x80, 0x80]),
        );
        assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
        assert!(feed(&mut s, &cframe(true, CONT, b"edited")).is_empty());
    }
}

/// §5.6, §5.4: a code point split across two fragments, at every byte position, is valid; in
/// streaming mode every delivered piece is whole code points.
#[test]
fn code_point_split_across_fragments_is_valid() {
    for mode in MODES {
        for text in VALID {
            let bytes = text.as_bytes();
            for cut in 0..=bytes.len() {
                let mut s = server(mode);
                let ev = feed(&mut s, &fragments(bytes, &[cut]));
                assert_eq!(delivered_text(mode, &ev), *text, "{mode:?} cut {cut}");
                assert!(s.output().is_empty());
            }
        }
    }
}

/// §5.6, §5.4: a 4-byte code point split over four one-byte fragments (and a whole message of
/// one-byte fragments) is valid, with pings in between.
#[test]
fn code_point_split_over_four_fragments_is_valid() {
    for mode in MODES {
        let mut s = server(mode);
        let mut stream = cframe(false, TEXT, &[0xF0]);
        stream.extend(cframe(true, PING, b"p"));
        stream.extend(cframe(false, CONT, &[0x9D]));
        stream.extend(cframe(false, CONT, &[0x84]));
        stream.extend(cframe(true, PING, b"q"));
        stream.extend(cframe(true, CONT, &[0x9E]));
        let ev: Vec<_> = feed(&mut s, &stream)
            .into_iter()
            .filter(|e| !matches!(e, OwnedEvent::Ping(_)))
            .collect();
        assert_eq!(delivered_text(mode, &ev), "𝄞");
        for text in VALID {
            let mut s = server(mode);
            let ev = feed(&mut s, &one_byte_fragments(text.as_bytes()));
            assert_eq!(delivered_text(mode, &ev), *text, "{mode:?}");
        }
    }
}

/// §8.1: a message that ends in the middle of a code point is invalid (1007), whether it is a
/// single frame or the final fragment ends early.
#[test]
fn message_ending_inside_a_code_point_fails_with_1007() {
    let cases: [(&str, Vec<u8>); 5] = [
        ("single frame", cframe(true, TEXT, b"a\xE2\x82")),
        (
            "single frame, 1 of 4 bytes",
            cframe(true, TEXT, &[0xCE, 0xBA, 0xF0]),
        ),
        ("final fragment", fragments(b"a\xE2\x82", &[2])),
        ("empty final fragment", fragments(&[0xF0, 0x9F, 0x98], &[3])),
        ("one-byte fragments", one_byte_fragments(b"ab\xF0\x9F\x98")),
    ];
    for mode in MODES {
        for (name, stream) in &cases {
            let mut s = server(mode);
            let ev = feed(&mut s, stream);
            assert!(
                ev.iter().all(|e| !matches!(e, OwnedEvent::Text(_))),
                "{name}: {ev:?}"
            );
            assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
        }
    }
}

/// §8.1: a text message does not carry an unfinished code point into the next message: a code
/// point split across two messages is invalid.
#[test]
fn code_point_split_across_two_messages_fails() {
    for mode in MODES {
        let mut s = server(mode);
        let mut stream = cframe(true, TEXT, &[b'a', 0xE2]);
        stream.extend(cframe(true, TEXT, &[0x82, 0xAC]));
        let ev = feed(&mut s, &stream);
        assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
    }
}

/// §8.1: in one read of many small messages, the valid messages before an invalid one are
/// delivered in order, then the connection fails with 1007 at the invalid one, and nothing
/// after it is delivered (small messages read together are validated together, which must
/// not move the failure or lose the messages in front of it).
#[test]
fn invalid_message_among_small_ones_fails_at_its_place() {
    for (name, bad, _) in INVALID {
        for at in [0, 1, 5] {
            let mut s = server(Delivery::Assembled);
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for i in 0..at {
                let text = format!("msg {i} κόσμε");
                stream.extend(cframe(true, TEXT, text.as_bytes()));
                stream.extend(cframe(true, BINARY, &[0xFF, i as u8]));
                expected.push(OwnedEvent::Text(text));
                expected.push(OwnedEvent::Binary(vec![0xFF, i as u8]));
            }
            stream.extend(cframe(true, TEXT, &embed(bad)));
            stream.extend(cframe(true, TEXT, b"after"));
            let ev = feed(&mut s, &stream);
            assert_eq!(&ev[..ev.len() - 1], &expected[..], "{name}, {at} before");
            assert_failed_1007(&mut s, &ev, ProtocolError::InvalidUtf8);
        }
    }
}

/// §5.6 vs §5.2: binary messages are not validated; invalid UTF-8 in them is fine.
#[test]
fn binary_messages_are_not_validated() {
    let mut s = server(Delivery::Assembled);
    let ev = feed(
        &mut s,
        &cframe(true, BINARY, &[0xFF, 0xC0, 0x80, 0xED, 0xA0, 0x80]),
    );
    assert_eq!(
        ev,
        vec![OwnedEvent::Binary(vec![0xFF, 0xC0, 0x80, 0xED, 0xA0, 0x80])]
    );
}

/// §5.5.1, §8.1: a close reason that is not UTF-8 fails the connection with 1007
/// (`InvalidCloseReason`), instead of echoing the peer's code.
#[test]
fn invalid_close_reason_fails_with_1007() {
    for (name, bad, _) in INVALID {
        let mut payload = close_payload(1000, "bye ");
        payload.extend_from_slice(bad);
        let mut s = server(Delivery::Assembled);
        let ev = feed(&mut s, &cframe(true, CLOSE, &payload));
        assert!(
            ev.iter()
                .all(|e| !matches!(e, OwnedEvent::CloseReceived { .. })),
            "{name}: {ev:?}"
        );
        assert_failed_1007(&mut s, &ev, ProtocolError::InvalidCloseReason);
    }
    // A reason ending inside a code point.
    let mut payload = close_payload(1000, "");
    payload.extend_from_slice(&[0xCE]);
    let mut s = server(Delivery::Assembled);
    let ev = feed_bytewise(&mut s, &cframe(true, CLOSE, &payload));
    assert_failed_1007(&mut s, &ev, ProtocolError::InvalidCloseReason);
}

/// §5.5.1: a valid multi-byte close reason is accepted and echoed.
#[test]
fn multibyte_close_reason_is_accepted() {
    let mut s = server(Delivery::Assembled);
    let ev = feed(
        &mut s,
        &cframe(true, CLOSE, &close_payload(1000, "κόσμε 😀")),
    );
    assert_eq!(
        ev.first(),
        Some(&OwnedEvent::CloseReceived {
            code: CloseCode::NORMAL,
            reason: "κόσμε 😀".into()
        })
    );
    assert!(closed(&ev).is_clean());
    let frames = decode_frames(&take_output(&mut s));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, close_payload(1000, "κόσμε 😀"));
}

/// §5.6: valid multi-byte text (Greek, CJK, emoji, sequence-length boundaries) passes in both
/// delivery modes, as one frame fed at once and fed one byte at a time.
#[test]
fn valid_multibyte_text_passes_in_both_modes() {
    for mode in MODES {
        for text in VALID {
            let frame = cframe(true, TEXT, text.as_bytes());
            let mut s = server(mode);
            assert_eq!(delivered_text(mode, &feed(&mut s, &frame)), *text);
            let mut s = server(mode);
            assert_eq!(delivered_text(mode, &feed_bytewise(&mut s, &frame)), *text);
            assert!(s.output().is_empty());
        }
    }
}

/// §5.6: in streaming mode a text piece is delivered as soon as it holds a whole code point,
/// and a code point split by reads is held back until complete.
#[test]
fn streaming_pieces_hold_back_split_code_points() {
    let mut s = server(Delivery::Streaming);
    let frame = cframe(true, TEXT, "a€b".as_bytes()); // 61 E2 82 AC 62
    let header = frame.len() - 5;
    let ev = feed(&mut s, &frame[..header + 2]); // "a" and E2
    let ev2 = feed(&mut s, &frame[header + 2..header + 4]); // 82 AC
    let ev3 = feed(&mut s, &frame[header + 4..]); // "b"
    let piece = |data: &str, fin| OwnedEvent::Fragment {
        kind: wsmachine::MessageKind::Text,
        data: data.as_bytes().to_vec(),
        fin,
    };
    assert_eq!(ev, vec![piece("a", false)]);
    assert_eq!(ev2, vec![piece("€", false)]);
    assert_eq!(ev3, vec![piece("b", true)]);
}

/// §8.1, §5.1: a client fails the connection with 1007 on invalid text from the server and
/// sends its close frame masked.
#[test]
fn client_fails_with_1007_on_invalid_text_from_server() {
    for mode in MODES {
        for (name, bad, _) in INVALID {
            let mut c = client_open(Config::new().with_delivery(mode));
            let ev = feed(&mut c, &sframe(true, TEXT, &embed(bad)));
            assert!(matches!(ev.last(), Some(OwnedEvent::Closed(_))), "{name}");
            assert_failed_1007(&mut c, &ev, ProtocolError::InvalidUtf8);
        }
    }
}

/// How a run ended: the text delivered (pieces joined in streaming mode), the close code of a
/// failure, and the output bytes.
fn outcome(mode: Delivery, stream: &[u8], bytewise: bool) -> (Vec<u8>, Option<u16>, Vec<u8>) {
    let mut s = server(mode);
    let ev = if bytewise {
        feed_bytewise(&mut s, stream)
    } else {
        feed(&mut s, stream)
    };
    let mut text = Vec::new();
    let mut code = None;
    for e in &ev {
        match e {
            OwnedEvent::Text(t) => text.extend_from_slice(t.as_bytes()),
            OwnedEvent::Fragment { data, .. } => text.extend_from_slice(data),
            OwnedEvent::Closed(c) => code = Some(c.code.0),
            other => panic!("unexpected {other:?}"),
        }
    }
    (text, code, take_output(&mut s))
}

/// Autobahn 6.x: every valid and invalid payload, as one frame and as one-byte fragments,
/// fed at once and fed one byte at a time, has the same outcome (the text, or 1007 with the
/// same close frame), and the outcome matches `str::from_utf8`.
#[test]
fn byte_by_byte_delivery_gives_the_same_outcome() {
    let mut payloads: Vec<Vec<u8>> = VALID.iter().map(|t| t.as_bytes().to_vec()).collect();
    for (_, bad, _) in INVALID {
        payloads.push(bad.to_vec());
        payloads.push(embed(bad));
    }
    payloads.push(b"a\xE2\x82".to_vec());
    payloads.push(vec![0xF0, 0x9F, 0x98]);
    for mode in MODES {
        for payload in &payloads {
            let valid = std::str::from_utf8(payload).is_ok();
            for stream in [cframe(true, TEXT, payload), one_byte_fragments(payload)] {
                let whole = outcome(mode, &stream, false);
                let bytewise = outcome(mode, &stream, true);
                if valid {
                    assert_eq!((&whole.0, whole.1), (payload, None), "{mode:?}");
                    assert_eq!(whole, bytewise, "{mode:?} {payload:x?}");
                } else {
                    // Same failure and close frame; in streaming mode the valid pieces
                    // delivered before the failure depend on the reads, but are a prefix.
                    assert_eq!(whole.1, Some(1007), "{mode:?} {payload:x?}");
                    assert_eq!(
                        (whole.1, &whole.2),
                        (bytewise.1, &bytewise.2),
                        "{payload:x?}"
                    );
                    for (text, _, _) in [&whole, &bytewise] {
                        assert!(payload.starts_with(text), "{mode:?} {payload:x?}");
                        if mode == Delivery::Assembled {
                            assert!(text.is_empty());
                        }
                    }
                }
            }
        }
    }
}

/// §8.1, §5.6: every text message must be valid UTF-8 on its own. Two small single-frame text
/// messages that split a code point between them ("\xC3" then "\xA9", "é" only together)
/// fail the connection with 1007 at the first, delivering neither, however they arrive
/// (together or apart, copied by `receive` or read in place), in both delivery modes. Small
/// frames are validated in runs, and a run of these two is valid UTF-8: each one must be
/// checked alone too.
#[test]
fn small_text_messages_that_split_a_code_point_fail_with_1007() {
    let mut wire = frame(true, TEXT, b"ok", Some([1, 2, 3, 4]));
    wire.extend(frame(true, TEXT, b"\xC3", Some([5, 6, 7, 8])));
    wire.extend(frame(true, TEXT, b"\xA9", Some([9, 8, 7, 6])));
    for mode in MODES {
        for in_place in [false, true] {
            for chunk in [1, 7, wire.len()] {
                let case = format!("{mode:?}, in place {in_place}, reads of {chunk}");
                let mut conn = server(mode);
                let mut events = Vec::new();
                for piece in wire.chunks(chunk) {
                    if in_place {
                        let buf = conn.read_buf();
                        buf[..piece.len()].copy_from_slice(piece);
                        conn.commit_read(piece.len());
                        events.extend(drain(&mut conn));
                    } else {
                        events.extend(feed(&mut conn, piece));
                    }
                }
                let (end, messages) = events.split_last().expect("events");
                assert!(matches!(end, OwnedEvent::Closed(_)), "{case}: {events:?}");
                assert_eq!(delivered_text(mode, messages), "ok", "{case}");
                assert_failed_1007(&mut conn, &events, ProtocolError::InvalidUtf8);
            }
        }
    }
}
