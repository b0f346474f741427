//! WebSocket over HTTP/2 (RFC 8441): helpers for the extended CONNECT handshake.
//!
//! Over HTTP/2 a WebSocket is one stream opened with `:method = CONNECT` and
//! `:protocol = websocket`; there is no key and no accept value, and the server answers
//! `:status = 200`. These helpers check and build the header lists; the HTTP/2 stack carries
//! them, and [`Connection::upgraded_server`](crate::Connection::upgraded_server) or
//! [`Connection::upgraded_client`](crate::Connection::upgraded_client) runs the frames on the
//! stream. HTTP/3 uses the very same handshake (RFC 9220): [`h3`](super::h3) re-exports these
//! functions.
//!
//! ```
//! use wsmachine::handshake::h2;
//! let headers = [
//!     (":method", &b"CONNECT"[..]),
//!     (":protocol", b"websocket"),
//!     (":scheme", b"https"),
//!     (":path", b"/chat"),
//!     (":authority", b"example.com"),
//!     ("sec-websocket-version", b"13"),
//!     ("sec-websocket-protocol", b"chat, superchat"),
//! ];
//! let connect = h2::validate_extended_connect(headers).unwrap();
//! assert_eq!(connect.path, "/chat");
//! let response: Vec<_> = h2::response_headers(Some("chat")).collect();
//! assert_eq!(response, [(":status", "200"), ("sec-websocket-protocol", "chat")]);
//! ```

use alloc::borrow::Cow;

use crate::error::HandshakeError;
use crate::handshake::client::{ClientRequest, Switched};
use crate::handshake::{protocol_chosen, trim_ows, values};

/// The HTTP/2 setting by which a server allows the extended CONNECT (RFC 8441 §3): sent with
/// the value 1 (HTTP/3 has the same identifier: [`h3::SETTINGS_ENABLE_CONNECT_PROTOCOL`],
/// whose module example shows the handshake). The repository's `examples/h2_websocket.rs`
/// enables it with the `h2` crate.
///
/// [`h3::SETTINGS_ENABLE_CONNECT_PROTOCOL`]: super::h3::SETTINGS_ENABLE_CONNECT_PROTOCOL
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// A valid extended CONNECT request (RFC 8441 §4, §5; RFC 9220 §3 for HTTP/3). Example in
/// the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedConnect<'a> {
    /// `:authority`.
    pub authority: &'a str,
    /// `:path`.
    pub path: &'a str,
    /// `:scheme`.
    pub scheme: &'a str,
    /// `origin`, if sent.
    pub origin: Option<&'a str>,
}

fn one<'a, I>(headers: I, name: &'a str) -> Result<&'a str, HandshakeError>
where
    I: Iterator<Item = (&'a str, &'a [u8])> + 'a,
{
    let mut v = values(headers, name);
    match (v.next(), v.next()) {
        (Some(value), None) => {
            core::str::from_utf8(value).map_err(|_| HandshakeError::MalformedHttp)
        }
        _ => Err(HandshakeError::MalformedHttp),
    }
}

/// Checks the header list of an extended CONNECT request (pseudo-headers included, names
/// lowercase as HTTP/2 requires).
/// Example in the [module docs](self). A server that browsers reach checks their origin on
/// the same list too: [`OriginPolicy::check`](crate::handshake::origin::OriginPolicy::check)
/// (`:authority` is the request's own origin), and answers `403` when it refuses.
///
/// # Errors
///
/// [`HandshakeError::MethodNotGet`] if `:method` is not `CONNECT`,
/// [`HandshakeError::MissingUpgrade`] if `:protocol` is not `websocket`,
/// [`HandshakeError::MalformedHttp`] for missing or repeated pseudo-headers or HTTP/1.1
/// connection headers (RFC 9113 §8.2.2), [`HandshakeError::UnsupportedVersion`] unless
/// `sec-websocket-version: 13`.
pub fn validate_extended_connect<'a, I>(headers: I) -> Result<ExtendedConnect<'a>, HandshakeError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
    I::IntoIter: Clone + 'a,
{
    let headers = headers.into_iter();
    if one(headers.clone(), ":method")? != "CONNECT" {
        return Err(HandshakeError::MethodNotGet);
    }
    if !one(headers.clone(), ":protocol")?.eq_ignore_ascii_case("websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    let scheme = one(headers.clone(), ":scheme")?;
    let path = one(headers.clone(), ":path")?;
    let authority = one(headers.clone(), ":authority")?;
    for forbidden in ["connection", "upgrade", "keep-alive", "transfer-encoding"] {
        if values(headers.clone(), forbidden).next().is_some() {
            return Err(HandshakeError::MalformedHttp);
        }
    }
    let mut versions = values(headers.clone(), "sec-websocket-version").map(trim_ows);
    if !matches!((versions.next(), versions.next()), (Some(b"13"), None)) {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let origin = values(headers, "origin")
        .next()
        .and_then(|o| core::str::from_utf8(o).ok());
    Ok(ExtendedConnect {
        authority,
        path,
        scheme,
        origin,
    })
}

/// The response header list accepting an extended CONNECT: `:status 200` and the chosen
/// subprotocol (example in the [module docs](self)).
pub fn response_headers(subprotocol: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    [(":status", "200")]
        .into_iter()
        .chain(subprotocol.map(|p| ("sec-websocket-protocol", p)))
}

/// The request header list for an extended CONNECT built from a client request: the
/// pseudo-headers (`:authority` with the port unless it is the default), `sec-websocket-version:
/// 13`, the origin, one `sec-websocket-protocol` per offered subprotocol, and the extra headers
/// (names should be lowercase for HTTP/2). Example in the [`h3`](super::h3) module docs.
pub fn request_headers<'a>(
    request: &ClientRequest<'a>,
) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> {
    let scheme = if request.is_secure() { "https" } else { "http" };
    let path = match request.path() {
        p if p.starts_with('?') => Cow::Owned(alloc::format!("/{p}")),
        p => Cow::Borrowed(p),
    };
    [
        (":method", Cow::Borrowed("CONNECT")),
        (":protocol", Cow::Borrowed("websocket")),
        (":scheme", Cow::Borrowed(scheme)),
        (":path", path),
        (":authority", request.authority()),
        ("sec-websocket-version", Cow::Borrowed("13")),
    ]
    .into_iter()
    .chain(request.origin().map(|o| ("origin", Cow::Borrowed(o))))
    .chain(
        request
            .subprotocols()
            .iter()
            .map(|p| ("sec-websocket-protocol", Cow::Borrowed(*p))),
    )
    .chain(
        request
            .extensions()
            .map(|e| ("sec-websocket-extensions", Cow::Borrowed(e))),
    )
    .chain(
        request
            .headers()
            .iter()
            .map(|(n, v)| (*n, Cow::Borrowed(*v))),
    )
}

/// Checks the server's answer to an extended CONNECT: a 2xx status and, if present, one
/// subprotocol among `offered` (the offered names).
/// Example in the [`h3`](super::h3) module docs (the same function).
///
/// # Errors
///
/// [`HandshakeError::Rejected`] for a non-2xx status,
/// [`HandshakeError::UnexpectedSubprotocol`] for a subprotocol not offered.
pub fn validate_response<'a, I>(
    status: u16,
    headers: I,
    offered: &[&str],
) -> Result<Switched<'a>, HandshakeError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
    I::IntoIter: Clone + 'a,
{
    if !(200..300).contains(&status) {
        return Err(HandshakeError::Rejected(status));
    }
    let subprotocol = protocol_chosen(headers, |p| offered.iter().any(|o| o.as_bytes() == p))?;
    Ok(Switched { subprotocol })
}
