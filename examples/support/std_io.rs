//! Driving a `Connection` over a blocking `std::net::TcpStream`: the whole adapter.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use wsmachine::Connection;

use super::clock::Clock;

/// A blocking transport: writes output, half-closes when asked, reads with a read timeout
/// set to the connection's next deadline (handshake, keepalive, close), and tells the
/// connection the time after every read.
pub struct StdTransport {
    pub stream: TcpStream,
    shut_down: bool,
    /// The peer closed its side.
    pub eof: bool,
    /// The caller's own limit on one wait for input, besides the connection's deadlines
    /// (`None`: only those); when it is the one that expires, `fill` returns the timeout.
    pub idle_timeout: Option<Duration>,
    clock: Clock,
}

impl StdTransport {
    pub fn new(stream: TcpStream) -> StdTransport {
        let _ = stream.set_nodelay(true);
        // A peer that stops reading cannot pin this thread in `write` forever.
        let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
        StdTransport {
            stream,
            shut_down: false,
            eof: false,
            idle_timeout: None,
            clock: Clock::new(),
        }
    }

    /// Writes everything the connection has queued, then half-closes if it says so.
    pub fn flush(&mut self, conn: &mut Connection) -> io::Result<()> {
        while conn.wants_write() {
            match self.stream.write(conn.output()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => conn.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if conn.should_shutdown_write() && !self.shut_down {
            self.shut_down = true;
            // The peer may already be gone; that is fine.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        Ok(())
    }

    /// Blocks for input, at most until the connection's next deadline, and hands it to the
    /// connection (straight into its read buffer); then tells the connection the time.
    /// End of stream and a reset become `receive_eof`. Returns the timeout error only when
    /// `idle_timeout` (not a deadline of the connection's) expired.
    pub fn fill(&mut self, conn: &mut Connection) -> io::Result<()> {
        self.clock.tick(conn);
        if self.eof {
            return Ok(());
        }
        let deadline = self.clock.deadline(conn).map(|at| {
            at.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        let idle_first = match (self.idle_timeout, deadline) {
            (Some(idle), Some(deadline)) => idle < deadline,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let timeout = if idle_first {
            self.idle_timeout
        } else {
            deadline
        };
        self.stream.set_read_timeout(timeout)?;
        let buf = conn.read_buf();
        if buf.is_empty() {
            // The input buffer is full: the caller drains events first.
            return Ok(());
        }
        let result = match self.stream.read(buf) {
            Ok(0) => {
                self.end(conn);
                Ok(())
            }
            Ok(n) => {
                conn.commit_read(n);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                // The connection's deadline came (told below), or the caller's own limit.
                if idle_first {
                    Err(e)
                } else {
                    Ok(())
                }
            }
            // A reset ends the connection like an end of stream.
            Err(_) => {
                self.end(conn);
                Ok(())
            }
        };
        self.clock.tick(conn);
        result
    }

    fn end(&mut self, conn: &mut Connection) {
        self.eof = true;
        conn.receive_eof();
    }

    /// Whether the connection is over: closed, output written, transport finished (or
    /// dropped at the close deadline).
    pub fn is_done(&self, conn: &Connection) -> bool {
        conn.is_drained() || (conn.is_closed() && !conn.wants_write() && self.eof)
    }
}

/// Echoes on an open or opening connection until it is over; returns how it closed.
#[allow(dead_code)]
pub fn echo_loop(
    conn: &mut Connection,
    transport: &mut StdTransport,
) -> io::Result<Option<wsmachine::Closed>> {
    let mut closed = None;
    loop {
        if let Some(c) = super::echo::echo_events(conn) {
            closed = Some(c);
        }
        if transport.flush(conn).is_err() {
            // The peer stopped reading: nothing more can be delivered.
            return Ok(closed);
        }
        if transport.is_done(conn) {
            return Ok(closed);
        }
        if let Err(e) = transport.fill(conn) {
            if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut {
                // Idle for too long without a close: give up on the peer.
                return Ok(closed);
            }
            return Err(e);
        }
    }
}

/// Serves one echo connection to the end; returns how it closed.
#[allow(dead_code)]
pub fn echo_connection(stream: TcpStream) -> io::Result<Option<wsmachine::Closed>> {
    echo_connection_stats(stream).0
}

/// Serves one echo connection to the end; returns how it closed and the connection's
/// statistics (kept even when the transport failed).
pub fn echo_connection_stats(
    stream: TcpStream,
) -> (io::Result<Option<wsmachine::Closed>>, wsmachine::Stats) {
    echo_connection_config(stream, super::echo::echo_config())
}

/// [`echo_connection_stats`] with a configuration of the caller's (short deadlines in tests).
pub fn echo_connection_config(
    stream: TcpStream,
    config: wsmachine::Config,
) -> (io::Result<Option<wsmachine::Closed>>, wsmachine::Stats) {
    let mut conn = Connection::server(config);
    // A peer that connects and then says nothing is dropped at the handshake deadline, one
    // that goes silent later by keepalive: the connection's deadlines, no timer of ours.
    let mut transport = StdTransport::new(stream);
    let result = echo_loop(&mut conn, &mut transport);
    (result, conn.stats())
}
