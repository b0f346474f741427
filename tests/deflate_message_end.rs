//! RFC 7692 §7.2.1 and §7.2.2: where a compressed message must end, and what bounds its
//! decompressed size in every delivery mode.
//!
//! A sender ends every message with an empty stored block and removes its last four bytes,
//! `00 00 ff ff`; the receiver appends them and inflates. Data that does not end where that
//! block's header leaves off would take the appended bytes for content (made-up bytes), for
//! part of a Huffman code (a truncated message), or for the start of a block that swallows
//! the next message: each fails with 1007, whole or streamed, with and without context
//! takeover. The RFC's own examples (§7.2.3) inflate to "Hello", checked against zlib
//! (flate2) as an independent decoder.
#![cfg(feature = "deflate")]

mod common;

use common::*;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use wsmachine::extensions::deflate::DeflateConfig;
use wsmachine::{
    CloseCause, CloseCode, Config, Connection, Delivery, Event, MessageKind, OwnedEvent,
    ProtocolError,
};

const BOTH: [Delivery; 2] = [Delivery::Assembled, Delivery::Streaming];

/// permessage-deflate with (`takeover`) or without context takeover in both directions.
fn policy(takeover: bool) -> DeflateConfig {
    DeflateConfig::new()
        .with_no_context_takeover(!takeover)
        .with_peer_no_context_takeover(!takeover)
}

/// An open server that negotiated permessage-deflate with `policy` (the offer asks for
/// what the policy wants).
fn server(delivery: Delivery, takeover: bool, max_message_size: usize) -> Connection {
    let config = Config::new()
        .with_delivery(delivery)
        .with_max_message_size(max_message_size)
        .with_deflate(policy(takeover));
    let offer = if takeover {
        "permessage-deflate"
    } else {
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
    };
    let mut server = Connection::server(config);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: {offer}\r\n\r\n"
    );
    assert_eq!(server.receive(request.as_bytes()), request.len());
    let Some(Event::Request(_)) = server.poll_event() else {
        panic!("no request")
    };
    server.accept(wsmachine::Accept::new()).unwrap();
    let params = server.deflate().expect("permessage-deflate negotiated");
    assert_eq!(params.peer_no_context_takeover, !takeover);
    take_output(&mut server);
    server
}

/// A masked client frame with RSV1 (the first frame of a compressed message).
fn compressed(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(
        if fin { 0x80 } else { 0 } | 0x40 | opcode,
        payload,
        Some([9, 8, 7, 6]),
    )
}

/// Raw deflate of `data` with a sync flush and its `00 00 ff ff` removed (§7.2.1).
fn deflate(c: &mut Compress, data: &[u8]) -> Vec<u8> {
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
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn compressor() -> Compress {
    Compress::new_with_window_bits(Compression::new(6), false, 15)
}

/// What zlib makes of a message's data with the tail appended (§7.2.2): the output, and
/// whether it took every byte without an error.
fn zlib_view(data: &[u8]) -> (Vec<u8>, bool) {
    let mut d = Decompress::new_with_window_bits(false, 15);
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(1 << 16);
    let ok = d
        .decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .is_ok();
    (out, ok && d.total_in() as usize == input.len())
}

/// What a run gave: the data messages (fragments joined), how the connection ended if it
/// did, and the bytes it wrote.
struct Run {
    messages: Vec<(MessageKind, Vec<u8>)>,
    end: Option<(CloseCode, CloseCause)>,
    output: Vec<u8>,
}

/// Feeds `wire` in reads of `chunk` bytes.
fn run(conn: &mut Connection, wire: &[u8], chunk: usize) -> Run {
    let mut events = Vec::new();
    for piece in wire.chunks(chunk.max(1)) {
        events.extend(feed(conn, piece));
    }
    let end = events.iter().find_map(|e| match e {
        OwnedEvent::Closed(c) => Some((c.code, c.cause)),
        _ => None,
    });
    Run {
        messages: messages(&events),
        end,
        output: take_output(conn),
    }
}

/// Every case fails the connection with 1007 and queues that close frame, whatever the
/// delivery, the context policy and the size of the reads; nothing of the bad message is
/// delivered whole.
fn assert_fails_1007(name: &str, wire: &[u8]) {
    for delivery in BOTH {
        for takeover in [false, true] {
            for chunk in [1, 3, 64, wire.len()] {
                let case = format!("{name}: {delivery:?}, takeover {takeover}, reads of {chunk}");
                let mut conn = server(delivery, takeover, 1 << 20);
                let Run {
                    messages: got,
                    end,
                    output,
                } = run(&mut conn, wire, chunk);
                assert_eq!(
                    end,
                    Some((
                        CloseCode::INVALID_PAYLOAD,
                        CloseCause::Failed(ProtocolError::InflateFailed)
                    )),
                    "{case}: {got:?}"
                );
                let frames = decode_frames(&output);
                let close = frames.last().expect("a close frame");
                assert_eq!(close.opcode, CLOSE, "{case}");
                assert_eq!(&close.payload[..2], &1007u16.to_be_bytes(), "{case}");
                if delivery == Delivery::Assembled {
                    assert!(
                        got.iter().all(|(_, m)| m.as_slice() != b"ab\0\0\xff\xff"),
                        "{case}: made-up bytes delivered"
                    );
                }
            }
        }
    }
}

/// §7.2.1: data that ends inside a stored block (`00 64 00 9b ff`: a stored block announcing
/// 100 bytes, of which `ab` arrived) would make the appended tail content: zlib delivers
/// `ab\0\0\xff\xff`. It must fail with 1007 instead.
#[test]
fn message_ending_inside_a_stored_block_fails_with_1007() {
    let data = [0x00, 0x64, 0x00, 0x9b, 0xff, b'a', b'b'];
    // The independent decoder shows what accepting it would deliver.
    assert_eq!(zlib_view(&data), (b"ab\0\0\xff\xff".to_vec(), true));
    assert_fails_1007("inside a stored block", &compressed(true, TEXT, &data));
    assert_fails_1007(
        "inside a stored block, binary",
        &compressed(true, BINARY, &data),
    );
}

/// §7.2.1: data cut inside a Huffman block (the last bytes of a compressed message removed
/// along with the sender's flush) makes zlib deliver a truncated message, or swallow the tail
/// as codes. It must fail with 1007.
#[test]
fn message_cut_inside_a_huffman_block_fails_with_1007() {
    let text = "a line of chat text, compressible, compressible, compressible. ".repeat(40);
    let whole = deflate(&mut compressor(), text.as_bytes());
    let mut failing_cuts = 0;
    for cut in [whole.len() / 2, whole.len() - 3, whole.len() - 2] {
        let data = &whole[..cut];
        let (out, _) = zlib_view(data);
        // zlib takes it as a shorter message (or fails): never the whole text.
        assert_ne!(out, text.as_bytes(), "cut at {cut}");
        assert_fails_1007(
            &format!("cut at {cut} of {}", whole.len()),
            &compressed(true, TEXT, data),
        );
        failing_cuts += 1;
    }
    assert_eq!(failing_cuts, 3);
}

/// §7.2.1: data that ends right after a complete block, without the header bits of the empty
/// stored block, makes the appended tail the start of a stored block that would swallow the
/// next message (with context takeover, it then decodes against a broken stream). It fails
/// at once with 1007; the valid message after it is never decoded against the wreck.
#[test]
fn valid_message_after_a_bad_one_is_never_delivered() {
    // A fixed-Huffman block holding "bad", BFINAL = 0, ending on a byte boundary: its end
    // is a block boundary, not the header of an empty stored block.
    let mut c = compressor();
    let good = deflate(&mut c, b"a good message after the bad one");
    for bad in [
        [0x00, 0x64, 0x00, 0x9b, 0xff, b'a', b'b'].to_vec(),
        deflate(&mut compressor(), b"a message whose flush was cut short")[..10].to_vec(),
    ] {
        let mut wire = compressed(true, TEXT, &bad);
        wire.extend(compressed(true, TEXT, &good));
        assert_fails_1007("bad then good", &wire);
        for delivery in BOTH {
            let mut conn = server(delivery, true, 1 << 20);
            let Run { messages: got, .. } = run(&mut conn, &wire, wire.len());
            assert!(
                got.iter()
                    .all(|(_, m)| m != b"a good message after the bad one"),
                "{delivery:?}: the next message was decoded after a failure"
            );
        }
    }
}

/// RFC 7692 §7.2.3.1, §7.2.3.3, §7.2.3.4, §7.2.3.6: the RFC's example payloads (a
/// compressed block; a block with no compression; a final block followed by the header of an
/// empty stored block; the empty message) inflate to "Hello" (and nothing), in both delivery
/// modes and at every read size; zlib agrees.
#[test]
fn rfc_7692_example_payloads_inflate() {
    let cases: [(&str, &[u8], &[u8]); 4] = [
        (
            "§7.2.3.1",
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            b"Hello",
        ),
        (
            "§7.2.3.3",
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            b"Hello",
        ),
        (
            "§7.2.3.4",
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            b"Hello",
        ),
        ("§7.2.3.6", &[0x00], b""),
    ];
    for (section, data, text) in cases {
        let (zlib, _) = zlib_view(data);
        assert_eq!(zlib, text, "{section}: zlib");
        for delivery in BOTH {
            for takeover in [false, true] {
                for chunk in [1, 2, 100] {
                    let mut conn = server(delivery, takeover, 1 << 20);
                    let mut wire = compressed(true, TEXT, data);
                    // A second message proves the stream was left in order.
                    wire.extend(compressed(true, TEXT, data));
                    let Run {
                        messages: got, end, ..
                    } = run(&mut conn, &wire, chunk);
                    let case = format!("{section}, {delivery:?}, takeover {takeover}, {chunk}");
                    assert_eq!(end, None, "{case}");
                    let want = vec![(MessageKind::Text, text.to_vec()); 2];
                    assert_eq!(got, want, "{case}");
                }
            }
        }
    }
}

/// RFC 7692 §7.2.3.2: with context takeover the second message refers back into the first
/// (`f2 00 11 00 00` is "Hello" again, a match of the first message's text).
#[test]
fn rfc_7692_shared_window_example_inflates_with_context_takeover() {
    let first = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let second = [0xf2, 0x00, 0x11, 0x00, 0x00];
    for delivery in BOTH {
        let mut conn = server(delivery, true, 1 << 20);
        let mut wire = compressed(true, TEXT, &first);
        wire.extend(compressed(true, TEXT, &second));
        let Run {
            messages: got, end, ..
        } = run(&mut conn, &wire, 1);
        assert_eq!(end, None, "{delivery:?}");
        assert_eq!(got, vec![(MessageKind::Text, b"Hello".to_vec()); 2]);
        // Without context takeover the second message refers to nothing: 1007.
        let mut conn = server(delivery, false, 1 << 20);
        let Run {
            messages: got, end, ..
        } = run(&mut conn, &wire, wire.len());
        assert_eq!(
            got,
            vec![(MessageKind::Text, b"Hello".to_vec())],
            "{delivery:?}"
        );
        assert_eq!(
            end,
            Some((
                CloseCode::INVALID_PAYLOAD,
                CloseCause::Failed(ProtocolError::InflateFailed)
            ))
        );
    }
}

/// The decompressed size of a compressed message is bounded by `max_message_size` in
/// streaming delivery too (SECURITY.md): a bomb fails with 1009 as soon as the limit is
/// crossed, without inflating the rest, while the pieces delivered before stay within it.
#[test]
fn streaming_delivery_bounds_the_decompressed_size_of_a_message() {
    let limit = 100_000;
    let bomb = deflate(&mut compressor(), &vec![b'z'; 10 << 20]);
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    for takeover in [false, true] {
        let mut conn = server(Delivery::Streaming, takeover, limit);
        let Run {
            messages: got,
            end,
            output,
        } = run(&mut conn, &compressed(true, BINARY, &bomb), 1000);
        assert_eq!(
            end,
            Some((
                CloseCode::TOO_BIG,
                CloseCause::Failed(ProtocolError::MessageTooLarge)
            ))
        );
        let delivered: usize = got.iter().map(|(_, m)| m.len()).sum();
        assert!(delivered <= limit, "{delivered}");
        let close = decode_frames(&output).pop().unwrap();
        assert_eq!(&close.payload[..2], &1009u16.to_be_bytes());
        // Just under the limit passes.
        let fits = deflate(&mut compressor(), &vec![b'z'; limit]);
        let mut conn = server(Delivery::Streaming, takeover, limit);
        let Run {
            messages: got, end, ..
        } = run(&mut conn, &compressed(true, BINARY, &fits), 1000);
        assert_eq!(end, None);
        assert_eq!(got.iter().map(|(_, m)| m.len()).sum::<usize>(), limit);
    }
}

/// Streaming and assembled delivery of compressed data agree byte for byte on messages that
/// span many deflate blocks and reads (the block-boundary stops change nothing visible).
#[test]
fn many_block_messages_inflate_alike_in_both_delivery_modes() {
    let mut text = String::new();
    for i in 0..30_000 {
        text.push_str(&format!("{i}: {} ", "Ελληνικά 中文 😀".repeat(i % 5)));
    }
    let data = deflate(&mut compressor(), text.as_bytes());
    for delivery in BOTH {
        for chunk in [777, 65_536] {
            let mut conn = server(delivery, true, 64 << 20);
            let Run {
                messages: got, end, ..
            } = run(&mut conn, &compressed(true, TEXT, &data), chunk);
            assert_eq!(end, None);
            assert_eq!(got, vec![(MessageKind::Text, text.clone().into_bytes())]);
        }
    }
}
