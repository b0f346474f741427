//! The deployment examples over loopback: `wss://` with rustls, wsmachine behind hyper's
//! upgrade and behind axum, WebSocket over HTTP/2 with h2's extended CONNECT, and the generic async driver's
//! close timer. The hyper tests need the `http` feature (`cargo test --all-features`).
#![cfg(feature = "tokio")]

#[cfg(feature = "http")]
#[path = "../examples/support/axum_app.rs"]
mod axum_app;
#[path = "../examples/support/client_checks.rs"]
mod client_checks;
#[path = "../examples/support/echo.rs"]
mod echo;
#[path = "../examples/support/h2_ws.rs"]
mod h2_ws;
#[cfg(feature = "http")]
#[path = "../examples/support/hyper_ws.rs"]
mod hyper_ws;
#[path = "../examples/support/wss.rs"]
mod wss;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wsmachine::{CloseCause, CloseCode, Closed, Config, Stats};

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the echo servers saw of the client's conversation (`run_checks`): two messages each
/// way, the largest 1 MiB, a ping answered, the client's close echoed.
fn assert_echo_outcome(closed: Option<Closed>, stats: Stats) {
    let closed = closed.expect("the server saw no Closed event");
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedByPeer)
    );
    let (r, s) = (stats.received, stats.sent);
    assert_eq!((r.messages, r.largest_message, r.pings), (2, 1 << 20, 1));
    assert_eq!((s.messages, s.largest_message, s.pongs), (2, 1 << 20, 1));
    // Text, binary, ping and close frames each way.
    assert_eq!((r.frames, s.frames), (4, 4));
    assert!(r.bytes > 1 << 20 && s.bytes > 1 << 20, "{stats}");
}

/// Starts the wss echo server on an ephemeral port with a fresh certificate; returns the port,
/// the certificate's PEM and the channel each connection's outcome arrives on.
async fn wss_server() -> (
    u16,
    String,
    mpsc::UnboundedReceiver<(Option<Closed>, Stats)>,
) {
    let cert = wss::self_signed(&["localhost", "127.0.0.1"]).unwrap();
    let config = wss::server_config(&cert).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(wss::serve(listener, config, move |_, closed, stats| {
        let _ = tx.send((closed, stats));
    }));
    (port, cert.pem, rx)
}

/// The crate's own `wss://` client (feature `rustls`), trusting exactly the server's
/// certificate.
#[cfg(feature = "rustls")]
fn trusting(pem: &str) -> wsmachine::driver::Connector {
    wsmachine::driver::Connector::new()
        .direct()
        .with_ca_pem(pem.as_bytes())
        .unwrap()
}

#[cfg(feature = "rustls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_echo_text_binary_and_clean_close() {
    let (port, pem, mut outcomes) = wss_server().await;
    let url = format!("wss://127.0.0.1:{port}/");
    let report = tokio::time::timeout(
        TIMEOUT,
        client_checks::run_tokio_with(&url, &trusting(&pem)),
    )
    .await
    .unwrap()
    .unwrap();
    // hello, 1 MiB binary, ping, close 1000: each echo checked, the close clean
    // (`Closed` with `ClosedLocally`), then the server's TLS close_notify and end of stream.
    assert!(report.ends_with("over TLS"), "{report}");

    let (closed, stats) = tokio::time::timeout(TIMEOUT, outcomes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_echo_outcome(closed, stats);
}

#[cfg(feature = "rustls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_client_refuses_a_certificate_it_was_not_given() {
    let (port, _pem, _outcomes) = wss_server().await;
    let other = wss::self_signed(&["localhost", "127.0.0.1"]).unwrap();
    let url = format!("wss://127.0.0.1:{port}/");
    let connector = trusting(&other.pem);
    let connecting = wsmachine::tokio::connect_with(&url, &connector);
    match tokio::time::timeout(TIMEOUT, connecting).await.unwrap() {
        Err(wsmachine::driver::Error::Tls(e)) => {
            assert_eq!(e.server(), "127.0.0.1");
            assert!(e.to_string().contains("invalid peer certificate"), "{e}");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("trusted a certificate it was not given"),
    }
}

/// wsmachine behind hyper (feature `http`).
#[cfg(feature = "http")]
mod hyper_upgrade {
    use super::*;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpStream;
    use wsmachine::handshake::client::ClientRequest;

    async fn hyper_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(hyper_ws::serve(listener));
        addr
    }

    async fn http_get(addr: &str, head: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = String::new();
        tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut response))
            .await
            .unwrap()
            .unwrap();
        response
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hyper_serves_a_page_and_a_websocket_on_one_port() {
        let addr = hyper_server().await;
        let page = http_get(
            &addr,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with(hyper_ws::PAGE), "{page}");

        // `/ws` without an upgrade is refused by `upgrade_response`'s checks.
        let refused = http_get(
            &addr,
            "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(refused.starts_with("HTTP/1.1 400 "), "{refused}");

        // RFC 6455 §10.2: an upgrade from another site's page is refused with 403 by
        // `check_origin` (the example uses `OriginPolicy::SAME_ORIGIN`).
        let upgrade = |origin: &str| {
            format!(
                "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                 Origin: {origin}\r\n\r\n"
            )
        };
        let status = |origin: String| {
            let addr = addr.clone();
            async move {
                let mut stream = TcpStream::connect(&addr).await.unwrap();
                stream.write_all(upgrade(&origin).as_bytes()).await.unwrap();
                let mut head = [0u8; 12];
                stream.read_exact(&mut head).await.unwrap();
                String::from_utf8_lossy(&head).into_owned()
            }
        };
        assert_eq!(status("http://evil.example".into()).await, "HTTP/1.1 403");
        assert_eq!(status(format!("http://{addr}")).await, "HTTP/1.1 101");

        // The tokio client (wsmachine doing the client's HTTP/1.1) against hyper's upgrade: text,
        // 1 MiB binary, ping, close 1000 and the server closing TCP.
        client_checks::run_tokio(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
    }

    /// The axum example: a plain route and the WebSocket route on one port, the upgrade
    /// going through axum's `Request` and hyper's upgrade to the tokio driver.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn axum_serves_a_route_and_a_websocket_on_one_port() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, super::axum_app::app()).await });
        let page = http_get(
            &addr,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with(super::axum_app::PAGE), "{page}");
        let refused = http_get(
            &addr,
            "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(refused.starts_with("HTTP/1.1 400 "), "{refused}");
        // Text, 1 MiB binary, ping, close 1000 and the server closing TCP.
        client_checks::run_tokio(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
    }

    /// A frame sent right behind the upgrade request, in the same write, is read by hyper with
    /// the head; it must reach the WebSocket (`Parts::read_buf` as the leftover).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hyper_upgrade_keeps_a_frame_sent_behind_the_request() {
        let addr = hyper_server().await;
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let mut request = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n"
            .to_vec();
        let mask = [1u8, 2, 3, 4];
        let masked = |payload: &[u8]| -> Vec<u8> {
            payload
                .iter()
                .zip(mask.iter().cycle())
                .map(|(b, m)| b ^ m)
                .collect()
        };
        request.extend_from_slice(&[0x81, 0x80 | 2]);
        request.extend_from_slice(&mask);
        request.extend_from_slice(&masked(b"hi"));
        stream.write_all(&request).await.unwrap();

        let read = async {
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(stream.read_u8().await.unwrap());
            }
            let head = String::from_utf8(head).unwrap();
            assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
            assert!(head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
            let mut echo = [0u8; 4];
            stream.read_exact(&mut echo).await.unwrap();
            assert_eq!(&echo, b"\x81\x02hi");

            // Close with 1000: the server echoes it and closes TCP.
            let mut close = vec![0x88, 0x80 | 2];
            close.extend_from_slice(&mask);
            close.extend_from_slice(&masked(&1000u16.to_be_bytes()));
            stream.write_all(&close).await.unwrap();
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"\x88\x02\x03\xe8");
        };
        tokio::time::timeout(TIMEOUT, read).await.unwrap();
    }

    /// hyper on an I/O that is not a `TcpStream` (an in-memory pipe): `Upgraded::downcast` fails
    /// and the echo runs on `Upgraded` itself through the tokio driver, which is also the
    /// client's driver here.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hyper_upgrade_on_other_io_uses_the_generic_driver() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        tokio::spawn(hyper_ws::serve_connection(TokioIo::new(server_io)));
        let request = ClientRequest::new("localhost", "/ws");
        let (client, _) = wsmachine::tokio::WebSocket::connect(client_io, &request, Config::new())
            .await
            .unwrap();
        client_checks::run_async(client, "duplex").await.unwrap();
    }
}

async fn h2_server() -> (String, mpsc::UnboundedReceiver<(Option<Closed>, Stats)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(h2_ws::serve(listener, move |closed, stats| {
        let _ = tx.send((closed, stats));
    }));
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_extended_connect_echo_and_clean_close() {
    let (addr, mut outcomes) = h2_server().await;
    let client = h2_ws::connect(&addr, "/ws", Config::new(), TIMEOUT)
        .await
        .unwrap();
    // Over one HTTP/2 stream: hello, 1 MiB binary (through 1 MiB flow-control windows),
    // ping, close 1000 answered by the server, then its END_STREAM.
    client_checks::run_async(client, &addr).await.unwrap();
    let (closed, stats) = tokio::time::timeout(TIMEOUT, outcomes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_echo_outcome(closed, stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_server_refuses_other_paths() {
    let (addr, _outcomes) = h2_server().await;
    let error = h2_ws::connect(&addr, "/nope", Config::new(), TIMEOUT)
        .await
        .err()
        .unwrap();
    assert!(error.contains("404"), "{error}");
}

/// A peer that completes the closing handshake but never closes its side: the server ends
/// the connection at once (§5.5.1 "The server MUST close the underlying TCP connection
/// immediately"), not at its close deadline (1 s here), and it counts as a clean close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_driver_server_ends_at_once_when_the_peer_never_closes_s5_5_1() {
    const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
    let (mut peer, server_io) = tokio::io::duplex(64 * 1024);
    let config = echo::echo_config().with_close_timeout(Some(CLOSE_TIMEOUT));
    let server = tokio::spawn(echo::serve_async(server_io, config));
    peer.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    // A masked close 1000 (zero mask).
    peer.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .await
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    tokio::time::timeout(TIMEOUT, peer.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    assert!(received.ends_with(b"\x88\x02\x03\xe8"));
    // The server has shut down its side; `peer` stays open and silent.
    let (closed, _) = tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap();
    let waited = started.elapsed();
    assert!(waited < CLOSE_TIMEOUT / 2, "{waited:?}");
    let closed = closed.unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedByPeer)
    );
    drop(peer);
}
