//! The driver for the `futures-io` traits (feature `futures-io`): a
//! [`Connection`](crate::Connection) over any `futures_io::AsyncRead + AsyncWrite + Unpin`
//! stream, as smol, async-std and other runtimes give them (`smol::net::TcpStream`,
//! `async_net::TcpStream`, a `futures-rustls` stream), with the connection's deadlines on
//! [`futures-timer`](https://docs.rs/futures-timer).
//!
//! It is the crate's async driver, [`driver::WebSocket`], over [`FuturesIo`], this module's
//! [`Transport`]: every method, and every behaviour (deadlines, backpressure, cancel
//! safety, splitting, `Stream` and `Sink` with feature `futures`), is the one
//! [`wsmachine::tokio`](https://docs.rs/wsmachine/latest/wsmachine/tokio/) documents.
//!
//! **The timer.** `futures-timer` runs one timer thread for the process and works under any
//! executor, so this driver ties itself to no runtime; it wakes a deadline within about a
//! millisecond. A runtime with its own timer (smol's `async_io::Timer`, say) can be used
//! instead by implementing [`Transport`] around the stream: the trait's example shows the
//! whole of it.
//!
//! An echo server on smol:
//!
//! ```no_run
//! use wsmachine::futures_io::WebSocket;
//!
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:9002").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         smol::spawn(async move {
//!             let mut ws = WebSocket::accept(stream).await?;
//!             while let Some(message) = ws.recv_owned().await? {
//!                 ws.send(message.as_message()).await?;
//!             }
//!             Ok::<_, wsmachine::driver::Error>(())
//!         })
//!         .detach();
//!     }
//!     # #[allow(unreachable_code)]
//!     # Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Both ends over loopback TCP:
//!
//! ```
//! use wsmachine::driver::OwnedMessage;
//! use wsmachine::futures_io::WebSocket;
//! use wsmachine::handshake::client::ClientRequest;
//! use wsmachine::{CloseCode, Config, Message};
//!
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = smol::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let mut ws = WebSocket::accept(stream).await?;
//!         let _peer = ws.get_ref().peer_addr();
//!         // An echo while the message is borrowed: no copy.
//!         while let Some(sent) = ws
//!             .recv_with(|message, out| match message {
//!                 Message::Text(text) => out.send_text(text),
//!                 Message::Binary(data) => out.send_binary(data),
//!             })
//!             .await?
//!         {
//!             sent?;
//!         }
//!         Ok::<_, wsmachine::driver::Error>(())
//!     });
//!     let stream = smol::net::TcpStream::connect(addr).await?;
//!     let request = ClientRequest::new("127.0.0.1", "/");
//!     let (mut ws, response) = WebSocket::connect(stream, &request, Config::new()).await?;
//!     assert_eq!(response.status, 101);
//!     ws.send_text("hello").await?;
//!     assert_eq!(ws.recv_owned().await?, Some(OwnedMessage::Text("hello".into())));
//!     ws.close(CloseCode::NORMAL, "bye").await?;
//!     assert_eq!(ws.recv().await?, None);
//!     server.await?;
//!     Ok::<_, wsmachine::driver::Error>(())
//! })?;
//! # Ok::<(), wsmachine::driver::Error>(())
//! ```

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::io;
use std::time::Instant;

use ::futures_io::{AsyncRead, AsyncWrite};
use futures_timer::Delay;

use crate::driver::{self, Transport};
use crate::Timestamp;

/// A WebSocket connection over a `futures-io` stream `S` (examples in the
/// [module docs](self); every method is [`driver::WebSocket`]'s).
pub type WebSocket<S> = driver::WebSocket<FuturesIo<S>>;

/// The receiving half of a split [`WebSocket`] (see
/// [`WebSocket::split`](driver::WebSocket::split)).
pub type Reader<S> = driver::Reader<FuturesIo<S>>;

/// The sending half of a split [`WebSocket`] (see
/// [`WebSocket::split`](driver::WebSocket::split)).
pub type Writer<S> = driver::Writer<FuturesIo<S>>;

/// A `futures-io` stream and a `futures-timer` clock as a [`Transport`]: what [`WebSocket`]
/// drives.
///
/// ```
/// use wsmachine::driver::Transport;
/// use wsmachine::futures_io::FuturesIo;
/// let io = FuturesIo::new(smol::io::Cursor::new(Vec::<u8>::new()));
/// assert!(io.now() < wsmachine::Timestamp::ZERO + std::time::Duration::from_secs(1));
/// assert!(io.get_ref().get_ref().is_empty());
/// ```
#[derive(Debug)]
pub struct FuturesIo<S> {
    stream: S,
    /// The origin of the connection's `Timestamp`s.
    origin: Instant,
    /// The timer, and the deadline it is set to (none until the first deadline).
    timer: Option<Delay>,
    armed: Option<Timestamp>,
}

impl<S> FuturesIo<S> {
    /// Wraps `stream`; the clock starts now. Example on [`FuturesIo`].
    #[must_use]
    pub fn new(stream: S) -> FuturesIo<S> {
        FuturesIo {
            stream,
            origin: Instant::now(),
            timer: None,
            armed: None,
        }
    }

    /// The stream (example on [`FuturesIo`]).
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

/// The longest wait given to the timer at once: a year.
const LONGEST_WAIT: Duration = Duration::from_secs(86_400 * 365);

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for FuturesIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }

    fn now(&self) -> Timestamp {
        Timestamp::since(self.origin, Instant::now())
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Timestamp) -> Poll<()> {
        if self.armed != Some(at) {
            // `futures-timer` adds the wait to an `Instant`, which would panic on overflow: a
            // longer wait is capped (the timer fires early, the connection finds nothing due,
            // and the same deadline is armed again).
            let wait = at.saturating_duration_since(self.now()).min(LONGEST_WAIT);
            match &mut self.timer {
                Some(timer) => timer.reset(wait),
                None => self.timer = Some(Delay::new(wait)),
            }
            self.armed = Some(at);
        }
        let Some(timer) = &mut self.timer else {
            return Poll::Pending;
        };
        let fired = Pin::new(timer).poll(cx);
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
}

/// A client connection made by [`connect_route`]: the driver over the stream, with TLS over
/// it for `wss://` (feature `rustls`).
pub type ClientWebSocket<S> = driver::WebSocket<driver::ClientTransport<FuturesIo<S>>>;

/// A client over `stream`, a connection this runtime opened to `route`'s
/// [`first_hop`](driver::Route::first_hop) (the proxy, else the server): the proxy's tunnel,
/// TLS for `wss://` (feature `rustls`) and the WebSocket handshake, as
/// `wsmachine::tokio::connect_with` does after opening its TCP connection. Not cancel-safe.
///
/// ```no_run
/// use wsmachine::driver::Connector;
///
/// smol::block_on(async {
///     let connector = Connector::new(); // the proxy of the environment, the default roots
///     let route = connector.route("ws://example.com/feed")?;
///     let stream = smol::net::TcpStream::connect(route.first_hop()).await?;
///     let (mut ws, _response) =
///         wsmachine::futures_io::connect_route(stream, &route, &connector).await?;
///     ws.send_text("hello").await?;
///     Ok::<(), wsmachine::driver::Error>(())
/// })?;
/// # Ok::<(), wsmachine::driver::Error>(())
/// ```
///
/// # Errors
///
/// As [`driver::WebSocket::connect_route`].
pub async fn connect_route<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    route: &driver::Route<'_>,
    connector: &driver::Connector,
) -> Result<(ClientWebSocket<S>, crate::OwnedResponse), driver::Error> {
    // On the heap while it runs, as in `WebSocket::connect`.
    std::boxed::Box::pin(driver::WebSocket::connect_route(
        FuturesIo::new(stream),
        route,
        connector,
    ))
    .await
}

crate::driver::runtime_constructors!(FuturesIo, AsyncRead + AsyncWrite + Unpin);
