//! Driving a `Connection` over a blocking `std::net::TcpStream`: the whole adapter.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use wsmachine::Connection;

/// How long to wait for the peer once a close is expected (§7.1.1 leaves this to us).
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A blocking transport: writes output, half-closes when asked, reads with the close timer.
pub struct StdTransport {
    pub stream: TcpStream,
    shut_down: bool,
    /// The peer closed its side (or the close timer expired).
    pub eof: bool,
    /// Read timeout while no close is expected (`None`: wait forever).
    pub idle_timeout: Option<Duration>,
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

    /// Blocks for input and hands it to the connection (straight into its read buffer).
    /// End of stream, a reset, or the close timer expiring all become `receive_eof`.
    pub fn fill(&mut self, conn: &mut Connection) -> io::Result<()> {
        if self.eof {
            return Ok(());
        }
        let timeout = if conn.close_expected() {
            Some(CLOSE_TIMEOUT)
        } else {
            self.idle_timeout
        };
        self.stream.set_read_timeout(timeout)?;
        let buf = conn.read_buf();
        if buf.is_empty() {
            // The input buffer is full: the caller drains events first.
            return Ok(());
        }
        match self.stream.read(buf) {
            Ok(0) => self.end(conn),
            Ok(n) => conn.commit_read(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if conn.close_expected() {
                    // The close timer expired: drop the transport.
                    self.end(conn);
                } else {
                    return Err(e);
                }
            }
            // A reset ends the connection like an end of stream.
            Err(_) => self.end(conn),
        }
        Ok(())
    }

    fn end(&mut self, conn: &mut Connection) {
        self.eof = true;
        conn.receive_eof();
    }

    /// Whether the connection is over: closed, output written, transport finished.
    pub fn is_done(&self, conn: &Connection) -> bool {
        conn.is_closed() && !conn.wants_write() && self.eof
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
    let mut conn = Connection::server(super::echo::echo_config());
    let mut transport = StdTransport::new(stream);
    // A peer that connects and then says nothing is dropped after a while.
    transport.idle_timeout = Some(Duration::from_secs(60));
    let result = echo_loop(&mut conn, &mut transport);
    (result, conn.stats())
}
