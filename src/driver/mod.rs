//! What the drivers share (feature `std`): their error type, owned messages, the answer a
//! server gives a request (examples on [`OwnedMessage`] and [`Answer`]), and the async driver
//! itself, [`WebSocket`] over any runtime's [`Transport`] (`wsmachine::tokio` and
//! `wsmachine::futures_io` name it for their streams). Nothing here opens a socket or
//! chooses a runtime: the transports own the streams and the clocks.

mod client_transport;
mod commands;
mod connector;
mod engine;
#[cfg(feature = "futures")]
mod futures;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
mod runtime;
mod session;
mod socket;
mod split;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

pub mod proxy;

pub use client_transport::ClientTransport;
pub(crate) use commands::send_commands;
pub use connector::{Connector, Route, TlsError};
#[cfg(any(feature = "tokio", feature = "futures-io"))]
pub(crate) use runtime::runtime_constructors;
pub use session::{os_seed, upgraded, Handshake, Next, NextEvent, Session};
pub use socket::WebSocket;
pub use split::{Reader, Writer};
#[cfg(feature = "rustls")]
pub(crate) use tls::client_session as tls_client_session;
pub use transport::Transport;

use std::boxed::Box;

use crate::handshake::client::ClientRequest;
use std::io;
use std::string::String;
use std::vec::Vec;

use crate::{
    Accept, Closed, Connection, HandshakeError, Message, OwnedResponse, Request, SendError,
};

/// Output above which sending waits for the peer to take some (and receiving stops reading),
/// unless set otherwise: 128 KiB (also the size up to which answers to messages that
/// arrived together are gathered into one write). Set per connection with
/// [`WebSocket::set_high_water`](crate::tokio::WebSocket::set_high_water) in the tokio driver.
/// Example: [`WebSocket`](crate::tokio::WebSocket)'s sets another.
pub const DEFAULT_HIGH_WATER: usize = 128 * 1024;

/// Why a driver operation failed (the drivers' examples return it: [`crate::tokio`],
/// [`crate::blocking`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed: a read, write, flush or shutdown returned this error (a reset, a
    /// broken pipe, a TLS failure), or connecting did. The connection ends at that moment
    /// ([`Connection::receive_transport_error`]): the call that met the failure and every
    /// later send, flush, close and receive return this error again (same kind and text),
    /// without waiting. `recv_event` returns the connection's `Closed` event (cause
    /// `Abnormal`) instead, then `None`. A peer that closes cleanly (end of stream) is not a
    /// failure: `recv` reports that as [`Error::Closed`].
    Io(io::Error),
    /// The opening handshake failed (a server answered the request with the matching
    /// status, a client found the response invalid).
    Handshake(HandshakeError),
    /// Client: the server answered the upgrade with another status.
    Rejected(Box<OwnedResponse>),
    /// The connection ended other than by a clean closing handshake: a protocol violation
    /// (with the close code that was sent), a deadline, the transport ending early. A clean
    /// close is `Ok(None)` from `recv`, never this.
    Closed(Closed),
    /// A command the connection refused (a send after the close, a control payload over 125
    /// bytes, a close code that may not be sent).
    Send(SendError),
    /// Client: the proxy refused the tunnel, failed, or is not a proxy URL (the error names
    /// the proxy, never its credentials).
    Proxy(proxy::ProxyError),
    /// Client: TLS with the server failed (an untrusted, expired or misnamed certificate), or
    /// `wss://` was asked for without the `rustls` feature.
    Tls(TlsError),
    /// `recv` with [`Delivery::Streaming`](crate::Delivery::Streaming): messages arrive as
    /// fragments, which `recv_event` returns. Nothing was received.
    StreamingDelivery,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transport: {e}"),
            Error::Handshake(e) => write!(f, "handshake: {e}"),
            Error::Rejected(r) => write!(
                f,
                "the server refused the upgrade: {} {}",
                r.status, r.reason
            ),
            Error::Closed(c) => write!(f, "connection closed: {} ({:?})", c.code, c.cause),
            Error::Send(e) => write!(f, "{e}"),
            Error::Proxy(e) => write!(f, "{e}"),
            Error::Tls(e) => write!(f, "{e}"),
            Error::StreamingDelivery => {
                f.write_str("streaming delivery: receive fragments with recv_event")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Proxy(e) => Some(e),
            Error::Tls(e) => Some(e),
            Error::Rejected(_) | Error::Closed(_) | Error::StreamingDelivery => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<proxy::ProxyError> for Error {
    fn from(e: proxy::ProxyError) -> Error {
        Error::Proxy(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        Error::Send(e)
    }
}

/// An owned message, for keeping or sending to another task.
///
/// ```
/// use wsmachine::driver::OwnedMessage;
/// use wsmachine::Message;
/// let owned = OwnedMessage::Text("hi".into());
/// assert_eq!(owned.as_message(), Message::Text("hi"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl OwnedMessage {
    /// The message borrowed, for `send` (example on [`OwnedMessage`]).
    #[must_use]
    pub fn as_message(&self) -> Message<'_> {
        match self {
            OwnedMessage::Text(t) => Message::Text(t),
            OwnedMessage::Binary(b) => Message::Binary(b),
        }
    }
}

impl From<Message<'_>> for OwnedMessage {
    fn from(m: Message<'_>) -> OwnedMessage {
        match m {
            Message::Text(t) => OwnedMessage::Text(t.into()),
            Message::Binary(b) => OwnedMessage::Binary(b.into()),
        }
    }
}

/// How a server answers an HTTP request: upgrade it, or respond with any HTTP response (so a
/// page and a WebSocket endpoint can share a port).
///
/// ```
/// use wsmachine::driver::Answer;
/// let chat = Answer::accept().with_subprotocol("chat");
/// let page = Answer::respond(200, b"<h1>hello</h1>".to_vec()).with_header("Content-Type", "text/html");
/// # let _ = (chat, page);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Upgrade (`101`), optionally choosing a subprotocol the client offered, with extra
    /// response headers.
    Accept {
        /// The chosen subprotocol.
        subprotocol: Option<String>,
        /// Extra headers of the `101` response.
        headers: Vec<(String, String)>,
    },
    /// Answer with this response and end the connection.
    Respond {
        /// The status, 200 to 599.
        status: u16,
        /// Headers (`Content-Length` and `Connection: close` are added).
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
}

impl Answer {
    /// Upgrade, with no subprotocol and no extra headers (example on [`Answer`]).
    #[must_use]
    pub fn accept() -> Answer {
        Answer::Accept {
            subprotocol: None,
            headers: Vec::new(),
        }
    }

    /// Answer with `status` and `body` (example on [`Answer`]).
    #[must_use]
    pub fn respond(status: u16, body: Vec<u8>) -> Answer {
        Answer::Respond {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// Chooses a subprotocol (for [`Answer::Accept`]; ignored otherwise).
    /// Example on [`Answer`].
    #[must_use]
    pub fn with_subprotocol(mut self, protocol: &str) -> Answer {
        if let Answer::Accept { subprotocol, .. } = &mut self {
            *subprotocol = Some(protocol.into());
        }
        self
    }

    /// Adds a header to the response (example on [`Answer`]).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Answer {
        match &mut self {
            Answer::Accept { headers, .. } | Answer::Respond { headers, .. } => {
                headers.push((name.into(), value.into()));
            }
        }
        self
    }

    /// The default answer: upgrade a WebSocket request (choosing no subprotocol), answer
    /// anything else with `400`. What [`WebSocket::accept`](crate::blocking::WebSocket::accept)
    /// answers; [`Answer`] shows the others.
    ///
    /// ```
    /// use wsmachine::driver::Answer;
    /// use wsmachine::{Config, Connection, Event};
    /// let mut server = Connection::server(Config::new());
    /// let _ = server.receive(b"GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
    /// let Some(Event::Request(req)) = server.poll_event() else { panic!() };
    /// assert!(matches!(Answer::default_for(&req), Answer::Respond { status: 400, .. }));
    /// ```
    #[must_use]
    pub fn default_for(request: &Request<'_>) -> Answer {
        if request.is_websocket() {
            Answer::accept()
        } else {
            Answer::respond(400, b"WebSocket only\n".to_vec())
        }
    }

    /// Gives the answer to `conn`'s pending request. An upgrade the connection refuses (a
    /// subprotocol the client did not offer, a header that cannot be sent, a plain request)
    /// is answered with `400` instead, so the request never stays unanswered. Returns
    /// whether the connection was upgraded.
    pub fn apply(&self, conn: &mut Connection) -> bool {
        match self {
            Answer::Accept {
                subprotocol,
                headers,
            } => {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let mut accept = Accept::new().with_headers(&headers);
                if let Some(p) = subprotocol {
                    accept = accept.with_subprotocol(p);
                }
                if conn.accept(accept).is_ok() {
                    return true;
                }
                let _ = conn.respond(400, &[("Content-Type", "text/plain")], b"bad upgrade\n");
                false
            }
            Answer::Respond {
                status,
                headers,
                body,
            } => {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                if conn.respond(*status, &headers, body).is_err() {
                    let _ = conn.respond(500, &[], b"");
                }
                false
            }
        }
    }
}

/// The request and the address for a `ws://` URL, direct: [`Connector::route`] without a
/// proxy, for a driver that opens plain TCP itself (the host and port to connect to, brackets
/// taken off an IPv6 address). For `wss://` and proxies, use the [`Connector`] and its
/// [`Route`].
///
/// ```
/// let (request, (host, port)) = wsmachine::driver::url_request("ws://[::1]:9002/chat?room=1")?;
/// assert_eq!((host, port), ("::1", 9002));
/// assert_eq!(request.path(), "/chat?room=1");
/// assert!(wsmachine::driver::url_request("wss://example.com/").is_err());
/// # Ok::<(), wsmachine::driver::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Handshake`] with [`HandshakeError::InvalidRequest`] for a URL that is not
/// `ws://`.
pub fn url_request(url: &str) -> Result<(ClientRequest<'_>, (&str, u16)), Error> {
    let request = ClientRequest::from_uri(url).map_err(Error::Handshake)?;
    if request.is_secure() {
        return Err(Error::Handshake(HandshakeError::InvalidRequest));
    }
    let route = Connector::new().direct().route_request(request)?;
    Ok((request, route.destination()))
}

/// `tracing` (feature `tracing`): the upgrade, at debug level.
pub(crate) fn trace_upgraded(conn: &Connection) {
    #[cfg(feature = "tracing")]
    ::tracing::debug!(
        target: "wsmachine",
        role = ?conn.role(),
        subprotocol = conn.subprotocol(),
        "websocket upgraded"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = conn;
}

/// `tracing` (feature `tracing`): the end of a connection, when the driver lets go of its
/// transport: how it ended (or that it was dropped while open) and what went through it.
/// At debug level, except for an internal error (1011 from a broken assumption), a warning.
pub(crate) fn trace_end(conn: &Connection) {
    #[cfg(feature = "tracing")]
    {
        let stats = conn.stats();
        match conn.closed() {
            Some(closed)
                if closed.cause == crate::CloseCause::Failed(crate::ProtocolError::Internal) =>
            {
                ::tracing::warn!(
                    target: "wsmachine",
                    role = ?conn.role(),
                    code = closed.code.0,
                    "websocket failed on an internal error"
                );
            }
            Some(closed) => ::tracing::debug!(
                target: "wsmachine",
                role = ?conn.role(),
                code = closed.code.0,
                cause = ?closed.cause,
                messages_in = stats.received.messages,
                messages_out = stats.sent.messages,
                "websocket ended"
            ),
            None => ::tracing::debug!(
                target: "wsmachine",
                role = ?conn.role(),
                state = ?conn.state(),
                "websocket dropped before it ended"
            ),
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = conn;
}

/// `tracing` (feature `tracing`): the transport failed (a reset, a TLS error).
pub(crate) fn trace_transport_error(error: &io::Error) {
    #[cfg(feature = "tracing")]
    ::tracing::debug!(target: "wsmachine", %error, "websocket transport failed");
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}
