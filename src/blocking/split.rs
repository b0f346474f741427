//! The two halves of a split blocking [`WebSocket`](super::WebSocket): a [`Reader`] for one
//! thread and a [`Writer`] for another, over two handles to one stream (a `TcpStream` and
//! its `try_clone`). The connection is shared behind a lock that is never held across a
//! read: the reader reads into a buffer of its own, then takes the lock to hand the bytes
//! over. Writes are made under the lock (whichever half has output writes it, so pongs and
//! the close reply go out while only the reader runs), each bounded by the connection's next
//! deadline through the stream's timeouts.

use std::boxed::Box;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::vec;

use super::link::Link;
use crate::driver::{Error, Next, NextEvent, OwnedMessage};
use crate::{Connection, Event, Message, Sender};

/// How much a reader reads at once: the size of its own buffer.
const READ_CHUNK: usize = 16 * 1024;

/// The receiving half of a split [`WebSocket`](super::WebSocket), for one thread.
///
/// ```
/// use std::net::{TcpListener, TcpStream};
/// use wsmachine::blocking::{Hooks, WebSocket};
/// use wsmachine::driver::OwnedMessage;
/// use wsmachine::handshake::client::ClientRequest;
/// use wsmachine::{CloseCode, Config};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = std::thread::spawn(move || -> Result<(), wsmachine::driver::Error> {
///     let (mut reader, mut writer) = wsmachine::blocking::accept(listener.accept()?.0)?.split()?;
///     // A ticker on a thread of its own while this one receives (the pong first: once the
///     // client has the tick it may close, and nothing can be sent after that).
///     let ticker = std::thread::spawn(move || {
///         writer.pong(b"")?;
///         writer.send_text("tick")?;
///         Ok::<_, wsmachine::driver::Error>(writer)
///     });
///     assert_eq!(reader.recv_owned()?, Some(OwnedMessage::Text("hello".into())));
///     let echoed = reader.recv_with(|message, out| match message {
///         wsmachine::Message::Text(text) => out.send_text(text),
///         wsmachine::Message::Binary(data) => out.send_binary(data),
///     })?;
///     assert!(matches!(echoed, Some(Ok(()))));
///     while reader.recv_event_with(|_| ())?.is_some() {} // until the client's close
///     let _writer = ticker.join().unwrap()?;
///     Ok(())
/// });
///
/// let (mut ws, _) = WebSocket::connect(TcpStream::connect(addr)?, Hooks::tcp(), &ClientRequest::new("127.0.0.1", "/"), Config::new())?;
/// ws.send_text("hello")?;
/// ws.send_text("echo me")?;
/// let mut got = Vec::new();
/// while got.len() < 2 {
///     got.push(ws.recv_owned()?.expect("a message"));
/// }
/// assert!(got.contains(&OwnedMessage::Text("tick".into())));
/// assert!(got.contains(&OwnedMessage::Text("echo me".into())));
/// ws.close(CloseCode::NORMAL, "bye")?;
/// while ws.recv()?.is_some() {}
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Reader<S> {
    shared: Arc<Mutex<Link<S>>>,
    /// The reader's own handle to the stream.
    stream: S,
    /// What was read and not yet taken by the connection: `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// The sending half of a split [`WebSocket`](super::WebSocket), for another thread (example
/// on [`Reader`]). Each send writes its frame out before it returns.
#[derive(Debug)]
pub struct Writer<S> {
    shared: Arc<Mutex<Link<S>>>,
}

/// Splits `link`, with `reading` the reader's handle to its stream.
pub(super) fn split<S>(link: Link<S>, reading: S) -> (Reader<S>, Writer<S>) {
    let shared = Arc::new(Mutex::new(link));
    (
        Reader {
            shared: Arc::clone(&shared),
            stream: reading,
            buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
        },
        Writer { shared },
    )
}

fn lock<S>(shared: &Mutex<Link<S>>) -> MutexGuard<'_, Link<S>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: Read + Write> Reader<S> {
    /// The next message, copied out of the connection (the halves share it, so a message
    /// cannot stay borrowed: [`recv_with`](Self::recv_with) reads one without a copy).
    /// Pings are answered and skipped. `Ok(None)` once the connection closed cleanly and
    /// its transport is finished. Example on [`Reader`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv`](super::WebSocket::recv).
    pub fn recv_owned(&mut self) -> Result<Option<OwnedMessage>, Error> {
        self.recv_with(|message, _| OwnedMessage::from(message))
    }

    /// The next message, handed borrowed to `reply` with a [`Sender`] that queues frames on
    /// this connection (an echo without a copy); what `reply` queued is written out before
    /// this returns. `reply` runs under the lock the halves share: keep it short. Example on
    /// [`Reader`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv`](super::WebSocket::recv).
    pub fn recv_with<R>(
        &mut self,
        reply: impl FnOnce(Message<'_>, &mut Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        loop {
            {
                let mut link = lock(&self.shared);
                if link.session.connection().config().delivery == crate::Delivery::Streaming {
                    return Err(Error::StreamingDelivery);
                }
                match link.session.next_message() {
                    Next::Message(ready) => {
                        let result = link
                            .session
                            .render_message_with_sender(ready)
                            .map(|(message, mut sender)| Some(reply(message, &mut sender)));
                        link.write_out();
                        return result;
                    }
                    Next::Ended(closed) if link.session.is_done() => {
                        return link.session.outcome(closed)
                    }
                    // Finishing the transport: what still arrives is discarded.
                    Next::Ended(_) => while link.session.connection_mut().poll_event().is_some() {},
                    Next::Wait => {}
                }
            }
            self.step()?;
        }
    }

    /// The next event of any kind (fragments with streaming delivery, pings, pongs, the
    /// peer's close frame, and last `Closed`, once the transport is finished), handed
    /// borrowed to `f`; `Ok(None)` after `Closed`. `f` runs under the lock the halves share.
    /// Example on [`Reader`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv_event`](super::WebSocket::recv_event).
    pub fn recv_event_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        loop {
            {
                let mut link = lock(&self.shared);
                let finished = match link.session.next_event() {
                    NextEvent::Event(ready) => {
                        let result = f(link.session.connection_mut().render(ready));
                        link.write_out();
                        return Ok(Some(result));
                    }
                    NextEvent::Ended(_) | NextEvent::Over => {
                        while link.session.connection_mut().poll_event().is_some() {}
                        link.session.is_done()
                    }
                    NextEvent::Wait => false,
                };
                if finished {
                    return Ok(link
                        .session
                        .take_ended()
                        .map(|closed| f(Event::Closed(closed))));
                }
            }
            self.step()?;
        }
    }

    /// The connection's statistics and state, read under the lock (see
    /// [`Connection::stats`] for an example of the getters).
    pub fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(lock(&self.shared).session.connection())
    }

    /// One turn for the reader: output out, then (without the lock) input read until the
    /// next deadline, then handed to the connection with the time.
    fn step(&mut self) -> Result<(), Error> {
        let room = {
            let mut link = lock(&self.shared);
            link.write_out();
            link.session.failure()?;
            if let Some(left) = self.buf.get(self.start..self.end).filter(|b| !b.is_empty()) {
                // Bytes the connection could not take yet (its input buffer was full).
                let now = link.now();
                self.start += link.session.on_received(left, now);
                return Ok(());
            }
            if link.session.is_done() {
                return Ok(());
            }
            if !link.session.wants_read() {
                // Nothing to read: only a deadline (or the writer) can move things.
                let wait = link.wait();
                drop(link);
                if let Some(wait) = wait {
                    std::thread::sleep(wait);
                }
                let mut link = lock(&self.shared);
                let now = link.now();
                link.session.tick(now);
                return Ok(());
            }
            link.set_timeout_on(&self.stream);
            link.session.read_buf().len().min(self.buf.len())
        };
        if room == 0 {
            // The input buffer is full: the caller drains events first.
            return Ok(());
        }
        let buf = self.buf.get_mut(..room).unwrap_or_default();
        let read = self.stream.read(buf);
        let mut link = lock(&self.shared);
        let now = link.now();
        match read.map(|n| (n, self.buf.get(..n))) {
            Ok((n, Some(bytes))) if n > 0 => {
                self.start = link.session.on_received(bytes, now);
                self.end = n;
            }
            // A stream that claims more than the buffer holds is broken: a failure, not a
            // panic and not a silent truncation.
            Ok((_, None)) => link.session.on_read(
                Err(std::io::Error::other(
                    "the stream read more than its buffer",
                )),
                now,
            ),
            Ok((n, _)) => link.session.on_read(Ok(n), now),
            Err(e) => link.session.on_read(Err(e), now),
        }
        link.session.failure()
    }
}

impl<S: Read + Write> Writer<S> {
    crate::driver::send_commands!(blocking, "on [`Reader`]");

    /// Writes all pending output.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn flush(&mut self) -> Result<(), Error> {
        lock(&self.shared).flush()
    }

    /// The connection's statistics and state, read under the lock (see
    /// [`Connection::stats`] for an example of the getters).
    pub fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(lock(&self.shared).session.connection())
    }

    /// Runs a command and writes its frame out (the send commands').
    fn command(
        &mut self,
        _data: bool,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        lock(&self.shared).command(f)
    }
}
