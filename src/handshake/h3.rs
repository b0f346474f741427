//! WebSocket over HTTP/3 (RFC 9220): the extended CONNECT of RFC 8441, carried by HTTP/3.
//!
//! RFC 9220 §3 keeps the RFC 8441 handshake as it is: a server that sends
//! [`SETTINGS_ENABLE_CONNECT_PROTOCOL`] with the value 1 lets clients open a request stream
//! with `:method = CONNECT`, `:protocol = websocket`, `:scheme`, `:path` and `:authority`,
//! without a key or an accept value, and a 2xx answer makes the rest of that stream the
//! WebSocket's bytes. So the header rules are the same functions as for HTTP/2, re-exported
//! here (one implementation for both): HTTP/3, like HTTP/2, forbids the connection-specific
//! headers of HTTP/1.1 (RFC 9114 §4.2), which [`validate_extended_connect`] refuses.
//!
//! ```
//! use wsmachine::handshake::client::ClientRequest;
//! use wsmachine::handshake::h3;
//!
//! // The client's request header list, as an HTTP/3 stack would send it (QPACK encodes it).
//! let request = ClientRequest::new("example.com", "/chat")
//!     .with_secure(true)
//!     .with_subprotocols(&["chat"]);
//! let sent: Vec<(&str, String)> = h3::request_headers(&request)
//!     .map(|(name, value)| (name, value.into_owned()))
//!     .collect();
//! // The server checks what arrived and answers 200.
//! let connect = h3::validate_extended_connect(sent.iter().map(|(n, v)| (*n, v.as_bytes())))
//!     .unwrap();
//! assert_eq!((connect.scheme, connect.authority, connect.path), ("https", "example.com", "/chat"));
//! let answer: Vec<_> = h3::response_headers(Some("chat")).collect();
//! assert_eq!(answer, [(":status", "200"), ("sec-websocket-protocol", "chat")]);
//! // The client checks the answer; then both run a `Connection` on the request stream
//! // (`Connection::upgraded_client` and `Connection::upgraded_server`).
//! let switched = h3::validate_response(
//!     200,
//!     answer.iter().skip(1).map(|(n, v)| (*n, v.as_bytes())),
//!     &["chat"],
//! )
//! .unwrap();
//! assert_eq!(switched.subprotocol, Some("chat"));
//! ```
//!
//! With the `h3` crate this is a server built with `enable_extended_connect(true)` that
//! accepts a request whose `h3::ext::Protocol` extension is `websocket`, answers 200 and runs
//! [`Connection::upgraded_server`](crate::Connection::upgraded_server) on the request stream.
//! h3 0.0.8, the latest release when this was written (2026-12-05), cannot do it yet: its
//! `Protocol` knows only `webtransport` and `connect-udp`, so a request with
//! `:protocol = websocket` fails to parse and a client cannot send one; its main branch adds
//! `Protocol::WEBSOCKET`.

pub use super::h2::{
    request_headers, response_headers, validate_extended_connect, validate_response,
    ExtendedConnect,
};

/// The HTTP/3 setting by which a server allows the extended CONNECT (RFC 9220 §3, registered
/// with the same identifier as the HTTP/2 setting of RFC 8441): a server sends it with the
/// value 1; a client sends no extended CONNECT before it has seen it.
///
/// ```
/// use wsmachine::handshake::{h2, h3};
/// assert_eq!(h3::SETTINGS_ENABLE_CONNECT_PROTOCOL, u64::from(h2::SETTINGS_ENABLE_CONNECT_PROTOCOL));
/// ```
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u64 = 0x08;
