//! Heap behaviour measured with a counting global allocator: no allocation per message in a
//! steady-state echo, and a small heap per idle open connection.
//!
//! One test function only: the counters are process-wide, and parallel tests would mix.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

use common::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Accept, Config, Connection, Event, Message};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Only the test's own thread is counted: the test harness's threads allocate too.
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(|c| c.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.load(Ordering::Relaxed)
}

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
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
    assert!(
        both <= 2 * 1024,
        "idle heap of a client and a server together: {both} bytes"
    );
    assert!(client_heap <= 1024 && server_heap <= 1024);

    // release_buffers frees every buffer of an idle connection.
    client.release_buffers();
    server.release_buffers();
    let released = live() - base;
    // Printing allocates (the test harness captures output), so only after measuring.
    println!("idle heap: client {client_heap} B, server {server_heap} B, measured {both} B");
    assert_eq!(released, 0, "heap after release_buffers");
    // And the connection still works afterwards.
    assert_eq!(echo_round(&mut client, &mut server, text), text.len());
}
