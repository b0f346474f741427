//! The chat server on `wsmachine::tokio`: an HTML page at `/` and a WebSocket endpoint at
//! `/chat` on one port, every message relayed to every connected browser. Each connection
//! is split: its reader feeds the room, its writer relays the room to the browser. A message
//! is encoded once, as a `PreparedMessage`, and each writer copies that frame (with
//! permessage-deflate and no context takeover, one compression serves every browser).

#![allow(dead_code)]

use std::io;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use wsmachine::driver::{Answer, OwnedMessage};
#[cfg(feature = "deflate")]
use wsmachine::extensions::deflate::DeflateConfig;
use wsmachine::handshake::origin::OriginPolicy;
use wsmachine::tokio::WebSocket;
use wsmachine::{Config, PreparedMessage, Request};

/// The page served at `/`.
pub const PAGE: &str = include_str!("chat.html");

/// Output a browser may leave unread before relaying to it waits (and it misses messages).
const HIGH_WATER: usize = 1 << 20;

/// Accepts connections forever.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let (room, _) = broadcast::channel::<PreparedMessage>(1024);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream, room.clone()));
    }
}

/// The page, the chat endpoint, or 404.
fn answer(request: &Request<'_>) -> Answer {
    match (request.path(), request.is_websocket()) {
        ("/chat", true) => Answer::accept(),
        ("/" | "/index.html", false) => Answer::respond(200, PAGE.as_bytes().to_vec())
            .with_header("Content-Type", "text/html; charset=utf-8"),
        _ => {
            Answer::respond(404, b"not found\n".to_vec()).with_header("Content-Type", "text/plain")
        }
    }
}

async fn connection(stream: TcpStream, room: broadcast::Sender<PreparedMessage>) {
    let _ = stream.set_nodelay(true);
    // The page is served from this same address: only its origin may open the chat, so that
    // no other site can talk in it with a visitor's cookies (RFC 6455 §10.2; 403 otherwise).
    let config = Config::new()
        .with_max_message_size(64 * 1024)
        .with_origin_policy(OriginPolicy::SAME_ORIGIN);
    // Browsers offer permessage-deflate. The default policy resets the context after every
    // message, which lets all connections share one compressed copy of each chat line (and
    // the compressor and decompressor themselves, one message at a time).
    #[cfg(feature = "deflate")]
    let config = config.with_deflate(DeflateConfig::new());
    let Ok(Some(mut ws)) = WebSocket::accept_with(stream, config, answer).await else {
        return;
    };
    ws.set_high_water(HIGH_WATER);
    let mut subscription = room.subscribe();
    let (mut reader, mut writer) = ws.split();
    // The writer relays the room to this browser.
    let relay = tokio::spawn(async move {
        loop {
            match subscription.recv().await {
                Ok(message) => {
                    if writer.send_prepared(&message).await.is_err() {
                        return;
                    }
                }
                // A browser that fell behind misses some messages; the chat goes on.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    // The reader feeds this browser's messages to the room.
    while let Ok(Some(message)) = reader.recv_owned().await {
        if let OwnedMessage::Text(text) = message {
            // Encoded once here, for every browser. No other browser yet is not an error.
            let _ = room.send(PreparedMessage::text(&text));
        }
    }
    relay.abort();
}
