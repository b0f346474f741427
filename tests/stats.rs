//! Connection statistics count what crossed the wire.

mod common;

use common::*;
use wsmachine::{CloseCode, Config, Delivery, MessageKind};

#[test]
fn counters_match_the_traffic() {
    let mut p = Pair::new(
        Config::new(),
        Config::new().with_delivery(Delivery::Streaming),
    );
    p.client.send_text("hello").unwrap();
    p.client.send_binary(&[0; 1000]).unwrap();
    p.client
        .send_fragment(MessageKind::Binary, &[1; 10], false)
        .unwrap();
    p.client.ping(b"p").unwrap();
    p.client
        .send_fragment(MessageKind::Binary, &[1; 20], true)
        .unwrap();
    p.server.send_text("back").unwrap();
    p.run();
    let c = p.client.stats();
    let s = p.server.stats();
    assert_eq!((c.sent.messages, c.sent.frames, c.sent.pings), (3, 5, 1));
    assert_eq!(c.sent.largest_message, 1000);
    assert_eq!(
        (s.received.messages, s.received.frames, s.received.pings),
        (3, 5, 1)
    );
    assert_eq!(s.received.largest_message, 1000);
    assert_eq!((s.sent.pongs, c.received.pongs), (1, 1));
    assert_eq!((s.sent.messages, c.received.messages), (1, 1));
    // Every byte one side wrote out, the other received (handshake included).
    assert_eq!(c.sent.bytes, s.received.bytes);
    assert_eq!(s.sent.bytes, c.received.bytes);
    p.client.close(CloseCode::NORMAL, "").unwrap();
    p.run();
    assert_eq!(p.client.stats().sent.frames, 6);
    let text = p.client.stats().to_string();
    assert!(text.starts_with("received "), "{text}");
}

/// Bytes of an unbuffered send count as sent: the header and payload the caller writes.
#[test]
fn unbuffered_sends_count_their_bytes() {
    let mut p = Pair::new(Config::new(), Config::new());
    let payload = vec![5u8; 70_000];
    let before = p.server.stats().sent;
    let header = p
        .server
        .encode_unbuffered(wsmachine::Message::Binary(&payload))
        .unwrap();
    let mut wire = header.as_bytes().to_vec();
    wire.extend_from_slice(&payload);
    let events = feed(&mut p.client, &wire);
    assert_eq!(kinds(&events), vec!["binary 70000"]);
    let after = p.server.stats().sent;
    assert_eq!(after.bytes - before.bytes, wire.len() as u64);
    assert_eq!(
        (after.frames, after.messages),
        (before.frames + 1, before.messages + 1)
    );
    assert_eq!(after.bytes, p.client.stats().received.bytes);
}
