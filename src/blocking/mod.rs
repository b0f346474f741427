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

mod client;
mod hooks;
mod link;
mod split;

use std::io::{Read, Write};
use std::net::TcpStream;

pub use client::{connect_route, connect_with, ClientStream};
pub use hooks::{Hooks, SetTimeouts, Shutdown};
use link::Link;
pub use split::{Reader, Writer};

use crate::driver::{self, Answer, Error, Handshake, Next, NextEvent, OwnedMessage};
use crate::handshake::client::ClientRequest;
use crate::{
    Config, Connection, Delivery, Event, HandshakeError, Message, OwnedResponse, Request, Role,
};

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
    link: Link<S>,
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

/// A client for a `ws://` or `wss://` URL (`wss://` needs the feature `rustls`), with the
/// default [`Connector`](crate::driver::Connector): the default configuration, the proxy the
/// environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) and the default
/// roots.
///
/// ```no_run
/// let mut ws = wsmachine::blocking::connect("wss://example.com/feed")?;
/// ws.send_text("hello")?;
/// let reply = ws.recv_owned()?;
/// # let _ = reply;
/// # Ok::<(), wsmachine::driver::Error>(())
/// ```
///
/// # Errors
///
/// As [`connect_with`].
pub fn connect(url: &str) -> Result<WebSocket<ClientStream>, Error> {
    connect_with(url, &crate::driver::Connector::new())
}

impl WebSocket<TcpStream> {
    /// Splits the connection into a [`Reader`] and a [`Writer`] for two threads, over the
    /// stream and its `try_clone` (example on [`Reader`]).
    ///
    /// # Errors
    ///
    /// The error of `try_clone`.
    pub fn split(self) -> std::io::Result<(Reader<TcpStream>, Writer<TcpStream>)> {
        self.split_with(TcpStream::try_clone)
    }

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
        WebSocket {
            link: Link::new(conn, stream, hooks),
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
            match ws.link.session.accept_step(&mut answer) {
                Handshake::Wait => ws.link.step()?,
                Handshake::Done(upgraded) => {
                    // The `101` goes out now: a server that writes nothing until later (a
                    // broadcast source) must not keep its client waiting for it.
                    ws.link.write_out();
                    if !upgraded {
                        return Ok(None);
                    }
                    ws.link.session.failure()?;
                    driver::trace_upgraded(ws.link.session.connection());
                    return Ok(Some(ws));
                }
                Handshake::Failed(error) => {
                    ws.link.write_out();
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
            match ws.link.session.connect_step() {
                Handshake::Wait => ws.link.step()?,
                Handshake::Done(response) => {
                    driver::trace_upgraded(ws.link.session.connection());
                    return Ok((ws, response));
                }
                Handshake::Failed(error) => {
                    ws.link.write_out();
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
        driver::trace_upgraded(ws.link.session.connection());
        Ok(ws)
    }

    /// Splits the connection into a [`Reader`] and a [`Writer`] for two threads; `clone`
    /// makes the reader's handle to the stream (one stream, two handles: a socket's
    /// `try_clone`). A stream that cannot be cloned (most TLS streams) cannot be split this
    /// way. Example on [`Reader`].
    ///
    /// # Errors
    ///
    /// The error of `clone`.
    pub fn split_with(
        self,
        clone: impl FnOnce(&S) -> std::io::Result<S>,
    ) -> std::io::Result<(Reader<S>, Writer<S>)> {
        let reading = clone(&self.link.stream)?;
        Ok(split::split(self.link, reading))
    }

    /// The connection, for its getters (see [`Connection::stats`] for some).
    /// Example on [`WebSocket`].
    #[must_use]
    pub fn connection(&self) -> &Connection {
        self.link.session.connection()
    }

    /// The stream (the one given to [`WebSocket::accept`], say).
    /// Example on [`WebSocket`].
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.link.stream
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
        if self.link.session.connection().config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        loop {
            match self.link.session.next_message() {
                Next::Message(ready) => return self.link.session.render_message(ready).map(Some),
                Next::Ended(closed) => {
                    self.link.finish();
                    return self.link.session.outcome(closed);
                }
                Next::Wait => self.link.step()?,
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
        if self.link.session.connection().config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        loop {
            match self.link.session.next_message() {
                Next::Message(ready) => {
                    let result = self
                        .link
                        .session
                        .render_message_with_sender(ready)
                        .map(|(message, mut sender)| Some(reply(message, &mut sender)));
                    self.link.write_out();
                    return result;
                }
                Next::Ended(closed) => {
                    self.link.finish();
                    return self.link.session.outcome(closed);
                }
                Next::Wait => self.link.step()?,
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
            match self.link.session.next_event() {
                NextEvent::Event(ready) => {
                    return Ok(Some(self.link.session.connection_mut().render(ready)))
                }
                NextEvent::Ended(_) => {
                    self.link.finish();
                    return Ok(self.link.session.take_ended().map(Event::Closed));
                }
                NextEvent::Over => {
                    self.link.finish();
                    return Ok(None);
                }
                NextEvent::Wait => self.link.step()?,
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
        self.link.flush()
    }

    /// Runs a command and writes its frame out (the send commands').
    fn command(
        &mut self,
        _data: bool,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        self.link.command(f)
    }
}
