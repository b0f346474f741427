//! A blocking client on top of `StdTransport`: connect, wait for events with deadlines.

#![allow(dead_code)]

use std::net::TcpStream;
use std::time::{Duration, Instant};

use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Config, Connection, Event, OwnedEvent, Seed};

use super::std_io::StdTransport;

/// A connected client.
pub struct StdClient {
    pub conn: Connection,
    pub transport: StdTransport,
}

/// The `host:port` to open a TCP connection to for a request.
pub fn socket_addr(request: &ClientRequest<'_>) -> String {
    format!("{}:{}", request.host(), request.effective_port())
}

impl StdClient {
    /// Opens a TCP connection and completes the opening handshake within `timeout`.
    pub fn connect(url: &str, config: Config, timeout: Duration) -> Result<StdClient, String> {
        let request = ClientRequest::from_uri(url).map_err(|e| format!("bad URL {url}: {e}"))?;
        let request = if request.is_secure() {
            return Err("wss:// needs TLS: see the wss examples".into());
        } else {
            request
        };
        let host = request.host().trim_start_matches('[').trim_end_matches(']');
        let stream = TcpStream::connect((host, request.effective_port()))
            .map_err(|e| format!("connect to {}: {e}", socket_addr(&request)))?;
        let seed = Seed::from_os().map_err(|e| e.to_string())?;
        let conn = Connection::client(config, &request, seed).map_err(|e| e.to_string())?;
        let mut client = StdClient {
            conn,
            transport: StdTransport::new(stream),
        };
        match client.next_event(timeout)? {
            OwnedEvent::Accepted(_) => Ok(client),
            OwnedEvent::Rejected(r) => Err(format!(
                "the server refused the upgrade: {} {}",
                r.status, r.reason
            )),
            OwnedEvent::Closed(c) => Err(format!("handshake failed: {:?}", c.cause)),
            other => Err(format!("unexpected event during the handshake: {other:?}")),
        }
    }

    /// Writes pending output and waits for the next event, at most `timeout`.
    pub fn next_event(&mut self, timeout: Duration) -> Result<OwnedEvent, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.conn.poll_event() {
                let event = event.into_owned();
                if matches!(event, OwnedEvent::Closed(_)) {
                    // After a failure the connection queued a close frame (1002, 1007, ...);
                    // §7.1.7 says it SHOULD reach the peer before the transport goes.
                    let _ = self.transport.flush(&mut self.conn);
                }
                return Ok(event);
            }
            self.transport
                .flush(&mut self.conn)
                .map_err(|e| format!("write failed: {e}"))?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no answer within {} s", timeout.as_secs()));
            }
            if self.transport.eof && self.conn.is_closed() {
                return Err("the connection is closed".into());
            }
            self.transport.idle_timeout = Some(left);
            self.transport
                .fill(&mut self.conn)
                .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?;
        }
    }

    /// Flushes, then reads until the server closes the transport (or the close timer ends it).
    pub fn finish(&mut self) -> Result<(), String> {
        while !self.transport.eof {
            self.transport
                .flush(&mut self.conn)
                .map_err(|e| format!("write failed: {e}"))?;
            self.transport.idle_timeout = Some(Duration::from_secs(10));
            self.transport
                .fill(&mut self.conn)
                .map_err(|e| format!("read failed: {e}"))?;
            while self.conn.poll_event().is_some() {}
        }
        Ok(())
    }
}

/// Drains events until one that `wanted` accepts, answering nothing itself (pings are answered
/// by the connection); fails on `Closed` or after `timeout`.
pub fn expect<T>(
    client: &mut StdClient,
    timeout: Duration,
    what: &str,
    mut wanted: impl FnMut(&OwnedEvent) -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = client
            .next_event(left)
            .map_err(|e| format!("waiting for {what}: {e}"))?;
        if let Some(found) = wanted(&event) {
            return Ok(found);
        }
        match event {
            OwnedEvent::Ping(_) | OwnedEvent::Pong(_) => {}
            OwnedEvent::Closed(c) => {
                return Err(format!(
                    "waiting for {what}: connection closed ({} {:?})",
                    c.code, c.cause
                ))
            }
            other => {
                return Err(format!(
                    "waiting for {what}: unexpected {}",
                    describe(&other)
                ))
            }
        }
    }
}

/// A short description of an event for error messages.
pub fn describe(event: &OwnedEvent) -> String {
    match event {
        OwnedEvent::Text(t) => format!("text message of {} bytes", t.len()),
        OwnedEvent::Binary(b) => format!("binary message of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

#[allow(dead_code)]
fn _unused(_: Event<'_>) {}
