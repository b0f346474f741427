//! # wsmachine
//!
//! A WebSocket (RFC 6455) stack on a sans-IO protocol core: the core takes bytes and the time
//! and gives events and bytes, never touching a socket, a clock or a thread, so a tokio task, a
//! blocking loop, an embedded executor or a fuzzer can all drive the same [`Connection`]. The
//! crate's own drivers, [`tokio`] and [`blocking`], are the common way to use it.
//!
//! ## On tokio: the common case
//!
//! With the `tokio` feature, a server and a client over loopback TCP (an echo):
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wsmachine::driver::Error> {
//! use wsmachine::tokio::WebSocket;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}/", listener.local_addr()?);
//! // The server: every connection in its own task, echoing what it receives.
//! tokio::spawn(async move {
//!     while let Ok((stream, _)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             let mut ws = WebSocket::accept(stream).await?;
//!             while let Some(message) = ws.recv_owned().await? {
//!                 ws.send(message.as_message()).await?;
//!             }
//!             Ok::<_, wsmachine::driver::Error>(())
//!         });
//!     }
//! });
//!
//! // The client.
//! let mut ws = wsmachine::tokio::connect(&url).await?;
//! ws.send_text("hello").await?;
//! let reply = ws.recv_owned().await?;
//! assert_eq!(reply, Some(wsmachine::driver::OwnedMessage::Text("hello".into())));
//! ws.close(wsmachine::CloseCode::NORMAL, "bye").await?;
//! while ws.recv().await?.is_some() {} // until the server's close and end of stream
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! [`tokio`] works over any `AsyncRead + AsyncWrite` stream (TLS, hyper's upgraded I/O, an
//! HTTP/2 stream); [`blocking`] is the same over `Read + Write`, one thread per connection.
//! Both drive the very same core.
//!
//! ## The sans-IO core: everything else
//!
//! Any other runtime, an embedded executor, a fuzzer or a test drives a [`Connection`]
//! directly. A client and a server talking in memory, the output of one fed to the other:
//!
//! ```
//! use wsmachine::handshake::client::ClientRequest;
//! use wsmachine::{Accept, CloseCode, Config, Connection, Event, Message, Seed};
//!
//! /// Moves what `from` wants to write into `to`.
//! fn pump(from: &mut Connection, to: &mut Connection) {
//!     let n = to.receive(from.output());
//!     from.consume_output(n);
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut server = Connection::server(Config::new());
//! let request = ClientRequest::new("example.com", "/chat").with_subprotocols(&["chat"]);
//! // In production use `Seed::from_os()?`; a fixed seed makes tests reproducible.
//! let mut client = Connection::client(Config::new(), &request, Seed::new([7; 32]))?;
//!
//! // The opening handshake (§4).
//! pump(&mut client, &mut server);
//! let Some(Event::Request(req)) = server.poll_event() else { panic!("expected a request") };
//! assert_eq!((req.path(), req.is_websocket()), ("/chat", true));
//! server.accept(Accept::new().with_subprotocol("chat"))?;
//! pump(&mut server, &mut client);
//! assert!(matches!(client.poll_event(), Some(Event::Accepted(_))));
//! assert_eq!(client.subprotocol(), Some("chat"));
//!
//! // A message each way.
//! client.send_text("hello")?;
//! pump(&mut client, &mut server);
//! assert_eq!(server.poll_event(), Some(Event::Message(Message::Text("hello"))));
//! server.send_binary(&[1, 2, 3])?;
//! pump(&mut server, &mut client);
//! assert_eq!(client.poll_event(), Some(Event::Message(Message::Binary(&[1, 2, 3]))));
//!
//! // The closing handshake (§7): the server echoes the close and closes TCP first.
//! client.close(CloseCode::NORMAL, "bye")?;
//! pump(&mut client, &mut server);
//! assert!(matches!(server.poll_event(), Some(Event::CloseReceived(f)) if f.reason == "bye"));
//! let Some(Event::Closed(closed)) = server.poll_event() else { panic!("expected Closed") };
//! assert!(closed.is_clean() && closed.code == CloseCode::NORMAL);
//! pump(&mut server, &mut client);
//! assert!(server.should_shutdown_write());
//! assert!(matches!(client.poll_event(), Some(Event::CloseReceived(_))));
//! assert!(matches!(client.poll_event(), Some(Event::Closed(c)) if c.is_clean()));
//! assert!(client.close_expected()); // wait (with a timer) for the server to close TCP
//! # Ok(())
//! # }
//! ```
//!
//! ## Broadcast
//!
//! A [`PreparedMessage`] is encoded once (and with permessage-deflate without context
//! takeover, compressed once) and sent to any number of connections: a server connection
//! whose output is empty writes the shared frame straight from the shared bytes (its
//! [`Connection::output`] returns them), and one with output waiting copies it behind. See
//! [`Connection::send_prepared`] and [`Connection::output_vectored`].
//!
//! ## The driver contract
//!
//! What a driver must call, in which order, and when it may close the transport (the
//! crate's drivers do exactly this, through [`driver::Session`], and build outside the
//! crate on the public API alone):
//!
//! 1. Make the connection and tell it the time ([`Connection::handle_timeout`]): that
//!    starts its deadlines. A [`Timestamp`] is a duration since an origin the driver picks.
//! 2. Decide, then render: [`Connection::decide`] says what the next event is without
//!    borrowing the connection (a message, the end), so the driver can choose where it goes
//!    (return it, hand it to a closure, hold the end) before [`Connection::render`] (or
//!    [`Connection::render_with_sender`], to reply while the message is borrowed) lends it
//!    out. [`Connection::poll_event`] is both in one call. Drain until `None`.
//! 3. Write: while [`Connection::wants_write`], write [`Connection::output`] (or both runs of
//!    [`Connection::output_vectored`]: a broadcast frame's shared bytes, then the
//!    connection's own) and report what the transport took with
//!    [`Connection::consume_output`]. Loop while it still wants to write.
//! 4. Read: into [`Connection::read_buf`] and [`Connection::commit_read`] (or
//!    [`Connection::receive`] from a buffer of the driver's), then tell the time. End of
//!    stream is [`Connection::receive_eof`]; a read or write error is
//!    [`Connection::receive_transport_error`] (the connection ends at once, its output
//!    dropped). Either leads to exactly one [`Event::Closed`].
//! 5. Wait: arm a timer for [`Connection::poll_timeout`]; when it fires, call
//!    `handle_timeout` and go back to 2.
//! 6. End: half-close the transport once, when [`Connection::should_shutdown_write`]; drop
//!    it when [`Connection::may_close_transport`] (after the half-close): the server right
//!    after the closing handshake (§5.5.1), a client when the server closed or at the close
//!    deadline (§7.1.1). A failure's close frame is written by then, so report the end to
//!    the application only after that.
//!
//! [`driver::Session`] has these steps as methods (I/O results in, what to do next out);
//! [`driver::Transport`] is what the async driver needs of a runtime (a stream and a timer),
//! so a runtime that implements it gets the whole async driver. README's "Writing an
//! adapter" shows a driver written from this contract alone.
//!
//! ## Time
//!
//! The core never reads a clock: the driver passes the time in, as a [`Timestamp`] (a
//! duration since an origin it picks), and the core says when it next needs it. With that
//! it keeps the deadlines of [`Config`]: the handshake (10 s, then `408`), the closing (10 s,
//! then the transport is dropped), keepalive (a ping after 20 s of silence, 1011 if nothing
//! comes back within 20 s) and, if asked, idle (1001).
//!
//! ## Limits
//!
//! Every buffer is bounded by [`Config`] (handshake size and header count, frame size,
//! message size, fragments per message, output backlog), with finite defaults listed there.
//! Memory grows only with bytes that arrived, never with a length a peer declared.
//!
//! ## Browsers and the `Origin` check
//!
//! A browser attaches the user's cookies to a WebSocket upgrade whatever page opens it, and
//! says which page in `Origin` (RFC 6455 §10.2). A server that browsers reach must check it,
//! or any site can talk to it as its logged-in visitors (cross-site WebSocket hijacking):
//! [`Config::with_origin_policy`] with
//! [`OriginPolicy::SAME_ORIGIN`](handshake::origin::OriginPolicy::SAME_ORIGIN) or an
//! allowlist answers other origins `403 Forbidden` before the application sees the request.
//! Against other clients the check means nothing (they send any `Origin`, or none), so it is
//! no authentication, and the default ([`OriginPolicy::ANY`](handshake::origin::OriginPolicy::ANY))
//! does not check. See [`handshake::origin`].
//!
//! ## Safety
//!
//! The crate is `#![deny(unsafe_code)]` with one exception, [`frame`]'s masking of payloads
//! of 256 bytes and more on x86 with `std`: two `unsafe` blocks, each calling the portable
//! masking loop compiled for AVX2 right after `is_x86_feature_detected!("avx2")` confirmed
//! the CPU has it (a `#[target_feature]` function is `unsafe` to call only for that reason).
//! Without `std`, and on other architectures, there is no `unsafe` at all. No input and no
//! configuration can reach a panic.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | [`Seed::from_os`], `std::error::Error` impls, runtime SIMD detection |
//! | `simd` | yes | SIMD UTF-8 validation through `simdutf8` |
//! | `http` | no | conversions with the `http` crate's types ([`handshake::http`]) |
//! | `deflate` | no | permessage-deflate, RFC 7692 ([`extensions::deflate`]); needs `std` |
//! | `tokio` | no | the tokio driver, `wsmachine::tokio`; needs `std` (which brings [`blocking`] and [`driver`]) |
//! | `futures-io` | no | the driver for the `futures-io` traits (smol, async-std), `wsmachine::futures_io`, deadlines on `futures-timer`; needs `std` |
//! | `futures` | no | `futures` `Stream`/`Sink` of owned messages for the async driver's `WebSocket`, `Reader` and `Writer` (tokio or futures-io) |
//! | `tracing` | no | `tracing` events from the drivers (never the core), target `wsmachine`: each upgrade, each end with its code and cause, transport failures |
//! | `rustls` | no | `wss://` for clients in every driver ([`driver::Connector`]): rustls on its `aws-lc-rs` provider (post-quantum key exchange first), SNI, ALPN `http/1.1`, a `rustls::ClientConfig` or private CA of your own; needs `std` |
//! | `rustls-native-roots` | no | `rustls`, with the operating system's roots as the default (`rustls-native-certs`) |
//! | `rustls-webpki-roots` | no | `rustls`, with Mozilla's roots compiled in as the default (`webpki-roots`) |
//!
//! Clients connect through proxies (HTTP `CONNECT`, SOCKS5) with `std` alone:
//! [`driver::proxy`], chosen from the environment as curl does.
//!
//! Without `std` the crate is `no_std` and needs only `alloc`.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// `unsafe` is denied everywhere but `frame::mask::wide`: two calls into the masking loop
// compiled for AVX2, each after the CPU feature check (see that module).
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod blocking;
mod buffer;
pub mod close;
mod config;
mod connection;
#[cfg(feature = "std")]
pub mod driver;
mod entropy;
mod error;
mod event;
pub mod extensions;
pub mod frame;
#[cfg(feature = "futures-io")]
pub mod futures_io;
pub mod handshake;
mod prepared;
mod role;
mod stats;
mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Delivery};
pub use connection::{Accept, Connection, Decided, Sender, State};
pub use entropy::{EntropyError, Seed};
pub use error::{HandshakeError, ProtocolError, SendError};
pub use event::{
    CloseCause, Closed, Event, Fragment, Message, MessageKind, OwnedEvent, OwnedRequest,
    OwnedResponse, Request, Response,
};
pub use prepared::PreparedMessage;
pub use role::Role;
pub use stats::{DirectionStats, Memory, Stats};
pub use time::Timestamp;

/// The examples in README.md, compiled and run as doc tests (they use the tokio and futures-io
/// drivers).
#[cfg(all(doctest, feature = "tokio", feature = "futures-io"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
