//! The blocking driver (feature `std`): a [`Connection`] over any `Read + Write` stream, one
//! thread per connection. The connection's deadlines (handshake, close, keepalive, idle) are
//! honoured through the stream's read and write timeouts where it has them ([`Hooks`]:
//! `TcpStream`, and TLS over a `TcpStream` with hooks of your own).
//!
//! An echo server:
//!
//! ```no_run
//! use std::net::TcpListener;
//! use wsmachine::blocking::WebSocket;
//!
//! let listener = TcpListener::bind("127.0.0.1:9002")?;
//! for stream in listener.incoming() {
//!     let stream = stream?;
//!     std::thread::spawn(move || -> Result<(), wsmachine::driver::Error> {
//!         let mut ws = WebSocket::accept(stream)?;
//!         while let Some(message) = ws.recv_owned()? {
//!             ws.send(message.as_message())?;
//!         }
//!         Ok(())
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A send writes its frame out before it returns (so output never piles up: the stream's
//! own buffer is the backpressure); pongs and the close reply owed to the peer go out with
//! the next call.

use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::driver::{self, Answer, Error, Handshake, Next, NextEvent, OwnedMessage, Session};
use crate::handshake::client::ClientRequest;
use crate::{
    Config, Connection, Delivery, Event, HandshakeError, Message, OwnedResponse, Request, Role,
    Timestamp,
};

/// Sets a stream's read and write timeouts, `None`: block (example on [`Hooks`]).
pub type SetTimeouts<S> = fn(&S, Option<Duration>) -> io::Result<()>;

/// Closes a stream's write side (example on [`Hooks`]).
pub type Shutdown<S> = fn(&mut S) -> io::Result<()>;

/// What the driver needs of a stream beyond `Read + Write`, as plain functions (so that they
/// can be given for any stream, a TLS wrapper included).
///
/// ```
/// use std::net::{Shutdown, TcpStream};
/// use wsmachine::blocking::Hooks;
///
/// /// A stand-in for a TLS stream over TCP.
/// struct Tls {
///     tcp: TcpStream,
/// }
/// let hooks = Hooks::<Tls> {
///     timeouts: Some(|s, t| {
///         s.tcp.set_read_timeout(t)?;
///         s.tcp.set_write_timeout(t)
///     }),
///     shutdown: Some(|s| s.tcp.shutdown(Shutdown::Write)),
/// };
/// assert!(hooks.timeouts.is_some());
/// assert!(Hooks::<Tls>::none().shutdown.is_none());
/// assert!(Hooks::<TcpStream>::tcp().timeouts.is_some());
/// ```
#[derive(Debug)]
pub struct Hooks<S> {
    /// Sets the timeout of blocking reads and writes (`None`: block). Without it the
    /// connection's deadlines act only when bytes or the end of stream arrive.
    pub timeouts: Option<SetTimeouts<S>>,
    /// Closes the write side (a TCP `FIN`; a TLS `close_notify`).
    pub shutdown: Option<Shutdown<S>>,
}

impl<S> Clone for Hooks<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Hooks<S> {}

impl<S> Hooks<S> {
    /// No timeouts, no half-close: for streams that have neither (example on [`Hooks`]).
    #[must_use]
    pub const fn none() -> Hooks<S> {
        Hooks {
            timeouts: None,
            shutdown: None,
        }
    }
}

impl Hooks<TcpStream> {
    /// A `TcpStream`'s read and write timeouts and `shutdown(Write)` (example on [`Hooks`]).
    #[must_use]
    pub const fn tcp() -> Hooks<TcpStream> {
        fn timeouts(s: &TcpStream, t: Option<Duration>) -> io::Result<()> {
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)
        }
        fn shutdown(s: &mut TcpStream) -> io::Result<()> {
            s.shutdown(std::net::Shutdown::Write)
        }
        Hooks {
            timeouts: Some(timeouts),
            shutdown: Some(shutdown),
        }
    }
}

/// A WebSocket connection over a blocking stream `S` (example in the [module docs](self)).
///
/// ```
/// use std::net::{TcpListener, TcpStream};
/// use wsmachine::blocking::{Hooks, WebSocket};
/// use wsmachine::driver::{Answer, OwnedMessage};
/// use wsmachine::handshake::client::ClientRequest;
/// use wsmachine::{CloseCode, Config, Event, Message, MessageKind};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = std::thread::spawn(move || -> Result<(), wsmachine::driver::Error> {
///     let (stream, _) = listener.accept()?;
///     let ws = WebSocket::accept_with(stream, Hooks::tcp(), Config::new(), |_req| Answer::accept())?;
///     let mut ws = ws.expect("an upgrade");
///     let _peer = ws.get_ref().peer_addr();
///     assert_eq!(ws.recv()?, Some(Message::Text("hello")));
///     assert_eq!(ws.recv_owned()?, Some(OwnedMessage::Binary(vec![1, 2, 3])));
///     ws.recv_with(|message, sender| match message {
///         Message::Text(text) => sender.send_text(text),
///         Message::Binary(bytes) => sender.send_binary(bytes),
///     })?;
///     assert!(matches!(ws.recv_event()?, Some(Event::Ping(b"rtt"))));
///     while ws.recv()?.is_some() {} // until the client's close
///     Ok(())
/// });
///
/// let stream = TcpStream::connect(addr)?;
/// let request = ClientRequest::new("127.0.0.1", "/");
/// let (mut ws, response) = WebSocket::connect(stream, Hooks::tcp(), &request, Config::new())?;
/// assert_eq!(response.status, 101);
/// ws.send_text("hello")?;
/// ws.send(Message::Binary(&[1, 2, 3]))?;
/// ws.send_fragment(MessageKind::Text, b"in ", false)?;
/// ws.send_fragment(MessageKind::Text, b"pieces", true)?;
/// ws.ping(b"rtt")?;
/// ws.pong(b"")?;
/// ws.flush()?;
/// assert_eq!(ws.recv_owned()?, Some(OwnedMessage::Text("in pieces".into())));
/// ws.close(CloseCode::NORMAL, "bye")?;
/// while ws.recv()?.is_some() {}
/// assert!(ws.connection().closed().is_some_and(|c| c.is_clean()));
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct WebSocket<S> {
    session: Session,
    stream: S,
    hooks: Hooks<S>,
    /// The origin of the connection's `Timestamp`s.
    origin: Instant,
}

/// A server over TCP: accepts the upgrade request on `stream` (see [`WebSocket::accept`]).
/// Example in the [module docs](self).
///
/// # Errors
///
/// As [`WebSocket::accept`].
pub fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
    WebSocket::accept(stream)
}

/// A client over TCP for a `ws://` URL, with the default configuration.
/// Example in the [module docs](self) (a server); [`WebSocket`] connects with a request of its own.
///
/// # Errors
///
/// [`Error::Handshake`] for a URL that is not `ws://`; as [`WebSocket::connect`].
pub fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    let request = ClientRequest::from_uri(url).map_err(Error::Handshake)?;
    if request.is_secure() {
        return Err(Error::Handshake(HandshakeError::InvalidRequest));
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.effective_port()))?;
    let _ = stream.set_nodelay(true);
    let (ws, _) = WebSocket::connect(stream, Hooks::tcp(), &request, Config::new())?;
    Ok(ws)
}

impl WebSocket<TcpStream> {
    /// A server over TCP with the default configuration: upgrades a WebSocket request (no
    /// subprotocol), answers anything else `400`.
    /// Example in the [module docs](self).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the request is invalid (answered with its status), not an
    /// upgrade, or too slow (the handshake deadline); [`Error::Io`].
    pub fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
        let _ = stream.set_nodelay(true);
        match WebSocket::accept_with(stream, Hooks::tcp(), Config::new(), Answer::default_for)? {
            Some(ws) => Ok(ws),
            None => Err(Error::Handshake(HandshakeError::MissingUpgrade)),
        }
    }
}

impl<S: Read + Write> WebSocket<S> {
    fn new(conn: Connection, stream: S, hooks: Hooks<S>) -> WebSocket<S> {
        let origin = Instant::now();
        WebSocket {
            session: Session::new(conn, Timestamp::since(origin, Instant::now())),
            stream,
            hooks,
            origin,
        }
    }

    /// A server with `config`: reads the request and lets `answer` decide (an upgrade, or
    /// any HTTP response: `Ok(None)` then, once it is written).
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::accept`](WebSocket::<TcpStream>::accept).
    pub fn accept_with<F>(
        stream: S,
        hooks: Hooks<S>,
        config: Config,
        answer: F,
    ) -> Result<Option<WebSocket<S>>, Error>
    where
        F: FnOnce(&Request<'_>) -> Answer,
    {
        let mut ws = WebSocket::new(Connection::server(config), stream, hooks);
        let mut answer = Some(answer);
        loop {
            match ws.session.accept_step(&mut answer) {
                Handshake::Wait => ws.step()?,
                Handshake::Done(upgraded) => {
                    // The `101` goes out now: a server that writes nothing until later (a
                    // broadcast source) must not keep its client waiting for it.
                    ws.write_out();
                    if !upgraded {
                        return Ok(None);
                    }
                    ws.session.failure()?;
                    driver::trace_upgraded(ws.session.connection());
                    return Ok(Some(ws));
                }
                Handshake::Failed(error) => {
                    ws.write_out();
                    return Err(error);
                }
            }
        }
    }

    /// A client: sends `request` and waits for the `101`, with a masking seed from the
    /// operating system; returns the connection and the server's response.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] for another status, [`Error::Handshake`] for an invalid response
    /// or the handshake deadline, [`Error::Io`].
    pub fn connect(
        stream: S,
        hooks: Hooks<S>,
        request: &ClientRequest<'_>,
        config: Config,
    ) -> Result<(WebSocket<S>, OwnedResponse), Error> {
        let conn =
            Connection::client(config, request, driver::os_seed()?).map_err(Error::Handshake)?;
        let mut ws = WebSocket::new(conn, stream, hooks);
        loop {
            match ws.session.connect_step() {
                Handshake::Wait => ws.step()?,
                Handshake::Done(response) => {
                    driver::trace_upgraded(ws.session.connection());
                    return Ok((ws, response));
                }
                Handshake::Failed(error) => {
                    ws.write_out();
                    return Err(error);
                }
            }
        }
    }

    /// A connection whose handshake was done elsewhere; `leftover` holds bytes read past it.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a client finds no random source.
    pub fn from_upgraded(
        stream: S,
        hooks: Hooks<S>,
        role: Role,
        config: Config,
        leftover: &[u8],
    ) -> Result<WebSocket<S>, Error> {
        let ws = WebSocket::new(driver::upgraded(role, config, leftover)?, stream, hooks);
        driver::trace_upgraded(ws.session.connection());
        Ok(ws)
    }

    /// The connection, for its getters (see [`Connection::stats`] for some).
    /// Example on [`WebSocket`].
    #[must_use]
    pub fn connection(&self) -> &Connection {
        self.session.connection()
    }

    /// The stream (the one given to [`WebSocket::accept`], say).
    /// Example on [`WebSocket`].
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The next message, borrowed until the next call. Pings are answered and skipped.
    /// `Ok(None)` once the connection closed cleanly and its transport is finished.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when it ended otherwise, once the transport is finished (a failure's
    /// close frame has been written by then); [`Error::Io`] when the transport failed, on
    /// this and every later call; [`Error::StreamingDelivery`] with streaming delivery (use
    /// [`recv_event`](Self::recv_event)).
    pub fn recv(&mut self) -> Result<Option<Message<'_>>, Error> {
        if self.session.connection().config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        loop {
            match self.session.next_message() {
                Next::Message(ready) => return self.session.render_message(ready).map(Some),
                Next::Ended(closed) => {
                    self.finish();
                    return self.session.outcome(closed);
                }
                Next::Wait => self.step()?,
            }
        }
    }

    /// The next message, handed borrowed to `reply` with a [`Sender`](crate::Sender) that
    /// queues frames on this connection (an echo without copying); what `reply` queued is
    /// written out before this returns. `Ok(None)` as [`recv`](Self::recv).
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_with<R>(
        &mut self,
        reply: impl FnOnce(Message<'_>, &mut crate::Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        if self.session.connection().config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        loop {
            match self.session.next_message() {
                Next::Message(ready) => {
                    let result = self
                        .session
                        .render_message_with_sender(ready)
                        .map(|(message, mut sender)| Some(reply(message, &mut sender)));
                    self.write_out();
                    return result;
                }
                Next::Ended(closed) => {
                    self.finish();
                    return self.session.outcome(closed);
                }
                Next::Wait => self.step()?,
            }
        }
    }

    /// The next message, copied.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_owned(&mut self) -> Result<Option<OwnedMessage>, Error> {
        Ok(self.recv()?.map(OwnedMessage::from))
    }

    /// The next event of any kind (fragments with streaming delivery, pings, pongs, the
    /// peer's close frame, `Closed`); `None` after `Closed`. `Closed` is returned once the
    /// transport is finished, so a failure's close frame has been written by then.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream cannot be read at all; a transport failure is the
    /// `Closed` event (cause `Abnormal`).
    pub fn recv_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        loop {
            // The end is reported once its transport is finished, so that a failure's close
            // frame is written before the application can drop the connection.
            match self.session.next_event() {
                NextEvent::Event(ready) => {
                    return Ok(Some(self.session.connection_mut().render(ready)))
                }
                NextEvent::Ended(_) => {
                    self.finish();
                    return Ok(self.session.take_ended().map(Event::Closed));
                }
                NextEvent::Over => {
                    self.finish();
                    return Ok(None);
                }
                NextEvent::Wait => self.step()?,
            }
        }
    }

    crate::driver::send_commands!(blocking, "on [`WebSocket`]");

    /// Writes all pending output.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn flush(&mut self) -> Result<(), Error> {
        self.session.failure()?;
        self.write_out();
        self.session.failure()
    }

    /// Runs a command and writes its frame out. Once the transport failed, every command
    /// reports that failure (a command whose write fails too).
    fn command(
        &mut self,
        _data: bool,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        self.session.command(f)?;
        self.write_out();
        self.session.failure()
    }

    fn now(&self) -> Timestamp {
        Timestamp::since(self.origin, Instant::now())
    }

    /// How long a blocking call may wait: until the connection's next deadline.
    fn wait(&self) -> Option<Duration> {
        let at = self.session.connection().poll_timeout()?;
        Some(
            at.saturating_duration_since(self.now())
                .max(Duration::from_millis(1)),
        )
    }

    fn set_timeout(&self) {
        if let Some(set) = self.hooks.timeouts {
            // A stream that refuses the timeout just blocks longer.
            let _ = set(&self.stream, self.wait());
        }
    }

    /// Writes the output out (waiting at most until each deadline, which is then told), and
    /// half-closes when the connection asks.
    fn write_out(&mut self) {
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
    fn step(&mut self) -> Result<(), Error> {
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
    fn finish(&mut self) {
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
