//! The engine of the async driver, under both the whole [`WebSocket`](super::WebSocket) and
//! its split halves: one connection and its [`Transport`] (stream and clock), for any
//! runtime. `poll_io` moves whatever can move in one poll:
//! output out (and flushed), the half-close when asked, input in (unless output is backed
//! up), the time told after reads and at the connection's next deadline. What a poll moves
//! is applied to the connection within that poll, so a cancelled caller loses nothing.

use core::task::{Context, Poll};
use std::io;

use super::session::Session;
use super::transport::Transport;
use super::{Error, Next, OwnedMessage};
use crate::{Connection, Delivery, SendError};

/// The most an idle connection reads before it takes its input buffer again.
const IDLE_READ: usize = 512;

/// A connection (in its [`Session`]) and its transport.
#[derive(Debug)]
pub(crate) struct Io<T> {
    pub(crate) session: Session,
    pub(crate) transport: T,
    /// Written since the last flush (TLS streams buffer records until flushed).
    unflushed: bool,
    /// Output above which no more is read and sends wait.
    pub(crate) high_water: usize,
    /// As a `Stream`: the last item (the end, or an error) was yielded.
    #[cfg(feature = "futures")]
    pub(crate) stream_ended: bool,
}

impl<T: Transport> Io<T> {
    pub(crate) fn new(conn: Connection, transport: T, high_water: usize) -> Io<T> {
        // The connection's deadlines start now.
        let session = Session::new(conn, transport.now());
        Io {
            session,
            transport,
            unflushed: false,
            high_water,
            #[cfg(feature = "futures")]
            stream_ended: false,
        }
    }

    /// The connection.
    pub(crate) fn conn(&self) -> &Connection {
        self.session.connection()
    }

    /// The connection, for commands.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        self.session.connection_mut()
    }

    /// Whether everything is over: the transport may be dropped.
    pub(crate) fn is_done(&self) -> bool {
        self.session.is_done()
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
        if read && self.session.wants_read() && self.conn().output_len() <= self.high_water {
            if self.reads_without_buffer() {
                self.read_while_released(cx, &mut moved);
            } else {
                self.read_into_connection(cx, &mut moved);
            }
        }
        // 4. The next deadline.
        if self.poll_deadline(cx) {
            moved = true;
        }
        if let Err(Error::Io(e)) = self.session.failure() {
            return Poll::Ready(Err(e));
        }
        if moved {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Whether to wait for input without the connection's input buffer: it was given back
    /// (an idle open connection, `Config::release_buffers_after`), the connection is open
    /// and assembles messages (so an empty buffer means no frame is in progress). Taking the
    /// buffer again just to wait would undo the release for every idle connection.
    fn reads_without_buffer(&self) -> bool {
        let conn = self.conn();
        conn.memory().input == 0
            && conn.state() == crate::State::Open
            && conn.config().delivery == Delivery::Assembled
    }

    /// Reads while the connection's input buffer is given back (see
    /// [`reads_without_buffer`](Self::reads_without_buffer)).
    fn read_while_released(&mut self, cx: &mut Context<'_>, moved: &mut bool) {
        // An idle connection gave its input buffer back: wait for bytes without
        // taking it again, into a scratch on the stack (copied in when they come).
        let mut scratch = [0u8; IDLE_READ];
        let len = self.conn().config().min_read_size.clamp(1, IDLE_READ);
        let scratch = scratch.get_mut(..len).unwrap_or_default();
        if let Poll::Ready(result) = self.transport.poll_read(cx, scratch) {
            let now = self.transport.now();
            match result {
                Ok(n) if n > 0 => {
                    let bytes = scratch.get(..n).unwrap_or_default();
                    let taken = self.session.on_received(bytes, now);
                    // The connection stops taking at a frame that fails it (the rest
                    // is discarded once its events are drained, as any input after a
                    // failure); the rest goes into the input buffer as a read would.
                    let rest = bytes.get(taken..).unwrap_or_default();
                    if !rest.is_empty() {
                        let buf = self.session.read_buf();
                        match buf.get_mut(..rest.len()) {
                            Some(room) => {
                                room.copy_from_slice(rest);
                                self.session.on_read(Ok(rest.len()), now);
                            }
                            // A buffer without room for a few hundred bytes it just
                            // gave back: a broken assumption; fail rather than lose
                            // bytes.
                            None => {
                                debug_assert!(false, "a read did not fit the input buffer");
                                self.session.on_transport_error(&io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    "internal: a read did not fit the input buffer",
                                ));
                            }
                        }
                    }
                }
                other => self.session.on_read(other, now),
            }
            *moved = true;
        }
    }

    /// Reads straight into the connection's input buffer.
    fn read_into_connection(&mut self, cx: &mut Context<'_>, moved: &mut bool) {
        {
            let buf = self.session.read_buf();
            if buf.is_empty() {
                // The input buffer is full: events must be drained first.
                *moved = true;
            } else if let Poll::Ready(result) = self.transport.poll_read(cx, buf) {
                // Arrivals are timed.
                let now = self.transport.now();
                self.session.on_read(result, now);
                *moved = true;
            }
        }
    }

    /// Output out, flushed, and the half-close; whether anything moved.
    fn poll_output(&mut self, cx: &mut Context<'_>) -> bool {
        let mut moved = false;
        // 1. Output (a prepared message's shared frame comes from its shared bytes): everything
        //    the stream takes now, then flushed.
        while self.session.wants_write() {
            let output = self.session.connection().output();
            let Poll::Ready(result) = self.transport.poll_write(cx, output) else {
                break;
            };
            if matches!(result, Ok(n) if n > 0) {
                self.unflushed = true;
            }
            let now = self.transport.now();
            self.session.on_write(result, now);
            moved = true;
        }
        if self.unflushed && self.session.failure().is_ok() {
            if let Poll::Ready(result) = self.transport.poll_flush(cx) {
                self.unflushed = false;
                moved |= result.is_err();
                self.session.on_flush(result);
            }
        }
        // 2. The half-close, once all is written and flushed, when the connection asks (a
        //    TLS stream sends close_notify there rather than a bare TCP close). One attempt:
        //    a stream that cannot finish it (a peer that reads nothing) is dropped anyway.
        if self.session.should_shutdown() && !self.unflushed {
            let _ = self.transport.poll_shutdown(cx);
            self.session.on_shutdown();
            moved = true;
        }
        moved
    }

    /// Waits for the connection's next deadline; tells the time when it passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.conn().poll_timeout() else {
            return false;
        };
        if self.transport.poll_timer(cx, at).is_ready() {
            let now = self.transport.now();
            self.session.tick(now);
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
        if let Err(e) = self.session.failure() {
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
        let result = self.session.command(command);
        self.poll_write_now(cx);
        Poll::Ready(self.session.failure().and(result))
    }

    /// Waits while the output is above the high-water mark, moving it meanwhile.
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.conn().output_len() > self.high_water && !self.is_done() {
            match self.poll_out(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The next message, handed borrowed to `reply` with a [`Sender`](crate::Sender): a
    /// message is taken out of the connection only in the poll that returns it, and `reply`
    /// runs in that poll (cancel-safe). `Ok(None)` once the connection closed cleanly and
    /// its transport is finished.
    pub(crate) fn poll_recv_with<R, F>(
        &mut self,
        cx: &mut Context<'_>,
        reply: &mut Option<F>,
    ) -> Poll<Result<Option<R>, Error>>
    where
        F: FnOnce(crate::Message<'_>, &mut crate::Sender<'_>) -> R,
    {
        if self.conn().config().delivery == Delivery::Streaming {
            return Poll::Ready(Err(Error::StreamingDelivery));
        }
        loop {
            if let Err(e) = self.session.failure() {
                return Poll::Ready(Err(e));
            }
            match self.session.next_message() {
                Next::Message(ready) => {
                    let Some(reply) = reply.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let rendered = self.session.render_message_with_sender(ready);
                    let result =
                        rendered.map(|(message, mut sender)| Some(reply(message, &mut sender)));
                    // What `reply` queued starts out at once.
                    self.poll_write_now(cx);
                    return Poll::Ready(result);
                }
                Next::Ended(closed) if self.is_done() => {
                    return Poll::Ready(self.session.outcome(closed))
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

    /// The next message, copied out (cancel-safe, as
    /// [`poll_recv_with`](Self::poll_recv_with)).
    pub(crate) fn poll_recv_owned(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<OwnedMessage>, Error>> {
        let mut copy = Some(|message: crate::Message<'_>, _: &mut crate::Sender<'_>| {
            OwnedMessage::from(message)
        });
        self.poll_recv_with(cx, &mut copy)
    }

    /// The next event of any kind, handed borrowed to `f` in the poll that takes it out of
    /// the connection (cancel-safe); the end (`Closed`) once the transport is finished, then
    /// `Ok(None)`.
    pub(crate) fn poll_event_with<R, F>(
        &mut self,
        cx: &mut Context<'_>,
        f: &mut Option<F>,
    ) -> Poll<Result<Option<R>, Error>>
    where
        F: FnOnce(crate::Event<'_>) -> R,
    {
        loop {
            let finished = match self.session.next_event() {
                super::NextEvent::Event(ready) => {
                    let Some(f) = f.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let result = f(self.conn_mut().render(ready));
                    self.poll_write_now(cx);
                    return Poll::Ready(Ok(Some(result)));
                }
                super::NextEvent::Ended(_) | super::NextEvent::Over if self.is_done() => true,
                super::NextEvent::Ended(_) | super::NextEvent::Over => {
                    // Finishing the transport: what still arrives is discarded.
                    while self.conn_mut().poll_event().is_some() {}
                    false
                }
                super::NextEvent::Wait => false,
            };
            if finished {
                let Some(closed) = self.session.take_ended() else {
                    return Poll::Ready(Ok(None));
                };
                let Some(f) = f.take() else {
                    return Poll::Ready(Ok(None));
                };
                return Poll::Ready(Ok(Some(f(crate::Event::Closed(closed)))));
            }
            match self.poll_io(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Writes all pending output and flushes the stream (reading nothing): a TLS stream's
    /// records are out, not only handed to it.
    pub(crate) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            self.session.failure()?;
            if self.is_done() {
                return Poll::Ready(Ok(()));
            }
            if !self.session.wants_write() {
                if !self.unflushed {
                    return Poll::Ready(Ok(()));
                }
                let Poll::Ready(result) = self.transport.poll_flush(cx) else {
                    return Poll::Pending;
                };
                self.unflushed = false;
                self.session.on_flush(result);
                continue;
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
        if self.session.wants_write() {
            let _ = self.poll_output(cx);
        }
    }
}
