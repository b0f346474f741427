//! The core's deadlines over real loopback sockets, driven by the examples' servers (std and
//! tokio) with short configured deadlines: a half request is dropped at the handshake
//! deadline (with 408), a client that never reads or answers pings at keepalive interval plus
//! timeout, a peer that closes and then ignores everything at the close deadline, and 200
//! half-open handshakes at once do not stop a normal client meanwhile.
#![cfg(feature = "tokio")]

#[path = "../examples/support/client_checks.rs"]
mod client_checks;
#[path = "../examples/support/echo.rs"]
mod echo;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wsmachine::{CloseCause, CloseCode, Closed, Config, HandshakeError};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The echo configuration with deadlines of `ms` milliseconds each (keepalive: interval and
/// timeout).
fn short(ms: u64) -> Config {
    let d = Some(Duration::from_millis(ms));
    echo::echo_config()
        .with_handshake_timeout(d)
        .with_close_timeout(d)
        .with_keepalive(d, d)
}

/// The std echo server (a thread per connection) with `config`; each connection's outcome
/// and how long it lasted arrive on the channel.
fn std_server(config: Config) -> (String, mpsc::Receiver<(Option<Closed>, Duration)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let tx = tx.clone();
            let stream = stream.unwrap();
            std::thread::spawn(move || {
                let started = Instant::now();
                let (closed, _) = echo::serve_blocking(stream, config);
                let _ = tx.send((closed, started.elapsed()));
            });
        }
    });
    (addr, rx)
}

/// The tokio echo server (a task per connection) with `config`, on its own runtime thread.
fn tokio_server(config: Config) -> (String, mpsc::Receiver<(Option<Closed>, Duration)>) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx
                .send(listener.local_addr().unwrap().to_string())
                .unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let (closed, _) = echo::serve_async(stream, config).await;
                    let _ = tx.send((closed, started.elapsed()));
                });
            }
        });
    });
    (addr_rx.recv().unwrap(), rx)
}

type Server = fn(Config) -> (String, mpsc::Receiver<(Option<Closed>, Duration)>);

fn outcome(rx: &mpsc::Receiver<(Option<Closed>, Duration)>) -> (Closed, Duration) {
    let (closed, lasted) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server never ended the connection");
    (closed.expect("a Closed event"), lasted)
}

/// Half a request, then nothing: `408` at the handshake deadline (never before it), then
/// the connection ends.
#[test]
fn half_request_is_dropped_at_the_handshake_deadline() {
    for server in [std_server as Server, tokio_server] {
        let (addr, outcomes) = server(short(400));
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(&REQUEST[..30]).unwrap();
        let started = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let waited = started.elapsed();
        assert!(
            answer.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
        assert!(
            waited >= Duration::from_millis(350),
            "answered after {waited:?}"
        );
        drop(stream);
        let (closed, lasted) = outcome(&outcomes);
        assert_eq!(closed.cause, CloseCause::Handshake(HandshakeError::Timeout));
        assert!(lasted >= Duration::from_millis(350), "{lasted:?}");
    }
}

/// A client that upgrades and then neither reads nor answers: a ping at the interval, 1011
/// after the timeout, the transport dropped at the close deadline.
#[test]
fn silent_client_is_dropped_after_interval_and_timeout() {
    for server in [std_server as Server, tokio_server] {
        let (addr, outcomes) = server(short(300));
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(REQUEST).unwrap();
        // Never read, never write again; keep the socket open.
        let (closed, lasted) = outcome(&outcomes);
        assert_eq!(
            (closed.code, closed.cause),
            (CloseCode::INTERNAL_ERROR, CloseCause::KeepaliveTimeout)
        );
        // Interval + timeout, then the close deadline: never before.
        assert!(lasted >= Duration::from_millis(550), "{lasted:?}");
        // What the server wrote: the 101, a ping, the 1011 close.
        let mut seen = Vec::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.read_to_end(&mut seen);
        let body = &seen[seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        assert_eq!(&body[..2], &[0x89, 4], "a ping with a 4-byte payload first");
        assert_eq!(&body[6..10], &[0x88, 19, 0x03, 0xf3], "then close 1011");
    }
}

/// A peer that sends its close and then ignores everything (never reads, never closes its
/// side): the server answers and closes the transport at once (§5.5.1 "The server MUST close
/// the underlying TCP connection immediately"), not at the close deadline (60 s here, past
/// the 10 s this test waits for the end).
#[test]
fn peer_that_closes_then_ignores_everything_is_closed_at_once_s5_5_1() {
    for server in [std_server as Server, tokio_server] {
        let (addr, outcomes) = server(short(60_000));
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(REQUEST).unwrap();
        // A masked close 1000 (zero mask).
        stream
            .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
            .unwrap();
        let (closed, lasted) = outcome(&outcomes);
        assert_eq!(
            (closed.code, closed.cause),
            (CloseCode::NORMAL, CloseCause::ClosedByPeer)
        );
        assert!(lasted < Duration::from_secs(60), "{lasted:?}");
        // The 101, the close reply, then the server's end of the connection.
        let mut seen = Vec::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.read_to_end(&mut seen).unwrap();
        let body = &seen[seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        assert_eq!(body, &[0x88, 2, 0x03, 0xe8]);
    }
}

/// 200 connections that each send half a request and stop: a normal client still connects,
/// upgrades and echoes meanwhile, before any of them is dropped (they wait for their
/// handshake deadline; the normal client does not), and every half-open one is dropped
/// with 408 at that deadline.
#[test]
fn half_open_handshakes_do_not_block_a_normal_client() {
    let (addr, outcomes) = tokio_server(short(3000));
    let mut idle: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(&REQUEST[..20]).unwrap();
            s
        })
        .collect();
    client_checks::run_blocking(&format!("ws://{addr}/")).unwrap();
    // The order: the normal client is done while every half-open handshake still waits.
    let (closed, _) = outcome(&outcomes);
    assert!(
        closed.is_clean(),
        "the normal client's end first: {closed:?}"
    );
    let early = outcomes.try_iter().count();
    assert_eq!(
        early, 0,
        "{early} half-open handshakes ended before the normal client"
    );
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        assert!(answer.starts_with(b"HTTP/1.1 408"));
    }
    drop(idle);
    let mut timed_out = 0;
    for _ in 0..200 {
        let (closed, _) = outcome(&outcomes);
        if closed.cause == CloseCause::Handshake(HandshakeError::Timeout) {
            timed_out += 1;
        }
    }
    assert_eq!(timed_out, 200);
}
