//! Driving a `Connection` over any `AsyncRead + AsyncWrite + Unpin` stream (a TLS stream,
//! hyper's upgraded I/O, a duplex pipe), plus an echo loop and a small client on top.
//!
//! Unlike `tokio_io.rs`, a generic stream has no readiness API, so one `poll_fn` polls both
//! directions of the same stream: it writes (and flushes) output and reads into the
//! connection's buffer in the same step, and returns as soon as either made progress. What a
//! poll completes is applied to the connection inside that poll, so a step cancelled by a
//! timeout or a `select!` loses no bytes.
//!
//! The [`Driver`] trait is what the echo loop and the client need from a transport; the HTTP/2
//! stream transport (`h2_ws.rs`) implements it too. Include it next to `echo.rs` and
//! `client_checks.rs` (it uses both as `super::`).

#![allow(dead_code)]

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::clock::Clock;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{CloseCode, Closed, Config, Connection, OwnedEvent, Seed, Stats};

use super::client_checks::*;

/// A transport that moves a connection's bytes.
pub trait Driver {
    /// Waits until bytes can move or the connection's next deadline comes, moves what it
    /// can (input into the connection, its output out, a half-close when asked, end of
    /// stream as `receive_eof`) and tells the connection the time. Drain events after each
    /// call. Cancel-safe.
    fn drive(&mut self, conn: &mut Connection) -> impl Future<Output = io::Result<()>>;

    /// Whether the connection is over: closed, output written, transport finished.
    fn is_done(&self, conn: &Connection) -> bool;
}

/// The driver for an `AsyncRead + AsyncWrite` stream.
pub struct AsyncTransport<S> {
    pub stream: S,
    /// Output was written since the last flush (TLS buffers records until flushed).
    unflushed: bool,
    shut_down: bool,
    /// The peer closed its side, or a read failed.
    pub eof: bool,
    /// Stop reading while more than this many bytes of output wait (backpressure).
    pub high_water: usize,
    /// Tells the connection the time; its deadlines arm the timer.
    pub clock: Clock,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncTransport<S> {
    pub fn new(stream: S, high_water: usize) -> AsyncTransport<S> {
        AsyncTransport {
            stream,
            unflushed: false,
            shut_down: false,
            eof: false,
            high_water,
            clock: Clock::new(),
        }
    }

    fn end(&mut self, conn: &mut Connection) {
        self.eof = true;
        conn.receive_eof();
    }

    /// One step: write, flush, half-close, read; `Ready` once anything moved.
    fn poll_step(&mut self, cx: &mut Context<'_>, conn: &mut Connection) -> Poll<io::Result<()>> {
        let mut moved = false;
        // 1. Output: everything the stream takes now.
        while conn.wants_write() {
            match Pin::new(&mut self.stream).poll_write(cx, conn.output()) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    conn.consume_output(n);
                    self.unflushed = true;
                    moved = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        if self.unflushed {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        // 2. Half-close once everything is out: when the core asks (the server after the
        //    closing handshake, either side after a failure), and also once the connection is
        //    over (a client: a TLS close_notify rather than a bare TCP close).
        let over = conn.should_shutdown_write() || (conn.is_closed() && !conn.wants_write());
        // (An error from the shutdown means the peer is gone already: nothing left to tell.)
        if over
            && !self.unflushed
            && !self.shut_down
            && Pin::new(&mut self.stream).poll_shutdown(cx).is_ready()
        {
            self.shut_down = true;
            moved = true;
        }
        // 3. Input, straight into the connection's buffer (unless too much output waits).
        if !self.eof && conn.output().len() <= self.high_water {
            let buf = conn.read_buf();
            if buf.is_empty() {
                // The input buffer is full: the caller drains events, which frees it.
                moved = true;
            } else {
                let mut read = ReadBuf::new(buf);
                match Pin::new(&mut self.stream).poll_read(cx, &mut read) {
                    Poll::Ready(Ok(())) => {
                        let n = read.filled().len();
                        if n == 0 {
                            self.end(conn);
                        } else {
                            conn.commit_read(n);
                        }
                        moved = true;
                    }
                    // A reset (or a TLS peer that vanished without close_notify) ends the
                    // connection like an end of stream.
                    Poll::Ready(Err(_)) => {
                        self.end(conn);
                        moved = true;
                    }
                    Poll::Pending => {}
                }
            }
        }
        if moved {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Driver for AsyncTransport<S> {
    async fn drive(&mut self, conn: &mut Connection) -> io::Result<()> {
        self.clock.tick(conn);
        let deadline = self
            .clock
            .deadline(conn)
            .map(tokio::time::Instant::from_std);
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            result = poll_fn(|cx| self.poll_step(cx, conn)) => result,
            () = timer => Ok(()),
        };
        // After reads (arrivals are timed) and when the deadline came.
        self.clock.tick(conn);
        result
    }

    fn is_done(&self, conn: &Connection) -> bool {
        conn.is_drained() || (conn.is_closed() && !conn.wants_write() && self.eof)
    }
}

/// Echoes on `conn` until the connection is over; returns how it closed (if it did) and the
/// connection's statistics. A transport error ends it like an end of stream.
pub async fn echo_async<D: Driver>(mut conn: Connection, mut driver: D) -> (Option<Closed>, Stats) {
    let mut closed = None;
    loop {
        if let Some(c) = super::echo::echo_events(&mut conn) {
            closed = Some(c);
        }
        if driver.is_done(&conn) || driver.drive(&mut conn).await.is_err() {
            return (closed, conn.stats());
        }
    }
}

/// Serves one echo connection (opening handshake included) over `stream`.
pub async fn echo_connection_async<S>(stream: S) -> (Option<Closed>, Stats)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let conn = Connection::server(super::echo::echo_config());
    echo_async(conn, AsyncTransport::new(stream, super::echo::HIGH_WATER)).await
}

/// A client connection and its transport.
pub struct AsyncClient<D> {
    pub conn: Connection,
    pub driver: D,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncClient<AsyncTransport<S>> {
    /// Runs the HTTP/1.1 opening handshake for `request` over an open `stream` (TCP, TLS),
    /// within `timeout`.
    pub async fn connect(
        stream: S,
        request: &ClientRequest<'_>,
        config: Config,
        timeout: Duration,
    ) -> Result<AsyncClient<AsyncTransport<S>>, String> {
        let seed = Seed::from_os().map_err(|e| e.to_string())?;
        let conn = Connection::client(config, request, seed).map_err(|e| e.to_string())?;
        AsyncClient::open(conn, AsyncTransport::new(stream, usize::MAX), timeout).await
    }
}

impl<D: Driver> AsyncClient<D> {
    /// Completes the opening handshake of a new client `conn` over `driver`, within `timeout`.
    pub async fn open(conn: Connection, driver: D, timeout: Duration) -> Result<Self, String> {
        let mut client = AsyncClient { conn, driver };
        match client.next_event(timeout).await? {
            OwnedEvent::Accepted(_) => Ok(client),
            OwnedEvent::Rejected(r) => {
                Err(format!("the server refused: {} {}", r.status, r.reason))
            }
            other => Err(format!("handshake failed: {other:?}")),
        }
    }

    /// Moves bytes until the next event, at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<OwnedEvent, String> {
        let wait = async {
            loop {
                if let Some(event) = self.conn.poll_event() {
                    let event = event.into_owned();
                    if matches!(event, OwnedEvent::Closed(_)) {
                        // A failure queued a close frame (§7.1.7: it SHOULD be sent): write
                        // it out before the caller gives up on the connection.
                        while self.conn.wants_write() && !self.driver.is_done(&self.conn) {
                            if self.driver.drive(&mut self.conn).await.is_err() {
                                break;
                            }
                        }
                    }
                    return Ok(event);
                }
                if self.driver.is_done(&self.conn) {
                    return Err("the connection is closed".to_string());
                }
                self.driver
                    .drive(&mut self.conn)
                    .await
                    .map_err(|e| format!("transport error: {e}"))?;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
    }

    /// Waits for an event `check` accepts (`Ok(true)`); pings, pongs and the peer's close
    /// frame are skipped, anything else is a failure.
    pub async fn wait(
        &mut self,
        what: &str,
        mut check: impl FnMut(&OwnedEvent) -> Result<bool, String>,
    ) -> Result<(), String> {
        loop {
            let event = self
                .next_event(STEP_TIMEOUT)
                .await
                .map_err(|e| format!("waiting for {what}: {e}"))?;
            if check(&event)? {
                return Ok(());
            }
            match event {
                OwnedEvent::Ping(_) | OwnedEvent::Pong(_) | OwnedEvent::CloseReceived { .. } => {}
                OwnedEvent::Text(t) => {
                    return Err(format!(
                        "waiting for {what}: unexpected text of {} B",
                        t.len()
                    ))
                }
                OwnedEvent::Binary(b) => {
                    return Err(format!(
                        "waiting for {what}: unexpected binary of {} B",
                        b.len()
                    ))
                }
                other => return Err(format!("waiting for {what}: unexpected {other:?}")),
            }
        }
    }

    /// Drives the connection until the server has closed the transport.
    pub async fn finish(&mut self) -> Result<(), String> {
        let wait = async {
            while !self.driver.is_done(&self.conn) {
                while self.conn.poll_event().is_some() {}
                self.driver
                    .drive(&mut self.conn)
                    .await
                    .map_err(|e| format!("transport error: {e}"))?;
            }
            Ok(())
        };
        tokio::time::timeout(STEP_TIMEOUT, wait)
            .await
            .map_err(|_| "the transport did not close".to_string())?
    }

    /// The example client's conversation with an echo server: `hello` and its echo, 1 MiB of
    /// binary and its echo, a ping and its pong, a close with 1000 and the server's answer,
    /// then the end of the transport.
    pub async fn run_checks(&mut self) -> Result<(), String> {
        self.conn.send_text("hello").map_err(|e| e.to_string())?;
        self.wait("the text echo", |e| is_text(e, "hello")).await?;
        let payload = big_payload();
        self.conn.send_binary(&payload).map_err(|e| e.to_string())?;
        self.wait("the 1 MiB binary echo", |e| is_binary(e, &payload))
            .await?;
        self.conn.ping(b"wsmachine").map_err(|e| e.to_string())?;
        self.wait("the pong", |e| Ok(is_pong(e, b"wsmachine")))
            .await?;
        self.conn
            .close(CloseCode::NORMAL, "done")
            .map_err(|e| e.to_string())?;
        self.wait("the server's close", is_clean_close).await?;
        self.finish().await
    }
}
