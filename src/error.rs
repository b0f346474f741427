//! Errors, one enum per layer: the peer's violations, local command failures, and handshake
//! failures.

use core::fmt;

use crate::close::CloseCode;

/// The peer broke the protocol; the connection fails with [`close_code`](Self::close_code).
/// Example on [`ProtocolError::close_code`].
///
/// A [`Connection`](crate::Connection) never returns these from a method (the standalone
/// parsers [`FrameHeader::parse`](crate::frame::FrameHeader::parse) and
/// [`CloseFrame::parse`](crate::CloseFrame::parse) do): it queues a close frame with the code,
/// discards further input, and reports the error once as the cause of the final
/// [`Event::Closed`](crate::Event::Closed) (§7.1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode reserved for future use (§5.2).
    ReservedOpcode(u8),
    /// RSV bits set while no extension that defines them was negotiated (§5.2).
    UnexpectedRsvBits(u8),
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlFrameTooLong,
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A continuation frame with no fragmented message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is still in progress (§5.4).
    ExpectedContinuation,
    /// A client sent an unmasked frame (§5.1).
    UnmaskedClientFrame,
    /// A server sent a masked frame (§5.1).
    MaskedServerFrame,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthTopBitSet,
    /// A payload length not encoded in the minimal number of bytes (§5.2).
    NonMinimalLength,
    /// A close frame with a code that may not be used (§7.4).
    InvalidCloseCode(u16),
    /// A close frame whose payload is a single byte (§5.5.1).
    CloseFrameTooShort,
    /// A close reason that is not valid UTF-8 (§5.5.1).
    InvalidCloseReason,
    /// A text message that is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A frame longer than the configured maximum frame size.
    FrameTooLarge,
    /// A message longer than the configured maximum message size.
    MessageTooLarge,
    /// A message split into more frames than the configured maximum.
    TooManyFragments,
    /// A compressed message that does not inflate (RFC 7692 §8).
    InflateFailed,
    /// Not the peer's doing: an internal assumption of this crate broke. The connection fails
    /// with 1011 and no detail rather than deliver wrong or truncated data. Please report it.
    Internal,
}

impl ProtocolError {
    /// The close code sent to the peer for this error.
    ///
    /// ```
    /// use wsmachine::{CloseCode, ProtocolError};
    /// let e = ProtocolError::InvalidUtf8;
    /// assert_eq!(e.close_code(), CloseCode::INVALID_PAYLOAD);
    /// assert!(e.reason().len() <= 123);
    /// ```
    #[must_use]
    pub const fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::ReservedOpcode(_)
            | ProtocolError::UnexpectedRsvBits(_)
            | ProtocolError::ControlFrameTooLong
            | ProtocolError::FragmentedControlFrame
            | ProtocolError::UnexpectedContinuation
            | ProtocolError::ExpectedContinuation
            | ProtocolError::UnmaskedClientFrame
            | ProtocolError::MaskedServerFrame
            | ProtocolError::LengthTopBitSet
            | ProtocolError::NonMinimalLength
            | ProtocolError::InvalidCloseCode(_)
            | ProtocolError::CloseFrameTooShort => CloseCode::PROTOCOL_ERROR,
            ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidUtf8
            | ProtocolError::InflateFailed => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooLarge | ProtocolError::MessageTooLarge => CloseCode::TOO_BIG,
            ProtocolError::TooManyFragments => CloseCode::POLICY,
            ProtocolError::Internal => CloseCode::INTERNAL_ERROR,
        }
    }

    /// A short description, also sent as the close reason, always under 123 bytes (example on
    /// [`close_code`](Self::close_code)).
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::UnexpectedRsvBits(_) => "RSV bits set without an extension",
            ProtocolError::ControlFrameTooLong => "control frame longer than 125 bytes",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::UnexpectedContinuation => "continuation frame without a message",
            ProtocolError::ExpectedContinuation => "new message inside a fragmented message",
            ProtocolError::UnmaskedClientFrame => "unmasked frame from client",
            ProtocolError::MaskedServerFrame => "masked frame from server",
            ProtocolError::LengthTopBitSet => "payload length with the top bit set",
            ProtocolError::NonMinimalLength => "payload length not minimally encoded",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::CloseFrameTooShort => "close payload of one byte",
            ProtocolError::InvalidCloseReason => "close reason is not valid UTF-8",
            ProtocolError::InvalidUtf8 => "text message is not valid UTF-8",
            ProtocolError::FrameTooLarge => "frame too large",
            ProtocolError::MessageTooLarge => "message too large",
            ProtocolError::TooManyFragments => "too many fragments",
            ProtocolError::InflateFailed => "invalid compressed data",
            ProtocolError::Internal => "internal error",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::UnexpectedRsvBits(bits) => {
                write!(f, "RSV bits {bits:#05b} set without an extension")
            }
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            other => f.write_str(other.reason()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}

/// A local command (send, close, accept, respond) could not be carried out.
///
/// Commands are atomic: when one fails, nothing was queued and no state changed.
///
/// ```
/// use wsmachine::{CloseCode, Config, Connection, SendError};
/// let mut server = Connection::upgraded_server(Config::new(), &[]);
/// server.close(CloseCode::NORMAL, "").unwrap();
/// assert_eq!(server.send_text("late"), Err(SendError::Closing));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The opening handshake has not completed yet.
    NotOpen,
    /// A close frame was sent, or the connection ended but the application has not seen
    /// [`Event::Closed`](crate::Event::Closed) yet: the benign race of a send that crosses a
    /// close, not a programming error.
    Closing,
    /// The connection is closed and the application was told (`Event::Closed` was delivered):
    /// a send after that is a use after close.
    Closed,
    /// A control frame payload longer than 125 bytes (§5.5).
    ControlTooLong,
    /// A close code that may not be sent (§7.4), such as 1005 or 1006.
    CloseCodeNotSendable(u16),
    /// A close reason longer than 123 bytes.
    ReasonTooLong,
    /// A fragment out of sequence: a continuation without a started message, a new message
    /// while a fragmented one is unfinished, or a kind that differs from the message's (§5.4).
    FragmentSequence,
    /// Text fragments that do not form valid UTF-8.
    InvalidUtf8,
    /// Queuing the frame would exceed `Config::max_output_backlog`; write out pending output
    /// first.
    OutputFull,
    /// `accept` or `respond` without a request waiting for an answer.
    NoPendingRequest,
    /// `accept` on a request that is not a WebSocket upgrade.
    NotWebSocketRequest,
    /// `accept` chose a subprotocol the client did not offer.
    SubprotocolNotOffered,
    /// A header name or value that cannot be sent (not a token, or contains CR or LF).
    InvalidHeader,
    /// An HTTP status outside 200-599 (or 101, which only `accept` sends).
    InvalidStatus(u16),
    /// The compressor failed (permessage-deflate); the connection should be closed with
    /// [`CloseCode::INTERNAL_ERROR`].
    CompressionFailed,
    /// An unbuffered send needs a server (client frames are masked, which means copying) and
    /// an empty output (the payload must follow what was queued before).
    UnbufferedNotPossible,
    /// A body with a status that carries none (204, 304: RFC 9110 §15.3.5, §15.4.5).
    BodyNotAllowed(u16),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotOpen => f.write_str("the opening handshake has not completed"),
            SendError::Closing => f.write_str("the connection is closing"),
            SendError::Closed => f.write_str("the connection is closed"),
            SendError::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            SendError::CloseCodeNotSendable(c) => write!(f, "close code {c} may not be sent"),
            SendError::ReasonTooLong => f.write_str("close reason over 123 bytes"),
            SendError::FragmentSequence => f.write_str("fragment out of sequence"),
            SendError::InvalidUtf8 => f.write_str("text fragments are not valid UTF-8"),
            SendError::OutputFull => f.write_str("output backlog limit reached"),
            SendError::NoPendingRequest => f.write_str("no request is waiting for an answer"),
            SendError::NotWebSocketRequest => f.write_str("the request is not a WebSocket upgrade"),
            SendError::SubprotocolNotOffered => {
                f.write_str("the client did not offer that subprotocol")
            }
            SendError::InvalidHeader => f.write_str("invalid header name or value"),
            SendError::InvalidStatus(s) => write!(f, "invalid HTTP status {s}"),
            SendError::CompressionFailed => f.write_str("compression failed"),
            SendError::UnbufferedNotPossible => {
                f.write_str("unbuffered sends need a server with its output written out")
            }
            SendError::BodyNotAllowed(s) => write!(f, "a {s} response carries no body"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SendError {}

/// The opening handshake failed (§4).
/// Example on [`HandshakeError::http_status`].
///
/// On the server, the matching HTTP error response ([`http_status`](Self::http_status)) has
/// been queued for the caller to write out. On the client, the connection is failed and the
/// transport should be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request or response head is larger than `Config::max_handshake_bytes`.
    HeadTooLarge,
    /// More header lines than `Config::max_headers`.
    TooManyHeaders,
    /// The bytes are not a well-formed HTTP/1.x head.
    MalformedHttp,
    /// The upgrade request does not use `GET` (§4.2.1).
    MethodNotGet,
    /// The upgrade request is not HTTP/1.1 or later (§4.2.1).
    HttpVersion,
    /// No `Host` header (§4.2.1).
    MissingHost,
    /// No `Connection: Upgrade` token (§4.2.1, §4.1).
    MissingConnectionUpgrade,
    /// No `Upgrade: websocket` token (§4.1).
    MissingUpgrade,
    /// No `Sec-WebSocket-Key`, or more than one (§4.2.1).
    MissingKey,
    /// A `Sec-WebSocket-Key` that is not 16 bytes of base64 (§4.2.1).
    InvalidKey,
    /// A `Sec-WebSocket-Version` other than 13 (or 8 when legacy versions are allowed): 426
    /// with `Sec-WebSocket-Version: 13` (§4.2.2, §4.4).
    UnsupportedVersion,
    /// The server answered with a status other than 101 (§4.1).
    Rejected(u16),
    /// `Sec-WebSocket-Accept` missing or not the value computed from our key (§4.1).
    AcceptMismatch,
    /// The server chose a subprotocol the client did not offer, or several (§4.1).
    UnexpectedSubprotocol,
    /// The server chose an extension the client did not offer (§4.1, §9.1).
    UnexpectedExtension,
    /// The transport closed before the handshake completed.
    Incomplete,
    /// The handshake did not complete within `Config::handshake_timeout` (server: 408).
    Timeout,
    /// A client request that cannot be built: bad URI, host, path or header.
    InvalidRequest,
    /// The request's `Origin` is not one the server's
    /// [`OriginPolicy`](crate::handshake::origin::OriginPolicy) accepts (RFC 6455 §10.2;
    /// server: 403).
    ForbiddenOrigin,
}

impl HandshakeError {
    /// The HTTP status a server answers with: 431 for size limits, 426 for the version, 403
    /// for a refused origin, 400 for other invalid requests. `None` for client-side errors.
    ///
    /// ```
    /// use wsmachine::HandshakeError;
    /// assert_eq!(HandshakeError::UnsupportedVersion.http_status(), Some(426));
    /// assert!(!HandshakeError::UnsupportedVersion.reason().is_empty());
    /// ```
    #[must_use]
    pub const fn http_status(&self) -> Option<u16> {
        match self {
            HandshakeError::HeadTooLarge | HandshakeError::TooManyHeaders => Some(431),
            HandshakeError::UnsupportedVersion => Some(426),
            HandshakeError::Timeout => Some(408),
            HandshakeError::ForbiddenOrigin => Some(403),
            HandshakeError::MalformedHttp
            | HandshakeError::MethodNotGet
            | HandshakeError::HttpVersion
            | HandshakeError::MissingHost
            | HandshakeError::MissingConnectionUpgrade
            | HandshakeError::MissingUpgrade
            | HandshakeError::MissingKey
            | HandshakeError::InvalidKey => Some(400),
            HandshakeError::Rejected(_)
            | HandshakeError::AcceptMismatch
            | HandshakeError::UnexpectedSubprotocol
            | HandshakeError::UnexpectedExtension
            | HandshakeError::Incomplete
            | HandshakeError::InvalidRequest => None,
        }
    }

    /// A short description, used as the body of the error response (example on
    /// [`http_status`](Self::http_status)).
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            HandshakeError::HeadTooLarge => "request head too large",
            HandshakeError::TooManyHeaders => "too many header lines",
            HandshakeError::MalformedHttp => "malformed HTTP",
            HandshakeError::MethodNotGet => "a WebSocket upgrade must use GET",
            HandshakeError::HttpVersion => "a WebSocket upgrade needs HTTP/1.1",
            HandshakeError::MissingHost => "missing Host header",
            HandshakeError::MissingConnectionUpgrade => "missing Connection: Upgrade",
            HandshakeError::MissingUpgrade => "missing Upgrade: websocket",
            HandshakeError::MissingKey => "missing or repeated Sec-WebSocket-Key",
            HandshakeError::InvalidKey => "Sec-WebSocket-Key is not 16 bytes of base64",
            HandshakeError::UnsupportedVersion => "unsupported Sec-WebSocket-Version",
            HandshakeError::Rejected(_) => "the server did not switch protocols",
            HandshakeError::AcceptMismatch => "wrong or missing Sec-WebSocket-Accept",
            HandshakeError::UnexpectedSubprotocol => "server chose a subprotocol not offered",
            HandshakeError::UnexpectedExtension => "server chose an extension not offered",
            HandshakeError::Incomplete => "connection closed during the handshake",
            HandshakeError::Timeout => "the handshake took too long",
            HandshakeError::InvalidRequest => "invalid client request",
            HandshakeError::ForbiddenOrigin => "origin not allowed",
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Rejected(status) => write!(f, "the server answered {status}"),
            other => f.write_str(other.reason()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}
