//! permessage-deflate properties (RFC 7692): any sequence of messages round-trips through
//! compression and decompression, in every parameter combination, with the compressed stream
//! split at arbitrary points.
#![cfg(feature = "deflate")]

mod common;

use common::*;
use proptest::prelude::*;
use wsmachine::extensions::deflate::DeflateConfig;
use wsmachine::{Config, Delivery, MessageKind, OwnedEvent};

#[derive(Debug, Clone)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
    /// Sent with `send_fragment` in pieces of these sizes.
    Fragmented(Vec<u8>, Vec<usize>),
}

fn msg() -> impl Strategy<Value = Msg> {
    // Compressible text (repeats), multi-byte text, random bytes, runs of one byte.
    let text = prop_oneof![
        "[a-e ]{0,300}".prop_map(|s| s.repeat(3)),
        "(Ελλάδα|中文|😀|abc){0,40}",
    ];
    prop_oneof![
        text.prop_map(Msg::Text),
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(Msg::Binary),
        (any::<u8>(), 0usize..5000).prop_map(|(b, n)| Msg::Binary(vec![b; n])),
        (
            proptest::collection::vec(any::<u8>(), 0..600),
            proptest::collection::vec(0usize..200, 1..5)
        )
            .prop_map(|(d, s)| Msg::Fragmented(d, s)),
    ]
}

fn policy() -> impl Strategy<Value = DeflateConfig> {
    (
        9u8..=15,
        8u8..=15,
        any::<bool>(),
        any::<bool>(),
        0u32..=9,
        0usize..100,
    )
        .prop_map(|(bits, peer_bits, no_ct, peer_no_ct, level, threshold)| {
            DeflateConfig::new()
                .with_max_window_bits(bits)
                .with_peer_max_window_bits(peer_bits)
                .with_no_context_takeover(no_ct)
                .with_peer_no_context_takeover(peer_no_ct)
                .with_level(level)
                .with_threshold(threshold)
        })
}

fn expected(m: &Msg) -> (MessageKind, Vec<u8>) {
    match m {
        Msg::Text(t) => (MessageKind::Text, t.clone().into_bytes()),
        Msg::Binary(b) => (MessageKind::Binary, b.clone()),
        Msg::Fragmented(d, _) => (MessageKind::Binary, d.clone()),
    }
}

/// Joins delivered messages (whole or streamed) into (kind, bytes); nothing else may arrive.
fn received(events: &[OwnedEvent]) -> Vec<(MessageKind, Vec<u8>)> {
    for e in events {
        assert!(
            matches!(
                e,
                OwnedEvent::Text(_) | OwnedEvent::Binary(_) | OwnedEvent::Fragment { .. }
            ),
            "unexpected {e:?}"
        );
    }
    messages(events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// RFC 7692 §7.2: every message sent by a client arrives intact at the server, whatever
    /// the negotiated parameters, the delivery mode, and where the stream is cut.
    #[test]
    fn messages_round_trip_through_deflate(
        client_policy in policy(),
        server_policy in policy(),
        streaming in any::<bool>(),
        msgs in proptest::collection::vec(msg(), 1..12),
        cuts in proptest::collection::vec(1usize..400, 1..50),
    ) {
        let server_config = Config::new()
            .with_deflate(server_policy)
            .with_delivery(if streaming { Delivery::Streaming } else { Delivery::Assembled });
        let mut p = Pair::new(Config::new().with_deflate(client_policy), server_config);
        prop_assert!(p.client.deflate().is_some() && p.server.deflate().is_some());
        for m in &msgs {
            match m {
                Msg::Text(t) => p.client.send_text(t).unwrap(),
                Msg::Binary(b) => p.client.send_binary(b).unwrap(),
                Msg::Fragmented(d, sizes) => {
                    let mut rest = &d[..];
                    for &s in sizes {
                        let (piece, tail) = rest.split_at(s.min(rest.len()));
                        p.client.send_fragment(MessageKind::Binary, piece, false).unwrap();
                        rest = tail;
                    }
                    p.client.send_fragment(MessageKind::Binary, rest, true).unwrap();
                }
            }
        }
        // Deliver the client's output cut at the chosen points.
        let wire = take_output(&mut p.client);
        let mut events = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while pos < wire.len() {
            let n = cuts[i % cuts.len()].min(wire.len() - pos);
            events.extend(feed(&mut p.server, &wire[pos..pos + n]));
            pos += n;
            i += 1;
        }
        let want: Vec<_> = msgs.iter().map(expected).collect();
        prop_assert_eq!(received(&events), want);
    }

    /// And in the other direction, with the server compressing.
    #[test]
    fn server_to_client_round_trip(
        client_policy in policy(),
        server_policy in policy(),
        msgs in proptest::collection::vec(msg(), 1..8),
    ) {
        let mut p = Pair::new(
            Config::new().with_deflate(client_policy),
            Config::new().with_deflate(server_policy),
        );
        for m in &msgs {
            match m {
                Msg::Text(t) => p.server.send_text(t).unwrap(),
                Msg::Binary(b) | Msg::Fragmented(b, _) => p.server.send_binary(b).unwrap(),
            }
        }
        p.run();
        let want: Vec<_> = msgs.iter().map(expected).collect();
        prop_assert_eq!(received(&p.client_events), want);
    }
}
