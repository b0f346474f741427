//! `futures` `Stream` and `Sink` on the tokio driver (feature `futures`): an echo server that
//! is one `forward` of its reader into its writer, a client driving the whole connection
//! through `SinkExt`/`StreamExt`, and a stream that ends exactly once.

#![cfg(feature = "futures")]

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wsmachine::driver::{Error, OwnedMessage};
use wsmachine::tokio::WebSocket;
use wsmachine::{CloseCause, CloseCode};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn forward_echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (reader, writer) = WebSocket::accept(stream).await?.split();
                reader.forward(writer).await
            });
        }
    });
    url
}

#[tokio::test]
async fn forward_echo_and_a_stream_that_ends_once() {
    let url = forward_echo_server().await;
    let mut ws = tokio::time::timeout(TIMEOUT, wsmachine::tokio::connect(&url))
        .await
        .unwrap()
        .unwrap();
    // Many messages in flight.
    for i in 0..500u32 {
        ws.feed(OwnedMessage::Text(i.to_string())).await.unwrap();
    }
    SinkExt::send(&mut ws, OwnedMessage::Binary(vec![7; 100_000]))
        .await
        .unwrap();
    for i in 0..500u32 {
        let echoed = StreamExt::next(&mut ws).await.unwrap().unwrap();
        assert_eq!(echoed, OwnedMessage::Text(i.to_string()));
    }
    assert_eq!(
        StreamExt::next(&mut ws).await.unwrap().unwrap(),
        OwnedMessage::Binary(vec![7; 100_000])
    );
    // `close` starts the closing handshake; the stream then ends, once.
    SinkExt::close(&mut ws).await.unwrap();
    let end = tokio::time::timeout(TIMEOUT, StreamExt::next(&mut ws))
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
    assert!(StreamExt::next(&mut ws).await.is_none());
    let closed = ws.connection().closed().unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedLocally)
    );
    // A closed sink refuses more.
    assert!(matches!(
        SinkExt::send(&mut ws, OwnedMessage::Text("late".into())).await,
        Err(Error::Send(_))
    ));
}

/// A connection that fails yields one error, then ends.
#[tokio::test]
async fn a_failed_connection_yields_one_error_then_none() {
    use tokio::io::AsyncWriteExt;
    let (mut peer, server_io) = common::duplex_with_request(64 * 1024).await;
    // An unmasked frame from a client: a protocol error (§5.1), 1002.
    peer.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    let (mut reader, _writer) = WebSocket::accept(server_io).await.unwrap().split();
    let drain = tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut peer, &mut sink).await;
    });
    match tokio::time::timeout(TIMEOUT, reader.next()).await.unwrap() {
        Some(Err(Error::Closed(closed))) => assert_eq!(closed.code, CloseCode::PROTOCOL_ERROR),
        other => panic!("{other:?}"),
    }
    assert!(reader.next().await.is_none());
    assert!(reader.next().await.is_none());
    drop(reader);
    drop(_writer);
    drain.await.unwrap();
}
