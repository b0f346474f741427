//! The echo behaviour shared by the std and tokio echo servers and the Autobahn client: what to
//! do with each event, independent of how bytes move.

#![allow(dead_code)]

use wsmachine::{Accept, CloseCode, Closed, Config, Connection, Event, Message, SendError};

/// Limits raised for the Autobahn|Testsuite: cases 9.* send 16 MiB messages, and 4 MiB in
/// 64-byte fragments, which its sender ends with one more, empty, final frame (65,537 frames).
pub fn echo_config() -> Config {
    Config::new()
        .with_max_frame_size(16 << 20)
        .with_max_message_size(16 << 20)
        .with_max_fragments(65_537)
        // Room for one read's worth of echoes on top of the high-water mark the drivers keep.
        .with_max_output_backlog(64 << 20)
}

/// Output above which a driver stops reading until the peer has taken some (backpressure).
pub const HIGH_WATER: usize = 4 << 20;

/// The page a plain HTTP request to an echo server gets.
const PAGE: &[u8] = b"wsmachine echo server: connect with a WebSocket client\n";

/// Handles every pending event of an echo server: accepts upgrades (choosing the first offered
/// subprotocol), answers plain requests with a short page, echoes every message unchanged.
/// Returns the final `Closed` event when it arrives.
pub fn echo_events(conn: &mut Connection) -> Option<Closed> {
    let mut closed = None;
    loop {
        // What to do after the event (which borrows the connection) is released.
        let mut accept: Option<Option<String>> = None;
        let mut plain = false;
        let mut overflow = false;
        match conn.poll_event_with_sender() {
            None => break,
            Some((Event::Request(req), _)) => {
                if req.is_websocket() {
                    accept = Some(req.subprotocols().next().map(str::to_owned));
                } else {
                    plain = true;
                }
            }
            Some((Event::Message(message), mut sender)) => {
                let sent = match message {
                    Message::Text(text) => sender.send_text(text),
                    Message::Binary(data) => sender.send_binary(data),
                };
                overflow = sent == Err(SendError::OutputFull);
            }
            Some((Event::Closed(c), _)) => closed = Some(c),
            Some(_) => {}
        }
        if let Some(protocol) = accept {
            let choice = match protocol.as_deref() {
                Some(p) => Accept::new().with_subprotocol(p),
                None => Accept::new(),
            };
            let _ = conn.accept(choice);
        }
        if plain {
            let _ = conn.respond(200, &[("Content-Type", "text/plain")], PAGE);
        }
        if overflow {
            // The drivers keep the backlog far below the limit; if a peer still manages to
            // overflow it, end the connection rather than drop a message silently.
            let _ = conn.close(CloseCode::TRY_AGAIN_LATER, "output backlog full");
        }
    }
    closed
}
