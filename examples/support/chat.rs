//! The chat server: an HTML page at `/` and a WebSocket endpoint at `/chat` on one port, every
//! message relayed to every connected browser.

#![allow(dead_code)]

use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use wsmachine::{Accept, CloseCode, Config, Connection, Event, Message};

use super::tokio_io::TokioTransport;

/// The page served at `/`.
pub const PAGE: &str = include_str!("chat.html");

/// A browser that reads this slowly is disconnected rather than allowed to grow memory.
const HIGH_WATER: usize = 1 << 20;

/// Accepts connections forever.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let (relay, _) = broadcast::channel::<Arc<str>>(1024);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream, relay.clone()));
    }
}

/// What to do with a request once its event is released.
enum Answer {
    Upgrade,
    Page,
    NotFound,
}

async fn next_relayed(
    subscription: &mut Option<broadcast::Receiver<Arc<str>>>,
) -> Result<Arc<str>, broadcast::error::RecvError> {
    match subscription {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn connection(stream: TcpStream, relay: broadcast::Sender<Arc<str>>) {
    let config = Config::new()
        .with_max_message_size(64 * 1024)
        .with_max_output_backlog(2 * HIGH_WATER);
    let mut conn = Connection::server(config);
    let mut transport = TokioTransport::new(stream, HIGH_WATER);
    // Subscribed once the upgrade is accepted.
    let mut subscription = None;
    loop {
        loop {
            let mut answer = None;
            match conn.poll_event() {
                None => break,
                Some(Event::Request(req)) => {
                    answer = Some(match (req.path(), req.is_websocket()) {
                        ("/chat", true) => Answer::Upgrade,
                        ("/" | "/index.html", false) => Answer::Page,
                        _ => Answer::NotFound,
                    });
                }
                Some(Event::Message(Message::Text(text))) => {
                    // No receivers yet is not an error.
                    let _ = relay.send(Arc::from(text));
                }
                Some(Event::Closed(_)) => subscription = None,
                Some(_) => {}
            }
            let _ = match answer {
                Some(Answer::Upgrade) => match conn.accept(Accept::new()) {
                    Ok(()) => {
                        subscription = Some(relay.subscribe());
                        Ok(())
                    }
                    // Never leave a request unanswered.
                    Err(_) => {
                        conn.respond(400, &[("Content-Type", "text/plain")], b"bad upgrade\n")
                    }
                },
                Some(Answer::Page) => conn.respond(
                    200,
                    &[("Content-Type", "text/html; charset=utf-8")],
                    PAGE.as_bytes(),
                ),
                Some(Answer::NotFound) => {
                    conn.respond(404, &[("Content-Type", "text/plain")], b"not found\n")
                }
                None => Ok(()),
            };
        }
        if transport.is_done(&conn) {
            return;
        }
        tokio::select! {
            result = transport.drive(&mut conn) => {
                if result.is_err() {
                    return;
                }
            }
            relayed = next_relayed(&mut subscription) => match relayed {
                Ok(text) => {
                    if conn.send_text(&text).is_err() && conn.output().len() > HIGH_WATER {
                        let _ = conn.close(CloseCode::POLICY, "reading too slowly");
                    }
                }
                // A browser that fell behind misses some messages, the chat goes on.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
