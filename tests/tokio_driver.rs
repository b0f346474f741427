//! The tokio driver (`wsmachine::tokio`) over loopback TCP and in-memory streams: a whole
//! conversation in both roles, an HTTP answer on the same port, backpressure against a peer
//! that never reads, cancellation at every await point, split halves in two tasks,
//! keepalive dropping a silent peer, and clean closes.
#![cfg(feature = "tokio")]

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
