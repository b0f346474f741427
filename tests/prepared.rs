//! `PreparedMessage`: a message encoded once and sent to many connections arrives at every
//! peer exactly as `send_text`/`send_binary` would have sent it, in every state the
//! connection can be in (RFC 6455 §5.2 framing, §5.3 masking, §5.4 fragmentation, §5.5.1
//! closing; RFC 7692 §6 for compressed messages).

mod common;

use common::*;
use proptest::prelude::*;
use wsmachine::{Config, Delivery, MessageKind, OwnedEvent, PreparedMessage, SendError};

/// §5.2: a server's prepared frame is the unmasked frame with FIN, the opcode and the
/// minimal length encoding, the same bytes `send_*` writes.
#[test]
fn server_writes_the_shared_frame_as_send_would_s5_2() {
    for len in [0usize, 1, 125, 126, 65_535, 65_536, 100_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let msg = PreparedMessage::binary(&data);
        let mut by_send = server_open(Config::new());
        by_send.send_binary(&data).unwrap();
        let mut by_prepared = server_open(Config::new());
        by_prepared.send_prepared(&msg).unwrap();
        assert_eq!(by_prepared.output(), by_send.output(), "len {len}");
        assert_eq!(by_prepared.output(), sframe(true, 0x2, &data), "len {len}");
        assert_eq!(msg.server_frame(), sframe(true, 0x2, &data));
        assert_eq!(by_prepared.stats().sent.messages, 1);
    }
    let text = PreparedMessage::text("héllo");
    assert_eq!((text.kind(), text.len()), (MessageKind::Text, 6));
    let mut server = server_open(Config::new());
    server.send_prepared(&text).unwrap();
    assert_eq!(server.output(), sframe(true, 0x1, "héllo".as_bytes()));
}

/// §5.3: a client masks every frame with a fresh key of its own, so the shared payload is
/// masked while copied; the server reads the message.
#[test]
fn client_masks_the_shared_payload_with_its_own_keys_s5_3() {
    let msg = PreparedMessage::text("to the server");
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_prepared(&msg).unwrap();
    p.client.send_prepared(&msg).unwrap();
    let frames = decode_frames(p.client.output());
    assert_eq!(frames.len(), 2);
    assert!(frames
        .iter()
        .all(|f| f.masked && f.payload == b"to the server"));
    let wire = p.client.output().to_vec();
    assert_ne!(wire[2..6], wire[21..25], "each frame has its own key");
    p.run();
    assert_eq!(
        p.server_events,
        vec![OwnedEvent::Text("to the server".into()); 2]
    );
}

/// §5.4: a connection with an outgoing fragment size splits the shared payload into its own
/// frames, all queued at once: nothing can come between them.
#[test]
fn fragment_size_is_the_connections_own_s5_4() {
    let data = vec![9u8; 1000];
    let msg = PreparedMessage::binary(&data);
    let mut server = server_open(Config::new().with_outgoing_fragment_size(300));
    server.send_prepared(&msg).unwrap();
    let frames = decode_frames(server.output());
    let sizes: Vec<(bool, u8, usize)> = frames
        .iter()
        .map(|f| (f.fin, f.opcode, f.payload.len()))
        .collect();
    assert_eq!(
        sizes,
        [
            (false, 2, 300),
            (false, 0, 300),
            (false, 0, 300),
            (true, 0, 100)
        ]
    );
    // A message that fits is the shared frame itself.
    let small = PreparedMessage::binary(&data[..300]);
    let mut server = server_open(Config::new().with_outgoing_fragment_size(300));
    server.send_prepared(&small).unwrap();
    assert_eq!(server.output(), small.server_frame());
}

/// §5.4: while a fragmented message is being sent, another message would interleave with its
/// fragments: refused, nothing queued, and accepted again once the message is finished.
#[test]
fn refused_in_the_middle_of_a_fragmented_message_s5_4() {
    let msg = PreparedMessage::text("whole");
    let mut server = server_open(Config::new());
    server
        .send_fragment(MessageKind::Text, b"part ", false)
        .unwrap();
    let before = server.output().to_vec();
    assert_eq!(server.send_prepared(&msg), Err(SendError::FragmentSequence));
    assert_eq!(server.output(), before);
    server
        .send_fragment(MessageKind::Text, b"end", true)
        .unwrap();
    server.send_prepared(&msg).unwrap();
    let frames = decode_frames(server.output());
    let ops: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(ops, [1, 0, 1]);
}

/// §5.5.1: after sending a close frame no data frame may follow; before the handshake
/// there is no connection to send on.
#[test]
fn closing_and_unopened_connections_refuse_s5_5_1() {
    let msg = PreparedMessage::binary(b"late");
    let mut server = server_open(Config::new());
    server.close(wsmachine::CloseCode::NORMAL, "").unwrap();
    let before = server.output().to_vec();
    assert_eq!(server.send_prepared(&msg), Err(SendError::Closing));
    assert_eq!(server.output(), before);
    let mut unopened = wsmachine::Connection::server(Config::new());
    assert_eq!(unopened.send_prepared(&msg), Err(SendError::NotOpen));
    assert!(unopened.output().is_empty());
}

/// The backlog limit holds: a send that would pass it is refused whole, and the output is
/// unchanged.
#[test]
fn backlog_limit_holds() {
    let msg = PreparedMessage::binary(&[1u8; 1000]);
    let mut server = server_open(Config::new().with_max_output_backlog(2500));
    server.send_prepared(&msg).unwrap();
    server.send_prepared(&msg).unwrap();
    let before = server.output_len();
    assert_eq!(before, 2 * 1004);
    assert_eq!(server.send_prepared(&msg), Err(SendError::OutputFull));
    assert_eq!(server.output_len(), before);
    server.consume_output(before);
    server.send_prepared(&msg).unwrap();
}

/// A server with nothing else to write sends a prepared message from its shared bytes: the
/// output's first run is the shared frame itself (the same memory, no copy), what is queued
/// after it follows in the buffer, `output_len` counts both, and `consume_output` takes
/// from the shared frame first, across into the buffer.
#[test]
fn shared_frame_heads_the_output_without_a_copy() {
    let msg = PreparedMessage::binary(&[9u8; 60 * 1024]);
    let mut server = server_open(Config::new());
    let handshake = server.stats().sent.bytes;
    server.send_prepared(&msg).unwrap();
    server.send_text("after").unwrap();
    let [first, second] = server.output_vectored();
    assert_eq!(first.as_ptr(), msg.server_frame().as_ptr(), "copied");
    assert_eq!(first, msg.server_frame());
    assert_eq!(second, sframe(true, 0x1, b"after"));
    assert_eq!(server.output(), first);
    assert_eq!(server.output_len(), first.len() + second.len());
    // A partial write, then one that crosses from the shared frame into the buffer.
    let total = server.output_len();
    server.consume_output(1000);
    assert_eq!(server.output(), &msg.server_frame()[1000..]);
    let rest_of_shared = server.output().len();
    server.consume_output(rest_of_shared + 3);
    assert_eq!(server.output(), &sframe(true, 0x1, b"after")[3..]);
    assert_eq!(server.output_len(), total - 1000 - rest_of_shared - 3);
    server.consume_output(server.output_len());
    assert!(!server.wants_write());
    assert_eq!(server.stats().sent.bytes - handshake, total as u64);
    // The shared frame counts against the backlog like copied output.
    let mut small = server_open(Config::new().with_max_output_backlog(70 * 1024));
    small.send_prepared(&msg).unwrap();
    assert_eq!(
        small.send_binary(&[0u8; 20 * 1024]),
        Err(SendError::OutputFull)
    );
}

/// §7.1.1: a shared frame the peer never reads is under the close deadline like any output:
/// when the deadline passes, the connection abandons it and is drained.
#[test]
fn close_deadline_abandons_a_half_written_shared_frame() {
    use std::time::Duration;
    use wsmachine::{CloseCode, Timestamp};
    let at = |s: u64| Timestamp::from_duration(Duration::from_secs(s));
    let config = Config::new()
        .without_deadlines()
        .with_close_timeout(Some(Duration::from_secs(10)));
    let mut server = server_open(config);
    server.handle_timeout(at(0));
    let msg = PreparedMessage::binary(&[1u8; 60 * 1024]);
    server.send_prepared(&msg).unwrap();
    server.consume_output(4096); // the socket took a part, then the peer stopped reading
    server.close(CloseCode::NORMAL, "bye").unwrap();
    server.handle_timeout(at(5));
    assert!(server.wants_write() && !server.is_drained());
    server.handle_timeout(at(10));
    let closed = drain(&mut server);
    assert!(
        matches!(closed.last(), Some(OwnedEvent::Closed(_))),
        "{closed:?}"
    );
    assert!(
        !server.wants_write(),
        "the shared frame's rest is abandoned"
    );
    assert!(server.is_drained());
}

/// The unbuffered form hands out the shared frame itself, counted as sent, and refuses
/// (counting nothing) wherever the connection would write something else or write it later.
#[test]
fn unbuffered_hands_out_the_shared_frame_or_refuses() {
    let msg = PreparedMessage::binary(&[5u8; 300]);
    let mut server = server_open(Config::new());
    let handshake = server.stats().sent.bytes;
    let frame = server.send_prepared_unbuffered(&msg).unwrap();
    assert_eq!(frame, sframe(true, 0x2, &[5u8; 300]));
    assert!(server.output().is_empty());
    let stats = server.stats().sent;
    assert_eq!(
        (stats.messages, stats.frames, stats.bytes - handshake),
        (1, 1, 304)
    );

    // Output waiting: the frame would overtake it.
    server.ping(b"").unwrap();
    assert_eq!(
        server.send_prepared_unbuffered(&msg),
        Err(SendError::UnbufferedNotPossible)
    );
    assert_eq!(server.stats().sent.messages, 1);
    // A client masks (§5.3); a smaller fragment size splits (§5.4).
    let mut client = client_open(Config::new());
    assert_eq!(
        client.send_prepared_unbuffered(&msg),
        Err(SendError::UnbufferedNotPossible)
    );
    let mut fragmenting = server_open(Config::new().with_outgoing_fragment_size(100));
    assert_eq!(
        fragmenting.send_prepared_unbuffered(&msg),
        Err(SendError::UnbufferedNotPossible)
    );
    // The state rules of every send (§5.5.1).
    let mut closing = server_open(Config::new());
    closing.close(wsmachine::CloseCode::NORMAL, "").unwrap();
    take_output(&mut closing);
    assert_eq!(
        closing.send_prepared_unbuffered(&msg),
        Err(SendError::Closing)
    );
    let mut mid = server_open(Config::new());
    mid.send_fragment(MessageKind::Binary, b"a", false).unwrap();
    take_output(&mut mid);
    assert_eq!(
        mid.send_prepared_unbuffered(&msg),
        Err(SendError::FragmentSequence)
    );
}

/// A server whose output buffer has room to spare, as a connection that has carried traffic
/// has: sends then take the fast path, which must follow every rule of the general one.
fn warm_server(config: Config) -> wsmachine::Connection {
    let mut server = server_open(config);
    // Grow the output well past the backlogs below (a ping goes out whatever the backlog),
    // then write it all out: the capacity stays.
    server.send_binary(&[0; 1000]).unwrap();
    for _ in 0..40 {
        server.ping(&[0; 125]).unwrap_or(());
    }
    take_output(&mut server);
    server
}

/// The fast path (a warm output buffer) follows the general path's rules: the frame and its
/// counters (§5.2), the connection's fragment size (§5.4), refusals mid-message and while
/// closing (§5.5.1), and the backlog limit even with spare capacity.
#[test]
fn a_warm_connection_follows_the_same_rules() {
    let msg = PreparedMessage::binary(&[5u8; 1000]);
    let mut s = warm_server(Config::new());
    let before = s.stats().sent;
    s.send_prepared(&msg).unwrap();
    assert_eq!(s.output(), msg.server_frame());
    let after = s.stats().sent;
    assert_eq!(
        (
            after.messages - before.messages,
            after.frames - before.frames
        ),
        (1, 1)
    );
    // §5.4: the connection's own fragment size.
    let mut s = warm_server(Config::new().with_outgoing_fragment_size(300));
    let before = s.stats().sent.frames;
    s.send_prepared(&msg).unwrap();
    let sizes: Vec<usize> = decode_frames(s.output())
        .iter()
        .map(|f| f.payload.len())
        .collect();
    assert_eq!(sizes, [300, 300, 300, 100]);
    assert_eq!(s.stats().sent.frames - before, 4);
    // Exactly the fragment size: one frame, the shared one.
    let mut s = warm_server(Config::new().with_outgoing_fragment_size(1000));
    s.send_prepared(&msg).unwrap();
    assert_eq!(s.output(), msg.server_frame());
    let mut s = warm_server(Config::new().with_outgoing_fragment_size(1000));
    assert!(
        s.send_prepared_unbuffered(&msg).is_ok(),
        "a payload of the fragment size fits"
    );
    // §5.4: not in the middle of a fragmented message.
    let mut s = warm_server(Config::new());
    s.send_fragment(MessageKind::Binary, b"a", false).unwrap();
    assert_eq!(s.send_prepared(&msg), Err(SendError::FragmentSequence));
    // §5.5.1: not after our close frame.
    let mut s = warm_server(Config::new());
    s.close(wsmachine::CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.send_prepared(&msg), Err(SendError::Closing));
    // The backlog limit, with capacity to spare beyond it.
    let mut s = warm_server(Config::new().with_max_output_backlog(2500));
    s.send_prepared(&msg).unwrap();
    s.send_prepared(&msg).unwrap();
    let queued = s.output().len();
    assert_eq!(s.send_prepared(&msg), Err(SendError::OutputFull));
    assert_eq!(s.output().len(), queued);
    assert!(
        s.memory().output > 3 * 1004,
        "the buffer had room: {:?}",
        s.memory()
    );
}

/// A client with a warm buffer still masks (§5.3).
#[test]
fn a_warm_client_still_masks_s5_3() {
    let msg = PreparedMessage::text("masked");
    let mut client = client_open(Config::new());
    client.send_binary(&[0; 5000]).unwrap();
    take_output(&mut client);
    client.send_prepared(&msg).unwrap();
    let frames = decode_frames(client.output());
    assert!(frames[0].masked && frames[0].payload == b"masked");
}

#[derive(Debug, Clone)]
enum Op {
    Prepared(usize),
    Text(String),
    Ping(Vec<u8>),
    Fragmented(Vec<u8>, usize),
}

fn op(prepared: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..prepared).prop_map(Op::Prepared),
        "[a-zé😀 ]{0,40}".prop_map(Op::Text),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Op::Ping),
        (proptest::collection::vec(any::<u8>(), 1..300), 1usize..100)
            .prop_map(|(d, s)| Op::Fragmented(d, s)),
    ]
}

fn prepared_message() -> impl Strategy<Value = PreparedMessage> {
    prop_oneof![
        "[a-z😀Ελ ]{0,300}".prop_map(|s| PreparedMessage::text(&s)),
        proptest::collection::vec(any::<u8>(), 0..70_000).prop_map(|d| PreparedMessage::binary(&d)),
    ]
}

/// What the receiving peer should see for the operations, in order.
fn expected(ops: &[Op], msgs: &[PreparedMessage]) -> Vec<(MessageKind, Vec<u8>)> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Prepared(i) => out.push((msgs[*i].kind(), msgs[*i].payload().to_vec())),
            Op::Text(t) => out.push((MessageKind::Text, t.clone().into_bytes())),
            Op::Fragmented(d, _) => out.push((MessageKind::Binary, d.clone())),
            Op::Ping(_) => {}
        }
    }
    out
}

/// Joins the messages out of a peer's events, assembled or streamed, and counts pongs;
/// nothing else may arrive.
fn received(events: &[OwnedEvent]) -> (Vec<(MessageKind, Vec<u8>)>, usize) {
    let mut pongs = 0;
    for e in events {
        match e {
            OwnedEvent::Text(_) | OwnedEvent::Binary(_) | OwnedEvent::Fragment { .. } => {}
            OwnedEvent::Pong(_) => pongs += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    (messages(events), pongs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any number of peers, servers and clients, with and without outgoing fragmentation,
    /// assembled or streaming delivery: each receives every prepared message byte for byte,
    /// in order with the ordinary sends, pings and fragmented messages sent around it.
    #[test]
    fn every_peer_receives_the_message_byte_for_byte(
        msgs in proptest::collection::vec(prepared_message(), 1..4),
        ops in proptest::collection::vec(op(3), 1..12),
        peers in proptest::collection::vec((any::<bool>(), 0usize..3, any::<bool>()), 1..5),
    ) {
        let ops: Vec<Op> = ops
            .into_iter()
            .map(|o| match o {
                Op::Prepared(i) => Op::Prepared(i % msgs.len()),
                o => o,
            })
            .collect();
        let want = expected(&ops, &msgs);
        for (server_sends, fragment, streaming) in peers {
            let fragment_size = [0, 100, 4096][fragment];
            let delivery = if streaming { Delivery::Streaming } else { Delivery::Assembled };
            let sender = Config::new().with_outgoing_fragment_size(fragment_size);
            let receiver = Config::new().with_delivery(delivery);
            let mut p = if server_sends {
                Pair::new(receiver, sender)
            } else {
                Pair::new(sender, receiver)
            };
            let mut pings = 0;
            for op in &ops {
                let conn = if server_sends { &mut p.server } else { &mut p.client };
                match op {
                    Op::Prepared(i) => conn.send_prepared(&msgs[*i]).unwrap(),
                    Op::Text(t) => conn.send_text(t).unwrap(),
                    Op::Ping(d) => {
                        conn.ping(d).unwrap();
                        pings += 1;
                    }
                    Op::Fragmented(d, size) => {
                        let mut chunks = d.chunks(*size).peekable();
                        while let Some(c) = chunks.next() {
                            conn.send_fragment(MessageKind::Binary, c, chunks.peek().is_none())
                                .unwrap();
                        }
                    }
                }
            }
            p.run();
            let sender_events = if server_sends { &p.server_events } else { &p.client_events };
            let receiver_events = if server_sends { &p.client_events } else { &p.server_events };
            let (got, _) = received(receiver_events.iter().filter(|e| !matches!(e, OwnedEvent::Ping(_))).cloned().collect::<Vec<_>>().as_slice());
            prop_assert_eq!(got, want.clone());
            let (none, pongs) = received(sender_events);
            prop_assert!(none.is_empty());
            prop_assert_eq!(pongs, pings);
        }
    }
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use wsmachine::extensions::deflate::DeflateConfig;

    /// This side's own context takeover as given; it asks nothing of the peer's.
    fn deflating(no_context_takeover: bool) -> Config {
        Config::new().with_deflate(
            DeflateConfig::new()
                .with_no_context_takeover(no_context_takeover)
                .with_peer_no_context_takeover(false),
        )
    }

    fn json(n: usize) -> String {
        (0..n)
            .map(|i| format!("{{\"id\":{i},\"price\":{},\"side\":\"buy\"}}", i * 7 % 1000))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// RFC 7692 §6, §7.1.1.1: servers that reset their context after every message all
    /// write the same compressed frame (RSV1 set), the one their own compressor writes, and
    /// every client decompresses it.
    #[test]
    fn no_context_takeover_connections_share_one_compressed_encoding() {
        let text = json(200);
        let msg = PreparedMessage::text(&text);
        let mut outputs = Vec::new();
        for _ in 0..3 {
            let mut p = Pair::new(deflating(false), deflating(true));
            assert!(p.server.deflate().unwrap().no_context_takeover);
            for _ in 0..2 {
                p.server.send_prepared(&msg).unwrap();
            }
            let wire = peek_output(&p.server);
            let frames = decode_frames(&wire);
            assert_eq!(frames.len(), 2);
            assert_eq!(
                frames[0].rsv, 0b100,
                "RFC 7692 §6: RSV1 on a compressed message"
            );
            assert_eq!(
                frames[0].payload, frames[1].payload,
                "a fresh context each time"
            );
            assert!(frames[0].payload.len() < text.len() / 3);
            // The same bytes as the connection's own compressor.
            p.server.send_text(&text).unwrap();
            assert_eq!(
                decode_frames(&peek_output(&p.server)[wire.len()..])[0].payload,
                frames[0].payload
            );
            outputs.push(wire);
            p.run();
            assert_eq!(p.client_events, vec![OwnedEvent::Text(text.clone()); 3]);
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    }

    /// Connections with context takeover compress their own copy, so each one's stream stays
    /// decodable against its own history; `without_compression` sends the shared plain frame.
    #[test]
    fn context_takeover_compresses_its_own_copy_and_plain_handles_skip_it() {
        let text = json(100);
        let msg = PreparedMessage::text(&text);
        let mut p = Pair::new(deflating(false), deflating(false));
        assert!(!p.server.deflate().unwrap().no_context_takeover);
        p.server.send_text("warm the context").unwrap();
        for _ in 0..3 {
            p.server.send_prepared(&msg).unwrap();
        }
        let frames = decode_frames(p.server.output());
        assert!(frames[1..].iter().all(|f| f.rsv == 0b100));
        assert!(
            frames[2].payload.len() < frames[1].payload.len(),
            "the second copy refers back to the first"
        );
        let plain = msg.clone().without_compression();
        assert!(!plain.may_compress() && msg.may_compress());
        let at = p.server.output().len();
        p.server.send_prepared(&plain).unwrap();
        assert_eq!(&p.server.output()[at..], plain.server_frame());
        p.run();
        let mut want = vec![OwnedEvent::Text("warm the context".into())];
        want.extend(vec![OwnedEvent::Text(text.clone()); 4]);
        assert_eq!(p.client_events, want);
    }

    /// Unbuffered, a connection without context takeover hands out the shared compressed
    /// frame (the one `send_prepared` copies); with context takeover it refuses.
    #[test]
    fn unbuffered_hands_out_the_shared_compressed_frame() {
        let text = json(100);
        let msg = PreparedMessage::text(&text);
        let mut p = Pair::new(deflating(false), deflating(true));
        let frame = p.server.send_prepared_unbuffered(&msg).unwrap().to_vec();
        let mut q = Pair::new(deflating(false), deflating(true));
        q.server.send_prepared(&msg).unwrap();
        assert_eq!(frame, q.server.output());
        assert_eq!(decode_frames(&frame)[0].rsv, 0b100);
        q.run();
        assert_eq!(q.client_events, vec![OwnedEvent::Text(text.clone())]);
        let mut r = Pair::new(deflating(false), deflating(false));
        assert_eq!(
            r.server.send_prepared_unbuffered(&msg),
            Err(SendError::UnbufferedNotPossible)
        );
    }

    /// Connections with different parameters (window bits, level) get an encoding each, and
    /// each is built once and reused: every client decodes its own, every time.
    #[test]
    fn each_parameter_set_gets_its_own_shared_encoding() {
        let text = json(300);
        let msg = PreparedMessage::text(&text);
        let server = |bits: u8, level: u32| {
            Config::new().with_deflate(
                DeflateConfig::new()
                    .with_no_context_takeover(true)
                    .with_max_window_bits(bits)
                    .with_level(level),
            )
        };
        let mut outputs = Vec::new();
        for (bits, level) in [(15, 6), (10, 6), (15, 1), (10, 6), (15, 6)] {
            let mut p = Pair::new(deflating(false), server(bits, level));
            assert_eq!(p.server.deflate().unwrap().window_bits, bits);
            p.server.send_prepared(&msg).unwrap();
            p.server.send_prepared(&msg).unwrap();
            let wire = peek_output(&p.server);
            // The connection's own compressor writes the same bytes.
            p.server.send_text(&text).unwrap();
            let own = decode_frames(&peek_output(&p.server)[wire.len()..]);
            assert_eq!(
                decode_frames(&wire)[0].payload,
                own[0].payload,
                "{bits} {level}"
            );
            outputs.push(wire);
            p.run();
            assert_eq!(p.client_events, vec![OwnedEvent::Text(text.clone()); 3]);
        }
        assert_eq!(outputs[1], outputs[3]);
        assert_eq!(outputs[0], outputs[4]);
        assert_ne!(outputs[0], outputs[2], "another level, another encoding");
    }

    /// The connection's threshold still decides: a message below it goes out plain.
    #[test]
    fn below_the_threshold_the_plain_frame_goes_out() {
        let msg = PreparedMessage::text("tiny");
        let mut p = Pair::new(deflating(false), deflating(true));
        p.server.send_prepared(&msg).unwrap();
        assert_eq!(p.server.output(), msg.server_frame());
    }

    /// Clients that reset their context share the compressed payload, masked per frame.
    #[test]
    fn clients_mask_the_shared_compressed_payload() {
        let text = json(50);
        let msg = PreparedMessage::text(&text);
        let mut p = Pair::new(deflating(true), deflating(false));
        assert!(p.client.deflate().unwrap().no_context_takeover);
        p.client.send_prepared(&msg).unwrap();
        p.client.send_prepared(&msg).unwrap();
        let frames = decode_frames(p.client.output());
        assert!(frames.iter().all(|f| f.masked && f.rsv == 0b100));
        p.run();
        assert_eq!(p.server_events, vec![OwnedEvent::Text(text.clone()); 2]);
    }
}
