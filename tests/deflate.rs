//! permessage-deflate (RFC 7692): negotiation, compression both ways, limits on the
//! decompressed size, and the framing rules for RSV1.
#![cfg(feature = "deflate")]

mod common;

use common::*;
use flate2::{Compress, Compression, FlushCompress};
use wsmachine::extensions::deflate::DeflateConfig;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{
    Accept, CloseCause, CloseCode, Config, Connection, Delivery, Event, MessageKind, OwnedEvent,
    ProtocolError,
};

/// A server with permessage-deflate negotiated from `offer`; returns it with the response.
fn server_with(config: Config, offer: &str) -> (Connection, String) {
    let mut server = Connection::server(config);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: {offer}\r\n\r\n"
    );
    assert_eq!(server.receive(request.as_bytes()), request.len());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    let response = String::from_utf8(take_output(&mut server)).unwrap();
    (server, response)
}

/// permessage-deflate with context takeover both ways: what these tests were written for
/// (several follow one context across messages). The default policy, without it, is
/// tested in `tests/deflate_pool.rs` and the unit tests of `extensions::deflate`.
fn deflating(config: Config) -> Config {
    config.with_deflate(takeover())
}

fn takeover() -> DeflateConfig {
    DeflateConfig::new()
        .with_no_context_takeover(false)
        .with_peer_no_context_takeover(false)
}

/// Raw deflate with a sync flush and the tail removed, as RFC 7692 §7.2.1 sends the end of
/// a message.
fn compress(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = compress_piece(c, data);
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// A piece of a message: a sync flush, tail kept (the stream goes on).
fn compress_piece(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let start = c.total_in();
    loop {
        let used = (c.total_in() - start) as usize;
        c.compress_vec(&data[used..], &mut out, FlushCompress::Sync)
            .unwrap();
        if (c.total_in() - start) as usize == data.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity());
    }
    out
}

fn compressor() -> Compress {
    Compress::new_with_window_bits(Compression::new(6), false, 15)
}

/// A masked client frame with RSV1 set (the first frame of a compressed message).
fn compressed_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(
        if fin { 0x80 } else { 0 } | 0x40 | opcode,
        payload,
        Some([1, 2, 3, 4]),
    )
}

/// RFC 7692 §5, §7: a client offers permessage-deflate and a server configured for it
/// accepts; both then compress.
#[test]
fn client_and_server_negotiate_and_compress_both_ways() {
    let mut p = Pair::new(deflating(Config::new()), deflating(Config::new()));
    let c = p.client.deflate().expect("client negotiated");
    let s = p.server.deflate().expect("server negotiated");
    assert_eq!((c.window_bits, s.peer_window_bits), (15, 15));
    let text = "compress me ".repeat(1000);
    p.client.send_text(&text).unwrap();
    let wire = p.client.output().to_vec();
    assert!(
        wire.len() < text.len() / 10,
        "{} bytes on the wire",
        wire.len()
    );
    let frames = decode_frames(&wire);
    assert_eq!(frames[0].rsv, 0b100, "§6: RSV1 on the first frame");
    p.server.send_binary(text.as_bytes()).unwrap();
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Text(text.clone())]);
    assert_eq!(p.client_events, vec![OwnedEvent::Binary(text.into_bytes())]);
}

/// RFC 7692 §7.1: without a policy the server ignores the offer and nothing is compressed.
#[test]
fn server_without_deflate_declines() {
    let (server, response) = server_with(Config::new(), "permessage-deflate");
    assert!(!response.contains("Sec-WebSocket-Extensions"));
    assert!(server.deflate().is_none());
}

/// RFC 7692 §7.1.1: offers with unknown or repeated parameters or bad values are declined;
/// the next acceptable offer is taken.
#[test]
fn server_declines_invalid_offers_and_takes_the_next() {
    for offer in [
        "permessage-deflate; foo=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_no_context_takeover=1",
        // §7.1.2.1: window bits are 1*DIGIT without leading zeros, 8 to 15.
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits=\"+9\"",
        "permessage-deflate; client_max_window_bits=-10",
        "permessage-deflate; client_max_window_bits=016",
    ] {
        let (server, response) = server_with(deflating(Config::new()), offer);
        assert!(server.deflate().is_none(), "{offer}");
        assert!(!response.contains("permessage-deflate"), "{offer}");
        let (server, response) = server_with(
            deflating(Config::new()),
            &format!("{offer}, permessage-deflate"),
        );
        assert!(server.deflate().is_some(), "{offer}");
        assert!(response.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    }
}

/// RFC 7692 §7.1.2.1: every window size from 8 to 15 is accepted in an offer, also as a
/// quoted string; the server never compresses with less than 9 bits (zlib's minimum).
#[test]
fn server_takes_every_valid_window_size() {
    for bits in 8..=15u8 {
        for offer in [
            format!("permessage-deflate; server_max_window_bits={bits}"),
            format!("permessage-deflate; server_max_window_bits=\"{bits}\""),
        ] {
            let (server, _) = server_with(deflating(Config::new()), &offer);
            match server.deflate() {
                Some(p) => assert_eq!(p.window_bits, bits, "{offer}"),
                // 8 bits asked of a compressor that cannot: declined, not answered wrongly.
                None => assert_eq!(bits, 8, "{offer}"),
            }
        }
    }
}

/// RFC 7692 §7.1.2.1: a server that accepts an offer with `server_max_window_bits` MUST
/// answer with it, even when the value asked for is the largest (15), which it would
/// otherwise leave unsaid.
#[test]
fn server_answers_a_requested_window_even_at_15() {
    let (server, response) = server_with(
        deflating(Config::new()),
        "permessage-deflate; server_max_window_bits=15",
    );
    assert_eq!(server.deflate().unwrap().window_bits, 15);
    assert!(
        response.contains(
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=15\r\n"
        ),
        "{response}"
    );
    // Not asked for, the full window goes unsaid.
    let (_, response) = server_with(deflating(Config::new()), "permessage-deflate");
    assert!(!response.contains("server_max_window_bits"), "{response}");
}

/// Out-of-range values set through the public fields or the builders are clamped, never
/// passed to zlib: window bits to 9..=15, the level to at most 9, and such a connection
/// compresses and inflates normally.
#[test]
fn out_of_range_settings_are_clamped() {
    assert_eq!(DeflateConfig::new().with_level(10).level, 9);
    assert_eq!(DeflateConfig::new().with_level(u32::MAX).level, 9);
    assert_eq!(DeflateConfig::new().with_level(9).level, 9);
    assert_eq!(DeflateConfig::new().with_level(3).level, 3);
    for (bits, clamped) in [
        (0u8, 9u8),
        (8, 9),
        (9, 9),
        (12, 12),
        (15, 15),
        (16, 15),
        (255, 15),
    ] {
        let mut config = DeflateConfig::new();
        config.max_window_bits = bits;
        config.peer_max_window_bits = bits;
        config.level = 10 + u32::from(bits);
        let v = config.validated();
        assert_eq!(
            (v.max_window_bits, v.peer_max_window_bits),
            (clamped, clamped),
            "{bits}"
        );
        assert_eq!(v.level, 9, "{bits}");
        let config = Config::new().with_deflate(config);
        let mut pair = Pair::new(config, config);
        let text = "clamped, clamped, clamped ".repeat(20);
        pair.client.send_text(&text).unwrap();
        pair.server.send_text(&text).unwrap();
        pair.run();
        assert_eq!(
            pair.server_events,
            [OwnedEvent::Text(text.clone())],
            "{bits}"
        );
        assert_eq!(pair.client_events, [OwnedEvent::Text(text)], "{bits}");
    }
}

/// The public `DeflateConfig` fields are clamped into the offer whatever was set directly.
#[test]
fn client_offer_keeps_window_bits_in_range() {
    use wsmachine::extensions::deflate::client_offer;
    let mut config = DeflateConfig::new();
    config.max_window_bits = 3;
    config.peer_max_window_bits = 200;
    let offer = client_offer(&config);
    assert!(offer.contains("client_max_window_bits=9"), "{offer}");
    assert!(!offer.contains("server_max_window_bits"), "{offer}");
}

/// RFC 7692 §7.1.2: the server answers window and context requests.
#[test]
fn server_answers_every_parameter() {
    let (server, response) = server_with(
        deflating(Config::new()),
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits; \
         server_no_context_takeover; client_no_context_takeover",
    );
    let p = server.deflate().unwrap();
    assert_eq!(p.window_bits, 10);
    assert!(p.no_context_takeover && p.peer_no_context_takeover);
    assert!(response.contains(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
         server_max_window_bits=10; client_no_context_takeover\r\n"
    ));
    let small = Config::new().with_deflate(DeflateConfig::new().with_peer_max_window_bits(9));
    let (server, response) = server_with(small, "permessage-deflate; client_max_window_bits");
    assert_eq!(server.deflate().unwrap().peer_window_bits, 9);
    assert!(response.contains("client_max_window_bits=9"));
}

fn client_with_response(config: Config, extensions: &str) -> (Connection, Vec<OwnedEvent>) {
    let request = ClientRequest::new("x", "/");
    let mut client = Connection::client(config, &request, SEED).unwrap();
    let head = take_output(&mut client);
    assert!(String::from_utf8_lossy(&head).contains("Sec-WebSocket-Extensions: permessage-deflate"));
    let mut response = switching_response(&head);
    response.truncate(response.len() - 2);
    response
        .extend_from_slice(format!("Sec-WebSocket-Extensions: {extensions}\r\n\r\n").as_bytes());
    let events = feed(&mut client, &response);
    (client, events)
}

/// RFC 7692 §7.1: a client fails the connection on a response it cannot accept.
#[test]
fn client_fails_on_an_invalid_response() {
    for bad in [
        "permessage-deflate; foo",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=20",
        "permessage-deflate; server_max_window_bits=+10",
        "permessage-deflate, permessage-deflate",
        "x-unknown",
    ] {
        let (_, events) = client_with_response(deflating(Config::new()), bad);
        assert!(
            matches!(closed(&events).cause, CloseCause::Handshake(_)),
            "{bad}: {events:?}"
        );
    }
    let (client, events) = client_with_response(
        deflating(Config::new()),
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=12",
    );
    assert!(matches!(events[0], OwnedEvent::Accepted(_)));
    let p = client.deflate().unwrap();
    assert_eq!(p.window_bits, 12);
    assert!(p.no_context_takeover);
}

/// RFC 7692 §6.1: RSV1 on a control frame or a continuation frame is a protocol error.
#[test]
fn rsv1_on_control_or_continuation_fails_with_1002() {
    let (mut server, _) = server_with(deflating(Config::new()), "permessage-deflate");
    let events = feed(&mut server, &compressed_frame(true, PING, b""));
    assert_eq!(
        closed(&events).cause,
        CloseCause::Failed(ProtocolError::UnexpectedRsvBits(0b100))
    );
    let (mut server, _) = server_with(deflating(Config::new()), "permessage-deflate");
    let mut c = compressor();
    let mut input = compressed_frame(false, TEXT, &compress(&mut c, b"ab"));
    input.extend(compressed_frame(true, CONT, &compress(&mut c, b"cd")));
    let events = feed(&mut server, &input);
    assert_eq!(closed(&events).code, CloseCode::PROTOCOL_ERROR);
}

/// RFC 7692 §6: RSV1 without negotiation stays a protocol error (RFC 6455 §5.2).
#[test]
fn rsv1_without_negotiation_fails_with_1002() {
    let mut server = server_open(deflating(Config::new()));
    let events = feed(&mut server, &compressed_frame(true, TEXT, b"x"));
    assert_eq!(closed(&events).code, CloseCode::PROTOCOL_ERROR);
}

/// RFC 7692 §6: after negotiation, messages with RSV1 clear are delivered as they are.
#[test]
fn uncompressed_messages_pass_after_negotiation() {
    let (mut server, _) = server_with(deflating(Config::new()), "permessage-deflate");
    let events = feed(&mut server, &cframe(true, TEXT, b"plain"));
    assert_eq!(events, vec![OwnedEvent::Text("plain".into())]);
}

/// RFC 7692 §8: data that does not inflate fails with 1007.
#[test]
fn invalid_compressed_data_fails_with_1007() {
    let (mut server, _) = server_with(deflating(Config::new()), "permessage-deflate");
    let events = feed(&mut server, &compressed_frame(true, BINARY, &[0xff; 20]));
    let c = closed(&events);
    assert_eq!(
        (c.code, c.cause),
        (
            CloseCode::INVALID_PAYLOAD,
            CloseCause::Failed(ProtocolError::InflateFailed)
        )
    );
}

/// The message size limit applies to the decompressed size, at the exact boundary.
#[test]
fn decompressed_size_limit_boundary() {
    let limit = 10_000;
    for (len, ok) in [
        (limit - 1, true),
        (limit, true),
        (limit + 1, false),
        (limit + 2, false),
    ] {
        let config = Config::new()
            .with_max_message_size(limit)
            .with_deflate(DeflateConfig::new());
        let (mut server, _) = server_with(config, "permessage-deflate");
        let payload = compress(&mut compressor(), &vec![b'a'; len]);
        assert!(payload.len() < 100);
        let events = feed(&mut server, &compressed_frame(true, TEXT, &payload));
        if ok {
            assert_eq!(kinds(&events), vec![format!("text {len}")], "len {len}");
        } else {
            let c = closed(&events);
            assert_eq!(
                (c.code, c.cause),
                (
                    CloseCode::TOO_BIG,
                    CloseCause::Failed(ProtocolError::MessageTooLarge)
                ),
                "len {len}"
            );
        }
    }
}

/// A bomb spread over many continuation frames with context takeover fails with 1009 as soon
/// as the limit is crossed; the rest is not inflated and memory stays bounded.
#[test]
fn bomb_over_continuation_frames_stops_at_the_limit() {
    let limit = 1 << 20;
    let config = Config::new()
        .with_max_message_size(limit)
        .with_max_fragments(100_000)
        .with_deflate(DeflateConfig::new());
    let (mut server, _) = server_with(config, "permessage-deflate");
    let mut c = compressor();
    let zeros = vec![0u8; 1 << 20];
    let mut events = feed(
        &mut server,
        &compressed_frame(false, BINARY, &compress_piece(&mut c, &zeros[..1000])),
    );
    let mut fed = 1000usize;
    let mut frames_after_close = 0;
    let mut fed_at_close = None;
    while fed < 64 << 20 {
        let piece = compress_piece(&mut c, &zeros);
        fed += zeros.len();
        let more = feed(&mut server, &cframe(false, CONT, &piece));
        if server.is_closed() {
            fed_at_close.get_or_insert(fed);
            frames_after_close += 1;
        }
        events.extend(more);
        assert!(server.memory().total() < 4 << 20, "{:?}", server.memory());
        if frames_after_close > 3 {
            break;
        }
    }
    let c = closed(&events);
    assert_eq!(c.cause, CloseCause::Failed(ProtocolError::MessageTooLarge));
    let fed_at_close = fed_at_close.expect("the connection failed");
    // The limit is 1 MiB: the frame that crosses it (1 MiB of zeros) is the last inflated.
    assert!(
        fed_at_close <= (2 << 20) + 1000,
        "failed only after {fed_at_close} bytes"
    );
}

/// Streaming delivery works with compression: pieces are bounded and join to the message.
#[test]
fn streaming_delivery_of_a_compressed_message() {
    let config = Config::new()
        .with_delivery(Delivery::Streaming)
        .with_deflate(DeflateConfig::new());
    let (mut server, _) = server_with(config, "permessage-deflate");
    let text = "Ελληνικά 中文 😀 ".repeat(20_000);
    let payload = compress(&mut compressor(), text.as_bytes());
    let mut got = String::new();
    let mut pieces = 0;
    let mut events = Vec::new();
    for chunk in compressed_frame(true, TEXT, &payload).chunks(1000) {
        events.extend(feed(&mut server, chunk));
        assert!(
            server.memory().total() < 512 * 1024,
            "{:?}",
            server.memory()
        );
    }
    for e in &events {
        match e {
            OwnedEvent::Fragment {
                kind: MessageKind::Text,
                data,
                fin,
            } => {
                got.push_str(std::str::from_utf8(data).unwrap());
                pieces += 1;
                assert_eq!(*fin, got.len() == text.len());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, text);
    assert!(pieces > 10);
}

/// A compressed message can be sent in fragments (RSV1 on the first only) and is received
/// whole.
#[test]
fn compressed_message_sent_in_fragments() {
    let mut p = Pair::new(deflating(Config::new()), deflating(Config::new()));
    let parts = ["first part, ", "second part, ", "", "last part"];
    for (i, part) in parts.iter().enumerate() {
        p.client
            .send_fragment(MessageKind::Text, part.as_bytes(), i == parts.len() - 1)
            .unwrap();
    }
    let frames = decode_frames(p.client.output());
    assert_eq!(
        frames.iter().map(|f| f.rsv).collect::<Vec<_>>(),
        vec![4, 0, 0, 0]
    );
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Text(parts.concat())]);
}

/// Messages under the threshold, and messages sent with `send_uncompressed`, go out plain.
#[test]
fn threshold_and_uncompressed_sends() {
    let config = Config::new().with_deflate(DeflateConfig::new().with_threshold(100));
    let mut p = Pair::new(config, deflating(Config::new()));
    p.client.send_text("short").unwrap();
    p.client
        .send_uncompressed(MessageKind::Binary, &[7; 1000])
        .unwrap();
    p.client.send_binary(&[7; 1000]).unwrap();
    let rsv: Vec<u8> = decode_frames(p.client.output())
        .iter()
        .map(|f| f.rsv)
        .collect();
    assert_eq!(rsv, vec![0, 0, 4]);
    p.run();
    assert_eq!(
        kinds(&p.server_events),
        vec!["text 5", "binary 1000", "binary 1000"]
    );
}

/// Every combination of window bits and context takeover round-trips a series of messages.
#[test]
fn every_parameter_combination_round_trips() {
    for bits in [9u8, 12, 15] {
        for peer_bits in [9u8, 15] {
            for no_ct in [false, true] {
                for peer_no_ct in [false, true] {
                    let policy = DeflateConfig::new()
                        .with_max_window_bits(bits)
                        .with_peer_max_window_bits(peer_bits)
                        .with_no_context_takeover(no_ct)
                        .with_peer_no_context_takeover(peer_no_ct);
                    let mut p =
                        Pair::new(Config::new().with_deflate(policy), deflating(Config::new()));
                    let params = p.client.deflate().unwrap();
                    assert_eq!(params.peer_window_bits, peer_bits);
                    let mut sent = Vec::new();
                    for i in 0..20u32 {
                        let msg = format!("message {i} {}", "abc".repeat(i as usize * 50));
                        p.client.send_text(&msg).unwrap();
                        p.server.send_text(&msg).unwrap();
                        sent.push(OwnedEvent::Text(msg));
                    }
                    p.run();
                    assert_eq!(p.server_events, sent, "{policy:?}");
                    assert_eq!(p.client_events, sent, "{policy:?}");
                }
            }
        }
    }
}

/// Compression state is created only when used, and an idle connection with deflate on holds
/// little: this prints the memory per window setting (see the README table).
#[test]
fn memory_per_window_setting() {
    let mut used = Vec::new();
    for bits in [9u8, 12, 15] {
        // With context takeover, each connection keeps its own state.
        let policy = takeover()
            .with_max_window_bits(bits)
            .with_peer_max_window_bits(bits);
        let mut p = Pair::new(
            Config::new().with_deflate(policy),
            Config::new().with_deflate(policy),
        );
        let before = p.client.memory().compression;
        p.client.send_text(&"hello ".repeat(100)).unwrap();
        p.server.send_text(&"hello ".repeat(100)).unwrap();
        p.run();
        let after = p.client.memory();
        println!(
            "window {bits}: before use {before} B, after {} B ({after:?})",
            after.compression
        );
        // Created on first use only.
        assert_eq!(before, 0);
        used.push(after.compression);
    }
    // The compressor's window is 2^bits: a larger window holds more (tests/alloc.rs checks
    // these figures against the heap itself).
    assert!(used[0] < used[1] && used[1] < used[2], "{used:?}");
}

/// Regression (found by the `inflate` fuzz target): inflation stops the moment the limit is
/// crossed, so data that is corrupt only after that point reports the size (1009), as an
/// independent decoder bounded at the limit would.
#[test]
fn size_limit_is_reported_before_later_corrupt_data() {
    let limit = 4096;
    let config = Config::new()
        .with_max_message_size(limit)
        .with_deflate(DeflateConfig::new());
    let (mut server, _) = server_with(config, "permessage-deflate");
    let mut c = compressor();
    let mut payload = compress_piece(&mut c, &vec![b'z'; limit + 100]);
    payload.extend_from_slice(&[0xff; 16]); // not deflate
    let events = feed(&mut server, &compressed_frame(true, BINARY, &payload));
    assert_eq!(
        closed(&events).cause,
        CloseCause::Failed(ProtocolError::MessageTooLarge)
    );
}

/// Regression (found by the `client_stream` fuzz target): corrupt compressed data is reported
/// the same way however the input is split: output that came before it is delivered first,
/// and the error comes before anything later in the stream (here a frame with a reserved
/// opcode).
#[test]
fn corrupt_data_is_reported_at_its_place_in_the_stream() {
    let mut c = compressor();
    let mut payload = compress_piece(&mut c, b"some text before the damage");
    payload.extend_from_slice(&[0xff; 8]);
    let mut input = compressed_frame(false, BINARY, &payload);
    input.extend_from_slice(&[0x84, 0x80, 0, 0, 0, 0]); // reserved opcode 4
    let mut outcomes = Vec::new();
    for delivery in [Delivery::Assembled, Delivery::Streaming] {
        for chunk in [1, 3, 7, input.len()] {
            let config = deflating(Config::new()).with_delivery(delivery);
            let (mut server, _) = server_with(config, "permessage-deflate");
            let mut events = Vec::new();
            for piece in input.chunks(chunk) {
                events.extend(feed(&mut server, piece));
            }
            outcomes.push(closed(&events).cause);
        }
    }
    assert!(
        outcomes
            .iter()
            .all(|c| *c == CloseCause::Failed(ProtocolError::InflateFailed)),
        "{outcomes:?}"
    );
}

/// Regression (review): a compressed frame with an empty payload is an empty message, and the
/// context shared with the next message survives it (RFC 7692 §7.2.3.6 sends a single 0x00
/// byte; some peers send nothing).
#[test]
fn empty_compressed_payload_keeps_the_context() {
    let (mut server, _) = server_with(deflating(Config::new()), "permessage-deflate");
    let mut c = compressor();
    let mut input = compressed_frame(true, TEXT, &compress(&mut c, b"first message"));
    input.extend(compressed_frame(true, TEXT, b""));
    input.extend(compressed_frame(
        true,
        TEXT,
        &compress(&mut c, b"first message again"),
    ));
    let events = feed(&mut server, &input);
    assert_eq!(
        events,
        vec![
            OwnedEvent::Text("first message".into()),
            OwnedEvent::Text(String::new()),
            OwnedEvent::Text("first message again".into()),
        ]
    );
}

/// RFC 7692 §7.1.1.1, §7.1.1.2: an endpoint that resets its context after every message (and
/// one whose peer does) needs nothing of its compressor (decompressor) between messages. A
/// quiet connection drops them at `release_buffers_after` and builds them anew for the next
/// message; with context takeover it keeps them, since the next message refers back.
#[test]
fn quiet_connections_drop_compression_state_only_without_context_takeover() {
    use std::time::Duration;
    use wsmachine::Timestamp;
    let at = |ms| Timestamp::from_duration(Duration::from_millis(ms));
    let config = |reset: bool, delivery: Delivery| {
        Config::new()
            .without_deadlines()
            .with_release_buffers_after(Some(Duration::from_secs(1)))
            .with_delivery(delivery)
            .with_deflate(
                DeflateConfig::new()
                    .with_no_context_takeover(reset)
                    .with_peer_no_context_takeover(reset),
            )
    };
    let text = "compress me, compress me again ".repeat(100);
    // Streaming delivery inflates into a buffer of the decompressor's own, which a quiet
    // connection must give back too.
    for delivery in [Delivery::Assembled, Delivery::Streaming] {
        for reset in [true, false] {
            let case = format!("reset {reset}, {delivery:?}");
            let mut p = Pair::new(config(reset, delivery), config(reset, delivery));
            let params = p.server.deflate().unwrap();
            assert_eq!(
                (params.no_context_takeover, params.peer_no_context_takeover),
                (reset, reset)
            );
            p.server.handle_timeout(at(0));
            p.client.send_text(&text).unwrap();
            p.server.send_text(&text).unwrap();
            p.run();
            p.server.handle_timeout(at(100));
            let before = p.server.memory().compression;
            assert!(before > 0, "{case}");
            p.server.handle_timeout(at(1_100));
            let kept = p.server.memory().compression;
            if reset {
                assert_eq!(kept, 0, "both directions reset: nothing kept ({case})");
            } else {
                assert!(
                    kept > 256 * 1024,
                    "context takeover keeps its state: {kept} ({case})"
                );
                assert_eq!(
                    kept, before,
                    "with context takeover nothing is released ({case})"
                );
            }
            // The next messages go through either way, in both directions.
            p.client.send_text(&text).unwrap();
            p.server.send_text(&text).unwrap();
            p.run();
            let texts = vec![text.clone(); 2];
            assert_eq!(texts_of(&p.server_events), texts, "{case}");
            assert_eq!(texts_of(&p.client_events), texts, "{case}");
            assert!(p.server.memory().compression > 0, "{case}");
        }
    }
}

/// The text messages among `events`, with streamed fragments joined.
fn texts_of(events: &[OwnedEvent]) -> Vec<String> {
    messages(events)
        .into_iter()
        .filter(|(kind, _)| *kind == MessageKind::Text)
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect()
}

/// Raw deflate ended with a final block (BFINAL, `Z_FINISH`), as some peers end a message
/// (RFC 7692 §7.2.3.4 permits it; the receiver's appended tail then follows the stream's end).
fn compress_final(data: &[u8]) -> Vec<u8> {
    let mut c = compressor();
    let mut out = Vec::with_capacity(data.len() + 64);
    loop {
        let used = c.total_in() as usize;
        let status = c
            .compress_vec(&data[used..], &mut out, FlushCompress::Finish)
            .unwrap();
        if status == flate2::Status::StreamEnd {
            return out;
        }
        out.reserve(out.capacity() + 64);
    }
}

/// Text messages (fragments joined) and how the connection ended, if it did.
fn outcome(events: &[OwnedEvent]) -> (Vec<String>, Option<CloseCause>) {
    let mut texts = texts_of(events);
    for e in events {
        if let OwnedEvent::Binary(b) = e {
            texts.push(format!("binary {}", b.len()));
        }
    }
    let end = events.iter().find_map(|e| match e {
        OwnedEvent::Closed(c) => Some(c.cause),
        _ => None,
    });
    (texts, end)
}

/// RFC 7692 §7.2.2: messages whose data ends with a final block inflate alike whether they are
/// delivered whole or streamed in pieces, and whatever the reads' sizes: each one starts a new
/// stream; what follows a final block within the message starts another (§7.2.3.4), and
/// bytes that are not deflate data fail the connection with 1007 after the text inflated
/// before them (§7.2.3, RFC 6455 §7.1.7).
#[test]
fn final_blocks_and_trailing_data_inflate_alike_in_both_delivery_modes() {
    let long = "final block, then more, then more again. ".repeat(2_000);
    let short = "short and final";
    let mut two_finals = compressed_frame(true, TEXT, &compress_final(long.as_bytes()));
    two_finals.extend(compressed_frame(
        true,
        TEXT,
        &compress_final(short.as_bytes()),
    ));
    let mut trailing = compress_final(short.as_bytes());
    trailing.extend_from_slice(&compress_final(b"more"));
    let mut after_empty = compressed_frame(false, TEXT, &compress_final(short.as_bytes()));
    after_empty.extend(cframe(true, CONT, b""));
    let mut after_more = compressed_frame(false, TEXT, &compress_final(short.as_bytes()));
    after_more.extend(cframe(true, CONT, b"\x01\x02"));
    let mut garbage = compress_piece(&mut compressor(), long.as_bytes());
    garbage.extend_from_slice(&[0xff; 16]);
    let failed = Some(CloseCause::Failed(ProtocolError::InflateFailed));
    /// A case: its name, the frames, the texts expected, how the connection ends.
    type Case = (&'static str, Vec<u8>, Vec<String>, Option<CloseCause>);
    let cases: [Case; 5] = [
        (
            "two final-block messages",
            two_finals,
            vec![long.clone(), short.into()],
            None,
        ),
        (
            "a second stream after the final block (§7.2.3.4)",
            compressed_frame(true, TEXT, &trailing),
            vec![format!("{short}more")],
            None,
        ),
        (
            "an empty frame after it",
            after_empty,
            vec![short.into()],
            None,
        ),
        ("a frame with bytes after it", after_more, vec![], failed),
        (
            "garbage after good data",
            compressed_frame(true, BINARY, &garbage),
            vec![],
            failed,
        ),
    ];
    for (name, wire, texts, end) in cases {
        for delivery in [Delivery::Assembled, Delivery::Streaming] {
            for chunk in [1, 5, 777, wire.len()] {
                let config = Config::new()
                    .with_delivery(delivery)
                    .with_deflate(DeflateConfig::new());
                let (mut server, _) = server_with(config, "permessage-deflate");
                let mut events = Vec::new();
                for piece in wire.chunks(chunk) {
                    events.extend(feed(&mut server, piece));
                }
                let (got, ended) = outcome(&events);
                let case = format!("{name}, {delivery:?}, reads of {chunk}");
                assert_eq!(ended, end, "{case}");
                if end.is_none() {
                    assert_eq!(got, texts, "{case}");
                } else if delivery == Delivery::Assembled {
                    // A failed message is not delivered whole.
                    assert!(got.is_empty(), "{case}: {got:?}");
                }
            }
        }
    }
}
