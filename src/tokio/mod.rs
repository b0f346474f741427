//! The tokio driver (feature `tokio`): a [`Connection`] over any
//! `AsyncRead + AsyncWrite + Unpin` stream (a `TcpStream`, a `tokio-rustls` stream, hyper's
//! upgraded I/O, an in-memory duplex), with the connection's deadlines on `tokio::time`.
//!
//! An echo server:
//!
//! ```no_run
//! use wsmachine::tokio::WebSocket;
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = WebSocket::accept(stream).await?;
//!         while let Some(message) = ws.recv_owned().await? {
//!             ws.send(message.as_message()).await?;
//!         }
//!         Ok::<_, wsmachine::driver::Error>(())
//!     });
//! }
//! # }
//! ```
//!
//! And a client:
//!
//! ```no_run
//! # async fn run() -> Result<(), wsmachine::driver::Error> {
//! let mut ws = wsmachine::tokio::connect("ws://127.0.0.1:9002/chat").await?;
//! ws.send_text("hello").await?;
//! let reply = ws.recv_owned().await?;
//! ws.close(wsmachine::CloseCode::NORMAL, "bye").await?;
//! while ws.recv().await?.is_some() {}
//! # let _ = reply;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Deadlines** are the connection's ([`Config`]): the handshake, the close, keepalive
//!   (on by default: a ping after 20 s of silence, 1011 if the peer stays silent 20 s more)
//!   and idle, driven by `tokio::time` (so a paused test clock drives them too).
//! - **Backpressure** cannot be got wrong: a send waits while more than the high-water mark
//!   ([`DEFAULT_HIGH_WATER`], [`WebSocket::set_high_water`]) of output waits to be written,
//!   and no input is read meanwhile, so a peer that does not read cannot make this side
//!   buffer more. Input is read only when a receive finds nothing ready, so the connection
//!   holds at most one read of input beyond the message it is assembling.
//! - **Automatic replies** (pongs, the close reply) go out with the next I/O of any call.
//! - **Cancel safety**: every method of a [`WebSocket`] (and of its halves) except the
//!   constructors can be used as a `select!` branch; when another branch wins, nothing is
//!   lost. A receive takes a message out of the connection only in the poll that returns it;
//!   a send queues its frame only in the poll that completes, so a cancelled send sent
//!   nothing. What a completed send queued starts out at once and the rest goes with the
//!   next call (any `recv`, `send` or [`flush`](WebSocket::flush)).
//! - **`Stream` and `Sink`** (feature `futures`): a [`WebSocket`], a [`Reader`] and a
//!   [`Writer`] are `futures` streams and sinks of [`OwnedMessage`]s (one copy per message;
//!   [`WebSocket::recv`] stays zero-copy). The stream yields each message, then `None` after
//!   a clean close, or one error and then `None`; `poll_ready` waits for room below the
//!   high-water mark; `poll_close` starts the closing handshake (1000).
//! - **Splitting**: [`WebSocket::split`] gives a [`Reader`] and a [`Writer`] for two tasks;
//!   either drives the stream both ways, so replies owed to the peer go out while either is
//!   in use.

#[cfg(feature = "futures")]
mod futures;
mod io;
mod split;

use core::future::poll_fn;
use std::boxed::Box;

use ::tokio::io::{AsyncRead, AsyncWrite};

use crate::driver::{
    self, handshake_error, message_of, next_message, outcome, Answer, Error, Next, OwnedMessage,
};
use crate::handshake::client::ClientRequest;
use crate::{
    CloseCode, Config, Connection, Delivery, Event, HandshakeError, Message, MessageKind,
    OwnedResponse, Role, Sender,
};

pub use crate::driver::DEFAULT_HIGH_WATER;
use io::Io;
pub use split::{Reader, Writer};

/// A WebSocket connection over a stream `S`, driven by tokio (examples in the
/// [module docs](self) and the [crate docs](crate)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), wsmachine::driver::Error> {
/// use wsmachine::driver::{Answer, OwnedMessage};
/// use wsmachine::handshake::client::ClientRequest;
/// use wsmachine::tokio::WebSocket;
/// use wsmachine::{CloseCode, Config, Event, Message, MessageKind};
///
/// // Both ends in memory; a TcpStream or a TLS stream works the same way.
/// let (client_io, server_io) = tokio::io::duplex(64 * 1024);
/// let request = ClientRequest::new("example.com", "/chat").with_subprotocols(&["chat"]);
/// let (server, client) = tokio::join!(
///     WebSocket::accept_with(server_io, Config::new(), |_request| {
///         Answer::accept().with_subprotocol("chat")
///     }),
///     WebSocket::connect(client_io, &request, Config::new()),
/// );
/// let mut server = server?.expect("an upgrade, not an HTTP answer");
/// let (mut client, response) = client?;
/// assert_eq!(response.status, 101);
/// assert_eq!(client.connection().subprotocol(), Some("chat"));
/// server.set_high_water(256 * 1024);
/// let _stream = server.get_ref();
///
/// client.send_text("hello").await?;
/// client.send(Message::Binary(&[1, 2, 3])).await?;
/// client.send_fragment(MessageKind::Text, b"in ", false).await?;
/// client.send_fragment(MessageKind::Text, b"pieces", true).await?;
/// client.ping(b"rtt").await?;
/// client.pong(b"").await?;
/// client.flush().await?;
///
/// assert_eq!(server.recv().await?, Some(Message::Text("hello")));
/// assert_eq!(server.recv_owned().await?, Some(OwnedMessage::Binary(vec![1, 2, 3])));
/// // An echo while the message is borrowed: no copy.
/// server
///     .recv_with(|message, sender| match message {
///         Message::Text(text) => sender.send_text(text),
///         Message::Binary(bytes) => sender.send_binary(bytes),
///     })
///     .await?;
/// assert!(matches!(server.recv_event().await?, Some(Event::Ping(b"rtt"))));
/// server.send_binary(b"done").await?;
/// assert_eq!(client.recv_owned().await?, Some(OwnedMessage::Text("in pieces".into())));
///
/// client.close(CloseCode::NORMAL, "bye").await?;
/// assert_eq!(server.recv().await?, None); // the server saw the close and ended
/// while client.recv().await?.is_some() {}
/// assert!(client.connection().closed().is_some_and(|c| c.is_clean()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocket<S> {
    io: Io<S>,
}

/// A server: accepts the upgrade request that arrives on `stream` with the default
/// configuration (see [`WebSocket::accept`]).
/// Example in the [module docs](self).
///
/// # Errors
///
/// As [`WebSocket::accept`].
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>, Error> {
    WebSocket::accept(stream).await
}

/// A client over TCP for a `ws://` URL, with the default configuration and a seed from the
/// operating system. For `wss://` make the TLS stream yourself and use
/// [`WebSocket::connect`].
/// Example in the [crate docs](crate).
///
/// # Errors
///
/// [`Error::Handshake`] with [`HandshakeError::InvalidRequest`] for a URL that is not
/// `ws://`; the errors of [`WebSocket::connect`].
pub async fn connect(url: &str) -> Result<WebSocket<::tokio::net::TcpStream>, Error> {
    let request = ClientRequest::from_uri(url).map_err(Error::Handshake)?;
    if request.is_secure() {
        return Err(Error::Handshake(HandshakeError::InvalidRequest));
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = ::tokio::net::TcpStream::connect((host, request.effective_port())).await?;
    let _ = stream.set_nodelay(true);
    let (ws, _) = WebSocket::connect(stream, &request, Config::new()).await?;
    Ok(ws)
}

/// What a handshake step found.
enum Step<T> {
    Done(T),
    Closed(crate::Closed),
    Wait,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// A server: reads the request on `stream` and upgrades it (no subprotocol), with the
    /// default configuration. A request that is not a WebSocket upgrade is answered `400`.
    /// Not cancel-safe (dropping it drops the connection).
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the request is invalid (answered with its status), was not
    /// an upgrade, or the handshake deadline passed; [`Error::Io`].
    pub async fn accept(stream: S) -> Result<WebSocket<S>, Error> {
        match WebSocket::accept_with(stream, Config::new(), Answer::default_for).await? {
            Some(ws) => Ok(ws),
            None => Err(Error::Handshake(HandshakeError::MissingUpgrade)),
        }
    }

    /// A server with `config`: reads the request on `stream` and lets `answer` decide: an
    /// upgrade (choosing a subprotocol, adding headers) or any HTTP response (a page and a
    /// WebSocket endpoint share a port). `Ok(None)` when it was answered with a response
    /// (written out and the stream half-closed). Not cancel-safe.
    ///
    /// ```no_run
    /// use wsmachine::driver::Answer;
    /// use wsmachine::tokio::WebSocket;
    /// # async fn f(stream: tokio::net::TcpStream) -> Result<(), wsmachine::driver::Error> {
    /// let ws = WebSocket::accept_with(stream, wsmachine::Config::new(), |req| {
    ///     match (req.path(), req.is_websocket()) {
    ///         ("/chat", true) if req.subprotocols().any(|p| p == "chat") => {
    ///             Answer::accept().with_subprotocol("chat")
    ///         }
    ///         ("/", false) => Answer::respond(200, b"<h1>hello</h1>".to_vec())
    ///             .with_header("Content-Type", "text/html"),
    ///         _ => Answer::respond(404, b"not found".to_vec()),
    ///     }
    /// })
    /// .await?;
    /// # let _ = ws;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub async fn accept_with<F>(
        stream: S,
        config: Config,
        answer: F,
    ) -> Result<Option<WebSocket<S>>, Error>
    where
        F: FnOnce(&crate::Request<'_>) -> Answer,
    {
        // The handshake's state lives on the heap while it runs: a task that awaits this
        // and then serves the connection is sized by its largest state, and that would
        // otherwise be this one, for the whole life of every idle connection.
        Box::pin(Self::serve_handshake(stream, config, answer)).await
    }

    async fn serve_handshake<F>(
        stream: S,
        config: Config,
        answer: F,
    ) -> Result<Option<WebSocket<S>>, Error>
    where
        F: FnOnce(&crate::Request<'_>) -> Answer,
    {
        let mut io = Io::new(Connection::server(config), stream, DEFAULT_HIGH_WATER);
        let mut answer = Some(answer);
        loop {
            let step = match io.conn.poll_event() {
                Some(Event::Request(request)) => match answer.take() {
                    Some(f) => Step::Done(f(&request)),
                    None => Step::Done(Answer::respond(500, std::vec::Vec::new())),
                },
                Some(Event::Closed(closed)) => Step::Closed(closed),
                Some(_) => continue,
                None => Step::Wait,
            };
            match step {
                Step::Done(answer) => {
                    if answer.apply(&mut io.conn) {
                        flush_and_shut(&mut io).await;
                        io.settle_idle();
                        driver::trace_upgraded(&io.conn);
                        return Ok(Some(WebSocket { io }));
                    }
                    flush_and_shut(&mut io).await;
                    return Ok(None);
                }
                Step::Closed(closed) => {
                    flush_and_shut(&mut io).await;
                    return Err(handshake_error(closed));
                }
                Step::Wait => drive(&mut io).await?,
            }
        }
    }

    /// A client: sends `request` on `stream` and waits for the `101`, with a masking seed
    /// from the operating system. Returns the connection and the server's response. Not
    /// cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] for another status (with its headers and body),
    /// [`Error::Handshake`] for an invalid response or the handshake deadline,
    /// [`Error::Io`] (also when the operating system has no random source).
    pub async fn connect(
        stream: S,
        request: &ClientRequest<'_>,
        config: Config,
    ) -> Result<(WebSocket<S>, OwnedResponse), Error> {
        // On the heap while it runs, as in `accept_with`.
        Box::pin(Self::client_handshake(stream, request, config)).await
    }

    async fn client_handshake(
        stream: S,
        request: &ClientRequest<'_>,
        config: Config,
    ) -> Result<(WebSocket<S>, OwnedResponse), Error> {
        let conn =
            Connection::client(config, request, driver::os_seed()?).map_err(Error::Handshake)?;
        let mut io = Io::new(conn, stream, DEFAULT_HIGH_WATER);
        loop {
            let step = match io.conn.poll_event() {
                Some(Event::Accepted(response)) => Step::Done(Ok(response.to_owned_response())),
                Some(Event::Rejected(response)) => {
                    Step::Done(Err(Box::new(response.to_owned_response())))
                }
                Some(Event::Closed(closed)) => Step::Closed(closed),
                Some(_) => continue,
                None => Step::Wait,
            };
            match step {
                Step::Done(Ok(response)) => {
                    io.settle_idle();
                    driver::trace_upgraded(&io.conn);
                    return Ok((WebSocket { io }, response));
                }
                Step::Done(Err(rejected)) => {
                    flush_and_shut(&mut io).await;
                    return Err(Error::Rejected(rejected));
                }
                Step::Closed(closed) => {
                    flush_and_shut(&mut io).await;
                    return Err(handshake_error(closed));
                }
                Step::Wait => drive(&mut io).await?,
            }
        }
    }

    /// A connection whose handshake was done elsewhere (hyper or axum upgrades, an RFC 8441
    /// HTTP/2 stream): `leftover` holds bytes read past the handshake. A client draws its
    /// masking keys from a seed of the operating system.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a client finds no random source.
    pub fn from_upgraded(
        stream: S,
        role: Role,
        config: Config,
        leftover: &[u8],
    ) -> Result<WebSocket<S>, Error> {
        let io = Io::new(
            driver::upgraded(role, config, leftover)?,
            stream,
            DEFAULT_HIGH_WATER,
        );
        driver::trace_upgraded(&io.conn);
        Ok(WebSocket { io })
    }

    /// Sets the output above which sends wait and no input is read
    /// ([`DEFAULT_HIGH_WATER`] unless set).
    /// Example on [`WebSocket`].
    pub fn set_high_water(&mut self, bytes: usize) {
        self.io.high_water = bytes;
    }

    /// The connection, for its getters (`subprotocol`, `stats`, `latency`, `state`, ...; some
    /// in the example on [`Connection::stats`]).
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.io.conn
    }

    /// The stream (the one given to [`accept`](Self::accept), say).
    /// Example on [`WebSocket`].
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.io.stream
    }

    /// The next message, borrowed from the connection until the next call: no copy. Pings
    /// are answered and skipped. `Ok(None)` once the connection closed cleanly and its
    /// transport is finished. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// For [`Delivery::Streaming`], receive with [`recv_event`](Self::recv_event).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the connection ended otherwise (a protocol violation, a
    /// deadline, the transport ending early), once the transport is finished: a failure's
    /// close frame has been written by then. [`Error::Io`] when the transport failed, on this
    /// and every later call. [`Error::StreamingDelivery`].
    pub async fn recv(&mut self) -> Result<Option<Message<'_>>, Error> {
        if self.io.conn.config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        loop {
            match next_message(&mut self.io.conn) {
                // Returns: the borrow the message holds ends the loop.
                Next::Message(ready) => return message_of(self.io.conn.render(ready)).map(Some),
                Next::Ended(closed) => {
                    finish(&mut self.io).await;
                    return outcome(closed, self.io.failed());
                }
                Next::Wait => drive(&mut self.io).await?,
            }
        }
    }

    /// The next message, handed borrowed to `reply` together with a [`Sender`] that queues
    /// frames on this connection: an echo (or any answer built from the message) without
    /// copying it. Waits first while output is above the high-water mark. What `reply`
    /// queued goes out with the next call (so that the answers to messages that arrived
    /// together go out in one write); in a receive loop that is the next `recv_with`, else
    /// call [`flush`](Self::flush). Returns what `reply` returned; `Ok(None)` as
    /// [`recv`](Self::recv). Cancel-safe (`reply` runs in the poll that completes).
    ///
    /// ```no_run
    /// # async fn echo(ws: &mut wsmachine::tokio::WebSocket<tokio::net::TcpStream>) -> Result<(), wsmachine::driver::Error> {
    /// use wsmachine::Message;
    /// while let Some(sent) = ws
    ///     .recv_with(|message, out| match message {
    ///         Message::Text(text) => out.send_text(text),
    ///         Message::Binary(data) => out.send_binary(data),
    ///     })
    ///     .await?
    /// {
    ///     sent?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_with<R>(
        &mut self,
        reply: impl FnOnce(Message<'_>, &mut Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        if self.io.conn.config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        // Backpressure first: no new message while too much output waits.
        room(&mut self.io).await?;
        loop {
            match next_message(&mut self.io.conn) {
                Next::Message(ready) => {
                    let (event, mut sender) = self.io.conn.render_with_sender(ready);
                    // What `reply` queued goes out with the next call, together with the
                    // answers to messages already here: one write for a batch.
                    return message_of(event).map(|message| Some(reply(message, &mut sender)));
                }
                Next::Ended(closed) => {
                    finish(&mut self.io).await;
                    return outcome(closed, self.io.failed());
                }
                Next::Wait => drive(&mut self.io).await?,
            }
        }
    }

    /// The next message, copied: for keeping, or sending to another task. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_owned(&mut self) -> Result<Option<OwnedMessage>, Error> {
        Ok(self.recv().await?.map(OwnedMessage::from))
    }

    /// The next event of any kind: messages, streamed fragments ([`Delivery::Streaming`]),
    /// pings and pongs, the peer's close frame, and last `Closed`; `None` after that, once
    /// the transport is finished. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream cannot be read at all; a failed connection (a transport
    /// failure included) is its `Closed` event, returned once the transport is finished (so
    /// a failure's close frame has been written when the application sees it).
    pub async fn recv_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        loop {
            // The end is reported once its transport is finished, so that a failure's close
            // frame is written before the application can drop the connection. It is held
            // meanwhile (a cancelled call loses nothing).
            if let Some(closed) = self.io.ended {
                finish(&mut self.io).await;
                self.io.ended = None;
                return Ok(Some(Event::Closed(closed)));
            }
            if let Some(ready) = self.io.conn.decide() {
                if let Some(closed) = ready.closed() {
                    self.io.ended = Some(closed);
                    continue;
                }
                return Ok(Some(self.io.conn.render(ready)));
            }
            if self.io.conn.closed().is_some() {
                finish(&mut self.io).await;
                return Ok(None);
            }
            drive(&mut self.io).await?;
        }
    }

    /// Sends a message. Waits while output is above the high-water mark; then queues it
    /// whole and starts writing it. Cancel-safe: dropped before it completes, it sent
    /// nothing.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Send`] with the connection's refusal ([`SendError::Closing`](crate::SendError::Closing)
    /// after a close, ...); [`Error::Io`].
    pub async fn send(&mut self, message: Message<'_>) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.send_text(text).await,
            Message::Binary(data) => self.send_binary(data).await,
        }
    }

    /// Sends a text message. See [`send`](Self::send).
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        queue(&mut self.io, true, |conn| conn.send_text(text)).await
    }

    /// Sends a binary message. See [`send`](Self::send).
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        queue(&mut self.io, true, |conn| conn.send_binary(data)).await
    }

    /// Sends a [`PreparedMessage`](crate::PreparedMessage), encoded once for many
    /// connections (see [`Connection::send_prepared`]); cancel-safe as [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn demo(mut sockets: Vec<wsmachine::tokio::WebSocket<tokio::net::TcpStream>>) {
    /// let update = wsmachine::PreparedMessage::text("tick");
    /// for ws in &mut sockets {
    ///     let _ = ws.send_prepared(&update).await;
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), Error> {
        queue(&mut self.io, true, |conn| conn.send_prepared(message)).await
    }

    /// Sends one fragment of a message (§5.4); `fin` ends it. See
    /// [`Connection::send_fragment`]; cancel-safe as [`send`](Self::send).
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        queue(&mut self.io, true, |conn| {
            conn.send_fragment(kind, data, fin)
        })
        .await
    }

    /// Sends a ping; its pong measures [`Connection::latency`]. Control frames do not wait
    /// for the high-water mark. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        queue(&mut self.io, false, |conn| conn.ping(payload)).await
    }

    /// Sends an unsolicited pong (a one-way heartbeat). Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        queue(&mut self.io, false, |conn| conn.pong(payload)).await
    }

    /// Starts the closing handshake (§7). Keep receiving: messages the peer sent before its
    /// answer still arrive, and `recv` returns `Ok(None)` once the handshake completed and
    /// the transport ended (at the close deadline at the latest). Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`Connection::close`]; [`Error::Io`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        queue(&mut self.io, false, |conn| conn.close(code, reason)).await
    }

    /// Writes all pending output. Cancel-safe: what was written stays written.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.io.poll_flush_out(cx)).await
    }

    /// Splits the connection into a receiving and a sending half for two tasks.
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     ws: wsmachine::tokio::WebSocket<tokio::net::TcpStream>,
    /// # ) -> Result<(), wsmachine::driver::Error> {
    /// let (mut reader, mut writer) = ws.split();
    /// // The writer in a task of its own (a relay, a ticker); the reader here.
    /// let ticker = tokio::spawn(async move { writer.send_text("tick").await });
    /// while let Some(message) = reader.recv().await? {
    ///     println!("{message:?}");
    /// }
    /// # let _ = ticker;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn split(self) -> (Reader<S>, Writer<S>) {
        split::split(self.io)
    }
}

/// Waits until something moved on `io` (bytes either way, a deadline). Only for callers
/// that found nothing ready in the connection.
async fn drive<S: AsyncRead + AsyncWrite + Unpin>(io: &mut Io<S>) -> Result<(), Error> {
    poll_fn(|cx| io.poll_io(cx)).await.map_err(Error::Io)
}

/// Waits until output moved on `io` (or a deadline fired), reading nothing.
async fn drive_out<S: AsyncRead + AsyncWrite + Unpin>(io: &mut Io<S>) -> Result<(), Error> {
    poll_fn(|cx| io.poll_out(cx)).await.map_err(Error::Io)
}

/// Queues a command on `io` (after waiting for room below the high-water mark when
/// `data`), then starts writing it; all in the poll that completes, so that a cancelled call
/// queued nothing.
async fn queue<S, F>(io: &mut Io<S>, data: bool, command: F) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&mut Connection) -> Result<(), crate::SendError>,
{
    let mut command = Some(command);
    poll_fn(|cx| io.poll_command(cx, data, &mut command)).await
}

/// Waits while output is above the high-water mark (moving bytes meanwhile).
async fn room<S: AsyncRead + AsyncWrite + Unpin>(io: &mut Io<S>) -> Result<(), Error> {
    while io.conn.output_len() > io.high_water && !io.is_done() {
        drive_out(io).await?;
    }
    Ok(())
}

/// Writes what is left and half-closes (an answered request, a failed handshake).
async fn flush_and_shut<S: AsyncRead + AsyncWrite + Unpin>(io: &mut Io<S>) {
    while io.wants_write() && !io.is_done() {
        if drive_out(io).await.is_err() {
            return;
        }
    }
}

/// Drives a connection that ended until its transport is finished too (the peer's end of
/// stream, or the close deadline), discarding what still arrives.
async fn finish<S: AsyncRead + AsyncWrite + Unpin>(io: &mut Io<S>) {
    while !io.is_done() {
        while io.conn.poll_event().is_some() {}
        if drive(io).await.is_err() {
            return;
        }
    }
}
