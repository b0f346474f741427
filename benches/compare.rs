//! wsmachine side by side with tungstenite, fastwebsockets and tokio-websockets, plus
//! references (copy then unmask, copy-unmask-validate, append then mask, memcpy, XOR,
//! simdutf8), all in one criterion run, followed by a markdown summary table.
//!
//! ```sh
//! cargo bench --bench compare                                # full run, about 3-4 minutes
//! cargo bench --bench compare -- --quick                     # criterion's quick mode
//! WSMACHINE_BENCH_QUICK=1 cargo bench --bench compare        # shorter warm-up and measurement
//! cargo bench --bench compare -- decode_text                 # one group (the table shows only it)
//! ```
//!
//! Only ratios taken from the same run mean anything: the numbers move with the machine's load.
//!
//! # What every implementation does
//!
//! All inputs are built once, before any timing: the payloads and, for the decode workloads, one
//! buffer of masked client frames (a fresh masking key per frame). Every decoder reads that same
//! buffer through the same in-memory socket, whose `read` copies at most 64 KiB into the
//! caller's buffer, as a socket read does: every decoder pays that read copy.
//!
//! - wsmachine: as its drivers read a socket: `read` into `Connection::read_buf()`, then
//!   `commit_read(n)` (which unmasks in place), draining `poll_event()` after each read. A
//!   separate row, `wsmachine_receive_no_read_copy`, shows the shortcut a socket-fed user
//!   cannot take: `receive(chunk)` straight from the benchmark's buffer, which copies and
//!   unmasks in one pass with no read copy before it;
//! - tungstenite: `WebSocket::from_raw_socket(stream, Role::Server, ..)` and `read()` over a
//!   `Read + Write` in-memory stream;
//! - fastwebsockets: `WebSocket::after_handshake` + `FragmentCollector::read_frame` over an
//!   `AsyncRead + AsyncWrite` in-memory stream, on a tokio current-thread runtime;
//! - tokio-websockets: `ServerBuilder::serve(stream)` + `StreamExt::next`, same stream and runtime.
//!
//! Each complete message's payload goes through `std::hint::black_box`, and text is validated as UTF-8 by
//! every decoder (wsmachine, fastwebsockets and tokio-websockets with simdutf8, tungstenite with
//! `core::str::from_utf8`: that is each library's default). Limits are raised to 16 MiB
//! everywhere. Each implementation's decoding connection is built once and reads the same
//! input again in every iteration (the in-memory stream is rewound): the steady state of a
//! long-lived connection, with warm buffers, for every implementation alike.
//!
//! References, per message, in the same run: `baseline_copy_then_unmask` (the masked
//! payload copied into a buffer, as a read would, then unmasked there), for text
//! `baseline_copy_unmask_validate` (then validated with simdutf8), for encoding
//! `baseline_append_then_mask` (the payload appended to an output `Vec` and masked there,
//! the `Vec` handed on every 64 KiB), plus `baseline_memcpy`, `baseline_xor` (unmasking in
//! place) and `baseline_simdutf8`.
//!
//! Encoders write masked client frames into an in-memory sink that takes each write by
//! reference and only counts it (a socket write hands the bytes to the kernel; charging a copy
//! here would add the same memcpy to everyone). The connection lives across
//! iterations, as a socket writer's would; wsmachine hands its `output()` to the sink whenever
//! 64 KiB are queued and at the end of the iteration (tungstenite buffers 128 KiB by default,
//! tokio-websockets 8 KiB, fastwebsockets writes each frame). fastwebsockets masks in place, so
//! each payload is first copied into a reused scratch buffer (`Payload::BorrowedMut`), its
//! cheapest way to send a shared payload.
//!
//! Defaults kept on purpose: tungstenite's 128 KiB read buffer, whose free space it zero-fills
//! (up to 128 KiB) before every read: a likely reason for its echo time, where every message
//! takes a read. Masking keys: wsmachine draws them from ChaCha12, tungstenite and
//! fastwebsockets from `rand::random` (ChaCha12), tokio-websockets (feature `fastrand`, as in
//! Cargo.toml) from fastrand's wyrand, which is cheaper and not a CSPRNG.
//!
//! Checks outside the timing, once per implementation: every decoder yields exactly the
//! expected messages (count, kind and bytes), every encoder's output decodes (as masked client
//! frames, through a wsmachine server) to the expected messages, every handshake answers 101
//! with the right `Sec-WebSocket-Accept`, every echo returns every message.

use std::cell::RefCell;
use std::env;
use std::fs;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;
use tokio_websockets::{ClientBuilder, Limits, ServerBuilder, WebSocketStream};
use tungstenite::protocol::{Role as TungRole, WebSocketConfig};
use tungstenite::{Bytes, Utf8Bytes};
use wsmachine::{Accept, Config, Connection, Event, Message, Seed};

/// Small messages per iteration, and their size.
const SMALL_COUNT: usize = 100_000;
const SMALL_LEN: usize = 16;
/// Large binary messages per iteration, and their size.
const BIG_COUNT: usize = 8;
const BIG_LEN: usize = 1 << 20;
/// Multi-byte UTF-8 text messages per iteration, and their size.
const UTF8_COUNT: usize = 16;
const UTF8_LEN: usize = 64 << 10;
/// The most bytes one read of the in-memory transport returns (a typical socket read).
const READ_CHUNK: usize = 64 << 10;
/// wsmachine's encoder writes its output out once this much is queued.
const WRITE_BATCH: usize = 64 << 10;
/// Frame and message limits for every implementation.
const LIMIT: usize = 16 << 20;

const PEERS: [&str; 3] = ["tungstenite", "fastwebsockets", "tokio-websockets"];
const WSMACHINE: &str = "wsmachine";
/// The shortcut decode row (see `decode_wsmachine_receive`).
const WSMACHINE_RECEIVE: &str = "wsmachine_receive_no_read_copy";
const MEMCPY: &str = "baseline_memcpy";
/// References for decoding: each payload copied (as a read copies it), then unmasked; for
/// text, then validated with simdutf8 too.
const COPY_UNMASK: &str = "baseline_copy_then_unmask";
const COPY_UNMASK_UTF8: &str = "baseline_copy_unmask_validate";
/// The reference for encoding: each payload appended to an output `Vec`, then masked there.
const APPEND_MASK: &str = "baseline_append_then_mask";
const XOR: &str = "baseline_xor";
const SIMDUTF8: &str = "baseline_simdutf8";

/// The opening request of Chrome (its header order), for the handshake workload.
const CHROME_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: example.com:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
Chrome/126.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://example.com:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";
/// The `Sec-WebSocket-Accept` for the key above (RFC 6455 §1.3).
const CHROME_ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// ----- inputs -----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
}

/// A deterministic xorshift generator for payloads and masking keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn key(&mut self) -> [u8; 4] {
        (self.next() as u32).to_ne_bytes()
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next().to_ne_bytes());
        }
        v.truncate(len);
        v
    }
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

/// One workload's messages, and the same messages as masked client frames.
struct Workload {
    kind: Kind,
    payloads: Vec<&'static [u8]>,
    /// The payloads as `str` (text workloads only).
    texts: Vec<&'static str>,
    /// Masking keys for the XOR baseline, one per message.
    keys: Vec<[u8; 4]>,
    /// The frames a client would send, masked with a different key each.
    wire: &'static [u8],
}

impl Workload {
    fn new(kind: Kind, payloads: Vec<Vec<u8>>, rng: &mut Rng) -> Workload {
        let payloads: Vec<&'static [u8]> = payloads.into_iter().map(leak).collect();
        let texts = match kind {
            Kind::Text => payloads
                .iter()
                .map(|p| std::str::from_utf8(p).expect("text payloads are UTF-8"))
                .collect(),
            Kind::Binary => Vec::new(),
        };
        let keys: Vec<[u8; 4]> = payloads.iter().map(|_| rng.key()).collect();
        let mut wire = Vec::new();
        for (p, k) in payloads.iter().zip(&keys) {
            push_client_frame(&mut wire, kind, p, *k);
        }
        Workload {
            kind,
            payloads,
            texts,
            keys,
            wire: leak(wire),
        }
    }

    fn count(&self) -> usize {
        self.payloads.len()
    }

    fn payload_bytes(&self) -> u64 {
        self.payloads.iter().map(|p| p.len() as u64).sum()
    }

    fn max_len(&self) -> usize {
        self.payloads.iter().map(|p| p.len()).max().unwrap_or(0)
    }
}

/// Appends a final, masked client frame (RFC 6455 §5.2), masking byte by byte: independent of
/// every implementation measured.
fn push_client_frame(out: &mut Vec<u8>, kind: Kind, payload: &[u8], key: [u8; 4]) {
    out.push(match kind {
        Kind::Text => 0x81,
        Kind::Binary => 0x82,
    });
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
}

/// 16-byte ASCII texts, all different: "message #0000042".
fn small_texts() -> Vec<Vec<u8>> {
    (0..SMALL_COUNT)
        .map(|i| {
            let s = format!("message #{i:07}");
            assert_eq!(s.len(), SMALL_LEN);
            s.into_bytes()
        })
        .collect()
}

/// Exactly `len` bytes of Greek, CJK and emoji (2-, 3- and 4-byte sequences), starting at a
/// different place of the mix for each `start`; padded with ASCII dots to the exact length.
fn utf8_text(len: usize, start: usize) -> Vec<u8> {
    const MIX: &str = "Καλημέρα κόσμε, γειά σου! 日本語のテキストと漢字。中文字符测试，你好世界。\
                       😀🚀🎉🌍✨🦀 Ελληνικά αλφάβητα; 한국어 텍스트 ";
    let chars: Vec<char> = MIX.chars().collect();
    let mut s = String::with_capacity(len);
    for i in start.. {
        let c = chars[i % chars.len()];
        if s.len() + c.len_utf8() > len {
            break;
        }
        s.push(c);
    }
    while s.len() < len {
        s.push('.');
    }
    s.into_bytes()
}

struct Inputs {
    small: Workload,
    big: Workload,
    utf8: Workload,
}

impl Inputs {
    fn build() -> Inputs {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let small = Workload::new(Kind::Text, small_texts(), &mut rng);
        let big_payloads = (0..BIG_COUNT).map(|_| rng.bytes(BIG_LEN)).collect();
        let big = Workload::new(Kind::Binary, big_payloads, &mut rng);
        let utf8_payloads = (0..UTF8_COUNT)
            .map(|i| utf8_text(UTF8_LEN, i * 7))
            .collect();
        let utf8 = Workload::new(Kind::Text, utf8_payloads, &mut rng);
        Inputs { small, big, utf8 }
    }
}

// ----- in-memory transports ---------------------------------------------------------------

/// A transport over pre-built bytes: reads return at most `READ_CHUNK` bytes (then end of
/// stream). The read position is shared through `rewind`, so a decoder can read the same bytes
/// again in the next iteration. Writes are discarded (counted) unless `keep`, which keeps them.
struct Mem {
    input: &'static [u8],
    pos: Rc<std::cell::Cell<usize>>,
    out: Vec<u8>,
    keep: bool,
    written: usize,
}

impl Mem {
    /// Reads `input`; discards what is written.
    fn reader(input: &'static [u8]) -> Mem {
        Mem {
            input,
            pos: Rc::default(),
            out: Vec::new(),
            keep: false,
            written: 0,
        }
    }

    /// Nothing to read; what is written is discarded, or with `keep` kept whole.
    fn writer(keep: bool) -> Mem {
        Mem {
            input: &[],
            pos: Rc::default(),
            out: Vec::new(),
            keep,
            written: 0,
        }
    }

    /// Reads `input`; everything written is kept in `out`, which starts empty (its capacity is
    /// reused).
    fn with_out(input: &'static [u8], mut out: Vec<u8>) -> Mem {
        out.clear();
        Mem {
            input,
            pos: Rc::default(),
            out,
            keep: true,
            written: 0,
        }
    }

    /// A handle that sets the read position (0 reads the input again).
    fn rewind(&self) -> Rc<std::cell::Cell<usize>> {
        self.pos.clone()
    }

    fn take(&mut self, max: usize) -> &'static [u8] {
        let input = self.input;
        let pos = self.pos.get();
        let rest = &input[pos..];
        let n = rest.len().min(max).min(READ_CHUNK);
        self.pos.set(pos + n);
        &rest[..n]
    }

    /// A socket write hands the bytes over by reference: the sink only counts them (so no
    /// implementation is charged a copy the others skip); `keep` keeps them for checking.
    fn put(&mut self, data: &[u8]) {
        self.written += data.len();
        if self.keep {
            self.out.extend_from_slice(data);
        }
        black_box(data);
    }
}

impl Read for Mem {
    /// The read copy, in pieces of 2 KiB for every decoder alike: one `memcpy` of more takes
    /// glibc's `rep movsb` path, which on this machine's AMD EPYC runs at 3 GB/s instead of
    /// 55 when the destination sits 1 to 15 bytes past the source modulo 4 KiB
    /// (`benches/copy_offsets.rs`): where a decoder's buffer happens to sit relative to this
    /// one's would decide its time. A kernel socket read copies with its own routine.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.take(buf.len());
        for (dst, src) in buf[..data.len()].chunks_mut(2048).zip(data.chunks(2048)) {
            dst.copy_from_slice(src);
        }
        Ok(data.len())
    }
}

impl Write for Mem {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.put(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Mem {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let data = this.take(buf.remaining());
        buf.put_slice(data);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Mem {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().put(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One direction of an in-memory pipe (for the echo workload).
#[derive(Default)]
struct Chan {
    buf: Vec<u8>,
    pos: usize,
}

impl Chan {
    fn push(&mut self, data: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Copies at most `READ_CHUNK` bytes into `out`. The echo runs in one thread, step by step,
    /// so reading an empty pipe would block forever: that is a bug, not a wait.
    fn pull(&mut self, out: &mut [u8]) -> usize {
        let pending = self.pending();
        assert!(!pending.is_empty(), "read from an empty in-memory pipe");
        let n = pending.len().min(out.len()).min(READ_CHUNK);
        out[..n].copy_from_slice(&pending[..n]);
        self.pos += n;
        n
    }
}

/// One end of an in-memory duplex pipe.
struct PipeEnd {
    rx: Rc<RefCell<Chan>>,
    tx: Rc<RefCell<Chan>>,
}

fn pipe() -> (PipeEnd, PipeEnd) {
    let a = Rc::new(RefCell::new(Chan::default()));
    let b = Rc::new(RefCell::new(Chan::default()));
    (
        PipeEnd {
            rx: Rc::clone(&a),
            tx: Rc::clone(&b),
        },
        PipeEnd { rx: b, tx: a },
    )
}

impl Read for PipeEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.rx.borrow_mut().pull(buf))
    }
}

impl Write for PipeEnd {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.tx.borrow_mut().push(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for PipeEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut rx = self.rx.borrow_mut();
        let pending = rx.pending();
        assert!(!pending.is_empty(), "read from an empty in-memory pipe");
        let n = pending.len().min(buf.remaining()).min(READ_CHUNK);
        buf.put_slice(&pending[..n]);
        rx.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for PipeEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.tx.borrow_mut().push(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ----- what a decoder reports -------------------------------------------------------------

/// Counts what a decoder delivered; the same few additions for every implementation.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    messages: usize,
    texts: usize,
    bytes: usize,
}

impl Tally {
    fn assert_matches(&self, name: &str, w: &Workload) {
        let texts = if w.kind == Kind::Text { w.count() } else { 0 };
        let expected = (w.count(), texts, w.payload_bytes() as usize);
        assert_eq!(
            (self.messages, self.texts, self.bytes),
            expected,
            "{name}: tally"
        );
    }

    /// Every decoder hands each message's payload here, which `black_box` keeps from being
    /// optimized away. (The event or message itself is not passed through `black_box`: that
    /// copies the whole value through memory, a cost of the benchmark, not of reading.)
    #[inline(always)]
    fn add(&mut self, text: bool, payload: &[u8]) {
        black_box(payload);
        self.messages += 1;
        self.texts += usize::from(text);
        self.bytes += payload.len();
    }
}

/// Compares every delivered message with the expected one (outside the timing).
struct Checker<'a> {
    name: String,
    w: &'a Workload,
    next: usize,
}

impl<'a> Checker<'a> {
    fn new(name: &str, w: &'a Workload) -> Checker<'a> {
        Checker {
            name: name.to_owned(),
            w,
            next: 0,
        }
    }

    fn check(&mut self, text: bool, payload: &[u8]) {
        let i = self.next;
        assert!(i < self.w.count(), "{}: too many messages", self.name);
        assert_eq!(
            text,
            self.w.kind == Kind::Text,
            "{}: kind of #{i}",
            self.name
        );
        assert_eq!(
            payload.len(),
            self.w.payloads[i].len(),
            "{}: #{i}",
            self.name
        );
        assert!(
            payload == self.w.payloads[i],
            "{}: bytes of #{i}",
            self.name
        );
        self.next += 1;
    }

    fn finish(self) {
        assert_eq!(self.next, self.w.count(), "{}: message count", self.name);
        println!("checked {}: {} messages", self.name, self.next);
    }
}

// ----- decoders ---------------------------------------------------------------------------

fn ws_config() -> Config {
    Config::new()
        .with_max_frame_size(LIMIT)
        .with_max_message_size(LIMIT)
}

fn tung_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(LIMIT))
        .max_frame_size(Some(LIMIT))
}

fn tws_limits() -> Limits {
    Limits::default().max_payload_len(Some(LIMIT))
}

fn ws_server() -> Connection {
    Connection::upgraded_server(ws_config(), &[])
}

/// A server connection and the in-memory socket it reads `wire` from.
fn ws_server_reader(wire: &'static [u8]) -> (Connection, Mem, Rewind) {
    let input = Mem::reader(wire);
    let rewind = input.rewind();
    (ws_server(), input, rewind)
}

type Rewind = Rc<std::cell::Cell<usize>>;

fn tung_server(wire: &'static [u8]) -> (tungstenite::WebSocket<Mem>, Rewind) {
    let mem = Mem::reader(wire);
    let rewind = mem.rewind();
    let ws = tungstenite::WebSocket::from_raw_socket(mem, TungRole::Server, Some(tung_config()));
    (ws, rewind)
}

fn fws_server(wire: &'static [u8]) -> (FragmentCollector<Mem>, Rewind) {
    let mem = Mem::reader(wire);
    let rewind = mem.rewind();
    let mut ws = fastwebsockets::WebSocket::after_handshake(mem, fastwebsockets::Role::Server);
    ws.set_max_message_size(LIMIT);
    (FragmentCollector::new(ws), rewind)
}

fn tws_server(wire: &'static [u8]) -> (WebSocketStream<Mem>, Rewind) {
    let mem = Mem::reader(wire);
    let rewind = mem.rewind();
    (ServerBuilder::new().limits(tws_limits()).serve(mem), rewind)
}

/// Reads its input as a driver reads a socket: each `read` (at most 64 KiB, a copy, as every
/// peer's read is) lands in `read_buf()`, `commit_read(n)` unmasks it in place, and the events
/// are drained after each read.
fn decode_wsmachine(conn: &mut Connection, input: &mut Mem, on: &mut impl FnMut(bool, &[u8])) {
    loop {
        let n = input.read(conn.read_buf()).expect("in-memory read");
        if n == 0 {
            break;
        }
        conn.commit_read(n);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(Message::Text(t)) => on(true, t.as_bytes()),
                Event::Message(Message::Binary(b)) => on(false, b),
                other => panic!("wsmachine: unexpected {other:?}"),
            }
        }
    }
}

/// The shortcut row: `receive(chunk)` straight from the benchmark's input, 64 KiB at a time,
/// copying and unmasking in one pass (no read copy: a socket-fed user cannot do this).
fn decode_wsmachine_receive(conn: &mut Connection, wire: &[u8], on: &mut impl FnMut(bool, &[u8])) {
    for chunk in wire.chunks(READ_CHUNK) {
        let mut rest = chunk;
        loop {
            let n = conn.receive(rest);
            rest = &rest[n..];
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::Message(Message::Text(t)) => on(true, t.as_bytes()),
                    Event::Message(Message::Binary(b)) => on(false, b),
                    other => panic!("wsmachine: unexpected {other:?}"),
                }
            }
            if rest.is_empty() {
                break;
            }
            assert!(
                n > 0,
                "wsmachine took nothing after its events were drained"
            );
        }
    }
}

fn decode_tungstenite(
    ws: &mut tungstenite::WebSocket<Mem>,
    count: usize,
    on: &mut impl FnMut(bool, &[u8]),
) {
    for _ in 0..count {
        match ws.read().expect("tungstenite read") {
            tungstenite::Message::Text(t) => on(true, t.as_bytes()),
            tungstenite::Message::Binary(b) => on(false, &b),
            other => panic!("tungstenite: unexpected {other:?}"),
        }
    }
}

async fn decode_fastwebsockets(
    ws: &mut FragmentCollector<Mem>,
    count: usize,
    on: &mut impl FnMut(bool, &[u8]),
) {
    for _ in 0..count {
        let frame = ws.read_frame().await.expect("fastwebsockets read");
        match frame.opcode {
            OpCode::Text => on(true, &frame.payload),
            OpCode::Binary => on(false, &frame.payload),
            other => panic!("fastwebsockets: unexpected {other:?}"),
        }
    }
}

async fn decode_tokio_websockets(
    ws: &mut WebSocketStream<Mem>,
    count: usize,
    on: &mut impl FnMut(bool, &[u8]),
) {
    for _ in 0..count {
        let message = ws
            .next()
            .await
            .expect("a message")
            .expect("tokio-websockets read");
        if let Some(text) = message.as_text() {
            on(true, text.as_bytes());
        } else if message.is_binary() {
            on(false, message.as_payload());
        } else {
            panic!("tokio-websockets: unexpected {message:?}");
        }
    }
}

// ----- encoders ---------------------------------------------------------------------------

fn ws_client() -> Connection {
    Connection::upgraded_client(ws_config(), Seed::new([7; 32]), &[])
}

fn tung_client(keep: bool) -> tungstenite::WebSocket<Mem> {
    tungstenite::WebSocket::from_raw_socket(
        Mem::writer(keep),
        TungRole::Client,
        Some(tung_config()),
    )
}

fn fws_client(keep: bool) -> fastwebsockets::WebSocket<Mem> {
    let mut ws =
        fastwebsockets::WebSocket::after_handshake(Mem::writer(keep), fastwebsockets::Role::Client);
    ws.set_max_message_size(LIMIT);
    ws
}

fn tws_client(keep: bool) -> WebSocketStream<Mem> {
    ClientBuilder::new()
        .limits(tws_limits())
        .take_over(Mem::writer(keep))
}

fn write_out(conn: &mut Connection, sink: &mut Mem) {
    let out = conn.output();
    let n = out.len();
    sink.put(out);
    conn.consume_output(n);
}

fn encode_wsmachine(conn: &mut Connection, sink: &mut Mem, w: &Workload) {
    match w.kind {
        Kind::Text => {
            for t in &w.texts {
                conn.send_text(t).expect("wsmachine send");
                if conn.output().len() >= WRITE_BATCH {
                    write_out(conn, sink);
                }
            }
        }
        Kind::Binary => {
            for b in &w.payloads {
                conn.send_binary(b).expect("wsmachine send");
                if conn.output().len() >= WRITE_BATCH {
                    write_out(conn, sink);
                }
            }
        }
    }
    write_out(conn, sink);
}

fn encode_tungstenite(ws: &mut tungstenite::WebSocket<Mem>, w: &Workload) {
    match w.kind {
        Kind::Text => {
            for t in &w.texts {
                let message = tungstenite::Message::Text(Utf8Bytes::from_static(t));
                ws.write(message).expect("tungstenite write");
            }
        }
        Kind::Binary => {
            for b in &w.payloads {
                let message = tungstenite::Message::Binary(Bytes::from_static(b));
                ws.write(message).expect("tungstenite write");
            }
        }
    }
    ws.flush().expect("tungstenite flush");
}

async fn encode_fastwebsockets(
    ws: &mut fastwebsockets::WebSocket<Mem>,
    scratch: &mut [u8],
    w: &Workload,
) {
    for p in &w.payloads {
        let buf = &mut scratch[..p.len()];
        buf.copy_from_slice(p);
        let payload = Payload::BorrowedMut(buf);
        let frame = match w.kind {
            Kind::Text => Frame::text(payload),
            Kind::Binary => Frame::binary(payload),
        };
        ws.write_frame(frame).await.expect("fastwebsockets write");
    }
    ws.flush().await.expect("fastwebsockets flush");
}

async fn encode_tokio_websockets(ws: &mut WebSocketStream<Mem>, w: &Workload) {
    match w.kind {
        Kind::Text => {
            for t in &w.texts {
                let message = tokio_websockets::Message::text(*t);
                ws.feed(message).await.expect("tokio-websockets feed");
            }
        }
        Kind::Binary => {
            for b in &w.payloads {
                let message = tokio_websockets::Message::binary(*b);
                ws.feed(message).await.expect("tokio-websockets feed");
            }
        }
    }
    ws.flush().await.expect("tokio-websockets flush");
}

// ----- handshakes -------------------------------------------------------------------------

/// Parses the request and queues the 101 through a server `Connection`, then writes the
/// response into `out`. Creating and dropping the connection is included.
fn handshake_wsmachine(request: &[u8], out: &mut Vec<u8>) {
    let mut conn = Connection::server(Config::new());
    let n = conn.receive(request);
    assert_eq!(n, request.len());
    match conn.poll_event() {
        Some(Event::Request(r)) if r.is_websocket() => {}
        other => panic!("wsmachine: unexpected {other:?}"),
    }
    conn.accept(Accept::new()).expect("wsmachine accept");
    out.clear();
    out.extend_from_slice(conn.output());
    let n = conn.output().len();
    conn.consume_output(n);
}

/// `tungstenite::accept` over a stream holding the request; returns what it wrote. Includes
/// creating (and dropping) the `WebSocket`, whose 128 KiB read buffer is allocated eagerly.
fn handshake_tungstenite(request: &'static [u8], out: Vec<u8>) -> Vec<u8> {
    let Ok(ws) = tungstenite::accept(Mem::with_out(request, out)) else {
        panic!("tungstenite handshake failed");
    };
    ws.into_inner().out
}

/// fastwebsockets has no HTTP/1 parser of its own (it sits behind hyper): httparse, an
/// `http::Request` built from it (as hyper would), `upgrade::upgrade`, and the response head
/// written out by hand.
fn handshake_fastwebsockets(request: &[u8], out: &mut Vec<u8>) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = parsed.parse(request) else {
        panic!("httparse failed");
    };
    let mut builder = http::Request::builder()
        .method(parsed.method.unwrap_or_default())
        .uri(parsed.path.unwrap_or_default())
        .version(http::Version::HTTP_11);
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    let mut request = builder.body(()).expect("http::Request");
    assert!(fastwebsockets::upgrade::is_upgrade_request(&request));
    let (response, upgrade) =
        fastwebsockets::upgrade::upgrade(&mut request).expect("fastwebsockets upgrade");
    black_box(upgrade);
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// `ServerBuilder::accept` over a stream holding the request; returns what it wrote. Includes
/// creating (and dropping) the `WebSocketStream`.
async fn handshake_tokio_websockets(request: &'static [u8], out: Vec<u8>) -> Vec<u8> {
    let (req, ws) = ServerBuilder::new()
        .accept(Mem::with_out(request, out))
        .await
        .expect("tokio-websockets handshake");
    black_box(req);
    ws.into_inner().out
}

fn check_101(name: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(out.starts_with(b"HTTP/1.1 101"), "{name}: {text}");
    assert!(
        out.windows(CHROME_ACCEPT.len()).any(|w| w == CHROME_ACCEPT),
        "{name}: {text}"
    );
    assert!(out.ends_with(b"\r\n\r\n"), "{name}: {text}");
    println!("checked {name}: 101 response, {} bytes", out.len());
}

// ----- echo -------------------------------------------------------------------------------

/// A wsmachine client and server joined by two in-memory pipes: each side's `output()` is
/// copied into its pipe and the other side `receive`s from it, as through sockets.
struct WsEcho {
    client: Connection,
    server: Connection,
    c2s: Chan,
    s2c: Chan,
}

impl WsEcho {
    fn new() -> WsEcho {
        WsEcho {
            client: ws_client(),
            server: ws_server(),
            c2s: Chan::default(),
            s2c: Chan::default(),
        }
    }
}

fn transfer(from: &mut Connection, pipe: &mut Chan, to: &mut Connection) {
    let out = from.output();
    let n = out.len();
    pipe.push(out);
    from.consume_output(n);
    while !pipe.pending().is_empty() {
        let data = pipe.pending();
        let taken = to.receive(&data[..data.len().min(READ_CHUNK)]);
        assert!(taken > 0, "wsmachine took nothing");
        pipe.pos += taken;
    }
}

/// One message at a time: the client sends, the server echoes (replying while it holds the
/// event), the client receives.
fn echo_wsmachine(e: &mut WsEcho, texts: &[&str], on: &mut impl FnMut(bool, &[u8])) {
    for t in texts {
        e.client.send_text(t).expect("wsmachine send");
        transfer(&mut e.client, &mut e.c2s, &mut e.server);
        while let Some((event, mut sender)) = e.server.poll_event_with_sender() {
            match event {
                Event::Message(Message::Text(m)) => sender.send_text(m).expect("echo"),
                other => panic!("wsmachine server: unexpected {other:?}"),
            }
        }
        transfer(&mut e.server, &mut e.s2c, &mut e.client);
        while let Some(event) = e.client.poll_event() {
            match black_box(event) {
                Event::Message(Message::Text(m)) => on(true, m.as_bytes()),
                other => panic!("wsmachine client: unexpected {other:?}"),
            }
        }
    }
}

struct TungEcho {
    client: tungstenite::WebSocket<PipeEnd>,
    server: tungstenite::WebSocket<PipeEnd>,
}

impl TungEcho {
    fn new() -> TungEcho {
        let (c, s) = pipe();
        let config = Some(tung_config());
        TungEcho {
            client: tungstenite::WebSocket::from_raw_socket(c, TungRole::Client, config),
            server: tungstenite::WebSocket::from_raw_socket(s, TungRole::Server, config),
        }
    }
}

fn echo_tungstenite(e: &mut TungEcho, texts: &[&'static str], on: &mut impl FnMut(bool, &[u8])) {
    for t in texts {
        let message = tungstenite::Message::Text(Utf8Bytes::from_static(t));
        e.client.send(message).expect("tungstenite send");
        let received = e.server.read().expect("tungstenite server read");
        e.server.send(received).expect("tungstenite echo");
        match black_box(e.client.read().expect("tungstenite client read")) {
            tungstenite::Message::Text(m) => on(true, m.as_bytes()),
            other => panic!("tungstenite client: unexpected {other:?}"),
        }
    }
}

struct FwsEcho {
    client: FragmentCollector<PipeEnd>,
    server: FragmentCollector<PipeEnd>,
    scratch: Vec<u8>,
}

impl FwsEcho {
    fn new() -> FwsEcho {
        let (c, s) = pipe();
        let mut client =
            fastwebsockets::WebSocket::after_handshake(c, fastwebsockets::Role::Client);
        client.set_max_message_size(LIMIT);
        let mut server =
            fastwebsockets::WebSocket::after_handshake(s, fastwebsockets::Role::Server);
        server.set_max_message_size(LIMIT);
        FwsEcho {
            client: FragmentCollector::new(client),
            server: FragmentCollector::new(server),
            scratch: vec![0; SMALL_LEN],
        }
    }
}

async fn echo_fastwebsockets(e: &mut FwsEcho, texts: &[&str], on: &mut impl FnMut(bool, &[u8])) {
    for t in texts {
        let buf = &mut e.scratch[..t.len()];
        buf.copy_from_slice(t.as_bytes());
        let frame = Frame::text(Payload::BorrowedMut(buf));
        e.client
            .write_frame(frame)
            .await
            .expect("fastwebsockets send");
        let received = e
            .server
            .read_frame()
            .await
            .expect("fastwebsockets server read");
        e.server
            .write_frame(received)
            .await
            .expect("fastwebsockets echo");
        let frame = black_box(
            e.client
                .read_frame()
                .await
                .expect("fastwebsockets client read"),
        );
        match frame.opcode {
            OpCode::Text => on(true, &frame.payload),
            other => panic!("fastwebsockets client: unexpected {other:?}"),
        }
    }
}

struct TwsEcho {
    client: WebSocketStream<PipeEnd>,
    server: WebSocketStream<PipeEnd>,
}

impl TwsEcho {
    fn new() -> TwsEcho {
        let (c, s) = pipe();
        TwsEcho {
            client: ClientBuilder::new().limits(tws_limits()).take_over(c),
            server: ServerBuilder::new().limits(tws_limits()).serve(s),
        }
    }
}

async fn echo_tokio_websockets(
    e: &mut TwsEcho,
    texts: &[&'static str],
    on: &mut impl FnMut(bool, &[u8]),
) {
    for t in texts {
        let message = tokio_websockets::Message::text(*t);
        e.client.send(message).await.expect("tokio-websockets send");
        let received = e
            .server
            .next()
            .await
            .expect("a message")
            .expect("server read");
        e.server
            .send(received)
            .await
            .expect("tokio-websockets echo");
        let reply = e
            .client
            .next()
            .await
            .expect("a reply")
            .expect("client read");
        match black_box(reply).as_text() {
            Some(m) => on(true, m.as_bytes()),
            None => panic!("tokio-websockets client: not text"),
        }
    }
}

// ----- baselines --------------------------------------------------------------------------

/// XOR with a 4-byte key, 8 bytes at a time.
fn xor_words(buf: &mut [u8], key: [u8; 4]) {
    let [a, b, c, d] = key;
    let k = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for w in words {
        *w = (u64::from_ne_bytes(*w) ^ k).to_ne_bytes();
    }
    for (byte, m) in tail.iter_mut().zip(key.iter().cycle()) {
        *byte ^= m;
    }
}

/// memcpy of each payload into a reused buffer; word-wise XOR of each payload (in place, in a
/// private copy); for text, simdutf8 over each payload.
fn bench_baselines(g: &mut BenchmarkGroup<'_, WallTime>, w: &Workload, utf8: bool) {
    let mut scratch = vec![0u8; w.max_len()];
    g.bench_function(MEMCPY, |b| {
        b.iter(|| {
            for p in &w.payloads {
                let dst = &mut scratch[..p.len()];
                dst.copy_from_slice(p);
                black_box(&*dst);
            }
        })
    });
    let mut data = w.payloads.concat();
    g.bench_function(XOR, |b| {
        b.iter(|| {
            let mut rest = &mut data[..];
            for (p, key) in w.payloads.iter().zip(&w.keys) {
                let (this, next) = rest.split_at_mut(p.len());
                xor_words(this, *key);
                black_box(&*this);
                rest = next;
            }
        })
    });
    if utf8 {
        g.bench_function(SIMDUTF8, |b| {
            b.iter(|| {
                for p in &w.payloads {
                    black_box(simdutf8::basic::from_utf8(p).is_ok());
                }
            })
        });
    }
}

/// The decoding references: what the least a socket-fed decoder must do per message costs
/// (copy the masked payload, as a read does, then unmask it; for text, also validate it).
fn bench_decode_references(g: &mut BenchmarkGroup<'_, WallTime>, w: &Workload, utf8: bool) {
    let masked: Vec<Vec<u8>> = w
        .payloads
        .iter()
        .zip(&w.keys)
        .map(|(p, key)| {
            let mut m = p.to_vec();
            xor_words(&mut m, *key);
            m
        })
        .collect();
    let mut scratch = vec![0u8; w.max_len()];
    let name = if utf8 { COPY_UNMASK_UTF8 } else { COPY_UNMASK };
    g.bench_function(name, |b| {
        b.iter(|| {
            for (m, key) in masked.iter().zip(&w.keys) {
                let dst = &mut scratch[..m.len()];
                dst.copy_from_slice(m);
                xor_words(dst, *key);
                if utf8 {
                    black_box(simdutf8::basic::from_utf8(dst).is_ok());
                }
                black_box(&*dst);
            }
        })
    });
}

/// The encoding reference: each payload appended to an output buffer and masked there,
/// the buffer handed on every 64 KiB (as wsmachine's encoder row does).
fn bench_encode_reference(g: &mut BenchmarkGroup<'_, WallTime>, w: &Workload) {
    let mut out: Vec<u8> = Vec::with_capacity(w.max_len() + WRITE_BATCH);
    g.bench_function(APPEND_MASK, |b| {
        b.iter(|| {
            for (p, key) in w.payloads.iter().zip(&w.keys) {
                let start = out.len();
                out.extend_from_slice(p);
                xor_words(&mut out[start..], *key);
                if out.len() >= WRITE_BATCH {
                    black_box(&out[..]);
                    out.clear();
                }
            }
            black_box(&out[..]);
            out.clear();
        })
    });
}

// ----- the groups -------------------------------------------------------------------------

struct Settings {
    quick: bool,
}

impl Settings {
    /// `heavy` groups take milliseconds per iteration: few samples, flat sampling.
    fn group<'a>(
        &self,
        c: &'a mut Criterion,
        name: &str,
        heavy: bool,
    ) -> BenchmarkGroup<'a, WallTime> {
        let mut g = c.benchmark_group(name);
        if self.quick {
            g.warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_secs(1))
                .sample_size(10);
        } else {
            g.warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3))
                .sample_size(if heavy { 10 } else { 30 });
        }
        if heavy {
            g.sampling_mode(SamplingMode::Flat);
        }
        g
    }
}

fn throughput(w: &Workload) -> Throughput {
    if w.max_len() <= SMALL_LEN {
        Throughput::Elements(w.count() as u64)
    } else {
        Throughput::Bytes(w.payload_bytes())
    }
}

fn bench_decode(c: &mut Criterion, s: &Settings, rt: &Runtime, name: &str, w: &Workload) {
    let mut g = s.group(c, name, true);
    g.throughput(throughput(w));
    let n = w.count();
    // Timed: decoding the whole input. Each implementation's connection is built once, outside
    // the timing, and reads the same bytes again in every iteration (its input is rewound), so
    // the steady state of a long-lived connection is measured: warm buffers, no set-up.
    let (mut conn, mut input, rewind) = ws_server_reader(w.wire);
    g.bench_function(WSMACHINE, |b| {
        b.iter(|| {
            rewind.set(0);
            let mut t = Tally::default();
            decode_wsmachine(&mut conn, &mut input, &mut |x, p| t.add(x, p));
            black_box(t);
        })
    });
    let mut conn = ws_server();
    g.bench_function(WSMACHINE_RECEIVE, |b| {
        b.iter(|| {
            let mut t = Tally::default();
            decode_wsmachine_receive(&mut conn, w.wire, &mut |x, p| t.add(x, p));
            black_box(t);
        })
    });
    let (mut ws, rewind) = tung_server(w.wire);
    g.bench_function(PEERS[0], |b| {
        b.iter(|| {
            rewind.set(0);
            let mut t = Tally::default();
            decode_tungstenite(&mut ws, n, &mut |x, p| t.add(x, p));
            black_box(t);
        })
    });
    let (mut ws, rewind) = fws_server(w.wire);
    g.bench_function(PEERS[1], |b| {
        b.iter(|| {
            rewind.set(0);
            rt.block_on(async {
                let mut t = Tally::default();
                decode_fastwebsockets(&mut ws, n, &mut |x, p| t.add(x, p)).await;
                black_box(t);
            })
        })
    });
    let (mut ws, rewind) = tws_server(w.wire);
    g.bench_function(PEERS[2], |b| {
        b.iter(|| {
            rewind.set(0);
            rt.block_on(async {
                let mut t = Tally::default();
                decode_tokio_websockets(&mut ws, n, &mut |x, p| t.add(x, p)).await;
                black_box(t);
            })
        })
    });
    bench_baselines(&mut g, w, w.kind == Kind::Text);
    bench_decode_references(&mut g, w, w.kind == Kind::Text);
    g.finish();
}

fn bench_encode(c: &mut Criterion, s: &Settings, rt: &Runtime, name: &str, w: &Workload) {
    let mut g = s.group(c, name, true);
    g.throughput(throughput(w));
    // Timed: framing and masking every message and writing it to the sink. The connections
    // are built once, outside the timing, and reused (their buffers stay warm).
    let mut conn = ws_client();
    let mut sink = Mem::writer(false);
    g.bench_function(WSMACHINE, |b| {
        b.iter(|| encode_wsmachine(&mut conn, &mut sink, w))
    });
    let mut ws = tung_client(false);
    g.bench_function(PEERS[0], |b| b.iter(|| encode_tungstenite(&mut ws, w)));
    let mut ws = fws_client(false);
    let mut scratch = vec![0u8; w.max_len()];
    g.bench_function(PEERS[1], |b| {
        b.iter(|| rt.block_on(encode_fastwebsockets(&mut ws, &mut scratch, w)))
    });
    let mut ws = tws_client(false);
    g.bench_function(PEERS[2], |b| {
        b.iter(|| rt.block_on(encode_tokio_websockets(&mut ws, w)))
    });
    bench_baselines(&mut g, w, false);
    bench_encode_reference(&mut g, w);
    g.finish();
}

fn bench_handshake(c: &mut Criterion, s: &Settings, rt: &Runtime) {
    let mut g = s.group(c, "handshake", false);
    g.throughput(Throughput::Elements(1));
    // Timed: creating the server side, parsing the request, producing the 101 response bytes,
    // dropping the server side. The output buffer's capacity is reused.
    g.bench_function(WSMACHINE, |b| {
        b.iter_custom(|iters| {
            let mut out = Vec::with_capacity(1024);
            let start = Instant::now();
            for _ in 0..iters {
                handshake_wsmachine(black_box(CHROME_REQUEST), &mut out);
                black_box(&out);
            }
            start.elapsed()
        })
    });
    g.bench_function(PEERS[0], |b| {
        b.iter_custom(|iters| {
            let mut out = Vec::with_capacity(1024);
            let start = Instant::now();
            for _ in 0..iters {
                out = handshake_tungstenite(black_box(CHROME_REQUEST), out);
                black_box(&out);
            }
            start.elapsed()
        })
    });
    g.bench_function(PEERS[1], |b| {
        b.iter_custom(|iters| {
            let mut out = Vec::with_capacity(1024);
            let start = Instant::now();
            for _ in 0..iters {
                handshake_fastwebsockets(black_box(CHROME_REQUEST), &mut out);
                black_box(&out);
            }
            start.elapsed()
        })
    });
    g.bench_function(PEERS[2], |b| {
        b.iter_custom(|iters| {
            // One `block_on` around the whole timed loop: its cost is not the handshake's.
            rt.block_on(async {
                let mut out = Vec::with_capacity(1024);
                let start = Instant::now();
                for _ in 0..iters {
                    out = handshake_tokio_websockets(black_box(CHROME_REQUEST), out).await;
                    black_box(&out);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn bench_echo(c: &mut Criterion, s: &Settings, rt: &Runtime, w: &Workload) {
    let mut g = s.group(c, "echo_text_16b", true);
    g.throughput(Throughput::Elements(w.count() as u64));
    // Timed: 100,000 round trips, one message at a time, over in-memory pipes. Client and
    // server are built once, outside the timing, and reused.
    let mut e = WsEcho::new();
    g.bench_function(WSMACHINE, |b| {
        b.iter(|| {
            let mut t = Tally::default();
            echo_wsmachine(&mut e, &w.texts, &mut |x, p| t.add(x, p));
            black_box(t)
        })
    });
    let mut e = TungEcho::new();
    g.bench_function(PEERS[0], |b| {
        b.iter(|| {
            let mut t = Tally::default();
            echo_tungstenite(&mut e, &w.texts, &mut |x, p| t.add(x, p));
            black_box(t)
        })
    });
    let mut e = FwsEcho::new();
    g.bench_function(PEERS[1], |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut t = Tally::default();
                echo_fastwebsockets(&mut e, &w.texts, &mut |x, p| t.add(x, p)).await;
                black_box(t)
            })
        })
    });
    let mut e = TwsEcho::new();
    g.bench_function(PEERS[2], |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut t = Tally::default();
                echo_tokio_websockets(&mut e, &w.texts, &mut |x, p| t.add(x, p)).await;
                black_box(t)
            })
        })
    });
    g.finish();
}

// ----- checks outside the timing ----------------------------------------------------------

fn verify_decoders(rt: &Runtime, label: &str, w: &Workload) {
    let n = w.count();
    // Twice on the same connection, as the timed runs reuse it (rewinding the input).
    let (mut conn, mut input, rewind) = ws_server_reader(w.wire);
    for round in 0..2 {
        rewind.set(0);
        let mut t = Tally::default();
        decode_wsmachine(&mut conn, &mut input, &mut |x, p| t.add(x, p));
        t.assert_matches(&format!("{label} wsmachine #{round}"), w);
    }
    rewind.set(0);
    let mut ck = Checker::new(&format!("{label} wsmachine"), w);
    decode_wsmachine(&mut conn, &mut input, &mut |x, p| ck.check(x, p));
    ck.finish();
    let mut conn = ws_server();
    for round in 0..2 {
        let mut t = Tally::default();
        decode_wsmachine_receive(&mut conn, w.wire, &mut |x, p| t.add(x, p));
        t.assert_matches(&format!("{label} wsmachine receive #{round}"), w);
    }
    let mut ck = Checker::new(&format!("{label} wsmachine receive"), w);
    decode_wsmachine_receive(&mut conn, w.wire, &mut |x, p| ck.check(x, p));
    ck.finish();

    let (mut ws, rewind) = tung_server(w.wire);
    for round in 0..2 {
        rewind.set(0);
        let mut t = Tally::default();
        decode_tungstenite(&mut ws, n, &mut |x, p| t.add(x, p));
        t.assert_matches(&format!("{label} tungstenite #{round}"), w);
    }
    rewind.set(0);
    let mut ck = Checker::new(&format!("{label} tungstenite"), w);
    decode_tungstenite(&mut ws, n, &mut |x, p| ck.check(x, p));
    ck.finish();

    let (mut ws, rewind) = fws_server(w.wire);
    for round in 0..2 {
        rewind.set(0);
        let mut t = Tally::default();
        rt.block_on(decode_fastwebsockets(&mut ws, n, &mut |x, p| t.add(x, p)));
        t.assert_matches(&format!("{label} fastwebsockets #{round}"), w);
    }
    rewind.set(0);
    let mut ck = Checker::new(&format!("{label} fastwebsockets"), w);
    rt.block_on(decode_fastwebsockets(&mut ws, n, &mut |x, p| {
        ck.check(x, p)
    }));
    ck.finish();

    let (mut ws, rewind) = tws_server(w.wire);
    for round in 0..2 {
        rewind.set(0);
        let mut t = Tally::default();
        rt.block_on(decode_tokio_websockets(&mut ws, n, &mut |x, p| t.add(x, p)));
        t.assert_matches(&format!("{label} tokio-websockets #{round}"), w);
    }
    rewind.set(0);
    let mut ck = Checker::new(&format!("{label} tokio-websockets"), w);
    rt.block_on(decode_tokio_websockets(&mut ws, n, &mut |x, p| {
        ck.check(x, p)
    }));
    ck.finish();
}

/// Decodes an encoder's output as a server would (masked frames required) and compares.
fn check_encoded(name: &str, bytes: &[u8], w: &Workload) {
    let mut ck = Checker::new(name, w);
    decode_wsmachine_receive(&mut ws_server(), bytes, &mut |x, p| ck.check(x, p));
    ck.finish();
}

fn verify_encoders(rt: &Runtime, label: &str, w: &Workload) {
    let mut conn = ws_client();
    let mut sink = Mem::writer(true);
    encode_wsmachine(&mut conn, &mut sink, w);
    check_encoded(&format!("{label} wsmachine"), &sink.out, w);

    let mut ws = tung_client(true);
    encode_tungstenite(&mut ws, w);
    check_encoded(&format!("{label} tungstenite"), &ws.get_ref().out, w);

    let mut ws = fws_client(true);
    let mut scratch = vec![0u8; w.max_len()];
    rt.block_on(encode_fastwebsockets(&mut ws, &mut scratch, w));
    check_encoded(&format!("{label} fastwebsockets"), &ws.into_inner().out, w);

    let mut ws = tws_client(true);
    rt.block_on(encode_tokio_websockets(&mut ws, w));
    check_encoded(&format!("{label} tokio-websockets"), &ws.get_ref().out, w);
}

fn verify_handshakes(rt: &Runtime) {
    let mut out = Vec::new();
    handshake_wsmachine(CHROME_REQUEST, &mut out);
    check_101("handshake wsmachine", &out);
    let out = handshake_tungstenite(CHROME_REQUEST, Vec::new());
    check_101("handshake tungstenite", &out);
    let mut out = Vec::new();
    handshake_fastwebsockets(CHROME_REQUEST, &mut out);
    check_101("handshake fastwebsockets", &out);
    let out = rt.block_on(handshake_tokio_websockets(CHROME_REQUEST, Vec::new()));
    check_101("handshake tokio-websockets", &out);
}

fn verify_echo(rt: &Runtime, w: &Workload) {
    let mut ck = Checker::new("echo wsmachine", w);
    echo_wsmachine(&mut WsEcho::new(), &w.texts, &mut |x, p| ck.check(x, p));
    ck.finish();
    let mut ck = Checker::new("echo tungstenite", w);
    echo_tungstenite(&mut TungEcho::new(), &w.texts, &mut |x, p| ck.check(x, p));
    ck.finish();
    let mut ck = Checker::new("echo fastwebsockets", w);
    let mut e = FwsEcho::new();
    rt.block_on(echo_fastwebsockets(&mut e, &w.texts, &mut |x, p| {
        ck.check(x, p)
    }));
    ck.finish();
    let mut ck = Checker::new("echo tokio-websockets", w);
    let mut e = TwsEcho::new();
    rt.block_on(echo_tokio_websockets(&mut e, &w.texts, &mut |x, p| {
        ck.check(x, p)
    }));
    ck.finish();
}

// ----- the summary table ------------------------------------------------------------------

#[path = "support/results.rs"]
mod results;
use results::{criterion_dir, estimate_ns, fmt_time};

fn fmt_opt(ns: Option<f64>) -> String {
    ns.map_or_else(|| "—".to_owned(), fmt_time)
}

struct Row {
    group: &'static str,
    label: &'static str,
    throughput: Throughput,
    /// The reference row of the group: what the work costs at least.
    reference: Option<&'static str>,
}

fn fmt_throughput(t: &Throughput, ns: f64) -> String {
    match t {
        Throughput::Bytes(b) => format!("{:.2} GiB/s", *b as f64 / ns * 1e9 / (1u64 << 30) as f64),
        Throughput::Elements(e) => {
            let per_s = *e as f64 / ns * 1e9;
            if per_s >= 1e6 {
                format!("{:.2} M msg/s", per_s / 1e6)
            } else {
                format!("{:.0} k/s", per_s / 1e3)
            }
        }
        _ => String::new(),
    }
}

fn print_tables(rows: &[Row], since: SystemTime) {
    let dir = criterion_dir();
    let est = |group: &str, bench: &str| estimate_ns(&dir, group, bench, since);
    println!();
    println!("## wsmachine vs peers (mean times, same run)");
    println!();
    println!(
        "| workload | wsmachine | wsmachine throughput | best peer | peer time | \
         wsmachine speed ÷ best peer | reference | wsmachine speed ÷ reference |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let ws = est(r.group, WSMACHINE);
        let best = PEERS
            .iter()
            .filter_map(|p| est(r.group, p).map(|t| (*p, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let speed = |base: Option<f64>| match (ws, base) {
            (Some(w), Some(b)) => format!("{:.2}×", b / w),
            _ => "—".to_owned(),
        };
        let reference = r.reference.map(|name| (name, est(r.group, name)));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            fmt_opt(ws),
            ws.map_or_else(|| "—".to_owned(), |t| fmt_throughput(&r.throughput, t)),
            best.map_or("—", |b| b.0),
            fmt_opt(best.map(|b| b.1)),
            speed(best.map(|b| b.1)),
            reference.map_or_else(String::new, |(name, t)| format!(
                "{} {}",
                name.trim_start_matches("baseline_"),
                fmt_opt(t)
            )),
            reference.map_or_else(String::new, |(_, t)| speed(t)),
        );
    }
    println!();
    println!("Speed ÷ best peer above 1 means wsmachine is faster. All times:");
    println!();
    let benches = [
        WSMACHINE,
        WSMACHINE_RECEIVE,
        PEERS[0],
        PEERS[1],
        PEERS[2],
        MEMCPY,
        XOR,
        SIMDUTF8,
        COPY_UNMASK,
        COPY_UNMASK_UTF8,
        APPEND_MASK,
    ];
    println!(
        "| workload | wsmachine | wsmachine, receive() without a read copy | tungstenite | \
         fastwebsockets | tokio-websockets | memcpy | xor | simdutf8 | copy then unmask | \
         copy, unmask, validate | append then mask |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let cells: Vec<String> = benches.iter().map(|b| fmt_opt(est(r.group, b))).collect();
        println!("| {} | {} |", r.label, cells.join(" | "));
    }
}

// ----- permessage-deflate (wsmachine only: none of the peers implements it) ------------------

/// 64 KiB of JSON-like text: records with varying numbers and names, as an API would send.
#[cfg(feature = "deflate")]
fn json_text(len: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("[");
    let mut id = 0u64;
    while s.len() < len - 200 {
        id += 1;
        let n = rng.next() % 100_000;
        s.push_str(&format!(
            "{{\"id\":{id},\"user\":\"user{n}\",\"email\":\"user{n}@example.com\",\
             \"score\":{}.{},\"active\":{},\"tags\":[\"t{}\",\"t{}\"]}},",
            n % 1000,
            n % 10,
            n.is_multiple_of(2),
            n % 7,
            n % 13
        ));
    }
    s.push_str("{}]");
    while s.len() < len {
        s.push(' ');
    }
    s
}

/// Client and server with permessage-deflate agreed (no context takeover, so a pre-built
/// compressed stream can be decoded again and again by the same server).
#[cfg(feature = "deflate")]
fn deflate_pair() -> (Connection, Connection) {
    use wsmachine::extensions::deflate::DeflateConfig;
    use wsmachine::handshake::client::ClientRequest;
    // The default policy: no context takeover either way.
    let config = ws_config().with_deflate(DeflateConfig::new());
    let request = ClientRequest::new("example.com", "/");
    let mut client = Connection::client(config, &request, Seed::new([5; 32])).expect("client");
    let mut server = Connection::server(config);
    let n = server.receive(client.output());
    client.consume_output(n);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(wsmachine::Accept::new()).expect("accept");
    let n = client.receive(server.output());
    server.consume_output(n);
    assert!(matches!(client.poll_event(), Some(Event::Accepted(_))));
    let params = client.deflate().expect("client negotiated deflate");
    assert!(params.no_context_takeover && params.peer_no_context_takeover);
    assert!(server.deflate().is_some());
    (client, server)
}

/// Compression throughput and ratio on 16 × 64 KiB of JSON-like text. Returns the ratio.
#[cfg(feature = "deflate")]
fn bench_deflate(c: &mut Criterion, s: &Settings) -> f64 {
    let texts: Vec<String> = (0..UTF8_COUNT as u64)
        .map(|i| json_text(UTF8_LEN, i))
        .collect();
    let bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    let (mut client, mut server) = deflate_pair();
    // The compressed stream, built once; checked to decode to the texts.
    let mut wire = Vec::new();
    for t in &texts {
        client.send_text(t).expect("send");
        wire.extend_from_slice(client.output());
        let n = client.output().len();
        client.consume_output(n);
    }
    let ratio = wire.len() as f64 / bytes as f64;
    let wire = leak(wire);
    let mut input = Mem::reader(wire);
    let rewind = input.rewind();
    let mut got = Vec::new();
    decode_wsmachine(&mut server, &mut input, &mut |_, p| got.push(p.to_vec()));
    assert_eq!(got.len(), texts.len());
    for (g, t) in got.iter().zip(&texts) {
        assert_eq!(g, t.as_bytes(), "deflate round trip");
    }
    let mut g = s.group(c, "deflate_json_64kib", true);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("wsmachine_compress", |b| {
        b.iter(|| {
            for t in &texts {
                client.send_text(black_box(t)).expect("send");
                let n = client.output().len();
                black_box(client.output());
                client.consume_output(n);
            }
        })
    });
    g.bench_function("wsmachine_decompress", |b| {
        b.iter(|| {
            rewind.set(0);
            let mut t = Tally::default();
            decode_wsmachine(&mut server, &mut input, &mut |x, p| t.add(x, p));
            black_box(t);
        })
    });
    g.bench_function(SIMDUTF8, |b| {
        b.iter(|| {
            for t in &texts {
                black_box(simdutf8::basic::from_utf8(black_box(t.as_bytes())).is_ok());
            }
        })
    });
    g.finish();
    ratio
}

#[cfg(feature = "deflate")]
fn print_deflate(ratio: f64, since: SystemTime) {
    let dir = criterion_dir();
    let est = |bench: &str| estimate_ns(&dir, "deflate_json_64kib", bench, since);
    let bytes = (UTF8_COUNT * UTF8_LEN) as f64;
    let rate = |ns: Option<f64>| {
        ns.map_or_else(
            || "—".to_owned(),
            |t| format!("{:.0} MiB/s", bytes / t * 1e9 / (1 << 20) as f64),
        )
    };
    println!();
    println!(
        "## permessage-deflate, 16 × 64 KiB JSON-like text (wsmachine; no peer implements it)"
    );
    println!();
    println!("| compressed size | compress (client: deflate + mask) | decompress (server: unmask + inflate + UTF-8) |");
    println!("|---|---|---|");
    println!(
        "| {:.1} % of the text | {} ({}) | {} ({}) |",
        ratio * 100.0,
        fmt_opt(est("wsmachine_compress")),
        rate(est("wsmachine_compress")),
        fmt_opt(est("wsmachine_decompress")),
        rate(est("wsmachine_decompress")),
    );
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let load = fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("machine: nproc {cpus}, {model}, load average {load}")
}

fn main() {
    let started = Instant::now();
    let since = SystemTime::now();
    let settings = Settings {
        quick: env::var("WSMACHINE_BENCH_QUICK").is_ok_and(|v| v == "1"),
    };
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");

    let inputs = Inputs::build();
    verify_decoders(&rt, "decode small", &inputs.small);
    verify_decoders(&rt, "decode 1 MiB", &inputs.big);
    verify_decoders(&rt, "decode 64 KiB UTF-8", &inputs.utf8);
    verify_encoders(&rt, "encode small", &inputs.small);
    verify_encoders(&rt, "encode 1 MiB", &inputs.big);
    verify_handshakes(&rt);
    verify_echo(&rt, &inputs.small);

    let s = &settings;
    bench_decode(&mut c, s, &rt, "decode_text_16b", &inputs.small);
    bench_decode(&mut c, s, &rt, "decode_binary_1mib", &inputs.big);
    bench_decode(&mut c, s, &rt, "decode_utf8_64kib", &inputs.utf8);
    bench_encode(&mut c, s, &rt, "encode_text_16b", &inputs.small);
    bench_encode(&mut c, s, &rt, "encode_binary_1mib", &inputs.big);
    bench_handshake(&mut c, s, &rt);
    bench_echo(&mut c, s, &rt, &inputs.small);
    #[cfg(feature = "deflate")]
    let deflate_ratio = bench_deflate(&mut c, s);
    c.final_summary();

    // `cargo bench` passes `--bench`; without it criterion only tests each routine once.
    if env::args().any(|a| a == "--bench") {
        let rows = [
            Row {
                group: "decode_text_16b",
                label: "decode 100k × 16 B text",
                throughput: throughput(&inputs.small),
                reference: Some(COPY_UNMASK_UTF8),
            },
            Row {
                group: "decode_binary_1mib",
                label: "decode 8 × 1 MiB binary",
                throughput: throughput(&inputs.big),
                reference: Some(COPY_UNMASK),
            },
            Row {
                group: "decode_utf8_64kib",
                label: "decode 16 × 64 KiB UTF-8 text",
                throughput: throughput(&inputs.utf8),
                reference: Some(COPY_UNMASK_UTF8),
            },
            Row {
                group: "encode_text_16b",
                label: "encode 100k × 16 B text (masked)",
                throughput: throughput(&inputs.small),
                reference: Some(APPEND_MASK),
            },
            Row {
                group: "encode_binary_1mib",
                label: "encode 8 × 1 MiB binary (masked)",
                throughput: throughput(&inputs.big),
                reference: Some(APPEND_MASK),
            },
            Row {
                group: "handshake",
                label: "handshake (Chrome request → 101)",
                throughput: Throughput::Elements(1),
                reference: None,
            },
            Row {
                group: "echo_text_16b",
                label: "echo 100k × 16 B text",
                throughput: throughput(&inputs.small),
                reference: None,
            },
        ];
        print_tables(&rows, since);
        #[cfg(feature = "deflate")]
        print_deflate(deflate_ratio, since);
    }
    println!();
    println!("{}", machine());
    println!("run took {:.0} s", started.elapsed().as_secs_f64());
}
