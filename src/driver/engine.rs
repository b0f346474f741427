//! The engine of the async driver, under both the whole [`WebSocket`](super::WebSocket) and
//! its split halves: one connection and its [`Transport`] (stream and clock), for any
//! runtime. `poll_io` moves whatever can move in one poll:
//! output out (and flushed), the half-close when asked, input in (unless output is backed
//! up), the time told after reads and at the connection's next deadline. What a poll moves
//! is applied to the connection within that poll, so a cancelled caller loses nothing.

use core::task::{Context, Poll};
use std::io;

use super::transport::Transport;
use super::{
    message_of, next_message, outcome, trace_end, transport_failed, Error, Failure, Next,
    OwnedMessage,
};
use crate::{Connection, Delivery, SendError};

/// A connection and its transport.
#[derive(Debug)]
pub(crate) struct Io<T> {
    pub(crate) conn: Connection,
    pub(crate) transport: T,
    /// The stream reported end of stream (or failed).
    eof: bool,
    /// The stream failed: nothing more is written to it, and every later call reports this.
    failure: Option<Failure>,
    shut_down: bool,
    /// The connection was drained and one last pass flushed and half-closed what it could:
    /// the stream may be dropped (a server closes at once after the closing handshake,
    /// §5.5.1, and a stream stuck on a peer that does not read must not hold it).
    last_pass: bool,
    /// Written since the last flush (TLS streams buffer records until flushed).
    unflushed: bool,
    /// Output above which no more is read and sends wait.
    pub(crate) high_water: usize,
    /// `recv_event`: the connection's `Closed` event, taken from it and held until the
    /// transport is finished.
    pub(crate) ended: Option<crate::Closed>,
    /// As a `Stream`: the last item (the end, or an error) was yielded.
    #[cfg(feature = "futures")]
    pub(crate) stream_ended: bool,
}

impl<T> Drop for Io<T> {
    fn drop(&mut self) {
        trace_end(&self.conn);
    }
}

impl<T: Transport> Io<T> {
    pub(crate) fn new(conn: Connection, transport: T, high_water: usize) -> Io<T> {
        let mut io = Io {
            conn,
            transport,
            eof: false,
            failure: None,
            shut_down: false,
            last_pass: false,
            unflushed: false,
            high_water,
            ended: None,
            #[cfg(feature = "futures")]
            stream_ended: false,
        };
        // The connection's deadlines start now.
        io.tick();
        io
    }

    /// Right after the handshake: a connection with nothing buffered gives its buffers back,
    /// so that an idle connection holds no heap beyond its state (they grow again with the
    /// first message).
    pub(crate) fn settle_idle(&mut self) {
        if !self.wants_write() {
            self.conn.release_buffers();
        }
    }

    /// Tells the connection the time.
    pub(crate) fn tick(&mut self) {
        let now = self.transport.now();
        self.conn.handle_timeout(now);
    }

    /// Whether everything is over: the connection ended, its transport too, nothing left to
    /// write (or the close deadline abandoned it).
    pub(crate) fn is_done(&self) -> bool {
        let transport_over = self.eof || self.failure.is_some() || self.last_pass;
        transport_over && (self.is_drained() || (self.conn.is_closed() && !self.wants_write()))
    }

    /// Bytes wait to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// The connection is drained.
    fn is_drained(&self) -> bool {
        self.conn.is_drained()
    }

    /// The transport failed (a read or write returned `error`): the connection ends at once,
    /// its output dropped, and every later call reports the failure.
    fn lost(&mut self, error: &io::Error) {
        self.eof = true;
        transport_failed(&mut self.conn, &mut self.failure, error);
    }

    /// The transport's failure, kept for every later call.
    pub(crate) fn failed(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The transport's failure, if it failed: what every call reports from then on.
    pub(crate) fn failure(&self) -> Result<(), Error> {
        match &self.failure {
            Some(failure) => Err(failure.error()),
            None => Ok(()),
        }
    }

    /// Moves what can move now, input included: for callers that wait for input (the
    /// connection has no event ready). `Ready` once anything moved (bytes, the half-close, a
    /// deadline), `Pending` with the waker registered for everything it waits on.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_moves(cx, true)
    }

    /// [`poll_io`](Self::poll_io) without reading: for callers that wait for output to
    /// drain (a send above the high-water mark, a flush). Reading there would pile input up
    /// behind messages nobody has taken yet: input is read only when the connection has
    /// nothing ready, so it holds at most one read beyond an incomplete message.
    pub(crate) fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_moves(cx, false)
    }

    fn poll_moves(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<io::Result<()>> {
        let mut moved = self.poll_output(cx);
        // 3. Input, straight into the connection's buffer, unless too much output waits
        //    (backpressure: a peer that does not read cannot make us buffer more).
        if read && !self.eof && self.conn.output_len() <= self.high_water {
            let buf = self.conn.read_buf();
            if buf.is_empty() {
                // The input buffer is full: events must be drained first.
                moved = true;
            } else {
                match self.transport.poll_read(cx, buf) {
                    Poll::Ready(Ok(n)) => {
                        if n == 0 {
                            self.eof = true;
                            self.conn.receive_eof();
                        } else {
                            self.conn.commit_read(n);
                        }
                        // Arrivals are timed.
                        self.tick();
                        moved = true;
                    }
                    // A reset (or a TLS peer gone without close_notify).
                    Poll::Ready(Err(e)) => {
                        self.lost(&e);
                        moved = true;
                    }
                    Poll::Pending => {}
                }
            }
        }
        // 4. The next deadline.
        if self.poll_deadline(cx) {
            moved = true;
        }
        if let Some(failure) = &self.failure {
            return Poll::Ready(Err(failure.io_error()));
        }
        if moved {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Output out, flushed, and the half-close; whether anything moved.
    fn poll_output(&mut self, cx: &mut Context<'_>) -> bool {
        let drained = self.is_drained();
        let mut moved = false;
        // 1. Output (a prepared message's shared frame comes from its shared bytes): everything
        //    the stream takes now, then flushed.
        while self.wants_write() && self.failure.is_none() {
            match self.transport.poll_write(cx, self.conn.output()) {
                Poll::Ready(Ok(0)) => {
                    self.lost(&io::ErrorKind::WriteZero.into());
                    moved = true;
                }
                Poll::Ready(Err(e)) => {
                    self.lost(&e);
                    moved = true;
                }
                Poll::Ready(Ok(n)) => {
                    self.conn.consume_output(n);
                    self.unflushed = true;
                    moved = true;
                }
                Poll::Pending => break,
            }
        }
        if self.unflushed && self.failure.is_none() {
            match self.transport.poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => {
                    self.unflushed = false;
                    self.lost(&e);
                    moved = true;
                }
                Poll::Pending => {}
            }
        }
        // 2. The half-close, once all is written: when the connection asks (the server
        //    after the closing handshake, either side after a failure), and once it is over
        //    (a TLS stream then sends close_notify rather than a bare TCP close).
        let over = self.conn.should_shutdown_write()
            || (self.conn.is_closed() && !self.conn.wants_write());
        if over && !self.unflushed && !self.shut_down && self.failure.is_none() {
            // An error means the peer is gone already: nothing left to tell it.
            if self.transport.poll_shutdown(cx).is_ready() {
                self.shut_down = true;
                moved = true;
            }
        }
        if drained && !self.last_pass {
            self.last_pass = true;
            moved = true;
        }
        moved
    }

    /// Waits for the connection's next deadline; tells the time when it passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.conn.poll_timeout() else {
            return false;
        };
        if self.transport.poll_timer(cx, at).is_ready() {
            self.tick();
            return true;
        }
        false
    }

    /// Queues `command` once there is room (for `data`: output at or below the high-water
    /// mark), in the poll that completes, and starts writing it: a caller cancelled before
    /// completion queued nothing. Once the transport failed, every command reports that
    /// failure (a command whose first write fails too).
    pub(crate) fn poll_command<F>(
        &mut self,
        cx: &mut Context<'_>,
        data: bool,
        command: &mut Option<F>,
    ) -> Poll<Result<(), Error>>
    where
        F: FnOnce(&mut Connection) -> Result<(), SendError>,
    {
        if let Err(e) = self.failure() {
            return Poll::Ready(Err(e));
        }
        if data {
            match self.poll_room(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
        }
        let Some(command) = command.take() else {
            return Poll::Ready(Ok(()));
        };
        let result = command(&mut self.conn).map_err(Error::Send);
        self.poll_write_now(cx);
        Poll::Ready(self.failure().and(result))
    }

    /// Waits while the output is above the high-water mark, moving it meanwhile.
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.conn.output_len() > self.high_water && !self.is_done() {
            match self.poll_out(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The next message, copied out: a message is taken out of the connection only in the
    /// poll that returns it (cancel-safe). `Ok(None)` once the connection closed cleanly and
    /// its transport is finished.
    pub(crate) fn poll_recv_owned(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<OwnedMessage>, Error>> {
        if self.conn.config().delivery == Delivery::Streaming {
            return Poll::Ready(Err(Error::StreamingDelivery));
        }
        loop {
            if let Err(e) = self.failure() {
                return Poll::Ready(Err(e));
            }
            match next_message(&mut self.conn) {
                Next::Message(ready) => {
                    return Poll::Ready(
                        message_of(self.conn.render(ready)).map(|m| Some(m.into())),
                    );
                }
                Next::Ended(closed) if self.is_done() => {
                    return Poll::Ready(outcome(closed, self.failure.as_ref()))
                }
                // Ended, the transport not finished yet (the peer's end of stream, or the
                // close deadline); or waiting for bytes.
                Next::Ended(_) | Next::Wait => match self.poll_io(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// Writes all pending output (reading nothing).
    pub(crate) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            self.failure()?;
            if !self.wants_write() || self.is_done() {
                return Poll::Ready(Ok(()));
            }
            match self.poll_out(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// One write attempt within the current poll, so that what a send queued starts out at
    /// once; never waits.
    pub(crate) fn poll_write_now(&mut self, cx: &mut Context<'_>) {
        if self.wants_write() {
            let _ = self.poll_output(cx);
        }
    }
}
