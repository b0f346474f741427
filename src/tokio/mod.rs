//! The tokio driver (feature `tokio`): a [`Connection`](crate::Connection) over any
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
//! - **Deadlines** are the connection's ([`Config`](crate::Config)): the handshake, the close, keepalive
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
//!   [`Writer`] are `futures` streams and sinks of [`OwnedMessage`](crate::driver::OwnedMessage)s (one copy per message;
//!   [`WebSocket::recv`] stays zero-copy). The stream yields each message, then `None` after
//!   a clean close, or one error and then `None`; `poll_ready` waits for room below the
//!   high-water mark; `poll_close` starts the closing handshake (1000).
//! - **Splitting**: [`WebSocket::split`] gives a [`Reader`] and a [`Writer`] for two tasks;
//!   either drives the stream both ways, so replies owed to the peer go out while either is
//!   in use.
//! - **One driver for every runtime**: [`WebSocket`] is the crate's async driver,
//!   [`driver::WebSocket`], over [`TokioIo`], this module's
//!   [`Transport`] for tokio streams and `tokio::time`; every method
//!   is that driver's, the constructors here are tokio's.

use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::boxed::Box;
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant, Sleep};

use ::tokio::net::TcpStream;

use crate::driver::{self, Connector, Error, Transport};
use crate::Timestamp;

pub use crate::driver::DEFAULT_HIGH_WATER;

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
pub type WebSocket<S> = driver::WebSocket<TokioIo<S>>;

/// The receiving half of a split [`WebSocket`] (see [`WebSocket::split`]).
pub type Reader<S> = driver::Reader<TokioIo<S>>;

/// The sending half of a split [`WebSocket`] (see [`WebSocket::split`]).
pub type Writer<S> = driver::Writer<TokioIo<S>>;

/// A tokio stream and `tokio::time` as a [`Transport`]: what [`WebSocket`] drives. The
/// clock is tokio's, so a paused test clock drives the deadlines too.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use wsmachine::driver::Transport;
/// use wsmachine::tokio::TokioIo;
/// let (a, _b) = tokio::io::duplex(64);
/// let io = TokioIo::new(a);
/// assert!(io.now() < wsmachine::Timestamp::ZERO + std::time::Duration::from_secs(1));
/// let _stream: &tokio::io::DuplexStream = io.get_ref();
/// # }
/// ```
#[derive(Debug)]
pub struct TokioIo<S> {
    stream: S,
    /// The origin of the connection's `Timestamp`s.
    origin: Instant,
    /// The timer, and the deadline it is set to.
    timer: Pin<Box<Sleep>>,
    armed: Option<Timestamp>,
}

/// A deadline further than any real one, for a timer with nothing to wait for.
const FAR: Duration = Duration::from_secs(86_400 * 365);

impl<S> TokioIo<S> {
    /// Wraps `stream`; the clock starts now. Needs a tokio runtime with its time driver.
    /// Example on [`TokioIo`].
    #[must_use]
    pub fn new(stream: S) -> TokioIo<S> {
        let origin = Instant::now();
        TokioIo {
            stream,
            origin,
            timer: Box::pin(::tokio::time::sleep_until(origin + FAR)),
            armed: None,
        }
    }

    /// The stream (example on [`TokioIo`]).
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for TokioIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read = ReadBuf::new(buf);
        match Pin::new(&mut self.stream).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(Instant::now().saturating_duration_since(self.origin))
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Timestamp) -> Poll<()> {
        use core::future::Future;
        if self.armed != Some(at) {
            let when = self
                .origin
                .checked_add(at.as_duration())
                .unwrap_or_else(|| Instant::now() + FAR);
            self.timer.as_mut().reset(when);
            self.armed = Some(at);
        }
        let fired = self.timer.as_mut().poll(cx);
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
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

/// A client connection made by [`connect`]: the driver over a TCP stream, with TLS over it
/// for `wss://` (feature `rustls`).
pub type ClientWebSocket = driver::WebSocket<driver::ClientTransport<TokioIo<TcpStream>>>;

/// A client for a `ws://` or `wss://` URL (`wss://` needs the feature `rustls`), with the
/// default [`Connector`]: the default configuration, the proxy the environment names
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) and the default roots.
/// Example in the [crate docs](crate) and the [module docs](self).
///
/// # Errors
///
/// As [`connect_with`].
pub async fn connect(url: &str) -> Result<ClientWebSocket, Error> {
    connect_with(url, &Connector::new()).await
}

/// A client for a `ws://` or `wss://` URL with `connector` (a configuration, a proxy, a
/// private CA):
///
/// ```no_run
/// use wsmachine::driver::{proxy::Proxy, Connector};
/// # async fn run() -> Result<(), wsmachine::driver::Error> {
/// let connector = Connector::new().with_proxy(Proxy::parse("http://proxy.corp:3128")?);
/// let mut ws = wsmachine::tokio::connect_with("wss://example.com/feed", &connector).await?;
/// ws.send_text("hello").await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Handshake`] for a URL that is not `ws://` or `wss://`; [`Error::Proxy`] when the
/// proxy cannot be reached or refuses; [`Error::Tls`] when TLS fails; [`Error::Io`] when the
/// server cannot be reached (or not before the handshake deadline); the errors of
/// [`WebSocket::connect`].
pub async fn connect_with(url: &str, connector: &Connector) -> Result<ClientWebSocket, Error> {
    let route = connector.route(url)?;
    let (ws, _) = connect_route(&route, connector).await?;
    Ok(ws)
}

/// A client along `route` (from [`Connector::route_request`] for a request of your own:
/// subprotocols, headers), with the server's response.
///
/// # Errors
///
/// As [`connect_with`].
pub async fn connect_route(
    route: &driver::Route<'_>,
    connector: &Connector,
) -> Result<(ClientWebSocket, crate::OwnedResponse), Error> {
    let (host, port) = route.first_hop();
    let opening = TcpStream::connect((host, port));
    let stream = match connector.config().handshake_timeout {
        Some(limit) => match ::tokio::time::timeout(limit, opening).await {
            Ok(opened) => opened,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no TCP connection before the handshake deadline",
            )),
        },
        None => opening.await,
    }
    .map_err(|e| route.unreachable(e))?;
    let _ = stream.set_nodelay(true);
    // On the heap while it runs, as in `WebSocket::connect`.
    Box::pin(driver::WebSocket::connect_route(
        TokioIo::new(stream),
        route,
        connector,
    ))
    .await
}

crate::driver::runtime_constructors!(TokioIo, AsyncRead + AsyncWrite + Unpin);
