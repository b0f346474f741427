//! The echo servers' behaviour on the drivers: accept any WebSocket upgrade (choosing the
//! first subprotocol offered), answer a plain HTTP request with a short page, echo every
//! message unchanged without copying it (`recv_with`). Also the servers' command line
//! (`--stats`) and the per-connection statistics line.

#![allow(dead_code)]

use std::fmt::Display;

use wsmachine::driver::{Answer, Error, Transport};
use wsmachine::{
    CloseCause, CloseCode, Closed, Config, Message, Request, SendError, Sender, Stats,
};

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

/// The page a plain HTTP request to an echo server gets.
const PAGE: &[u8] = b"wsmachine echo server: connect with a WebSocket client\n";

/// How an echo server answers a request.
pub fn answer(request: &Request<'_>) -> Answer {
    if !request.is_websocket() {
        return Answer::respond(200, PAGE.to_vec()).with_header("Content-Type", "text/plain");
    }
    match request.subprotocols().next() {
        Some(protocol) => Answer::accept().with_subprotocol(protocol),
        None => Answer::accept(),
    }
}

/// Echoes one message while it is still borrowed.
pub fn echo(message: Message<'_>, out: &mut Sender<'_>) -> Result<(), SendError> {
    match message {
        Message::Text(text) => out.send_text(text),
        Message::Binary(data) => out.send_binary(data),
    }
}

/// How a connection that failed its handshake ended, as a `Closed`.
fn handshake_closed(error: Error) -> Option<Closed> {
    match error {
        Error::Handshake(e) => Some(Closed {
            code: CloseCode::ABNORMAL,
            cause: CloseCause::Handshake(e),
        }),
        Error::Closed(c) => Some(c),
        _ => None,
    }
}

/// Serves one echo connection over a blocking `TcpStream` to its end; returns how it ended
/// and its statistics.
pub fn serve_blocking(stream: std::net::TcpStream, config: Config) -> (Option<Closed>, Stats) {
    use wsmachine::blocking::{Hooks, WebSocket};
    let _ = stream.set_nodelay(true);
    let mut ws = match WebSocket::accept_with(stream, Hooks::tcp(), config, answer) {
        Ok(Some(ws)) => ws,
        Ok(None) => {
            let responded = Closed {
                code: CloseCode::ABNORMAL,
                cause: CloseCause::Responded,
            };
            return (Some(responded), Stats::default());
        }
        Err(e) => return (handshake_closed(e), Stats::default()),
    };
    loop {
        match ws.recv_with(echo) {
            Ok(Some(Ok(()))) => {}
            // The echo did not fit the output backlog: end the connection rather than drop
            // a message silently.
            Ok(Some(Err(_))) => {
                let _ = ws.close(CloseCode::TRY_AGAIN_LATER, "output backlog full");
            }
            Ok(None) | Err(_) => break,
        }
    }
    (ws.connection().closed(), ws.connection().stats())
}

/// Serves one echo connection over any async stream (TCP, TLS, hyper's upgraded I/O) to its
/// end, with the tokio driver.
#[cfg(feature = "tokio")]
pub async fn serve_async<S>(stream: S, config: Config) -> (Option<Closed>, Stats)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let accepted = wsmachine::tokio::WebSocket::accept_with(stream, config, answer).await;
    serve_accepted(accepted).await
}

/// Serves one echo connection over a `futures-io` stream (smol, async-std) to its end, with
/// the futures-io driver.
#[cfg(feature = "futures-io")]
pub async fn serve_futures_io<S>(stream: S, config: Config) -> (Option<Closed>, Stats)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let accepted = wsmachine::futures_io::WebSocket::accept_with(stream, config, answer).await;
    serve_accepted(accepted).await
}

/// Echoes on what an async driver's `accept_with` gave, whatever its runtime.
async fn serve_accepted<T: Transport>(
    accepted: Result<Option<wsmachine::driver::WebSocket<T>>, Error>,
) -> (Option<Closed>, Stats) {
    match accepted {
        Ok(Some(ws)) => echo_open(ws).await,
        Ok(None) => (
            Some(Closed {
                code: CloseCode::ABNORMAL,
                cause: CloseCause::Responded,
            }),
            Stats::default(),
        ),
        Err(e) => (handshake_closed(e), Stats::default()),
    }
}

/// Echoes on an open connection (accepted here, or upgraded elsewhere) to its end, on any
/// runtime's transport.
pub async fn echo_open<T: Transport>(
    mut ws: wsmachine::driver::WebSocket<T>,
) -> (Option<Closed>, Stats) {
    loop {
        match ws.recv_with(echo).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(_))) => {
                let _ = ws
                    .close(CloseCode::TRY_AGAIN_LATER, "output backlog full")
                    .await;
            }
            Ok(None) | Err(_) => break,
        }
    }
    (ws.connection().closed(), ws.connection().stats())
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
