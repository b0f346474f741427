//! Driving a `Connection` over a tokio `TcpStream`: readiness-based, so it reads and writes
//! at the same time, and every await point is cancel-safe (a `select!` branch that loses
//! loses no bytes: reads go straight into the connection with `try_read`, writes come from
//! its output with `try_write`).

#![allow(dead_code)]

use std::io;

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use wsmachine::{Connection, Stats};

use super::clock::Clock;

/// The transport half of a tokio driver.
pub struct TokioTransport {
    pub stream: TcpStream,
    shut_down: bool,
    /// The peer closed its side.
    pub eof: bool,
    /// Stop reading while more than this many bytes of output wait (backpressure).
    pub high_water: usize,
    /// Tells the connection the time; its deadlines arm the timer.
    clock: Clock,
}

impl TokioTransport {
    pub fn new(stream: TcpStream, high_water: usize) -> TokioTransport {
        let _ = stream.set_nodelay(true);
        TokioTransport {
            stream,
            shut_down: false,
            eof: false,
            high_water,
            clock: Clock::new(),
        }
    }

    /// Whether the connection is over: closed, output written, transport finished (or
    /// dropped at the close deadline).
    pub fn is_done(&self, conn: &Connection) -> bool {
        conn.is_drained() || (conn.is_closed() && !conn.wants_write() && self.eof)
    }

    /// Waits until the socket can move bytes, then moves as many as it can without blocking:
    /// reads into the connection's buffer, writes its output, half-closes when asked. Drain
    /// events after each call.
    pub async fn drive(&mut self, conn: &mut Connection) -> io::Result<()> {
        // The time, for deadlines (the first call starts them); the timer below wakes the
        // connection at the next one.
        self.clock.tick(conn);
        self.half_close(conn).await;
        let read = !self.eof && conn.output().len() <= self.high_water;
        let write = conn.wants_write();
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
        let interest = match (read, write) {
            (true, true) => Interest::READABLE | Interest::WRITABLE,
            (true, false) => Interest::READABLE,
            (false, true) => Interest::WRITABLE,
            (false, false) => {
                // Nothing to read or write: only a deadline can move things.
                if deadline.is_some() {
                    timer.await;
                    self.clock.tick(conn);
                }
                return Ok(());
            }
        };
        let ready = tokio::select! {
            ready = self.stream.ready(interest) => ready?,
            () = timer => {
                self.clock.tick(conn);
                return Ok(());
            }
        };
        if ready.is_readable() && read {
            let buf = conn.read_buf();
            if !buf.is_empty() {
                match self.stream.try_read(buf) {
                    Ok(0) => self.end(conn),
                    Ok(n) => conn.commit_read(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => self.end(conn),
                }
                // Arrivals are timed.
                self.clock.tick(conn);
            }
        }
        if (ready.is_writable() || ready.is_write_closed()) && conn.wants_write() {
            match self.stream.try_write(conn.output()) {
                Ok(n) => conn.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        self.half_close(conn).await;
        Ok(())
    }

    async fn half_close(&mut self, conn: &Connection) {
        if conn.should_shutdown_write() && !self.shut_down {
            self.shut_down = true;
            // For a TcpStream this completes in its first poll (shutdown(Write) on the socket),
            // so it cannot be cut in half by a cancelled `select!` branch.
            let _ = self.stream.shutdown().await;
        }
    }

    fn end(&mut self, conn: &mut Connection) {
        self.eof = true;
        conn.receive_eof();
    }
}

/// Serves one echo connection on tokio to the end.
#[allow(dead_code)]
pub async fn echo_connection(stream: TcpStream) -> io::Result<Option<wsmachine::Closed>> {
    Ok(echo_connection_stats(stream).await.0)
}

/// Serves one echo connection on tokio to the end; returns how it closed (if it did) and the
/// connection's statistics.
pub async fn echo_connection_stats(stream: TcpStream) -> (Option<wsmachine::Closed>, Stats) {
    echo_open(Connection::server(super::echo::echo_config()), stream).await
}

/// An echo connection with a configuration of the caller's (short deadlines in tests).
pub async fn echo_connection_config(
    stream: TcpStream,
    config: wsmachine::Config,
) -> (Option<wsmachine::Closed>, Stats) {
    echo_open(Connection::server(config), stream).await
}

/// Echoes on `conn` (a new server, or one already upgraded elsewhere) over `stream` until the
/// connection is over.
pub async fn echo_open(
    mut conn: Connection,
    stream: TcpStream,
) -> (Option<wsmachine::Closed>, Stats) {
    let mut transport = TokioTransport::new(stream, super::echo::HIGH_WATER);
    let mut closed = None;
    loop {
        if let Some(c) = super::echo::echo_events(&mut conn) {
            closed = Some(c);
        }
        if transport.is_done(&conn) || transport.drive(&mut conn).await.is_err() {
            return (closed, conn.stats());
        }
    }
}
