//! Fan-out: one message to 10,000 open server connections, time per recipient, in one
//! criterion run, followed by a markdown summary table.
//!
//! ```sh
//! cargo bench --features deflate --bench broadcast                # about 3 minutes, ~6 GB
//! WSMACHINE_BENCH_QUICK=1 cargo bench --features deflate --bench broadcast
//! WSMACHINE_BROADCAST_RECIPIENTS=1000 cargo bench --features deflate --bench broadcast
//! ```
//!
//! # What each row pays
//!
//! Every row keeps 10,000 connections (or buffers) alive and sends to them in turn, one
//! recipient per iteration, so each send lands in a buffer that is cold, as in a real
//! fan-out. After each send the recipient's output is handed to a sink that takes it by
//! reference (a socket write passing the bytes to the kernel: the same for every row) and
//! the buffer is emptied. Every buffer was sized by one round over all recipients before the
//! timing, as a long-lived connection's would be.
//!
//! - `memcpy_reference`: the physical floor: the frame's bytes (header and payload, built
//!   once) copied into the recipient's own `Vec` with `extend_from_slice`.
//! - `wsmachine_send_each`: `Connection::send_text` / `send_binary` on each connection, which
//!   encodes the frame every time.
//! - `wsmachine_prepared`: one `PreparedMessage` built before the timing,
//!   `Connection::send_prepared` on each connection.
//! - `wsmachine_prepared_direct`: `Connection::send_prepared_unbuffered` on each connection
//!   (whose output is empty), and the shared frame it returns handed to the sink: no copy at
//!   all, the path the tokio driver takes whenever a connection's output is empty (it keeps a
//!   reference to the message only if the socket takes part of the frame). This row pays
//!   what the others pay except the copy into a per-connection buffer: it is the zero-copy
//!   path, not a like-for-like copy.
//! - `tungstenite_cloned_message`: tungstenite's cheapest fan-out: one `Message` built before
//!   the timing, a clone (a reference count on its `Bytes`) passed to `WebSocket::send` (write
//!   and flush) on each connection (`from_raw_socket`, server role, default configuration).
//!
//! With permessage-deflate (every connection negotiated `server_no_context_takeover`, level 6,
//! 15 window bits, the defaults otherwise):
//!
//! - `wsmachine_compress_each`: `send_text` / `send_binary`: each connection compresses the
//!   message with its own compressor (allocated by a first message before the timing);
//! - `wsmachine_prepared_shared`: `send_prepared`: the first recipient compresses, every
//!   later one copies the shared compressed frame.
//!
//! The payloads are JSON-like text (compressible, as chat lines and ticker updates are): 1 KiB
//! sent as text, 64 KiB as binary. Checks outside the timing: every row writes exactly the
//! frame bytes of the reference (the compressed rows: the same compressed frame, decoded back
//! by a client).

use std::env;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput};
use tungstenite::protocol::Role;
use wsmachine::extensions::deflate::DeflateConfig;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Accept, Config, Connection, Event, Message, PreparedMessage, Seed};

#[path = "support/results.rs"]
mod results;
use results::{criterion_dir, estimate_ns, fmt_time};

fn recipients() -> usize {
    env::var("WSMACHINE_BROADCAST_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
        .max(1)
}

/// JSON-like text of `len` bytes.
fn payload(len: usize) -> String {
    let mut s = String::with_capacity(len + 64);
    let mut i = 0u64;
    while s.len() < len {
        let price = i.wrapping_mul(7919) % 100_000;
        s.push_str(&format!(
            "{{\"id\":{i},\"symbol\":\"WSM\",\"price\":{price},\"side\":\"buy\"}},"
        ));
        i += 1;
    }
    s.truncate(len);
    s
}

/// A socket that takes every write whole, by reference.
struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        black_box(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

/// A socket that keeps what is written, for the checks.
struct Capture(Vec<u8>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Capture {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

/// Hands a connection's output to the sink and empties it (a shared frame, then the
/// connection's own buffer).
fn drain(conn: &mut Connection) {
    while conn.wants_write() {
        let n = black_box(conn.output()).len();
        conn.consume_output(n);
    }
}

/// An open server connection, its handshake done in memory (with permessage-deflate and no
/// context takeover in the server's direction when `deflate`).
fn server(deflate: bool) -> Connection {
    let mut config = Config::new();
    let mut client_config = Config::new();
    if deflate {
        config = config.with_deflate(DeflateConfig::new().with_no_context_takeover(true));
        client_config = client_config.with_deflate(DeflateConfig::new());
    }
    let request = ClientRequest::new("bench", "/");
    let mut client =
        Connection::client(client_config, &request, Seed::new([1; 32])).expect("client request");
    let mut server = Connection::server(config);
    let n = server.receive(client.output());
    client.consume_output(n);
    match server.poll_event() {
        Some(Event::Request(_)) => server.accept(Accept::new()).expect("accept"),
        other => panic!("expected a request, got {other:?}"),
    }
    assert_eq!(server.deflate().is_some(), deflate);
    drain(&mut server);
    server
}

/// Sends to the recipients in turn, one per iteration, across calls.
struct Ring<T> {
    items: Vec<T>,
    next: usize,
}

impl<T> Ring<T> {
    fn new(items: Vec<T>) -> Ring<T> {
        Ring { items, next: 0 }
    }

    /// Runs `send` on every item once (outside the timing: sizes their buffers).
    fn warm(&mut self, mut send: impl FnMut(&mut T)) {
        self.items.iter_mut().for_each(&mut send);
    }

    /// Times `iters` sends, each to the next item.
    fn time(&mut self, iters: u64, mut send: impl FnMut(&mut T)) -> Duration {
        let len = self.items.len();
        let start = Instant::now();
        for _ in 0..iters {
            if let Some(item) = self.items.get_mut(self.next) {
                send(item);
            }
            self.next += 1;
            if self.next == len {
                self.next = 0;
            }
        }
        start.elapsed()
    }
}

/// One message size: a text or binary payload.
#[derive(Clone, Copy)]
struct Workload {
    group: &'static str,
    len: usize,
    text: bool,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        group: "broadcast_1KiB_text",
        len: 1024,
        text: true,
    },
    Workload {
        group: "broadcast_64KiB_binary",
        len: 64 * 1024,
        text: false,
    },
];

fn send_each(conn: &mut Connection, w: Workload, data: &str) {
    let sent = if w.text {
        conn.send_text(data)
    } else {
        conn.send_binary(data.as_bytes())
    };
    sent.expect("send");
    drain(conn);
}

fn send_prepared(conn: &mut Connection, msg: &PreparedMessage) {
    conn.send_prepared(msg).expect("send_prepared");
    drain(conn);
}

fn prepared(w: Workload, data: &str) -> PreparedMessage {
    if w.text {
        PreparedMessage::text(data)
    } else {
        PreparedMessage::binary(data.as_bytes())
    }
}

/// The frame bytes every uncompressed row must write: checked, not timed.
fn check_plain(w: Workload, data: &str, frame: &[u8]) {
    let mut a = server(false);
    a.send_prepared(&prepared(w, data)).expect("send");
    let mut b = server(false);
    if w.text {
        b.send_text(data).expect("send");
    } else {
        b.send_binary(data.as_bytes()).expect("send");
    }
    assert_eq!(a.output(), frame, "prepared frame");
    assert_eq!(b.output(), frame, "send_* frame");
    let mut ws = tungstenite::WebSocket::from_raw_socket(Capture(Vec::new()), Role::Server, None);
    ws.send(tungstenite_message(w, data))
        .expect("tungstenite send");
    assert_eq!(ws.get_ref().0, frame, "tungstenite frame");
}

/// The compressed rows write the same frame, which a client decodes to the payload.
fn check_deflate(w: Workload, data: &str) {
    let mut a = server(true);
    a.send_prepared(&prepared(w, data)).expect("send");
    let mut b = server(true);
    if w.text {
        b.send_text(data).expect("send");
    } else {
        b.send_binary(data.as_bytes()).expect("send");
    }
    assert_eq!(a.output(), b.output(), "shared and own compression differ");
    assert!(a.output().len() < data.len() / 2, "not compressed");
    // Decode through a client that negotiated the same parameters.
    let config = Config::new().with_deflate(DeflateConfig::new());
    let mut client = Connection::client(config, &ClientRequest::new("b", "/"), Seed::new([2; 32]))
        .expect("client");
    let mut srv = Connection::server(
        Config::new().with_deflate(DeflateConfig::new().with_no_context_takeover(true)),
    );
    let n = srv.receive(client.output());
    client.consume_output(n);
    assert!(matches!(srv.poll_event(), Some(Event::Request(_))));
    srv.accept(Accept::new()).expect("accept");
    let n = client.receive(srv.output());
    srv.consume_output(n);
    assert!(matches!(client.poll_event(), Some(Event::Accepted(_))));
    assert_eq!(client.receive(a.output()), a.output().len());
    let got = match client.poll_event() {
        Some(Event::Message(Message::Text(t))) => t.as_bytes().to_vec(),
        Some(Event::Message(Message::Binary(b))) => b.to_vec(),
        other => panic!("expected the message, got {other:?}"),
    };
    assert_eq!(got, data.as_bytes());
}

fn tungstenite_message(w: Workload, data: &str) -> tungstenite::Message {
    if w.text {
        tungstenite::Message::text(data.to_owned())
    } else {
        tungstenite::Message::binary(data.as_bytes().to_vec())
    }
}

fn bench_plain(c: &mut Criterion, w: Workload, n: usize) {
    let data = payload(w.len);
    let msg = prepared(w, &data);
    let frame = msg.server_frame().to_vec();
    check_plain(w, &data, &frame);
    let mut group = c.benchmark_group(w.group);
    group.throughput(Throughput::Bytes(frame.len() as u64));

    {
        let mut ring = Ring::new(vec![Vec::<u8>::new(); n]);
        let send = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&frame);
            black_box(&buf[..]);
            buf.clear();
        };
        ring.warm(send);
        group.bench_function("memcpy_reference", |b| {
            b.iter_custom(|iters| ring.time(iters, send))
        });
    }
    {
        let mut ring = Ring::new((0..n).map(|_| server(false)).collect());
        ring.warm(|c| send_each(c, w, &data));
        group.bench_function("wsmachine_send_each", |b| {
            b.iter_custom(|iters| ring.time(iters, |c| send_each(c, w, &data)))
        });
        ring.warm(|c| send_prepared(c, &msg));
        group.bench_function("wsmachine_prepared", |b| {
            b.iter_custom(|iters| ring.time(iters, |c| send_prepared(c, &msg)))
        });
        let direct = |c: &mut Connection| {
            let frame = c.send_prepared_unbuffered(&msg).expect("unbuffered");
            black_box(frame);
        };
        ring.warm(direct);
        group.bench_function("wsmachine_prepared_direct", |b| {
            b.iter_custom(|iters| ring.time(iters, direct))
        });
    }
    {
        let message = tungstenite_message(w, &data);
        let mut ring = Ring::new(
            (0..n)
                .map(|_| tungstenite::WebSocket::from_raw_socket(Sink, Role::Server, None))
                .collect(),
        );
        let send = |ws: &mut tungstenite::WebSocket<Sink>| {
            ws.send(message.clone()).expect("tungstenite send");
        };
        ring.warm(send);
        group.bench_function("tungstenite_cloned_message", |b| {
            b.iter_custom(|iters| ring.time(iters, send))
        });
    }
    group.finish();
}

fn bench_deflate(c: &mut Criterion, w: Workload, n: usize) {
    let data = payload(w.len);
    let msg = prepared(w, &data);
    check_deflate(w, &data);
    let group_name = format!("{}_deflate", w.group);
    let mut group = c.benchmark_group(&group_name);
    group.throughput(Throughput::Bytes(w.len as u64));
    let mut ring = Ring::new((0..n).map(|_| server(true)).collect());
    ring.warm(|c| send_prepared(c, &msg));
    group.bench_function("wsmachine_prepared_shared", |b| {
        b.iter_custom(|iters| ring.time(iters, |c| send_prepared(c, &msg)))
    });
    // Every connection compresses once before the timing, so each holds its compressor as a
    // long-lived connection would (~380 KiB each at 15 window bits: ~4 GB for 10,000).
    ring.warm(|c| send_each(c, w, &data));
    group.bench_function("wsmachine_compress_each", |b| {
        b.iter_custom(|iters| ring.time(iters, |c| send_each(c, w, &data)))
    });
    group.finish();
}

fn main() {
    let n = recipients();
    let quick = env::var_os("WSMACHINE_BENCH_QUICK").is_some();
    let mut c = Criterion::default()
        .sample_size(if quick { 10 } else { 20 })
        .warm_up_time(Duration::from_secs(if quick { 1 } else { 2 }))
        .measurement_time(Duration::from_secs(if quick { 2 } else { 5 }))
        .configure_from_args();
    let since = SystemTime::now();
    for w in WORKLOADS {
        bench_plain(&mut c, w, n);
        bench_deflate(&mut c, w, n);
    }
    c.final_summary();
    summary(n, since);
}

/// The markdown table: time per recipient and the ratios the issue asks about.
fn summary(n: usize, since: SystemTime) {
    let dir = criterion_dir();
    let get = |group: &str, bench: &str| estimate_ns(&dir, group, bench, since);
    let cell = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), fmt_time);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    };
    println!("\n## Broadcast to {n} server connections: time per recipient (mean)\n");
    println!("| message | memcpy | send each | prepared (copy) | prepared (direct) | tungstenite | copy ÷ memcpy | direct ÷ memcpy | tungstenite ÷ copy | tungstenite ÷ direct |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for w in WORKLOADS {
        let memcpy = get(w.group, "memcpy_reference");
        let each = get(w.group, "wsmachine_send_each");
        let prep = get(w.group, "wsmachine_prepared");
        let direct = get(w.group, "wsmachine_prepared_direct");
        let tung = get(w.group, "tungstenite_cloned_message");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            w.group,
            cell(memcpy),
            cell(each),
            cell(prep),
            cell(direct),
            cell(tung),
            ratio(prep, memcpy),
            ratio(direct, memcpy),
            ratio(tung, prep),
            ratio(tung, direct)
        );
    }
    println!("\n| message, deflate (no context takeover) | prepared, shared | compress each | compress each ÷ shared |");
    println!("|---|---|---|---|");
    for w in WORKLOADS {
        let group = format!("{}_deflate", w.group);
        let shared = get(&group, "wsmachine_prepared_shared");
        let each = get(&group, "wsmachine_compress_each");
        println!(
            "| {} | {} | {} | {} |",
            w.group,
            cell(shared),
            cell(each),
            ratio(each, shared)
        );
    }
}
