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
//! After any input or command: tell the time after a read
//! ([`Connection::handle_timeout`]); drain [`Connection::poll_event`] until `None`; write
//! [`Connection::output`] and report it with [`Connection::consume_output`]; half-close when
//! [`Connection::should_shutdown_write`]; arm a timer for [`Connection::poll_timeout`] and
//! call `handle_timeout` when it fires. End of stream ([`Connection::receive_eof`]) in any
//! phase leads to exactly one [`Event::Closed`]; drop the transport once
//! [`Connection::is_drained`]. The details are on [`Connection`]; the README shows loops for
//! `std::net` and tokio.
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
//! | `tokio` | no | the tokio driver, `wsmachine::tokio`; needs `std` (which brings [`blocking`]) |
//! | `futures` | no | `futures` `Stream`/`Sink` of owned messages for the tokio driver's `WebSocket`, `Reader` and `Writer`; implies `tokio` |
//! | `tracing` | no | `tracing` events from the drivers (never the core), target `wsmachine`: each upgrade, each end with its code and cause, transport failures |
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

/// The examples in README.md, compiled and run as doc tests (they use the tokio driver).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
