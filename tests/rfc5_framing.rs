//! RFC 6455 §5.1-§5.3, §5.6 and §5.7: framing, masking, length encodings, opcodes, RSV bits,
//! data frames and the example frames of §5.7.
//!
//! Expected bytes come from the RFC text or from the independent encoder/decoder in
//! `tests/common`, never from the crate's own codec.

mod common;
use common::*;
use wsmachine::{CloseCode, Config, OwnedEvent, ProtocolError};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

// ----- §5.1 / §5.3: masking direction -----------------------------------------------------

/// §5.1: a server MUST close the connection upon receiving an unmasked frame (status 1002).
#[test]
fn unmasked_client_frame_fails_with_1002() {
    let mut server = server_open(Config::new());
    let events = feed(&mut server, &sframe(true, TEXT, b"Hello"));
    assert_failed(
        &mut server,
        &events,
        ProtocolError::UnmaskedClientFrame,
        1002,
    );
}

/// §5.1: the masking requirement holds for control frames too: an unmasked ping from a
/// client fails the connection with 1002.
#[test]
fn unmasked_client_control_frame_fails_with_1002() {
    let mut server = server_open(Config::new());
    let events = feed(&mut server, &sframe(true, PING, b"Hello"));
    assert_failed(
        &mut server,
        &events,
        ProtocolError::UnmaskedClientFrame,
        1002,
    );
}

/// §5.1: a client MUST close the connection if it detects a masked frame (status 1002).
#[test]
fn masked_server_frame_fails_with_1002() {
    let mut client = client_open(Config::new());
    let events = feed(&mut client, &cframe(true, TEXT, b"Hello"));
    assert_failed(&mut client, &events, ProtocolError::MaskedServerFrame, 1002);
}

/// §5.1/§5.3: a client MUST mask all frames it sends: data, control and close frames alike,
/// and the payload unmasks to what was sent.
#[test]
fn client_output_is_always_masked() {
    let mut client = client_open(Config::new());
    client.send_text("text").unwrap();
    client.send_binary(&[0, 1, 2, 255]).unwrap();
    client.ping(b"ping").unwrap();
    client.pong(b"pong").unwrap();
    // An automatic pong as well.
    assert_eq!(
        feed(&mut client, &sframe(true, PING, b"auto")),
        vec![OwnedEvent::Ping(b"auto".to_vec())]
    );
    client.close(CloseCode::NORMAL, "bye").unwrap();
    let frames = decode_frames(&take_output(&mut client));
    let summary: Vec<(u8, bool, Vec<u8>)> = frames
        .iter()
        .map(|f| (f.opcode, f.masked, f.payload.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (TEXT, true, b"text".to_vec()),
            (BINARY, true, vec![0, 1, 2, 255]),
            (PING, true, b"ping".to_vec()),
            (PONG, true, b"pong".to_vec()),
            (PONG, true, b"auto".to_vec()),
            (CLOSE, true, close_payload(1000, "bye")),
        ]
    );
}

/// §5.3: the client picks a fresh masking key for each frame.
#[test]
fn client_uses_a_fresh_masking_key_per_frame() {
    let mut client = client_open(Config::new());
    let mut keys = Vec::new();
    for _ in 0..16 {
        client.send_binary(b"x").unwrap();
        let out = take_output(&mut client);
        // 1-byte payload: 2 header bytes, then the 4-byte key (§5.2).
        assert_eq!(out.len(), 7);
        assert_eq!(out[1], 0x81, "MASK bit set, length 1");
        keys.push([out[2], out[3], out[4], out[5]]);
    }
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), keys.len(), "masking keys repeat: {keys:?}");
}

/// §5.1: a server MUST NOT mask any frames that it sends to the client.
#[test]
fn server_output_is_never_masked() {
    let mut server = server_open(Config::new());
    server.send_text("text").unwrap();
    server.send_binary(&pattern(300)).unwrap();
    server.ping(b"ping").unwrap();
    server.pong(b"pong").unwrap();
    assert_eq!(
        feed(&mut server, &cframe(true, PING, b"auto")),
        vec![OwnedEvent::Ping(b"auto".to_vec())]
    );
    server.close(CloseCode::NORMAL, "bye").unwrap();
    let frames = decode_frames(&take_output(&mut server));
    let summary: Vec<(u8, bool, Vec<u8>)> = frames
        .iter()
        .map(|f| (f.opcode, f.masked, f.payload.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (TEXT, false, b"text".to_vec()),
            (BINARY, false, pattern(300)),
            (PING, false, b"ping".to_vec()),
            (PONG, false, b"pong".to_vec()),
            (PONG, false, b"auto".to_vec()),
            (CLOSE, false, close_payload(1000, "bye")),
        ]
    );
}

// ----- §5.7: the example frames --------------------------------------------------------------

/// §5.7: "A single-frame unmasked text message" `81 05 48 65 6c 6c 6f` is "Hello" to a client.
#[test]
fn rfc_unmasked_hello_is_received_by_a_client() {
    let mut client = client_open(Config::new());
    let events = feed(&mut client, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(events, vec![OwnedEvent::Text("Hello".into())]);
}

/// §5.7: a server's `send_text("Hello")` is exactly the unmasked example frame.
#[test]
fn server_send_text_hello_matches_rfc_bytes() {
    let mut server = server_open(Config::new());
    server.send_text("Hello").unwrap();
    assert_eq!(
        take_output(&mut server),
        [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
}

/// §5.7: "A single-frame masked text message" `81 85 37 fa 21 3d 7f 9f 4d 51 58` is "Hello"
/// to a server.
#[test]
fn rfc_masked_hello_is_received_by_a_server() {
    let mut server = server_open(Config::new());
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Text("Hello".into())]
    );
}

/// §5.7: a client's `send_text("Hello")` has the shape of the masked example frame
/// (`81 85`, key, "Hello" XOR key), whatever key it picked.
#[test]
fn client_send_text_hello_matches_rfc_masked_shape() {
    let mut client = client_open(Config::new());
    client.send_text("Hello").unwrap();
    let out = take_output(&mut client);
    assert_eq!(out.len(), 11);
    let key = [out[2], out[3], out[4], out[5]];
    assert_eq!(out, raw_frame(0x81, b"Hello", Some(key)));
    assert_eq!(&out[..2], &[0x81, 0x85]);
}

/// §5.7: "A fragmented unmasked text message" `01 03 48 65 6c`, `80 02 6c 6f` is "Hello".
#[test]
fn rfc_fragmented_hello_is_received_by_a_client() {
    let mut client = client_open(Config::new());
    let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    assert_eq!(
        feed(&mut client, &bytes),
        vec![OwnedEvent::Text("Hello".into())]
    );
}

/// §5.7: the unmasked ping `89 05 48 65 6c 6c 6f` reaches a client as a ping "Hello".
#[test]
fn rfc_unmasked_ping_is_received_by_a_client() {
    let mut client = client_open(Config::new());
    let events = feed(&mut client, &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(events, vec![OwnedEvent::Ping(b"Hello".to_vec())]);
}

/// §5.7: a server's `ping("Hello")` is exactly the unmasked ping example frame.
#[test]
fn server_ping_hello_matches_rfc_bytes() {
    let mut server = server_open(Config::new());
    server.ping(b"Hello").unwrap();
    assert_eq!(
        take_output(&mut server),
        [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
}

/// §5.7: the masked pong `8a 85 37 fa 21 3d 7f 9f 4d 51 58` reaches a server as a pong "Hello".
#[test]
fn rfc_masked_pong_is_received_by_a_server() {
    let mut server = server_open(Config::new());
    let bytes = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Pong(b"Hello".to_vec())]
    );
}

/// §5.7: "256 bytes binary message in a single unmasked frame" `82 7E 0100 [256 bytes]`.
#[test]
fn rfc_256_byte_binary_frame_is_received_by_a_client() {
    let mut client = client_open(Config::new());
    let mut bytes = vec![0x82, 0x7E, 0x01, 0x00];
    bytes.extend(pattern(256));
    assert_eq!(
        feed(&mut client, &bytes),
        vec![OwnedEvent::Binary(pattern(256))]
    );
}

/// §5.7: a server sends 256 bytes of binary as `82 7E 0100 [256 bytes]`.
#[test]
fn server_send_binary_256_bytes_matches_rfc_header() {
    let mut server = server_open(Config::new());
    server.send_binary(&pattern(256)).unwrap();
    let out = take_output(&mut server);
    assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
    assert_eq!(&out[4..], &pattern(256)[..]);
}

/// §5.7: "64KiB binary message in a single unmasked frame" `82 7F 0000000000010000 [65536]`.
#[test]
fn rfc_64kib_binary_frame_is_received_by_a_client() {
    let mut client = client_open(Config::new());
    let mut bytes = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
    bytes.extend(pattern(65536));
    assert_eq!(
        feed(&mut client, &bytes),
        vec![OwnedEvent::Binary(pattern(65536))]
    );
}

/// §5.7: a server sends 64 KiB of binary as `82 7F 0000000000010000 [65536 bytes]`.
#[test]
fn server_send_binary_64kib_matches_rfc_header() {
    let mut server = server_open(Config::new());
    server.send_binary(&pattern(65536)).unwrap();
    let out = take_output(&mut server);
    assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    assert_eq!(&out[10..], &pattern(65536)[..]);
}

// ----- §5.2: opcodes and RSV bits ----------------------------------------------------------

/// §5.2: opcodes %x3-7 are reserved for further non-control frames; receiving one fails the
/// connection with 1002.
#[test]
fn reserved_non_control_opcodes_fail_with_1002() {
    for op in 0x3..=0x7u8 {
        let mut server = server_open(Config::new());
        let events = feed(&mut server, &cframe(true, op, b"x"));
        assert_failed(
            &mut server,
            &events,
            ProtocolError::ReservedOpcode(op),
            1002,
        );
    }
}

/// §5.2: opcodes %xB-F are reserved for further control frames; receiving one fails the
/// connection with 1002.
#[test]
fn reserved_control_opcodes_fail_with_1002() {
    for op in 0xB..=0xFu8 {
        let mut client = client_open(Config::new());
        let events = feed(&mut client, &sframe(true, op, b"x"));
        assert_failed(
            &mut client,
            &events,
            ProtocolError::ReservedOpcode(op),
            1002,
        );
    }
}

/// §5.2: RSV1, RSV2 and RSV3 MUST be 0 unless an extension defines them; a nonzero value
/// with no extension negotiated fails the connection with 1002.
#[test]
fn rsv_bits_without_extension_fail_with_1002() {
    for (bit, rsv) in [
        (0x40u8, 0b100u8),
        (0x20, 0b010),
        (0x10, 0b001),
        (0x70, 0b111),
    ] {
        let mut server = server_open(Config::new());
        let bytes = raw_frame(0x80 | bit | TEXT, b"Hello", Some([1, 2, 3, 4]));
        let events = feed(&mut server, &bytes);
        assert_failed(
            &mut server,
            &events,
            ProtocolError::UnexpectedRsvBits(rsv),
            1002,
        );
    }
}

// ----- §5.2: payload length ----------------------------------------------------------------

/// §5.2: a payload length of 0-125 is the 7-bit length itself; 125 bytes decode exactly.
#[test]
fn payload_of_125_bytes_with_7_bit_length_decodes() {
    let bytes = cframe(true, BINARY, &pattern(125));
    assert_eq!(bytes[1], 0x80 | 125, "7-bit length form");
    let mut server = server_open(Config::new());
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Binary(pattern(125))]
    );
}

/// §5.2: a 7-bit length of 126 means a 16-bit length follows; 126 and 65535 bytes decode.
#[test]
fn payloads_of_126_and_65535_bytes_with_16_bit_length_decode() {
    for len in [126usize, 65535] {
        let bytes = cframe(true, BINARY, &pattern(len));
        assert_eq!(bytes[1], 0x80 | 126, "16-bit length form");
        assert_eq!(bytes[2..4], (len as u16).to_be_bytes());
        let mut server = server_open(Config::new());
        assert_eq!(
            feed(&mut server, &bytes),
            vec![OwnedEvent::Binary(pattern(len))],
            "len {len}"
        );
    }
}

/// §5.2: a 7-bit length of 127 means a 64-bit length follows; 65536 bytes decode.
#[test]
fn payload_of_65536_bytes_with_64_bit_length_decodes() {
    let bytes = cframe(true, BINARY, &pattern(65536));
    assert_eq!(bytes[1], 0x80 | 127, "64-bit length form");
    assert_eq!(bytes[2..10], 65536u64.to_be_bytes());
    let mut server = server_open(Config::new());
    assert_eq!(
        feed(&mut server, &bytes),
        vec![OwnedEvent::Binary(pattern(65536))]
    );
}

/// §5.2: the length is encoded in the minimal number of bytes; the server's output at every
/// boundary (0, 125, 126, 65535, 65536) equals the independent encoding.
#[test]
fn server_output_uses_minimal_length_encoding() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
        let mut server = server_open(Config::new());
        server.send_binary(&pattern(len)).unwrap();
        assert_eq!(
            take_output(&mut server),
            sframe(true, BINARY, &pattern(len)),
            "len {len}"
        );
    }
}

/// §5.2: the client's output uses the minimal length encoding as well, and decodes to the
/// payload sent.
#[test]
fn client_output_uses_minimal_length_encoding() {
    for (len, len7, header) in [
        (125usize, 125u8, 6usize),
        (126, 126, 8),
        (65535, 126, 8),
        (65536, 127, 14),
    ] {
        let mut client = client_open(Config::new());
        client.send_binary(&pattern(len)).unwrap();
        let out = take_output(&mut client);
        assert_eq!(out[1], 0x80 | len7, "len {len}");
        assert_eq!(out.len(), header + len, "len {len}");
        let frames = decode_frames(&out);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].payload, pattern(len), "len {len}");
    }
}

/// §5.2: "the most significant bit MUST be 0" in a 64-bit length; a header with it set fails
/// the connection with 1002 right away, allocating nothing for the declared length.
#[test]
fn length_with_top_bit_set_fails_with_1002_without_allocating() {
    let mut server = server_open(Config::new());
    let header = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x05, 1, 2, 3, 4];
    let events = feed(&mut server, &header);
    assert!(
        server.memory().total() < 64 * 1024,
        "memory {:?}",
        server.memory()
    );
    assert_failed(&mut server, &events, ProtocolError::LengthTopBitSet, 1002);
}

/// §5.2: "the minimal number of bytes MUST be used to encode the length": a length under 126
/// in the 16-bit form fails the connection with 1002.
#[test]
fn non_minimal_16_bit_length_fails_with_1002() {
    let mut server = server_open(Config::new());
    let mut bytes = vec![0x82, 0x80 | 126, 0x00, 0x05, 0, 0, 0, 0];
    bytes.extend_from_slice(b"Hello");
    let events = feed(&mut server, &bytes);
    assert_failed(&mut server, &events, ProtocolError::NonMinimalLength, 1002);
}

/// §5.2: a length under 65536 in the 64-bit form is not minimal and fails with 1002.
#[test]
fn non_minimal_64_bit_length_fails_with_1002() {
    let mut client = client_open(Config::new());
    let mut bytes = vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00];
    bytes.extend(pattern(256));
    let events = feed(&mut client, &bytes);
    assert_failed(&mut client, &events, ProtocolError::NonMinimalLength, 1002);
}

/// §5.2 with §10.4: a header declaring 2^40 payload bytes fails with 1009 as soon as the
/// header is complete, before any payload arrives and without allocating for it.
#[test]
fn header_declaring_2_pow_40_bytes_fails_with_1009_immediately() {
    let mut server = server_open(Config::new());
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    let events = feed(&mut server, &header);
    assert!(
        server.memory().total() < 64 * 1024,
        "memory {:?}",
        server.memory()
    );
    assert_failed(&mut server, &events, ProtocolError::FrameTooLarge, 1009);
}

// ----- §5.6: data frames, empty payloads, round trips -----------------------------------------

/// §5.2/§5.6: a text frame with an empty payload is an empty text message.
#[test]
fn empty_text_frame_is_an_empty_message() {
    let mut server = server_open(Config::new());
    assert_eq!(
        feed(&mut server, &cframe(true, TEXT, b"")),
        vec![OwnedEvent::Text(String::new())]
    );
}

/// §5.2/§5.6: a binary frame with an empty payload is an empty binary message.
#[test]
fn empty_binary_frame_is_an_empty_message() {
    let mut client = client_open(Config::new());
    assert_eq!(
        feed(&mut client, &sframe(true, BINARY, b"")),
        vec![OwnedEvent::Binary(Vec::new())]
    );
}

/// §5.2: an empty message is sent as a header alone: `81 00` from a server, a masked
/// zero-length frame from a client.
#[test]
fn empty_messages_are_sent_as_zero_length_frames() {
    let mut server = server_open(Config::new());
    server.send_text("").unwrap();
    assert_eq!(take_output(&mut server), sframe(true, TEXT, b""));
    let mut client = client_open(Config::new());
    client.send_binary(&[]).unwrap();
    let out = take_output(&mut client);
    assert_eq!(out.len(), 6, "2 header bytes and the mask key");
    let frames = decode_frames(&out);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].fin, frames[0].opcode, frames[0].masked),
        (true, BINARY, true)
    );
    assert!(frames[0].payload.is_empty());
}

/// §5.6: text frames carry UTF-8; a text message that is not valid UTF-8 fails the
/// connection with 1007 (§8.1).
#[test]
fn text_frame_with_invalid_utf8_fails_with_1007() {
    let mut server = server_open(Config::new());
    let events = feed(&mut server, &cframe(true, TEXT, &[b'a', 0xFF, b'b']));
    assert_failed(&mut server, &events, ProtocolError::InvalidUtf8, 1007);
}

/// §5.6: binary data is arbitrary: every byte value survives a client-to-server and a
/// server-to-client trip unchanged.
#[test]
fn binary_data_round_trips_unchanged() {
    let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_binary(&data).unwrap();
    p.server.send_binary(&data).unwrap();
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Binary(data.clone())]);
    assert_eq!(p.client_events, vec![OwnedEvent::Binary(data)]);
}

/// §5.2/§5.6: large binary messages (64-bit length form) round trip in both directions.
#[test]
fn large_binary_message_round_trips() {
    let data = pattern(300_000);
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_binary(&data).unwrap();
    p.server.send_binary(&data).unwrap();
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Binary(data.clone())]);
    assert_eq!(p.client_events, vec![OwnedEvent::Binary(data)]);
}

/// §5.6: text with multi-byte code points round trips as the same string.
#[test]
fn text_round_trips_unchanged() {
    let text = "Grüße, κόσμε, 世界 🌍";
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_text(text).unwrap();
    p.server.send_text(text).unwrap();
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Text(text.into())]);
    assert_eq!(p.client_events, vec![OwnedEvent::Text(text.into())]);
}
