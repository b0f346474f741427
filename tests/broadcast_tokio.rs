//! Prepared messages through the tokio driver: written straight from the shared frame when a
//! connection's output is empty, copied otherwise, and in either case received in order,
//! byte for byte, through partial writes, cancellations, a peer that never reads, split
//! writers in many tasks and permessage-deflate.
#![cfg(feature = "tokio")]

mod common;

use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use wsmachine::driver::OwnedMessage;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::tokio::WebSocket;
use wsmachine::{CloseCode, Config, PreparedMessage};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn poll_once<F: std::future::Future>(fut: F) -> Poll<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Over a pipe of 97 bytes every frame is written in pieces, so shared frames wait
/// half-written while later sends (copied, and pings) queue behind them: the client still
/// receives everything in order, and a send cancelled while waiting for room sent nothing.
#[tokio::test]
async fn partial_writes_and_cancellations_keep_order() {
    partial_writes_keep_order(Config::new(), Config::new()).await;
}

/// The same with permessage-deflate and no context takeover: the shared frames written in
/// pieces are the compressed ones, built once for every connection with these parameters.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn partial_writes_of_compressed_shared_frames_keep_order() {
    use wsmachine::extensions::deflate::DeflateConfig;
    let deflate = DeflateConfig::new().with_no_context_takeover(true);
    partial_writes_keep_order(
        Config::new().with_deflate(deflate),
        Config::new().with_deflate(DeflateConfig::new()),
    )
    .await;
}

async fn partial_writes_keep_order(server_config: Config, client_config: Config) {
    let (client_io, server_io) = tokio::io::duplex(97);
    // Bytes that deflate cannot shrink below the pipe's size (a linear congruential
    // sequence), so that a compressed frame is written in pieces too.
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let big = PreparedMessage::binary(&noise);
    let small = PreparedMessage::text(&"é".repeat(500));
    #[cfg(feature = "deflate")]
    let compressing = server_config.deflate.is_some();
    let server = {
        let (big, small) = (big.clone(), small.clone());
        tokio::spawn(async move {
            let mut ws = WebSocket::accept_with(server_io, server_config, |_| {
                wsmachine::driver::Answer::accept()
            })
            .await
            .unwrap()
            .unwrap();
            #[cfg(feature = "deflate")]
            assert_eq!(ws.connection().deflate().is_some(), compressing);
            ws.set_high_water(300);
            let mut sent = Vec::new();
            let mut cancelled = 0;
            for i in 0..300 {
                let text = format!("plain {i}");
                let msg = if i % 3 == 0 { &big } else { &small };
                match poll_once(ws.send_prepared(msg)).await {
                    Poll::Ready(r) => {
                        r.unwrap();
                        sent.push(msg.payload().to_vec());
                    }
                    Poll::Pending => {
                        cancelled += 1;
                        tokio::task::yield_now().await;
                    }
                }
                if i % 7 == 0 {
                    ws.ping(b"p").await.unwrap();
                }
                ws.send_text(&text).await.unwrap();
                sent.push(text.into_bytes());
            }
            ws.close(CloseCode::NORMAL, "").await.unwrap();
            while ws.recv().await.unwrap().is_some() {}
            (sent, cancelled)
        })
    };
    let (mut ws, _) = WebSocket::connect(client_io, &ClientRequest::new("x", "/"), client_config)
        .await
        .unwrap();
    #[cfg(feature = "deflate")]
    assert_eq!(ws.connection().deflate().is_some(), compressing);
    let mut got = Vec::new();
    while let Some(m) = tokio::time::timeout(TIMEOUT, ws.recv_owned())
        .await
        .unwrap()
        .unwrap()
    {
        got.push(match m {
            OwnedMessage::Text(t) => t.into_bytes(),
            OwnedMessage::Binary(b) => b,
        });
    }
    let (sent, cancelled) = server.await.unwrap();
    assert!(cancelled > 0, "no prepared send ever waited for room");
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "messages differ or are out of order");
}

/// A peer that never reads: sends wait at the high-water mark, and the shared frame held
/// half-written costs a reference, not a copy.
#[tokio::test]
async fn backpressure_holds_against_a_peer_that_never_reads() {
    let (peer, server_io) = common::duplex_with_request(16 * 1024).await;
    let mut ws = WebSocket::accept(server_io).await.unwrap();
    ws.set_high_water(64 * 1024);
    let msg = PreparedMessage::binary(&[7u8; 1024]);
    let (mut sent, mut peak) = (0, 0);
    while let Ok(result) =
        tokio::time::timeout(Duration::from_millis(200), ws.send_prepared(&msg)).await
    {
        result.unwrap();
        sent += 1;
        peak = peak.max(ws.connection().output().len());
        assert!(sent < 10_000, "sends never waited");
    }
    assert!(sent > 64, "only {sent} messages went out");
    assert!(
        peak <= 64 * 1024 + 1024 + 4,
        "output peaked at {peak} bytes"
    );
    assert!(ws.connection().memory().output <= 2 * (64 * 1024 + 1024 + 4));
    drop(peer);
}

/// Fan-out as the chat example does it: each connection split, its writer in a task of its
/// own sending the prepared messages of a broadcast channel; every client receives all of
/// them, in order. With `deflate`, the clients negotiate permessage-deflate and the server
/// resets its context per message, so the shared compressed frame goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_writers_fan_out_to_many_clients() {
    const CLIENTS: usize = 20;
    const MESSAGES: usize = 200;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (room, _) = tokio::sync::broadcast::channel::<PreparedMessage>(MESSAGES + 1);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(CLIENTS);
    let server_room = room.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let mut subscription = server_room.subscribe();
            let ready = ready_tx.clone();
            tokio::spawn(async move {
                let config = Config::new();
                #[cfg(feature = "deflate")]
                let config = config.with_deflate(
                    wsmachine::extensions::deflate::DeflateConfig::new()
                        .with_no_context_takeover(true),
                );
                let ws =
                    WebSocket::accept_with(stream, config, |_| wsmachine::driver::Answer::accept())
                        .await
                        .unwrap()
                        .unwrap();
                let (mut reader, mut writer) = ws.split();
                ready.send(()).await.unwrap();
                let relay = tokio::spawn(async move {
                    while let Ok(msg) = subscription.recv().await {
                        writer.send_prepared(&msg).await.unwrap();
                    }
                });
                while reader.recv_owned().await.unwrap().is_some() {}
                relay.abort();
            });
        }
    });
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let stream = TcpStream::connect(addr).await.unwrap();
        let config = Config::new();
        #[cfg(feature = "deflate")]
        let config = config.with_deflate(wsmachine::extensions::deflate::DeflateConfig::new());
        let (ws, _) = WebSocket::connect(stream, &ClientRequest::new("x", "/"), config)
            .await
            .unwrap();
        #[cfg(feature = "deflate")]
        assert!(ws.connection().deflate().is_some());
        clients.push(ws);
    }
    for _ in 0..CLIENTS {
        ready_rx.recv().await.unwrap();
    }
    let texts: Vec<String> = (0..MESSAGES)
        .map(|i| format!("{{\"seq\":{i},\"body\":\"{}\"}}", "chat ".repeat(i % 50)))
        .collect();
    for text in &texts {
        room.send(PreparedMessage::text(text)).unwrap();
    }
    let mut tasks = Vec::new();
    for mut ws in clients {
        let texts = texts.clone();
        tasks.push(tokio::spawn(async move {
            for text in &texts {
                let m = ws.recv_owned().await.unwrap().unwrap();
                assert_eq!(m, OwnedMessage::Text(text.clone()));
            }
            ws.close(CloseCode::NORMAL, "").await.unwrap();
            while ws.recv().await.unwrap().is_some() {}
        }));
    }
    for task in tasks {
        tokio::time::timeout(TIMEOUT, task).await.unwrap().unwrap();
    }
}
