//! Heap behaviour measured with a counting global allocator: no allocation per message in a
//! steady-state echo, and a small heap per idle open connection.
//!
//! The counters are per thread, so tests running in parallel do not disturb each other.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};

use common::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Accept, Config, Connection, Event, Message};

struct Counting;

thread_local! {
    /// Only a test's own thread is counted, in counters of its own: the test harness's
    /// threads allocate too, and tests run in parallel.
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static LIVE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
    /// The largest single allocation.
    static BIGGEST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn counted() -> bool {
    COUNTED.try_with(|c| c.get()).unwrap_or(false)
}

fn add_alloc(bytes: isize) {
    let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
    let _ = LIVE.try_with(|l| l.set(l.get() + bytes));
    let _ = BIGGEST.try_with(|b| b.set(b.get().max(bytes.max(0) as usize)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            add_alloc(layout.size() as isize);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counted() {
            add_alloc(layout.size() as isize);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            let _ = LIVE.try_with(|l| l.set(l.get() - layout.size() as isize));
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            add_alloc(new_size as isize - layout.size() as isize);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Compressors and decompressors without context takeover are shared by every connection of
/// the process, across threads: the tests that use them take turns, and start from an empty
/// pool (emptied uncounted), so that their counts hold only their own thread's states.
#[cfg(feature = "deflate")]
fn shared_pool() -> std::sync::MutexGuard<'static, ()> {
    static POOL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let counted = COUNTED.with(|c| c.replace(false));
    wsmachine::extensions::deflate::release_idle_states();
    COUNTED.with(|c| c.set(counted));
    guard
}

fn allocs() -> usize {
    ALLOCS.with(|a| a.get())
}

fn live() -> isize {
    LIVE.with(|l| l.get())
}

/// Moves `from`'s output into `to`.
fn pump(from: &mut Connection, to: &mut Connection) {
    let n = to.receive(from.output());
    from.consume_output(n);
}

/// One echo round: the client sends, the server echoes while holding the event (no copy),
/// the client receives. Returns the echoed length.
fn echo_round(client: &mut Connection, server: &mut Connection, text: &str) -> usize {
    client.send_text(text).unwrap();
    pump(client, server);
    while let Some((event, mut sender)) = server.poll_event_with_sender() {
        if let Event::Message(Message::Text(t)) = event {
            sender.send_text(t).unwrap();
        }
    }
    pump(server, client);
    let mut got = 0;
    while let Some(event) = client.poll_event() {
        if let Event::Message(Message::Text(t)) = event {
            got += t.len();
        }
    }
    got
}

/// Headers a browser sends with its upgrade request (Chrome), so the handshake is realistic.
const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("Pragma", "no-cache"),
    ("Cache-Control", "no-cache"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
];

fn connect() -> (Connection, Connection) {
    let request = ClientRequest::new("example.com", "/chat")
        .with_origin("http://example.com")
        .with_headers(BROWSER_HEADERS);
    let mut client = Connection::client(Config::new(), &request, SEED).unwrap();
    let mut server = Connection::server(Config::new());
    pump(&mut client, &mut server);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    pump(&mut server, &mut client);
    assert!(matches!(client.poll_event(), Some(Event::Accepted(_))));
    assert!(client.poll_event().is_none());
    (client, server)
}

/// A client and a server with `config`, after a plain handshake (no browser headers).
#[cfg(feature = "deflate")]
fn connect_with(config: Config) -> (Connection, Connection) {
    let request = ClientRequest::new("example.com", "/chat");
    let mut client = Connection::client(config, &request, SEED).unwrap();
    let mut server = Connection::server(config);
    pump(&mut client, &mut server);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    pump(&mut server, &mut client);
    while client.poll_event().is_some() {}
    (client, server)
}

#[test]
fn heap_behaviour() {
    COUNTED.with(|c| c.set(true));
    // §5 steady state: zero heap allocations per message in an echo loop, both sides.
    let (mut client, mut server) = connect();
    let text = "hello, wsmachine";
    for _ in 0..1_000 {
        assert_eq!(echo_round(&mut client, &mut server, text), text.len());
    }
    let before = allocs();
    for _ in 0..10_000 {
        assert_eq!(echo_round(&mut client, &mut server, text), text.len());
    }
    let per_message = allocs() - before;
    assert_eq!(per_message, 0, "allocations in 10,000 echoed messages");

    // Idle heap per open connection, after a browser-sized handshake and a few messages.
    drop((client, server));
    let base = live();
    let (mut client, mut server) = connect();
    for _ in 0..10 {
        echo_round(&mut client, &mut server, text);
    }
    let both = live() - base;
    let client_heap = client.memory().total();
    let server_heap = server.memory().total();
    // README: "under 800 bytes of heap per idle open connection", plus, for a client only,
    // its boxed masking-key generator (a ChaCha12 block and state, under 400 bytes).
    assert!(
        both < 2 * 800 + 400,
        "idle heap of a client and a server together: {both} bytes"
    );
    assert!(
        client_heap < 800 && server_heap < 800,
        "client {client_heap} B, server {server_heap} B"
    );

    // release_buffers frees every buffer of an idle connection: what the pair still holds
    // is the client's masking-key generator.
    server.release_buffers();
    client.release_buffers();
    let released = live() - base;
    // Printing allocates (the test harness captures output), so only after measuring.
    println!("idle heap: client {client_heap} B, server {server_heap} B, measured {both} B");
    assert!(
        (1..400).contains(&released),
        "heap after release_buffers: {released}"
    );
    // And the connection still works afterwards.
    assert_eq!(echo_round(&mut client, &mut server, text), text.len());
}

/// Steady large traffic keeps its input buffer: 1 MiB messages arriving in 64 KiB reads on one
/// connection allocate only while the buffer grows to its steady size (doubling during the
/// first message, once more when the second's payload sits behind its header and needs
/// 1 MiB + 14 bytes), then never again. A regression: the buffer was released after every
/// message and grown again, five allocations and 3 MiB of copying per message.
#[test]
fn large_messages_reuse_the_input_buffer() {
    COUNTED.with(|c| c.set(true));
    let mut server = Connection::upgraded_server(Config::new(), &[]);
    let payload = vec![7u8; 1 << 20];
    let wire = cframe(true, BINARY, &payload).repeat(4);
    let mut per_message = Vec::with_capacity(4);
    for message in wire.chunks(wire.len() / 4) {
        let before = allocs();
        let mut got = 0;
        for chunk in message.chunks(64 * 1024) {
            let mut rest = chunk;
            while !rest.is_empty() {
                let n = server.receive(rest);
                rest = &rest[n..];
                while let Some(event) = server.poll_event() {
                    if let Event::Message(Message::Binary(b)) = event {
                        got += b.len();
                    }
                }
            }
        }
        assert_eq!(got, payload.len());
        per_message.push(allocs() - before);
    }
    assert!(per_message[0] + per_message[1] <= 7, "{per_message:?}");
    assert_eq!(
        &per_message[2..],
        [0, 0],
        "allocations per message: {per_message:?}"
    );
}

/// Heap held by an idle open connection with permessage-deflate after it compressed and
/// decompressed a message each way, per window setting (printed for the README table).
#[cfg(feature = "deflate")]
#[test]
fn deflate_heap_per_window_setting() {
    use wsmachine::extensions::deflate::{idle_states_memory, release_idle_states, DeflateConfig};
    let _pool = shared_pool();
    COUNTED.with(|c| c.set(true));
    let text = "hello, compressed world ".repeat(40);
    let settings = [
        (15u8, false),
        (12, false),
        (9, false),
        (15, true),
        (9, true),
    ];
    // Printing allocates on this (counted) thread: collect first, print at the end.
    let mut results = [(0isize, 0isize, 0isize, 0usize); 5];
    let mut reported_vs_measured = [(0isize, 0isize); 5];
    for (i, (bits, no_ct)) in settings.into_iter().enumerate() {
        let policy = DeflateConfig::new()
            .with_max_window_bits(bits)
            .with_peer_max_window_bits(bits)
            .with_no_context_takeover(no_ct)
            .with_peer_no_context_takeover(no_ct);
        let config = Config::new().with_deflate(policy);
        let base = live();
        let (mut client, mut server) = connect_with(config);
        let before_use = live() - base;
        for _ in 0..3 {
            assert_eq!(echo_round(&mut client, &mut server, &text), text.len());
        }
        let after = live() - base;
        // What `memory()` reports is what the heap holds: the compressor and decompressor
        // figures are a model (zlib-rs's state is opaque), checked here against the counting
        // allocator. The rest of the heap (a few boxes) is small.
        // Without context takeover the connections gave their compressors back to the
        // shared pool after each message: the pool holds them now, not the connections.
        let reported =
            (client.memory().total() + server.memory().total() + idle_states_memory()) as isize;
        reported_vs_measured[i] = (reported, after);
        client.release_buffers();
        server.release_buffers();
        let released = live() - base;
        results[i] = (before_use, after, released, idle_states_memory());
        assert!(before_use < 4096, "compression state is created lazily");
        drop((client, server));
        release_idle_states();
        assert_eq!(live(), base, "everything freed");
    }
    for ((bits, no_ct), (before_use, after, released, shared)) in settings.into_iter().zip(results)
    {
        println!(
            "deflate window {bits} no_context_takeover {no_ct}: client+server heap {before_use} B \
             before use, {after} B after (of which {shared} B idle states shared by every \
             connection), {released} B after release_buffers"
        );
    }
    for ((bits, _), (reported, measured)) in settings.into_iter().zip(reported_vs_measured) {
        let gap = (measured - reported).abs();
        println!("window {bits}: memory() {reported} B, heap {measured} B");
        assert!(
            gap <= 4096 && gap * 50 <= measured,
            "window {bits}: memory() says {reported} B, the heap holds {measured} B"
        );
    }
}

/// permessage-deflate at its default policy (no context takeover either way, so that
/// compressors and decompressors are shared one message at a time): 100 connections (50
/// pairs) compressing and inflating JSON both ways hold at most 128 KiB each, the shared idle
/// states included, where keeping a context per connection costs over 400 KiB each.
#[cfg(feature = "deflate")]
#[test]
fn deflate_defaults_hold_under_128_kib_per_connection_in_use() {
    use wsmachine::extensions::deflate::{idle_states_memory, DeflateConfig};
    let _pool = shared_pool();
    COUNTED.with(|c| c.set(true));
    let texts: Vec<String> = (0..4)
        .map(|k| {
            (0..40 * (k + 1))
                .map(|i| {
                    format!(
                        "{{\"id\":{i},\"user\":\"u{}\",\"msg\":\"hello {k}\"}},",
                        i % 9
                    )
                })
                .collect()
        })
        .collect();
    let mut per_connection = Vec::new();
    for (policy, name) in [
        (DeflateConfig::new(), "default (no context takeover)"),
        (
            DeflateConfig::new()
                .with_no_context_takeover(false)
                .with_peer_no_context_takeover(false),
            "context takeover",
        ),
    ] {
        let config = Config::new().with_deflate(policy);
        let base = live();
        let mut pairs: Vec<(Connection, Connection)> = (0..50)
            .map(|_| {
                let (client, server) = connect_with(config);
                assert!(client.deflate().is_some() && server.deflate().is_some());
                (client, server)
            })
            .collect();
        for round in 0..3 {
            for (i, (client, server)) in pairs.iter_mut().enumerate() {
                let text = &texts[(i + round) % texts.len()];
                // Both directions compress: the client's message and the server's echo.
                assert_eq!(echo_round(client, server, text), text.len());
            }
        }
        let heap = live() - base;
        let shared = idle_states_memory();
        per_connection.push((name, heap / 100, shared));
        drop(pairs);
    }
    COUNTED.with(|c| c.set(false));
    for (name, bytes, shared) in &per_connection {
        println!("deflate {name}: {bytes} B per connection in use (shared idle states {shared} B)");
    }
    let [(_, default, _), (_, takeover, _)] = per_connection[..] else {
        unreachable!()
    };
    assert!(default <= 128 * 1024, "{per_connection:?}");
    assert!(takeover > 400 * 1024, "{per_connection:?}");
}

/// Compressed traffic in steady state allocates nothing per message either: in both
/// directions, with the shared states (default) and with context takeover, assembled and
/// streamed (RFC 7692 §7.2: each message inflated on arrival).
#[cfg(feature = "deflate")]
#[test]
fn compressed_messages_allocate_nothing_per_message_in_steady_state() {
    use wsmachine::extensions::deflate::DeflateConfig;
    use wsmachine::{Delivery, MessageKind};
    let _pool = shared_pool();
    COUNTED.with(|c| c.set(true));
    let text: String = (0..200)
        .map(|i| format!("{{\"id\":{i},\"user\":\"u{}\"}},", i % 9))
        .collect();
    /// Receives everything `from` wrote; returns the text bytes delivered.
    fn deliver(from: &mut Connection, to: &mut Connection) -> usize {
        pump(from, to);
        let mut got = 0;
        while let Some(event) = to.poll_event() {
            match event {
                Event::Message(Message::Text(t)) => got += t.len(),
                Event::Fragment(f) if f.kind() == MessageKind::Text => got += f.as_bytes().len(),
                _ => {}
            }
        }
        got
    }
    for delivery in [Delivery::Assembled, Delivery::Streaming] {
        for takeover in [false, true] {
            let config = Config::new().with_delivery(delivery).with_deflate(
                DeflateConfig::new()
                    .with_no_context_takeover(!takeover)
                    .with_peer_no_context_takeover(!takeover),
            );
            let (mut client, mut server) = connect_with(config);
            assert!(client.deflate().is_some() && server.deflate().is_some());
            let round = |client: &mut Connection, server: &mut Connection| {
                client.send_text(&text).unwrap();
                assert_eq!(deliver(client, server), text.len());
                server.send_text(&text).unwrap();
                assert_eq!(deliver(server, client), text.len());
            };
            for _ in 0..20 {
                round(&mut client, &mut server);
            }
            let before = allocs();
            for _ in 0..200 {
                round(&mut client, &mut server);
            }
            assert_eq!(
                allocs() - before,
                0,
                "allocations in 400 compressed messages ({delivery:?}, takeover {takeover})"
            );
        }
    }
    COUNTED.with(|c| c.set(false));
}

/// A huge `max_headers` costs nothing per parse: the parser's header storage is sized by the
/// lines the head has (and the limit is clamped to 4,096). Before, every parse allocated the
/// configured number of slots (32 bytes each): `usize::MAX` could not be parsed at all, and
/// 4,096 cost 128 KiB per request.
#[test]
fn huge_max_headers_costs_nothing_per_parse() {
    COUNTED.with(|c| c.set(true));
    for max_headers in [64, 4096, usize::MAX] {
        BIGGEST.with(|b| b.set(0));
        let mut server = Connection::server(Config::new().with_max_headers(max_headers));
        assert_eq!(server.receive(REQUEST), REQUEST.len());
        assert!(matches!(server.poll_event(), Some(Event::Request(_))));
        server.accept(Accept::new()).unwrap();
        let biggest = BIGGEST.with(|b| b.get());
        assert!(
            biggest <= 1024,
            "max_headers {max_headers}: an allocation of {biggest} B"
        );
    }
}

/// Sends `msgs` to every connection and drains each output as a socket write would; returns
/// the allocations made.
fn fan_out(conns: &mut [Connection], msgs: &[&wsmachine::PreparedMessage]) -> usize {
    let before = allocs();
    for conn in conns.iter_mut() {
        for msg in msgs {
            conn.send_prepared(msg).unwrap();
        }
        while conn.wants_write() {
            let n = conn.output().len();
            conn.consume_output(n);
        }
    }
    allocs() - before
}

/// Fan-out allocates nothing per recipient: after the first round (which sizes each
/// connection's output buffer), a prepared message reaches every connection with no heap
/// allocation, at 1 KiB and at 64 KiB.
#[test]
fn prepared_fan_out_allocates_nothing_per_recipient() {
    COUNTED.with(|c| c.set(true));
    let mut servers: Vec<Connection> = (0..100).map(|_| server_open(Config::new())).collect();
    let small = wsmachine::PreparedMessage::binary(&[7u8; 1024]);
    let large = wsmachine::PreparedMessage::text(&"x".repeat(64 * 1024));
    let first = fan_out(&mut servers, &[&small, &large]);
    assert!(first > 0, "the first round sizes the output buffers");
    for _ in 0..3 {
        assert_eq!(fan_out(&mut servers, &[&small, &large]), 0);
    }
    COUNTED.with(|c| c.set(false));
}

/// With permessage-deflate and no context takeover, the first connection compresses (the
/// shared encoding is built once) and no recipient allocates after that.
#[cfg(feature = "deflate")]
#[test]
fn prepared_deflate_fan_out_compresses_once() {
    use wsmachine::extensions::deflate::{idle_states_memory, DeflateConfig};
    let _pool = shared_pool();
    let server_config =
        Config::new().with_deflate(DeflateConfig::new().with_no_context_takeover(true));
    let client_config = Config::new().with_deflate(DeflateConfig::new());
    let mut servers: Vec<Connection> = (0..50)
        .map(|_| Pair::new(client_config, server_config).server)
        .collect();
    let text: String = (0..2000).map(|i| format!("{{\"n\":{i}}}")).collect();
    let msg = wsmachine::PreparedMessage::text(&text);
    COUNTED.with(|c| c.set(true));
    // Output buffers are sized by a plain message first, so that the count below is the
    // compression's alone.
    let plain = msg.clone().without_compression();
    fan_out(&mut servers, &[&plain]);
    let first = fan_out(&mut servers[..1], &[&msg]);
    assert!(first > 0, "the first recipient compresses");
    assert_eq!(
        fan_out(&mut servers[1..], &[&msg]),
        0,
        "the others share it"
    );
    assert_eq!(fan_out(&mut servers, &[&msg]), 0);
    COUNTED.with(|c| c.set(false));
    assert!(servers.iter().all(|s| s.stats().sent.messages == 3));
    // No connection built a compressor of its own: the shared encoding spared each one the
    // compressor's ~380 KiB.
    assert!(servers.iter().all(|s| s.memory().compression == 0));
    // One that compresses its own message takes a compressor from the shared pool (or
    // builds one) and gives it back when the message ends: it keeps only its output scratch.
    let mut own = Pair::new(client_config, server_config).server;
    own.send_text(&text).unwrap();
    assert!(own.memory().compression < 32 * 1024, "{:?}", own.memory());
    assert!(idle_states_memory() > 256 * 1024);
}
