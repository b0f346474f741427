//! Compressors and decompressors shared between connections, in the directions without
//! context takeover (RFC 7692 §7.1.1.1 `server_no_context_takeover`, §7.1.1.2
//! `client_no_context_takeover`): a connection holds one only while a message is compressed
//! or inflated, and what it hands on is indistinguishable from a new one.
#![cfg(feature = "deflate")]

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};

use common::*;
use wsmachine::extensions::deflate::{
    idle_states_memory, release_idle_states, DeflateConfig, DeflatePool,
};
use wsmachine::{CloseCode, Config, MessageKind, OwnedEvent};

/// The pool is process-wide: these tests take turns, so that each sees only its own states.
fn pool_to_myself() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    let guard = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    release_idle_states();
    guard
}

fn no_takeover() -> Config {
    Config::new().with_deflate(
        DeflateConfig::new()
            .with_no_context_takeover(true)
            .with_peer_no_context_takeover(true),
    )
}

fn json(seed: usize) -> String {
    (0..300)
        .map(|i| {
            format!(
                "{{\"id\":{},\"name\":\"user{}\",\"ok\":true}}",
                seed * 1000 + i,
                i % 7
            )
        })
        .collect()
}

/// Sends `text` from a fresh server connection and returns the frame it wrote (servers do not
/// mask, so equal compressed bytes mean equal frames).
fn server_frame(text: &str) -> Vec<u8> {
    let mut pair = Pair::new(no_takeover(), no_takeover());
    assert!(pair.server.deflate().is_some_and(|p| p.no_context_takeover));
    pair.server.send_text(text).unwrap();
    let frame = pair.server.output().to_vec();
    assert_eq!(frame[0], 0xC1, "a compressed (RSV1) text frame");
    pair.run();
    assert_eq!(pair.client_events, [OwnedEvent::Text(text.into())]);
    frame
}

#[test]
fn a_reused_compressor_writes_what_a_new_one_writes() {
    let _turn = pool_to_myself();
    let first = json(1);
    let fresh = server_frame(&first);
    // That connection gave its compressor (and the client its decompressor) back, reset.
    assert!(idle_states_memory() > 256 * 1024);
    let before = idle_states_memory();
    // The next connections take them: the same bytes as from a compressor never used, and
    // the pool does not grow.
    assert_eq!(server_frame(&first), fresh);
    assert_eq!(server_frame(&first), fresh);
    assert_eq!(idle_states_memory(), before);
    // A different message first, then the same one: nothing of the first carries over.
    let _ = server_frame(&json(2));
    assert_eq!(server_frame(&first), fresh);
}

#[test]
fn connections_hold_no_compression_state_between_messages() {
    let _turn = pool_to_myself();
    let mut pairs: Vec<Pair> = (0..20)
        .map(|_| Pair::new(no_takeover(), no_takeover()))
        .collect();
    for round in 0..3 {
        for (i, pair) in pairs.iter_mut().enumerate() {
            let text = json(round * 100 + i);
            pair.client.send_text(&text).unwrap();
            pair.server.send_text(&text).unwrap();
            pair.run();
            assert_eq!(pair.server_events, [OwnedEvent::Text(text.clone())]);
            assert_eq!(pair.client_events, [OwnedEvent::Text(text)]);
            pair.server_events.clear();
            pair.client_events.clear();
        }
        // Between messages no connection holds a compressor or a decompressor: only the
        // scratch of its last compressed message.
        for pair in &pairs {
            assert!(
                pair.server.memory().compression < 32 * 1024,
                "{:?}",
                pair.server.memory()
            );
            assert!(pair.client.memory().compression < 32 * 1024);
        }
        // Forty connections compressing and inflating in turn share one of each.
        // A compressor at 15 bits (`4 * 2^15 + 243.1 KiB`, tests/zlib_heap.rs) and a decompressor
        // (miniz_oxide's 10,504-byte tables and its 48 KiB output buffer; tests/alloc.rs checks
        // `memory()` against the heap).
        let one_of_each = 4 * 32 * 1024 + 248_960 + 10_504 + 49_152;
        assert_eq!(idle_states_memory(), one_of_each);
    }
}

#[test]
fn a_message_in_progress_keeps_its_states_until_it_ends() {
    let _turn = pool_to_myself();
    let mut a = Pair::new(no_takeover(), no_takeover());
    let mut b = Pair::new(no_takeover(), no_takeover());
    let text = json(3);
    let (head, tail) = text.split_at(text.len() / 2);
    // `a` starts a compressed message in two fragments; `b` sends whole ones meanwhile.
    a.server
        .send_fragment(MessageKind::Text, head.as_bytes(), false)
        .unwrap();
    a.run();
    assert!(
        a.server.memory().compression > 256 * 1024,
        "held mid-message"
    );
    assert!(
        a.client.memory().compression > 32 * 1024,
        "held mid-message"
    );
    // What they hold mid-message is drawn from the pool, and `memory()` says so.
    let compressor = 4 * 32 * 1024 + 248_960;
    let decompressor = 10_504 + 49_152;
    assert_eq!(a.server.memory().from_pool, compressor);
    assert_eq!(a.client.memory().from_pool, decompressor);
    for i in 0..3 {
        let other = json(10 + i);
        b.server.send_text(&other).unwrap();
        b.run();
        assert_eq!(b.client_events, [OwnedEvent::Text(other)]);
        b.client_events.clear();
    }
    a.server
        .send_fragment(MessageKind::Text, tail.as_bytes(), true)
        .unwrap();
    a.run();
    assert_eq!(a.client_events, [OwnedEvent::Text(text)]);
    assert!(a.server.memory().compression < 32 * 1024);
    assert!(a.client.memory().compression < 32 * 1024);
    assert_eq!(a.server.memory().from_pool, 0);
    assert_eq!(a.client.memory().from_pool, 0);
}

/// With context takeover a connection's states are its own: `memory()` counts them in
/// `compression`, none of them in `from_pool`, and nothing goes to the pool.
#[test]
fn states_with_context_takeover_are_not_drawn_from_the_pool() {
    let _turn = pool_to_myself();
    let takeover = Config::new().with_deflate(
        DeflateConfig::new()
            .with_no_context_takeover(false)
            .with_peer_no_context_takeover(false),
    );
    let mut pair = Pair::new(takeover, takeover);
    pair.server.send_text(&json(5)).unwrap();
    pair.run();
    assert!(pair.server.memory().compression > 256 * 1024);
    assert_eq!(pair.server.memory().from_pool, 0);
    assert_eq!(pair.client.memory().from_pool, 0);
    assert_eq!(idle_states_memory(), 0);
}

/// A pool of the application's own (a `static`, as rustls keeps its caches in its config):
/// the connections configured with it take their states from it and give them back to it,
/// not to the process-wide pool, and it keeps at most its own number of idle states.
#[test]
fn connections_share_the_pool_their_config_names() {
    static MINE: DeflatePool = DeflatePool::new(1);
    let _turn = pool_to_myself();
    MINE.release_idle();
    let mine = Config::new().with_deflate(DeflateConfig::new().with_pool(&MINE));
    let mut pairs: Vec<Pair> = (0..3).map(|_| Pair::new(mine, mine)).collect();
    // Three messages in progress at once: three compressors and three decompressors.
    let texts: Vec<String> = (0..3).map(json).collect();
    for (pair, text) in pairs.iter_mut().zip(&texts) {
        let (head, _) = text.split_at(text.len() / 2);
        pair.server
            .send_fragment(MessageKind::Text, head.as_bytes(), false)
            .unwrap();
        pair.run();
    }
    for (pair, text) in pairs.iter_mut().zip(&texts) {
        let (_, tail) = text.split_at(text.len() / 2);
        pair.server
            .send_fragment(MessageKind::Text, tail.as_bytes(), true)
            .unwrap();
        pair.run();
        assert_eq!(pair.client_events, [OwnedEvent::Text(text.clone())]);
    }
    // All given back to `MINE`, which keeps one of each; the process-wide pool got nothing.
    let one_of_each = 4 * 32 * 1024 + 248_960 + 10_504 + 49_152;
    assert_eq!(MINE.idle_memory(), one_of_each);
    assert_eq!(idle_states_memory(), 0);
    MINE.release_idle();
    assert_eq!(MINE.idle_memory(), 0);
}

#[test]
fn a_decompressor_that_failed_is_not_handed_on() {
    let _turn = pool_to_myself();
    let mut pair = Pair::new(no_takeover(), no_takeover());
    let server = &mut pair.server;
    // A compressed text frame (RSV1) whose payload is not deflate: 1007 (RFC 7692 §8.2.3.3
    // leaves the code to RFC 6455 §7.4.1, invalid data).
    let payload = [0xFF, 0xFF, 0xFF, 0xFF];
    let key = [9, 8, 7, 6];
    let mut frame = vec![0xC1, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
    assert_eq!(server.receive(&frame), frame.len());
    let mut closed = None;
    while let Some(event) = server.poll_event() {
        if let OwnedEvent::Closed(c) = event.into_owned() {
            closed = Some(c);
        }
    }
    assert_eq!(closed.map(|c| c.code), Some(CloseCode::INVALID_PAYLOAD));
    assert_eq!(
        idle_states_memory(),
        0,
        "the failed decompressor was not kept"
    );
    // The next connection inflates with a new one.
    let text = json(4);
    let _ = server_frame(&text);
}

/// At most 8 idle states of each kind are kept: ten connections that finish their messages
/// at once give back ten of each, and two of each are freed.
#[test]
fn at_most_eight_idle_states_of_each_kind_are_kept() {
    let _turn = pool_to_myself();
    let mut pairs: Vec<Pair> = (0..10)
        .map(|_| Pair::new(no_takeover(), no_takeover()))
        .collect();
    let text = json(5);
    let (head, tail) = text.split_at(text.len() / 2);
    // All ten hold a compressor (server) and a decompressor (client) at once.
    for pair in &mut pairs {
        pair.server
            .send_fragment(MessageKind::Text, head.as_bytes(), false)
            .unwrap();
        pair.run();
    }
    assert_eq!(idle_states_memory(), 0);
    for pair in &mut pairs {
        pair.server
            .send_fragment(MessageKind::Text, tail.as_bytes(), true)
            .unwrap();
        pair.run();
        assert_eq!(pair.client_events, [OwnedEvent::Text(text.clone())]);
    }
    // A compressor at 15 bits (`4 * 2^15 + 243.1 KiB`, tests/zlib_heap.rs) and a decompressor
    // (miniz_oxide's 10,504-byte tables and its 48 KiB output buffer; tests/alloc.rs checks
    // `memory()` against the heap).
    let one_of_each = 4 * 32 * 1024 + 248_960 + 10_504 + 49_152;
    assert_eq!(idle_states_memory(), 8 * one_of_each);
}
