//! The echo behaviour shared by the echo servers (std, tokio, wss, hyper, HTTP/2) and the
//! Autobahn client: what to do with each event, independent of how bytes move. Also the
//! servers' command line (`--stats`) and the per-connection statistics line.

#![allow(dead_code)]

use std::fmt::Display;

use wsmachine::{Accept, CloseCode, Closed, Config, Connection, Event, Message, SendError, Stats};

/// Limits raised for the Autobahn|Testsuite: cases 9.* send 16 MiB messages, and 4 MiB in
/// 64-byte fragments, which its sender ends with one more, empty, final frame (65,537 frames).
/// Built with the `deflate` feature, permessage-deflate is offered (clients) and accepted
/// (servers) with the default policy.
pub fn echo_config() -> Config {
    let config = Config::new()
        .with_max_frame_size(16 << 20)
        .with_max_message_size(16 << 20)
        .with_max_fragments(65_537)
        // Room for one read's worth of echoes on top of the high-water mark the drivers keep.
        .with_max_output_backlog(64 << 20);
    #[cfg(feature = "deflate")]
    let config = config.with_deflate(wsmachine::extensions::deflate::DeflateConfig::new());
    config
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
            if conn.accept(choice).is_err() {
                // The request cannot be accepted as it stands: answer it rather than leave the
                // client (and this connection) waiting for an answer that never comes.
                let _ = conn.respond(400, &[("Content-Type", "text/plain")], b"bad upgrade\n");
            }
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

/// The command line of the example servers: positional arguments, and flags (`--name`)
/// anywhere among them; `--stats` prints each connection's statistics when it ends.
pub struct Args {
    pub positional: Vec<String>,
    pub flags: Vec<String>,
    pub stats: bool,
}

impl Args {
    pub fn parse() -> Args {
        let (flags, positional): (Vec<String>, Vec<String>) =
            std::env::args().skip(1).partition(|a| a.starts_with("--"));
        Args {
            stats: flags.iter().any(|f| f == "--stats"),
            positional,
            flags,
        }
    }

    /// Whether `flag` was given.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The `i`-th positional argument, or `default`.
    pub fn get(&self, i: usize, default: &str) -> String {
        self.positional
            .get(i)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
}

/// One line about a connection that ended: the peer, how it closed, its statistics.
pub fn stats_line(peer: impl Display, closed: Option<&Closed>, stats: &Stats) -> String {
    match closed {
        Some(c) => format!("{peer}: closed {} ({:?}); {stats}", c.code, c.cause),
        None => format!("{peer}: ended without a close; {stats}"),
    }
}
