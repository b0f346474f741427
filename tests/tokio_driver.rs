//! The tokio driver (`wsmachine::tokio`) over loopback TCP and in-memory streams: a whole
//! conversation in both roles, an HTTP answer on the same port, backpressure against a peer
//! that never reads, cancellation at every await point, split halves in two tasks,
//! keepalive dropping a silent peer, and clean closes.
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::driver::{Answer, Error, OwnedMessage};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::tokio::WebSocket;
use wsmachine::{CloseCause, CloseCode, Config, Message};

const TIMEOUT: Duration = Duration::from_secs(10);

/// An echo server on an ephemeral port, each connection in its own task; returns its URL.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut ws = WebSocket::accept(stream).await?;
                while let Some(message) = ws.recv_owned().await? {
                    ws.send(message.as_message()).await?;
                }
                Ok::<_, Error>(())
            });
        }
    });
    url
}

#[tokio::test]
async fn echo_conversation_and_clean_close() {
    let url = echo_server().await;
    let mut ws = tokio::time::timeout(TIMEOUT, wsmachine::tokio::connect(&url))
        .await
        .unwrap()
        .unwrap();
    ws.send_text("hello").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("hello")));
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    assert_eq!(
        ws.recv_owned().await.unwrap(),
        Some(OwnedMessage::Binary(big))
    );
    ws.ping(b"rtt").await.unwrap();
    ws.send_text("after the ping").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap(),
        Some(Message::Text("after the ping"))
    );
    assert!(ws.connection().latency().is_some());
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(
        tokio::time::timeout(TIMEOUT, ws.recv())
            .await
            .unwrap()
            .unwrap(),
        None
    );
    let closed = ws.connection().closed().unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedLocally)
    );
}

/// The server closes; both sides see a clean end.
#[tokio::test]
async fn server_initiated_clean_close() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = WebSocket::accept(stream).await.unwrap();
        ws.send_text("bye soon").await.unwrap();
        ws.close(CloseCode::GOING_AWAY, "maintenance")
            .await
            .unwrap();
        assert_eq!(ws.recv().await.unwrap(), None);
        ws.connection().closed().unwrap()
    });
    let mut client = wsmachine::tokio::connect(&url).await.unwrap();
    assert_eq!(
        client.recv().await.unwrap(),
        Some(Message::Text("bye soon"))
    );
    assert_eq!(
        tokio::time::timeout(TIMEOUT, client.recv())
            .await
            .unwrap()
            .unwrap(),
        None
    );
    let closed = client.connection().closed().unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::GOING_AWAY, CloseCause::ClosedByPeer)
    );
    let closed = tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::GOING_AWAY, CloseCause::ClosedLocally)
    );
}

/// A page and a WebSocket endpoint share a port: the hook answers a plain request with any
/// HTTP response, and upgrades the other.
#[tokio::test]
async fn http_answer_and_upgrade_on_one_port() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let ws = WebSocket::accept_with(stream, Config::new(), |req| {
                    if req.is_websocket() {
                        Answer::accept().with_subprotocol("chat")
                    } else {
                        Answer::respond(200, b"<h1>page</h1>".to_vec())
                            .with_header("Content-Type", "text/html")
                    }
                })
                .await;
                if let Ok(Some(mut ws)) = ws {
                    while let Ok(Some(m)) = ws.recv_owned().await {
                        let _ = ws.send(m.as_message()).await;
                    }
                }
            });
        }
    });
    let mut page = TcpStream::connect(addr).await.unwrap();
    page.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(TIMEOUT, page.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("<h1>page</h1>"));

    let stream = TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest::new("x", "/chat").with_subprotocols(&["chat"]);
    let (mut ws, response) = WebSocket::connect(stream, &request, Config::new())
        .await
        .unwrap();
    assert_eq!(response.status, 101);
    assert_eq!(ws.connection().subprotocol(), Some("chat"));
    ws.send_text("echo me").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("echo me")));
}

/// A peer that never reads: sends wait once the output passes the high-water mark, so the
/// connection's memory stays bounded by it however long the application keeps sending.
#[tokio::test]
async fn backpressure_bounds_memory_against_a_peer_that_never_reads() {
    let (peer, server_io) = common::duplex_with_request(16 * 1024).await;
    let mut ws = WebSocket::accept(server_io).await.unwrap();
    ws.set_high_water(64 * 1024);
    let message = vec![7u8; 1024];
    let mut sent = 0;
    let mut peak = 0;
    // Until a send waits 200 ms: the peer is not reading.
    while let Ok(result) =
        tokio::time::timeout(Duration::from_millis(200), ws.send_binary(&message)).await
    {
        result.unwrap();
        sent += 1;
        peak = peak.max(ws.connection().output().len());
        assert!(sent < 10_000, "sends never waited");
    }
    assert!(sent > 64, "only {sent} messages went out");
    assert!(
        peak <= 64 * 1024 + 1024 + 14,
        "output peaked at {peak} bytes"
    );
    assert!(ws.connection().memory().output <= 2 * (64 * 1024 + 1024 + 14));
    drop(peer);
}

/// A masked client frame (fixed key): FIN, `opcode`, `payload`.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    common::cframe(true, opcode, payload)
}

/// A peer that floods messages while reading the echoes slowly: the echo waits for its
/// output to drain, and while it waits it reads nothing, so input stays within one read of
/// the message being delivered instead of piling up behind messages not yet taken
/// (regression: waiting for room read more input each time some output went out, and a
/// 16 KiB echo under load held megabytes of input per connection).
#[tokio::test]
async fn input_stays_bounded_while_output_drains_slowly() {
    let (peer, server_io) = tokio::io::duplex(64 * 1024);
    let (mut peer_read, mut peer_write) = tokio::io::split(peer);
    peer_write
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let messages = 400;
    let frame = masked_frame(2, &vec![5u8; 16 * 1024]);
    let flood = tokio::spawn(async move {
        let all: Vec<u8> = frame
            .iter()
            .copied()
            .cycle()
            .take(frame.len() * messages)
            .collect();
        peer_write.write_all(&all).await.unwrap();
        peer_write
    });
    let slow_reader = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while total < messages * (16 * 1024 + 4) + 129 {
            let n = peer_read.read(&mut buf).await.unwrap();
            assert!(n > 0);
            total += n;
            tokio::task::yield_now().await;
        }
    });
    let mut ws = WebSocket::accept(server_io).await.unwrap();
    let read_size = Config::new().max_read_size;
    let mut peak_input = 0;
    for _ in 0..messages {
        let echoed = ws
            .recv_with(|m, out| match m {
                Message::Binary(b) => out.send_binary(b),
                Message::Text(t) => out.send_text(t),
            })
            .await
            .unwrap();
        assert!(matches!(echoed, Some(Ok(()))));
        peak_input = peak_input.max(ws.connection().memory().input);
    }
    ws.flush().await.unwrap();
    slow_reader.await.unwrap();
    drop(flood.await.unwrap());
    assert!(
        peak_input <= 4 * read_size,
        "input buffer reached {peak_input} bytes"
    );
}

/// The handshake's state is not part of a task that accepts and then serves: an idle
/// connection's task is the connection, its stream and the receive in progress.
#[cfg(target_pointer_width = "64")]
#[tokio::test]
async fn an_echo_task_is_not_sized_by_the_handshake() {
    let (_peer, server_io) = tokio::io::duplex(1024);
    let task = async move {
        let Ok(mut ws) = WebSocket::accept(server_io).await else {
            return;
        };
        while let Ok(Some(_)) = ws
            .recv_with(|m, out| match m {
                Message::Binary(b) => out.send_binary(b),
                Message::Text(t) => out.send_text(t),
            })
            .await
        {}
    };
    let ws_size = std::mem::size_of::<WebSocket<tokio::io::DuplexStream>>();
    let task_size = std::mem::size_of_val(&task);
    assert!(
        task_size <= ws_size + 256,
        "task {task_size} B, connection {ws_size} B"
    );
    // A server connection does not carry a client's masking-key generator.
    assert!(
        std::mem::size_of::<wsmachine::Connection>() <= 1024,
        "{}",
        std::mem::size_of::<wsmachine::Connection>()
    );
}

/// Polls `fut` once and drops it: a cancellation at whatever await point it reached.
async fn poll_once<F: std::future::Future>(fut: F) -> std::task::Poll<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Cancellation at every await point loses nothing: every receive that would wait is
/// dropped there and started again, and still every message arrives, in order; every send
/// that would wait (a small high-water mark makes them wait) is dropped there, and the peer
/// receives exactly the sends that completed.
#[tokio::test]
async fn cancellation_at_every_await_point_loses_nothing() {
    use std::task::Poll;
    let (client_io, server_io) = tokio::io::duplex(1024);
    let server = tokio::spawn(async move {
        let mut ws = WebSocket::accept(server_io).await.unwrap();
        let mut got = Vec::new();
        let mut cancelled = 0;
        loop {
            match poll_once(ws.recv_owned()).await {
                Poll::Ready(r) => match r.unwrap() {
                    Some(OwnedMessage::Text(t)) => got.push(t),
                    Some(other) => panic!("{other:?}"),
                    None => break,
                },
                Poll::Pending => {
                    cancelled += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
        (got, cancelled)
    });
    let request = ClientRequest::new("x", "/");
    let (mut ws, _) = WebSocket::connect(client_io, &request, Config::new())
        .await
        .unwrap();
    ws.set_high_water(2048);
    let mut completed = Vec::new();
    let mut send_cancelled = 0;
    for i in 0..2000 {
        let text = format!("message {i} {}", "x".repeat(i % 300));
        match poll_once(ws.send_text(&text)).await {
            Poll::Ready(r) => {
                r.unwrap();
                completed.push(text);
            }
            Poll::Pending => {
                send_cancelled += 1;
                tokio::task::yield_now().await;
            }
        }
    }
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while ws.recv().await.unwrap().is_some() {}
    let (got, cancelled) = tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap();
    assert!(cancelled > 0, "the receive never waited");
    assert!(send_cancelled > 0, "no send ever waited");
    assert!(!completed.is_empty());
    assert_eq!(got, completed);
}

/// Split halves in two tasks: the reader receives while the writer sends; the pongs owed
/// for the client's pings go out though the server's writer is idle at the end, and the
/// close completes for both.
#[tokio::test]
async fn split_halves_in_two_tasks() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = WebSocket::accept(stream).await.unwrap();
        let (mut reader, mut writer) = ws.split();
        let sender = tokio::spawn(async move {
            for i in 0..100 {
                writer.send_text(&format!("from server {i}")).await.unwrap();
            }
            writer.flush().await.unwrap();
            writer
        });
        let mut got = 0;
        while let Some(m) = reader.recv_owned().await.unwrap() {
            assert_eq!(m, OwnedMessage::Text(format!("from client {got}")));
            got += 1;
        }
        let _writer = sender.await.unwrap();
        got
    });
    let (mut reader, mut writer) = wsmachine::tokio::connect(&url).await.unwrap().split();
    let client_sender = tokio::spawn(async move {
        for i in 0..100 {
            writer.send_text(&format!("from client {i}")).await.unwrap();
            writer.ping(b"p").await.unwrap();
        }
        writer
    });
    let mut got = 0;
    while got < 100 {
        let m = reader.recv_owned().await.unwrap().unwrap();
        assert_eq!(m, OwnedMessage::Text(format!("from server {got}")));
        got += 1;
    }
    let mut writer = client_sender.await.unwrap();
    writer.close(CloseCode::NORMAL, "done").await.unwrap();
    assert_eq!(
        tokio::time::timeout(TIMEOUT, reader.recv_owned())
            .await
            .unwrap()
            .unwrap(),
        None
    );
    assert!(
        reader.with_connection(|c| c.latency()).is_some(),
        "the pongs came back"
    );
    assert_eq!(
        tokio::time::timeout(TIMEOUT, server)
            .await
            .unwrap()
            .unwrap(),
        100
    );
}

/// Keepalive drops a silent peer: on a paused clock, a ping after the interval, 1011 after
/// the timeout, the transport finished at the close deadline.
#[tokio::test(start_paused = true)]
async fn keepalive_drops_a_silent_peer() {
    let (mut peer, server_io) = common::duplex_with_request(64 * 1024).await;
    let config =
        Config::new().with_keepalive(Some(Duration::from_secs(5)), Some(Duration::from_secs(5)));
    let mut ws = WebSocket::accept_with(server_io, config, Answer::default_for)
        .await
        .unwrap()
        .unwrap();
    let started = tokio::time::Instant::now();
    match ws.recv().await {
        Err(Error::Closed(closed)) => {
            assert_eq!(
                (closed.code, closed.cause),
                (CloseCode::INTERNAL_ERROR, CloseCause::KeepaliveTimeout)
            );
        }
        other => panic!("{other:?}"),
    }
    // 5 s to the ping, 5 s without an answer, then the 10 s close deadline.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(20) && waited < Duration::from_secs(21),
        "{waited:?}"
    );
    let mut seen = vec![0u8; 4096];
    let n = peer.read(&mut seen).await.unwrap();
    let body = &seen[seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..n];
    assert_eq!(&body[..2], &[0x89, 4], "a ping first");
}

/// An idle connection gives its buffers back at the release deadline through the driver, as
/// the core does on its own (`tests/deadlines.rs`): a driver that stopped telling the
/// connection the time, or armed its timer wrongly, would keep them. Paused time: the
/// deadline is reached by the runtime's clock alone.
#[tokio::test(start_paused = true)]
async fn an_idle_connection_gives_its_buffers_back_through_the_driver() {
    let (mut peer, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let mut ws = WebSocket::accept(server_io).await.unwrap();
        let message = ws.recv_owned().await.unwrap().unwrap();
        ws.send(message.as_message()).await.unwrap();
        assert!(
            ws.connection().memory().total() > 0,
            "the echo sized the buffers"
        );
        // Idle: a receive that waits past the release deadline (1 s by default).
        let waited = tokio::time::timeout(Duration::from_millis(1_500), ws.recv()).await;
        assert!(waited.is_err(), "nothing arrived");
        ws.connection().memory()
    });
    peer.write_all(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    peer.write_all(&masked_frame(0x1, b"hello")).await.unwrap();
    let memory = server.await.unwrap();
    assert_eq!(memory.total(), 0, "{memory:?}");
}

/// A stream that buffers what is written until a flush, and finishes a flush only at its
/// second attempt (as a TLS stream does when its records do not all go out at once).
#[derive(Default)]
struct SlowFlush {
    buffered: usize,
    delivered: usize,
    flush_attempts: usize,
}

impl wsmachine::driver::Transport for SlowFlush {
    fn poll_read(
        &mut self,
        _: &mut std::task::Context<'_>,
        _: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Pending
    }
    fn poll_write(
        &mut self,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.buffered += buf.len();
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.flush_attempts += 1;
        if self.flush_attempts % 2 == 1 {
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        self.delivered += std::mem::take(&mut self.buffered);
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn now(&self) -> wsmachine::Timestamp {
        wsmachine::Timestamp::ZERO
    }
    fn poll_timer(
        &mut self,
        _: &mut std::task::Context<'_>,
        _: wsmachine::Timestamp,
    ) -> std::task::Poll<()> {
        std::task::Poll::Pending
    }
}

/// `flush` returns once the stream's own flush finished, not when the bytes were merely
/// handed to it: over TLS, records wait inside the TLS session until then.
#[tokio::test]
async fn flush_waits_for_the_streams_own_flush() {
    let mut ws = wsmachine::driver::WebSocket::from_upgraded_transport(
        SlowFlush::default(),
        wsmachine::Role::Server,
        Config::new(),
        &[],
    )
    .unwrap();
    ws.send_text("hello").await.unwrap();
    tokio::time::timeout(TIMEOUT, ws.flush())
        .await
        .unwrap()
        .unwrap();
    let stream = ws.transport();
    assert_eq!((stream.buffered, stream.delivered), (0, 7));
}
