//! What a connection reports to the application.

use alloc::string::String;
use alloc::vec::Vec;

use crate::close::{CloseCode, CloseFrame};
use crate::error::{HandshakeError, ProtocolError};
use crate::extensions::{self, Extensions};
use crate::handshake::{has_token, values, Head, HeaderIter, Span};

/// Whether a message is text or binary.
///
/// ```
/// use wsmachine::{Message, MessageKind};
/// assert_eq!(Message::Text("hi").kind(), MessageKind::Text);
/// assert_eq!(Message::Binary(&[1]).kind(), MessageKind::Binary);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// An event, borrowing its data from the connection until the next call that changes it.
/// Examples on [`Connection::poll_event`](crate::Connection::poll_event) and in the [crate docs](crate).
///
/// [`into_owned`](Self::into_owned) copies it for use elsewhere (another task, a queue).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Server: a complete HTTP request arrived. Answer it with
    /// [`accept`](crate::Connection::accept) (WebSocket upgrades only) or
    /// [`respond`](crate::Connection::respond); until then no more events are produced.
    Request(Request<'a>),
    /// Client: the server switched protocols; the connection is open.
    Accepted(Response<'a>),
    /// Client: the server answered with another status. `Closed` follows.
    Rejected(Response<'a>),
    /// A complete data message ([`Delivery::Assembled`](crate::Delivery::Assembled)).
    Message(Message<'a>),
    /// A piece of a data message ([`Delivery::Streaming`](crate::Delivery::Streaming)).
    Fragment(Fragment<'a>),
    /// A ping; with `auto_pong` the pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame. With `auto_close_reply` the reply is already queued and
    /// `Closed` follows; otherwise call [`close`](crate::Connection::close) to reply.
    CloseReceived(CloseFrame<'a>),
    /// The connection is over. Always the last event, delivered exactly once.
    Closed(Closed),
}

/// A complete data message.
///
/// ```
/// use wsmachine::{Message, MessageKind};
/// let message = Message::Text("héllo");
/// assert_eq!((message.kind(), message.as_bytes().len()), (MessageKind::Text, 6));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message, validated UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl<'a> Message<'a> {
    /// Text or binary (example on [`Message`]).
    #[must_use]
    pub const fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes (example on [`Message`]).
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }
}

/// A piece of a data message, delivered as soon as it arrives.
///
/// Text pieces are always whole code points: a code point split across frames or reads is
/// delivered once complete.
///
/// ```
/// use wsmachine::{Config, Connection, Delivery, Event, Fragment, MessageKind};
/// let config = Config::new().with_delivery(Delivery::Streaming);
/// let mut server = Connection::upgraded_server(config, &[]);
/// // A masked text frame (key 0: the payload as it is), "hé" split inside the "é".
/// let _ = server.receive(&[0x81, 0x83, 0, 0, 0, 0, b'h', 0xc3]);
/// let Some(Event::Fragment(first)) = server.poll_event() else { panic!() };
/// assert_eq!((first.kind(), first.as_bytes(), first.is_final()), (MessageKind::Text, &b"h"[..], false));
/// let _ = server.receive(&[0xa9]);
/// let Some(Event::Fragment(last)) = server.poll_event() else { panic!() };
/// assert_eq!(last, Fragment::Text { text: "é", fin: true });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragment<'a> {
    /// A piece of a text message.
    Text {
        /// Validated text.
        text: &'a str,
        /// This is the end of the message.
        fin: bool,
    },
    /// A piece of a binary message.
    Binary {
        /// The bytes.
        bytes: &'a [u8],
        /// This is the end of the message.
        fin: bool,
    },
}

impl<'a> Fragment<'a> {
    /// Text or binary (example on [`Fragment`]).
    #[must_use]
    pub const fn kind(&self) -> MessageKind {
        match self {
            Fragment::Text { .. } => MessageKind::Text,
            Fragment::Binary { .. } => MessageKind::Binary,
        }
    }

    /// The payload bytes of this piece (example on [`Fragment`]).
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        match self {
            Fragment::Text { text, .. } => text.as_bytes(),
            Fragment::Binary { bytes, .. } => bytes,
        }
    }

    /// Whether this piece ends its message (example on [`Fragment`]).
    #[must_use]
    pub const fn is_final(&self) -> bool {
        match self {
            Fragment::Text { fin, .. } | Fragment::Binary { fin, .. } => *fin,
        }
    }
}

/// The end of a connection.
///
/// ```
/// use wsmachine::{CloseCause, CloseCode, Config, Connection, Event};
/// let mut server = Connection::upgraded_server(Config::new(), &[]);
/// // The client's close frame, code 1000 (masked with key 0).
/// let _ = server.receive(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
/// assert!(matches!(server.poll_event(), Some(Event::CloseReceived(_))));
/// let Some(Event::Closed(closed)) = server.poll_event() else { panic!() };
/// assert_eq!((closed.code, closed.cause), (CloseCode::NORMAL, CloseCause::ClosedByPeer));
/// assert!(closed.is_clean());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The close code (§7.1.5): the one in the peer's close frame when one arrived (or
    /// [`CloseCode::NO_STATUS`] if it had none), the one we sent when the peer failed the
    /// protocol, and [`CloseCode::ABNORMAL`] (1006) when no close frame arrived.
    pub code: CloseCode,
    /// Why it ended.
    pub cause: CloseCause,
}

impl Closed {
    /// Whether the closing handshake completed (example on [`Closed`]).
    #[must_use]
    pub const fn is_clean(&self) -> bool {
        matches!(
            self.cause,
            CloseCause::ClosedByPeer | CloseCause::ClosedLocally | CloseCause::IdleTimeout
        )
    }
}

/// Why a connection ended (example on [`Closed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// The peer started the closing handshake and it completed.
    ClosedByPeer,
    /// We started the closing handshake and the peer answered.
    ClosedLocally,
    /// The peer broke the protocol; a close frame with `code` was queued (§7.1.7).
    Failed(ProtocolError),
    /// The opening handshake failed (§4). On the server, the error response was queued.
    Handshake(HandshakeError),
    /// Server: the request was answered with an HTTP response instead of an upgrade.
    Responded,
    /// The transport ended before the closing handshake completed: code 1006, or the code of
    /// the peer's close frame when one arrived and was not answered yet (§7.1.5). Also the
    /// close deadline (`Config::close_timeout`) expiring before the closing completed.
    Abnormal,
    /// Nothing arrived from the peer within `Config::keepalive_timeout` after a keepalive
    /// ping: the connection failed with 1011 (a dead peer, a vanished network path).
    KeepaliveTimeout,
    /// No message went either way for `Config::idle_timeout`: we closed with 1001 and the
    /// peer answered (`code` is its answer).
    IdleTimeout,
}

/// An HTTP request received by a server.
///
/// ```
/// use wsmachine::{Config, Connection, Event};
/// let mut server = Connection::server(Config::new());
/// let _ = server.receive(
///     b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///       Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
///       Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
/// );
/// let Some(Event::Request(req)) = server.poll_event() else { panic!() };
/// assert_eq!((req.method(), req.path(), req.minor_version()), ("GET", "/chat?room=1", 1));
/// assert!(req.is_websocket());
/// assert_eq!((req.host(), req.origin()), (Some("example.com"), Some("https://example.com")));
/// assert_eq!(req.header("upgrade"), Some(&b"websocket"[..]));
/// assert_eq!(req.headers().count(), 7);
/// assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
/// assert_eq!(req.extensions().count(), 0); // none offered
/// let owned = req.to_owned_request(); // outlives the connection's buffer
/// assert_eq!(owned.path, "/chat?room=1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) head: &'a Head,
    pub(crate) websocket: bool,
}

impl<'a> Request<'a> {
    /// The method, such as `GET` (example on [`Request`]).
    #[must_use]
    pub fn method(&self) -> &'a str {
        self.head.first.get_str(self.bytes)
    }

    /// The request target: path and query, such as `/chat?room=1` (example on [`Request`]).
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.head.second.get_str(self.bytes)
    }

    /// The HTTP minor version: 1 for HTTP/1.1 (example on [`Request`]).
    #[must_use]
    pub fn minor_version(&self) -> u8 {
        self.head.minor_version
    }

    /// Whether this is a valid WebSocket upgrade request, which [`accept`] may accept. A
    /// plain request (such as `GET /index.html`) can only be answered with [`respond`].
    /// Example on [`Request`].
    ///
    /// [`accept`]: crate::Connection::accept
    /// [`respond`]: crate::Connection::respond
    #[must_use]
    pub fn is_websocket(&self) -> bool {
        self.websocket
    }

    /// Every header, in order (example on [`Request`]).
    pub fn headers(&self) -> HeaderIter<'a> {
        self.head.headers(self.bytes)
    }

    /// The value of the first header named `name`, case-insensitive (example on [`Request`]).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        values(self.headers(), name).next()
    }

    /// The `Host` header (example on [`Request`]).
    #[must_use]
    pub fn host(&self) -> Option<&'a str> {
        self.header("host")
            .and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The `Origin` header, or when there is none `Sec-WebSocket-Origin` (which version 8
    /// clients send instead, §10.2). Example on [`Request`].
    #[must_use]
    pub fn origin(&self) -> Option<&'a str> {
        self.header("origin")
            .or_else(|| self.header("sec-websocket-origin"))
            .and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The subprotocols offered in `Sec-WebSocket-Protocol`, in the client's order of
    /// preference. Only values that are HTTP tokens are listed: anything else could not be
    /// echoed in a `101` (see [`Connection::accept`](crate::Connection::accept)).
    /// Example on [`Request`].
    pub fn subprotocols(&self) -> impl Iterator<Item = &'a str> + 'a {
        // Tokens only (see `offered_protocols`), which are ASCII.
        crate::handshake::offered_protocols(self.headers())
            .filter_map(|p| core::str::from_utf8(p).ok())
    }

    /// The extensions offered in `Sec-WebSocket-Extensions` (all header lines, in order),
    /// parsed by [`extensions::parse`].
    /// Example on [`Request`].
    pub fn extensions(
        &self,
    ) -> impl Iterator<Item = Result<extensions::Extension<'a>, extensions::ExtensionSyntaxError>> + 'a
    {
        header_extensions(self.headers())
    }

    /// Copies the request (example on [`Request`]).
    #[must_use]
    pub fn to_owned_request(&self) -> OwnedRequest {
        OwnedRequest {
            method: self.method().into(),
            path: self.path().into(),
            websocket: self.websocket,
            headers: owned_headers(self.headers()),
        }
    }
}

pub(crate) fn header_extensions<'a>(
    headers: HeaderIter<'a>,
) -> impl Iterator<Item = Result<extensions::Extension<'a>, extensions::ExtensionSyntaxError>> + 'a
{
    values(headers, "sec-websocket-extensions").flat_map(|v| -> Extensions<'a> {
        extensions::parse(core::str::from_utf8(v).unwrap_or("\u{0}"))
    })
}

fn owned_headers(headers: HeaderIter<'_>) -> Vec<(String, Vec<u8>)> {
    headers
        .map(|(n, v)| (String::from(n), v.to_vec()))
        .collect()
}

/// An HTTP response received by a client.
///
/// ```
/// use wsmachine::handshake::client::ClientRequest;
/// use wsmachine::{Accept, Config, Connection, Event, Seed};
/// let request = ClientRequest::new("example.com", "/").with_subprotocols(&["chat"]);
/// let mut client = Connection::client(Config::new(), &request, Seed::new([1; 32])).unwrap();
/// let mut server = Connection::server(Config::new());
/// let n = server.receive(client.output());
/// client.consume_output(n);
/// let _ = server.poll_event(); // the request
/// server.accept(Accept::new().with_subprotocol("chat")).unwrap();
/// let _ = client.receive(server.output());
/// let Some(Event::Accepted(response)) = client.poll_event() else { panic!() };
/// assert_eq!((response.status(), response.reason()), (101, "Switching Protocols"));
/// assert_eq!(response.subprotocol(), Some("chat"));
/// assert!(response.connection_has("upgrade") && response.body().is_empty());
/// assert_eq!(response.header("upgrade"), Some(&b"websocket"[..]));
/// assert!(response.headers().count() >= 4 && response.extensions().next().is_none());
/// assert_eq!(response.to_owned_response().status, 101);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) head: &'a Head,
    pub(crate) body: Span,
}

impl<'a> Response<'a> {
    /// The status code (example on [`Response`]).
    #[must_use]
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The reason phrase, such as `Switching Protocols` (example on [`Response`]).
    #[must_use]
    pub fn reason(&self) -> &'a str {
        self.head.first.get_str(self.bytes)
    }

    /// Every header, in order (example on [`Response`]).
    pub fn headers(&self) -> HeaderIter<'a> {
        self.head.headers(self.bytes)
    }

    /// The value of the first header named `name`, case-insensitive (example on [`Response`]).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        values(self.headers(), name).next()
    }

    /// The subprotocol the server chose (example on [`Response`]).
    #[must_use]
    pub fn subprotocol(&self) -> Option<&'a str> {
        self.header("sec-websocket-protocol")
            .and_then(|v| core::str::from_utf8(crate::handshake::trim_ows(v)).ok())
    }

    /// The extensions the server chose (example on [`Response`]).
    pub fn extensions(
        &self,
    ) -> impl Iterator<Item = Result<extensions::Extension<'a>, extensions::ExtensionSyntaxError>> + 'a
    {
        header_extensions(self.headers())
    }

    /// The body of a rejection (up to the handshake size limit); empty for `101` (example on
    /// [`Response`]).
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body.get(self.bytes)
    }

    /// Whether a `Connection` header lists `token` (example on [`Response`]).
    #[must_use]
    pub fn connection_has(&self, token: &str) -> bool {
        values(self.headers(), "connection").any(|v| has_token(v, token))
    }

    /// Copies the response (example on [`Response`]).
    #[must_use]
    pub fn to_owned_response(&self) -> OwnedResponse {
        OwnedResponse {
            status: self.status(),
            reason: self.reason().into(),
            headers: owned_headers(self.headers()),
            body: self.body().to_vec(),
        }
    }
}

/// An owned copy of a [`Request`].
/// Example on [`Request`] (`to_owned_request`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRequest {
    /// The method.
    pub method: String,
    /// The request target.
    pub path: String,
    /// Whether it is a valid WebSocket upgrade.
    pub websocket: bool,
    /// Every header, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// An owned copy of a [`Response`].
/// Example on [`Response`] (`to_owned_response`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Every header, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

/// An owned copy of an [`Event`], for sending to another task or keeping.
/// Example on [`Connection::poll_event`](crate::Connection::poll_event) (`into_owned`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedEvent {
    /// See [`Event::Request`].
    Request(OwnedRequest),
    /// See [`Event::Accepted`].
    Accepted(OwnedResponse),
    /// See [`Event::Rejected`].
    Rejected(OwnedResponse),
    /// See [`Event::Message`] with text.
    Text(String),
    /// See [`Event::Message`] with binary data.
    Binary(Vec<u8>),
    /// See [`Event::Fragment`].
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The piece's bytes (valid UTF-8 for text).
        data: Vec<u8>,
        /// The end of the message.
        fin: bool,
    },
    /// See [`Event::Ping`].
    Ping(Vec<u8>),
    /// See [`Event::Pong`].
    Pong(Vec<u8>),
    /// See [`Event::CloseReceived`].
    CloseReceived {
        /// The code.
        code: CloseCode,
        /// The reason.
        reason: String,
    },
    /// See [`Event::Closed`].
    Closed(Closed),
}

impl Event<'_> {
    /// Copies the event out of the connection's buffers (as [`Request::to_owned_request`]
    /// does for a request, see its example).
    #[must_use]
    pub fn into_owned(self) -> OwnedEvent {
        match self {
            Event::Request(r) => OwnedEvent::Request(r.to_owned_request()),
            Event::Accepted(r) => OwnedEvent::Accepted(r.to_owned_response()),
            Event::Rejected(r) => OwnedEvent::Rejected(r.to_owned_response()),
            Event::Message(Message::Text(t)) => OwnedEvent::Text(t.into()),
            Event::Message(Message::Binary(b)) => OwnedEvent::Binary(b.to_vec()),
            Event::Fragment(f) => OwnedEvent::Fragment {
                kind: f.kind(),
                data: f.as_bytes().to_vec(),
                fin: f.is_final(),
            },
            Event::Ping(p) => OwnedEvent::Ping(p.to_vec()),
            Event::Pong(p) => OwnedEvent::Pong(p.to_vec()),
            Event::CloseReceived(f) => OwnedEvent::CloseReceived {
                code: f.code,
                reason: f.reason.into(),
            },
            Event::Closed(c) => OwnedEvent::Closed(c),
        }
    }
}
