//! The example servers and clients over real loopback sockets, on the drivers: the blocking,
//! tokio and smol (futures-io) echo servers with the blocking and tokio clients, many clients at once, a
//! client that vanishes mid-message, a peer that never reads, and the chat demo with two
//! clients.
#![cfg(feature = "tokio")]

#[path = "../examples/support/chat.rs"]
mod chat;
#[path = "../examples/support/client_checks.rs"]
mod client_checks;
#[path = "../examples/support/echo.rs"]
mod echo;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use wsmachine::driver::OwnedMessage;
use wsmachine::{CloseCause, CloseCode, Config};

/// Starts the blocking echo server on an ephemeral port; each connection's outcome is sent
/// on the returned channel.
fn std_server() -> (String, mpsc::Receiver<Option<wsmachine::Closed>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let tx = tx.clone();
            let stream = stream.unwrap();
            std::thread::spawn(move || {
                let _ = tx.send(echo::serve_blocking(stream, echo::echo_config()).0);
            });
        }
    });
    (url, rx)
}

/// Starts the tokio echo server on an ephemeral port, on its own runtime thread; each
/// connection's outcome is sent on the returned channel.
fn tokio_server() -> (String, mpsc::Receiver<Option<wsmachine::Closed>>) {
    let (tx, rx) = mpsc::channel();
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("ws://{}/", listener.local_addr().unwrap()))
                .unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let out_tx = out_tx.clone();
                tokio::spawn(async move {
                    let (closed, _) = echo::serve_async(stream, echo::echo_config()).await;
                    let _ = out_tx.send(closed);
                });
            }
        });
    });
    (rx.recv().unwrap(), out_rx)
}

/// Starts the smol echo server (`examples/echo_server_smol.rs`'s, on the futures-io driver)
/// on an ephemeral port, on its own thread; each connection's outcome is sent on the
/// returned channel.
#[cfg(feature = "futures-io")]
fn smol_server() -> (String, mpsc::Receiver<Option<wsmachine::Closed>>) {
    let (tx, rx) = mpsc::channel();
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        smol::block_on(async move {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("ws://{}/", listener.local_addr().unwrap()))
                .unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let out_tx = out_tx.clone();
                smol::spawn(async move {
                    let (closed, _) = echo::serve_futures_io(stream, echo::echo_config()).await;
                    let _ = out_tx.send(closed);
                })
                .detach();
            }
        });
    });
    (rx.recv().unwrap(), out_rx)
}

/// The smol echo server answers both example clients, and each connection ends with the
/// client's clean close.
#[cfg(feature = "futures-io")]
#[test]
fn blocking_and_tokio_clients_against_the_smol_server() {
    let (url, outcomes) = smol_server();
    client_checks::run_blocking(&url).unwrap();
    run_tokio(client_checks::run_tokio(&url)).unwrap();
    for _ in 0..2 {
        let closed = outcomes
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .unwrap();
        assert_eq!(
            (closed.code, closed.cause),
            (CloseCode::NORMAL, CloseCause::ClosedByPeer)
        );
    }
}

fn run_tokio<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn std_client_against_std_server() {
    let (url, outcomes) = std_server();
    client_checks::run_blocking(&url).unwrap();
    let closed = outcomes
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedByPeer)
    );
}

#[test]
fn tokio_client_against_tokio_server() {
    let (url, outcomes) = tokio_server();
    run_tokio(client_checks::run_tokio(&url)).unwrap();
    let closed = outcomes
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedByPeer)
    );
}

#[test]
fn clients_and_servers_mix() {
    let (tokio_url, _) = tokio_server();
    client_checks::run_blocking(&tokio_url).unwrap();
    let (std_url, _) = std_server();
    run_tokio(client_checks::run_tokio(&std_url)).unwrap();
}

#[test]
fn many_concurrent_clients() {
    let (url, _) = tokio_server();
    let (std_url, _) = std_server();
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let url = if i % 2 == 0 {
                url.clone()
            } else {
                std_url.clone()
            };
            std::thread::spawn(move || client_checks::run_blocking(&url))
        })
        .collect();
    for c in clients {
        c.join().unwrap().unwrap();
    }
}

/// A raw TCP peer: sends the §1.2 upgrade request and reads the 101 response.
fn raw_upgrade(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with(b"HTTP/1.1 101"));
    stream
}

/// Reads an HTTP head byte by byte (nothing after it).
fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    head
}

/// A masked client frame header for `len` bytes of binary payload with a zero mask.
fn binary_header(len: u64) -> Vec<u8> {
    let mut h = vec![0x82, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0; 4]);
    h
}

#[test]
fn client_vanishing_mid_message_ends_abnormally() {
    let (url, outcomes) = std_server();
    let mut stream = raw_upgrade(&url);
    stream.write_all(&binary_header(100_000)).unwrap();
    stream.write_all(&[7; 1000]).unwrap();
    drop(stream);
    let closed = outcomes
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::ABNORMAL, CloseCause::Abnormal)
    );
}

#[test]
fn bare_connect_and_close_does_not_disturb_the_server() {
    let (url, outcomes) = std_server();
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    drop(TcpStream::connect(addr).unwrap());
    let closed = outcomes
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    client_checks::run_blocking(&url).unwrap();
}

/// A peer that keeps sending and never reads: the tokio server stops reading once its output
/// passes the driver's high-water mark, so its buffers stay flat however much the peer sends.
#[test]
fn peer_that_never_reads_cannot_grow_server_memory() {
    let (tx, rx) = mpsc::channel();
    let (peak_tx, peak_rx) = mpsc::channel();
    std::thread::spawn(move || {
        run_tokio(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws =
                wsmachine::tokio::WebSocket::accept_with(stream, echo::echo_config(), echo::answer)
                    .await
                    .unwrap()
                    .unwrap();
            let mut peak = wsmachine::Memory::default();
            let mut peak_output = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
            while tokio::time::Instant::now() < deadline {
                let step =
                    tokio::time::timeout(Duration::from_millis(200), ws.recv_with(echo::echo));
                if let Ok(Ok(None) | Err(_)) = step.await {
                    break;
                }
                let m = ws.connection().memory();
                peak.input = peak.input.max(m.input);
                peak.output = peak.output.max(m.output);
                peak_output = peak_output.max(ws.connection().output().len());
            }
            peak_tx.send((peak, peak_output)).unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let mut stream = raw_upgrade(&format!("ws://{addr}/"));
    stream
        .set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let message = {
        let mut m = binary_header(64 * 1024);
        m.extend_from_slice(&[1; 64 * 1024]);
        m
    };
    let mut sent = 0usize;
    // Write until the server stops reading and the kernel buffers fill (the write times out).
    while sent < (256 << 20) && stream.write_all(&message).is_ok() {
        sent += message.len();
    }
    assert!(sent < (256 << 20), "the server never pushed back");
    let (peak, peak_output) = peak_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let high_water = wsmachine::driver::DEFAULT_HIGH_WATER;
    assert!(
        peak_output <= high_water + 64 * 1024 + 1024,
        "output backlog reached {peak_output} bytes"
    );
    assert!(
        peak.input <= 512 * 1024,
        "input buffer reached {} bytes",
        peak.input
    );
    assert!(
        peak.output <= 2 * (high_water + 64 * 1024 + 1024),
        "{peak:?}"
    );
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn chat_event(client: &mut wsmachine::blocking::WebSocket<TcpStream>) -> String {
    match client.recv_owned().unwrap() {
        Some(OwnedMessage::Text(t)) => t,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn chat_serves_the_page_and_relays_between_two_clients() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        run_tokio(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            chat::serve(listener).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();

    let page = http_get(&addr, "/");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("new WebSocket(") && page.contains("/chat"));
    assert!(http_get(&addr, "/nope").starts_with("HTTP/1.1 404"));

    let url = format!("ws://{addr}/chat");
    let mut alice = client_checks::connect_blocking(&url, Config::new()).unwrap();
    let mut bob = client_checks::connect_blocking(&url, Config::new()).unwrap();
    // Each subscription is made when the server accepts the upgrade, before the 101 is
    // written, so both clients are subscribed by now.
    alice.send_text("hello from alice").unwrap();
    assert_eq!(chat_event(&mut alice), "hello from alice");
    assert_eq!(chat_event(&mut bob), "hello from alice");
    bob.send_text("hi alice, bob here").unwrap();
    assert_eq!(chat_event(&mut bob), "hi alice, bob here");
    assert_eq!(chat_event(&mut alice), "hi alice, bob here");
    alice.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(alice.recv_owned().unwrap(), None);
    assert!(alice.connection().closed().unwrap().is_clean());
    // Bob is still connected and still served.
    bob.send_text("still here").unwrap();
    assert_eq!(chat_event(&mut bob), "still here");

    // RFC 6455 §10.2: an upgrade from another site's page is refused with 403 (the chat uses
    // `OriginPolicy::SAME_ORIGIN`) and never joins the room; one from the chat's own page
    // upgrades.
    let upgrade_from = |origin: &str| {
        let mut stream = TcpStream::connect(&addr).unwrap();
        let request = format!(
            "GET /chat HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Origin: {origin}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        String::from_utf8_lossy(&read_head(&mut stream)).into_owned()
    };
    let forged = upgrade_from("http://evil.example");
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    let lookalike = upgrade_from(&format!("http://{addr}.evil.example"));
    assert!(lookalike.starts_with("HTTP/1.1 403"), "{lookalike}");
    let own = upgrade_from(&format!("http://{addr}"));
    assert!(own.starts_with("HTTP/1.1 101"), "{own}");
    bob.send_text("nobody else joined").unwrap();
    assert_eq!(chat_event(&mut bob), "nobody else joined");
}

/// The request that pinned a CPU core in both echo servers: a valid upgrade offering only the
/// subprotocol `x-é` (bytes `78 2d c3 a9`, not an HTTP token), then the client closes its
/// socket. Both servers must answer and then finish the connection (the std server reports
/// its outcome; the tokio task completes) instead of spinning on a request that waits for an
/// answer after end of stream.
#[test]
fn non_token_subprotocol_then_hang_up_ends_the_connection_in_both_servers() {
    const REQUEST: &[u8] =
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: x-\xc3\xa9\r\n\r\n";
    fn hang_up(addr: &str) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(REQUEST).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    }

    // std: the connection's thread reports its outcome.
    let (url, outcomes) = std_server();
    let answer = hang_up(url.trim_start_matches("ws://").trim_end_matches('/'));
    assert!(answer.starts_with(b"HTTP/1.1 101"), "{answer:?}");
    assert!(!answer.windows(22).any(|w| w == b"Sec-WebSocket-Protocol"));
    let closed = outcomes
        .recv_timeout(Duration::from_secs(10))
        .expect("the std server's connection thread never finished")
        .expect("a Closed event");
    assert_eq!(closed.code, CloseCode::ABNORMAL);

    // tokio: the connection's task completes.
    run_tokio(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            echo::serve_async(stream, echo::echo_config()).await.0
        });
        let answer = tokio::task::spawn_blocking(move || hang_up(&addr))
            .await
            .unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 101"), "{answer:?}");
        let closed = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the tokio server's connection task never finished")
            .unwrap()
            .expect("a Closed event");
        assert_eq!(closed.code, CloseCode::ABNORMAL);
    });
}

/// A fake server that completes the upgrade and then sends a masked frame (§5.1: a server
/// MUST NOT mask). Returns the address and a channel with every byte the client wrote after
/// its request, up to its end of stream.
fn masking_server() -> (String, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = read_head(&mut stream);
        let text = String::from_utf8_lossy(&head).to_string();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_string();
        let accept = wsmachine::handshake::accept_key(key.as_bytes());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        stream.write_all(response.as_bytes()).unwrap();
        // A masked text frame "hi".
        stream
            .write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])
            .unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let _ = tx.send(rest);
    });
    (url, rx)
}

/// §7.1.7: after a protocol error (here a masked frame from the server) both example clients
/// write the 1002 close frame their connection queued before they give up.
#[test]
fn example_clients_send_the_close_frame_after_a_protocol_error() {
    fn close_codes(bytes: &[u8]) -> Vec<u16> {
        // Client frames are masked: decode them independently of the crate.
        let mut codes = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 2 {
            let (b0, len) = (rest[0], usize::from(rest[1] & 0x7F));
            let (len, at) = match len {
                126 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
                127 => break,
                n => (n, 2),
            };
            let key = [rest[at], rest[at + 1], rest[at + 2], rest[at + 3]];
            let payload: Vec<u8> = rest[at + 4..at + 4 + len]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            if b0 & 0x0F == 0x8 && payload.len() >= 2 {
                codes.push(u16::from_be_bytes([payload[0], payload[1]]));
            }
            rest = &rest[at + 4 + len..];
        }
        codes
    }

    let (url, written) = masking_server();
    assert!(client_checks::run_blocking(&url).is_err());
    let bytes = written.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(close_codes(&bytes), [1002], "std client wrote {bytes:?}");

    let (url, written) = masking_server();
    assert!(run_tokio(client_checks::run_tokio(&url)).is_err());
    let bytes = written.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(close_codes(&bytes), [1002], "tokio client wrote {bytes:?}");
}
