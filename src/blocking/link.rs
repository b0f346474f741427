//! One connection over a blocking stream: its [`Session`] and the stream's I/O around it
//! (writes until each deadline, reads until the next one), for the whole
//! [`WebSocket`](super::WebSocket) and for the writer of a split one.

use core::time::Duration;
use std::io::{Read, Write};
use std::time::Instant;

use super::Hooks;
use crate::driver::{Error, Session};
use crate::{Connection, Timestamp};

/// A session and its stream.
#[derive(Debug)]
pub(super) struct Link<S> {
    pub(super) session: Session,
    pub(super) stream: S,
    pub(super) hooks: Hooks<S>,
    /// The origin of the connection's `Timestamp`s.
    origin: Instant,
}

impl<S: Read + Write> Link<S> {
    pub(super) fn new(conn: Connection, stream: S, hooks: Hooks<S>) -> Link<S> {
        let origin = Instant::now();
        Link {
            session: Session::new(conn, Timestamp::since(origin, Instant::now())),
            stream,
            hooks,
            origin,
        }
    }

    /// Runs a command and writes its frame out. Once the transport failed, every command
    /// reports that failure (a command whose write fails too).
    pub(super) fn command(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        self.session.command(f)?;
        self.write_out();
        self.session.failure()
    }

    /// Writes all pending output.
    pub(super) fn flush(&mut self) -> Result<(), Error> {
        self.session.failure()?;
        self.write_out();
        self.session.failure()
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::since(self.origin, Instant::now())
    }

    /// How long a blocking call may wait: until the connection's next deadline.
    pub(super) fn wait(&self) -> Option<Duration> {
        let at = self.session.connection().poll_timeout()?;
        Some(
            at.saturating_duration_since(self.now())
                .max(Duration::from_millis(1)),
        )
    }

    fn set_timeout(&self) {
        self.set_timeout_on(&self.stream);
    }

    /// Sets `stream`'s timeouts (this link's, or a split reader's clone of it) to the time
    /// left until the next deadline.
    pub(super) fn set_timeout_on(&self, stream: &S) {
        if let Some(set) = self.hooks.timeouts {
            // A stream that refuses the timeout just blocks longer.
            let _ = set(stream, self.wait());
        }
    }

    /// Writes the output out (waiting at most until each deadline, which is then told), and
    /// half-closes when the connection asks.
    pub(super) fn write_out(&mut self) {
        while self.session.wants_write() && !self.session.is_done() {
            self.set_timeout();
            let written = self.stream.write(self.session.connection().output());
            let now = self.now();
            self.session.on_write(written, now);
        }
        if self.session.failure().is_ok() && !self.session.connection().wants_write() {
            let flushed = self.stream.flush();
            self.session.on_flush(flushed);
        }
        if self.session.should_shutdown() {
            if let Some(shutdown) = self.hooks.shutdown {
                // The peer may be gone already: nothing left to tell it then.
                let _ = shutdown(&mut self.stream);
            }
            self.session.on_shutdown();
        }
    }

    /// One turn: output out, then input in (waiting at most until the next deadline), and
    /// the time told.
    pub(super) fn step(&mut self) -> Result<(), Error> {
        self.write_out();
        self.session.failure()?;
        if self.session.is_done() {
            return Ok(());
        }
        if !self.session.wants_read() {
            // Nothing to read: only a deadline (or the application) can move things.
            match self.wait() {
                Some(wait) => std::thread::sleep(wait),
                None => return Ok(()),
            }
            let now = self.now();
            self.session.tick(now);
            return Ok(());
        }
        self.set_timeout();
        let buf = self.session.read_buf();
        if buf.is_empty() {
            // The input buffer is full: events must be drained first.
            return Ok(());
        }
        let read = self.stream.read(buf);
        let now = self.now();
        self.session.on_read(read, now);
        self.session.failure()
    }

    /// Drives an ended connection until its transport is finished too (the peer's end of
    /// stream, or the close deadline), discarding what still arrives.
    pub(super) fn finish(&mut self) {
        while !self.session.is_done() {
            while self.session.connection_mut().poll_event().is_some() {}
            let before = (
                self.session.transport_ended(),
                self.session.connection().output_len(),
            );
            if self.step().is_err() {
                return;
            }
            // Without timeouts, a stream at its end with no deadline left cannot move.
            if before == (true, self.session.connection().output_len())
                && self.session.connection().poll_timeout().is_none()
            {
                return;
            }
        }
    }
}
