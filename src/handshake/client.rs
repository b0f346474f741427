//! Client side of the opening handshake (§4.1): building the request, validating the response
//! (example on [`ClientRequest`]; [`Connection::client`](crate::Connection::client) does the
//! rest, as the [crate docs](crate) show).

use alloc::vec::Vec;

use crate::error::HandshakeError;
use crate::extensions;
use crate::handshake::{
    has_token, is_valid_header, list_items, protocol_chosen, trim_ows, values, AcceptKey,
};

/// What a client asks for: where to connect and what to offer.
///
/// ```
/// use wsmachine::handshake::client::ClientRequest;
/// let req = ClientRequest::from_uri("ws://example.com:8080/chat?room=1")
///     .unwrap()
///     .with_subprotocols(&["chat.v2", "chat"])
///     .with_origin("https://example.com");
/// assert_eq!(req.host(), "example.com");
/// assert_eq!(req.port(), Some(8080));
/// assert_eq!(req.path(), "/chat?room=1");
/// assert_eq!((req.authority(), req.effective_port()), ("example.com:8080".into(), 8080));
/// assert_eq!((req.subprotocols(), req.origin()), (&["chat.v2", "chat"][..], Some("https://example.com")));
///
/// // Built piece by piece: a `wss://` request on the default port, with more headers.
/// let req = ClientRequest::new("example.com", "/feed")
///     .with_secure(true)
///     .with_port(443)
///     .with_extensions("x-custom")
///     .with_headers(&[("Authorization", "Bearer t0k3n")]);
/// assert!(req.is_secure());
/// assert_eq!((req.authority(), req.effective_port()), ("example.com".into(), 443));
/// assert_eq!((req.extensions(), req.headers().len()), (Some("x-custom"), 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRequest<'a> {
    host: &'a str,
    port: Option<u16>,
    secure: bool,
    path: &'a str,
    origin: Option<&'a str>,
    subprotocols: &'a [&'a str],
    extensions: Option<&'a str>,
    headers: &'a [(&'a str, &'a str)],
}

impl<'a> ClientRequest<'a> {
    /// A request for `path` (path and query, starting with `/`) on `host` (example on [`ClientRequest`]).
    #[must_use]
    pub const fn new(host: &'a str, path: &'a str) -> ClientRequest<'a> {
        ClientRequest {
            host,
            port: None,
            secure: false,
            path,
            origin: None,
            subprotocols: &[],
            extensions: None,
            headers: &[],
        }
    }

    /// Parses a `ws://` or `wss://` URI (§3): host (a name, IPv4, or `[IPv6]`), optional
    /// port, path and query. Fragments and user info are refused.
    /// Example on [`ClientRequest`].
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidRequest`] for anything else.
    pub fn from_uri(uri: &'a str) -> Result<ClientRequest<'a>, HandshakeError> {
        let bad = HandshakeError::InvalidRequest;
        let (scheme, rest) = uri.split_once("://").ok_or(bad)?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(bad);
        };
        if rest.contains('#') {
            return Err(bad);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') || authority.is_empty() {
            return Err(bad);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(bad)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(bad)?),
            };
            (authority.get(..host.len() + 2).ok_or(bad)?, port)
        } else {
            match authority.rsplit_once(':') {
                // An IPv6 literal must be in brackets (RFC 3986 §3.2.2).
                Some((h, _)) if h.contains(':') => return Err(bad),
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            // RFC 3986 §3.2.3: an empty port is allowed and means the scheme's default.
            Some("") | None => None,
            // Digits only (`parse` would also take a leading '+').
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u16>().map_err(|_| bad)?)
            }
            Some(_) => return Err(bad),
        };
        // §3: an empty path is "/"; a query alone is written after it ("/?q", see `write`).
        let path = if path.is_empty() { "/" } else { path };
        let req = ClientRequest {
            port,
            secure,
            ..ClientRequest::new(host, path)
        };
        req.check()?;
        Ok(req)
    }

    /// Sets the port; without one the `Host` header carries none (example on [`ClientRequest`]).
    #[must_use]
    pub const fn with_port(mut self, port: u16) -> ClientRequest<'a> {
        self.port = Some(port);
        self
    }

    /// Marks the request as `wss://` (port 443 is then the default, omitted from `Host`) (example on [`ClientRequest`]).
    #[must_use]
    pub const fn with_secure(mut self, secure: bool) -> ClientRequest<'a> {
        self.secure = secure;
        self
    }

    /// Sets the `Origin` header (§4.1, §10.2) (example on [`ClientRequest`]).
    #[must_use]
    pub const fn with_origin(mut self, origin: &'a str) -> ClientRequest<'a> {
        self.origin = Some(origin);
        self
    }

    /// Offers subprotocols, most preferred first (example on [`ClientRequest`]).
    #[must_use]
    pub const fn with_subprotocols(mut self, protocols: &'a [&'a str]) -> ClientRequest<'a> {
        self.subprotocols = protocols;
        self
    }

    /// Offers extensions, as the raw `Sec-WebSocket-Extensions` value (example on [`ClientRequest`]).
    ///
    /// For extensions that change nothing on the wire: one the server accepts that sets RSV
    /// bits fails the connection. permessage-deflate is not offered here but through
    /// `Config::deflate` (feature `deflate`), whose offer goes in front of this value.
    #[must_use]
    pub const fn with_extensions(mut self, offer: &'a str) -> ClientRequest<'a> {
        self.extensions = Some(offer);
        self
    }

    /// Adds headers (cookies, authorization) (example on [`ClientRequest`]).
    #[must_use]
    pub const fn with_headers(mut self, headers: &'a [(&'a str, &'a str)]) -> ClientRequest<'a> {
        self.headers = headers;
        self
    }

    /// The host (example on [`ClientRequest`]).
    #[must_use]
    pub const fn host(&self) -> &'a str {
        self.host
    }

    /// The port, if one was given (example on [`ClientRequest`]).
    #[must_use]
    pub const fn port(&self) -> Option<u16> {
        self.port
    }

    /// The authority: the host, with the port unless it is the scheme's default. This is the
    /// `Host` header of §4.1 and the `:authority` of RFC 8441 (example on [`ClientRequest`]).
    #[must_use]
    pub fn authority(&self) -> alloc::borrow::Cow<'a, str> {
        let default_port = if self.secure { 443 } else { 80 };
        match self.port.filter(|&p| p != default_port) {
            Some(port) => alloc::format!("{}:{port}", self.host).into(),
            None => self.host.into(),
        }
    }

    /// The port to connect to: the given one, else 80 (`ws`) or 443 (`wss`) (example on [`ClientRequest`]).
    #[must_use]
    pub const fn effective_port(&self) -> u16 {
        match self.port {
            Some(p) => p,
            None if self.secure => 443,
            None => 80,
        }
    }

    /// Whether this is a `wss://` request (example on [`ClientRequest`]).
    #[must_use]
    pub const fn is_secure(&self) -> bool {
        self.secure
    }

    /// The path and query, as given (a query alone, `?q`, is sent as `/?q`) (example on [`ClientRequest`]).
    #[must_use]
    pub const fn path(&self) -> &'a str {
        self.path
    }

    /// The offered subprotocols (example on [`ClientRequest`]).
    #[must_use]
    pub const fn subprotocols(&self) -> &'a [&'a str] {
        self.subprotocols
    }

    /// The raw extension offer (example on [`ClientRequest`]).
    #[must_use]
    pub const fn extensions(&self) -> Option<&'a str> {
        self.extensions
    }

    /// The `Origin`, if set (example on [`ClientRequest`]).
    #[must_use]
    pub const fn origin(&self) -> Option<&'a str> {
        self.origin
    }

    /// The extra headers (example on [`ClientRequest`]).
    #[must_use]
    pub const fn headers(&self) -> &'a [(&'a str, &'a str)] {
        self.headers
    }

    /// Checks that every part can be sent without breaking the HTTP syntax.
    fn check(&self) -> Result<(), HandshakeError> {
        let bad = HandshakeError::InvalidRequest;
        let clean = |s: &str| !s.is_empty() && !s.bytes().any(|b| b <= b' ' || b == 0x7f);
        if !clean(self.host)
            || !clean(self.path)
            || !(self.path.starts_with('/') || self.path.starts_with('?'))
        {
            return Err(bad);
        }
        if self
            .origin
            .is_some_and(|o| !is_valid_header("Origin", o.as_bytes()))
        {
            return Err(bad);
        }
        if self
            .subprotocols
            .iter()
            .any(|p| !crate::extensions::is_token(p.as_bytes()))
        {
            return Err(bad);
        }
        if let Some(ext) = self.extensions {
            if extensions::parse(ext).any(|e| e.is_err()) {
                return Err(bad);
            }
        }
        if self
            .headers
            .iter()
            .any(|(n, v)| !is_valid_header(n, v.as_bytes()))
        {
            return Err(bad);
        }
        Ok(())
    }

    /// Writes the request head with the base64 `key` (§4.1).
    /// Example on [`validate_response`].
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidRequest`] if a part would break the HTTP syntax (CR, LF, spaces
    /// in the host or path, a subprotocol that is not a token).
    pub fn write(&self, key: &[u8], out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        self.check()?;
        out.extend_from_slice(b"GET ");
        if self.path.starts_with('?') {
            out.push(b'/');
        }
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.authority().as_bytes());
        out.extend_from_slice(
            b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
        );
        out.extend_from_slice(key);
        out.extend_from_slice(b"\r\nSec-WebSocket-Version: 13\r\n");
        if let Some(origin) = self.origin {
            out.extend_from_slice(b"Origin: ");
            out.extend_from_slice(origin.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !self.subprotocols.is_empty() {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            for (i, p) in self.subprotocols.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(p.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        if let Some(ext) = self.extensions {
            out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            out.extend_from_slice(ext.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// What a valid `101` response settled (example: [`h2::validate_response`](super::h2)'s module
/// example, or [`h3`](super::h3)'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switched<'a> {
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<&'a str>,
}

/// Checks a `101` response against §4.1: `Upgrade: websocket`, `Connection: Upgrade`, the
/// exact `Sec-WebSocket-Accept`, a subprotocol only if one of the offered ones, extensions only
/// if offered. `offered_protocols` and `offered_extensions` are the header values sent.
///
/// ```
/// use wsmachine::handshake::accept_key;
/// use wsmachine::handshake::client::{validate_response, ClientRequest};
/// let key = "dGhlIHNhbXBsZSBub25jZQ==";
/// let mut head = Vec::new();
/// ClientRequest::new("example.com", "/").write(key.as_bytes(), &mut head).unwrap();
/// assert!(head.starts_with(b"GET / HTTP/1.1\r\n"));
/// // The server's 101, as an HTTP stack parsed it.
/// let accept = accept_key(key.as_bytes());
/// let headers = [
///     ("Upgrade", &b"websocket"[..]),
///     ("Connection", b"Upgrade"),
///     ("Sec-WebSocket-Accept", accept.as_bytes()),
/// ];
/// let switched = validate_response(101, headers, &accept, b"", b"").unwrap();
/// assert_eq!(switched.subprotocol, None);
/// ```
///
/// # Errors
///
/// [`HandshakeError::Rejected`] for a status other than 101, otherwise the first rule broken.
pub fn validate_response<'a, I>(
    status: u16,
    headers: I,
    expected_accept: &AcceptKey,
    offered_protocols: &[u8],
    offered_extensions: &[u8],
) -> Result<Switched<'a>, HandshakeError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
    I::IntoIter: Clone + 'a,
{
    if status != 101 {
        return Err(HandshakeError::Rejected(status));
    }
    let headers = headers.into_iter();
    if !values(headers.clone(), "upgrade").any(|v| has_token(v, "websocket")) {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !values(headers.clone(), "connection").any(|v| has_token(v, "upgrade")) {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let mut accepts = values(headers.clone(), "sec-websocket-accept").map(trim_ows);
    match (accepts.next(), accepts.next()) {
        (Some(a), None) if a == expected_accept.as_bytes() => {}
        _ => return Err(HandshakeError::AcceptMismatch),
    }
    let subprotocol = protocol_chosen(headers.clone(), |p| {
        list_items(offered_protocols).any(|o| o == p)
    })?;
    let offered = core::str::from_utf8(offered_extensions).unwrap_or("");
    for value in values(headers, "sec-websocket-extensions") {
        let value = core::str::from_utf8(value).map_err(|_| HandshakeError::UnexpectedExtension)?;
        for ext in extensions::parse(value) {
            let ext = ext.map_err(|_| HandshakeError::UnexpectedExtension)?;
            let was_offered = extensions::parse(offered)
                .filter_map(Result::ok)
                .any(|o| o.name().eq_ignore_ascii_case(ext.name()));
            if !was_offered {
                return Err(HandshakeError::UnexpectedExtension);
            }
        }
    }
    Ok(Switched { subprotocol })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_table() {
        let ok =
            |u| ClientRequest::from_uri(u).map(|r| (r.host(), r.port(), r.path(), r.is_secure()));
        assert_eq!(ok("ws://a"), Ok(("a", None, "/", false)));
        assert_eq!(ok("WSS://a:1/x?y"), Ok(("a", Some(1), "/x?y", true)));
        assert_eq!(
            ok("ws://[::1]:9002/"),
            Ok(("[::1]", Some(9002), "/", false))
        );
        assert_eq!(ok("ws://a?q"), Ok(("a", None, "?q", false))); // sent as "GET /?q"
        assert!(ok("ws://::1/").is_err()); // IPv6 needs brackets
        assert!(ok("http://a/").is_err());
        assert!(ok("ws://a/#frag").is_err());
        assert!(ok("ws://u@a/").is_err());
        assert!(ok("ws://a:99999/").is_err());
        assert!(ok("ws:///").is_err());
    }

    #[test]
    fn request_bytes() {
        let mut out = Vec::new();
        ClientRequest::new("h", "/p")
            .with_port(80)
            .with_subprotocols(&["a", "b"])
            .write(b"dGhlIHNhbXBsZSBub25jZQ==", &mut out)
            .unwrap();
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("GET /p HTTP/1.1\r\nHost: h\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: a, b\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        let mut out = Vec::new();
        assert_eq!(
            ClientRequest::new("h", "/p\r\nX: y").write(b"k", &mut out),
            Err(HandshakeError::InvalidRequest)
        );
    }
}
