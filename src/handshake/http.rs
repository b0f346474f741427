//! Conversions with the [`http`] crate's types, the currency of hyper and axum (feature
//! `http`).
//!
//! A hyper or axum server validates and answers the upgrade with [`upgrade_response`], then
//! runs [`Connection::upgraded_server`](crate::Connection::upgraded_server) on the upgraded
//! I/O:
//!
//! ```
//! # #[cfg(feature = "http")] {
//! use wsmachine::handshake::http::upgrade_response;
//! let request = http::Request::get("/ws")
//!     .header("host", "example.com")
//!     .header("upgrade", "websocket")
//!     .header("connection", "Upgrade")
//!     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
//!     .header("sec-websocket-version", "13")
//!     .body(())
//!     .unwrap();
//! let response = upgrade_response(&request, None).unwrap();
//! assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
//! assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! # }
//! ```

use alloc::vec::Vec;

use crate::error::HandshakeError;
use crate::event::{Request, Response};
use crate::handshake::client::{validate_response, ClientRequest, Switched};
use crate::handshake::origin::OriginPolicy;
use crate::handshake::server::validate_request;
use crate::handshake::{accept_key, protocol_offered};

fn header_pairs(headers: &::http::HeaderMap) -> Vec<(&str, &[u8])> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect()
}

/// Checks an upgrade request's origin against `policy` (RFC 6455 §10.2): call it before
/// [`upgrade_response`], and answer a refusal with its
/// [`http_status`](HandshakeError::http_status) (403) instead of upgrading. `Host`, or the
/// URI's authority when there is no `Host` header (HTTP/2), is the request's own origin for
/// [`OriginPolicy::SAME_ORIGIN`].
///
/// ```
/// use wsmachine::handshake::http::check_origin;
/// use wsmachine::handshake::origin::OriginPolicy;
/// let request = http::Request::get("/chat")
///     .header("Host", "chat.example.com")
///     .header("Origin", "https://evil.example")
///     .body(())
///     .unwrap();
/// let refused = check_origin(&request, &OriginPolicy::SAME_ORIGIN).unwrap_err();
/// assert_eq!(refused.http_status(), Some(403));
/// ```
///
/// # Errors
///
/// [`HandshakeError::ForbiddenOrigin`].
pub fn check_origin<B>(
    request: &::http::Request<B>,
    policy: &OriginPolicy,
) -> Result<(), HandshakeError> {
    if policy.is_any() {
        return Ok(());
    }
    let mut headers = header_pairs(request.headers());
    let authority = request.uri().authority().map(|a| a.as_str());
    if let Some(authority) = authority {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            headers.push(("host", authority.as_bytes()));
        }
    }
    policy.check(headers.iter().copied())
}

fn minor_version(version: ::http::Version) -> u8 {
    if version == ::http::Version::HTTP_10 || version == ::http::Version::HTTP_09 {
        0
    } else {
        1
    }
}

/// Validates an HTTP/1.1 upgrade request (§4.2.1) and builds the `101 Switching Protocols`
/// response, with `subprotocol` if given.
/// Examples in the [module docs](self) and on [`client_request`].
///
/// # Errors
///
/// The [`HandshakeError`] of the first rule broken ([`HandshakeError::MissingUpgrade`] for a
/// request that does not ask for a WebSocket), with the status to answer in
/// [`HandshakeError::http_status`]; [`HandshakeError::UnexpectedSubprotocol`] if the client
/// did not offer `subprotocol`.
pub fn upgrade_response<B>(
    request: &::http::Request<B>,
    subprotocol: Option<&str>,
) -> Result<::http::Response<()>, HandshakeError> {
    let headers = header_pairs(request.headers());
    let upgrade = validate_request(
        request.method().as_str(),
        minor_version(request.version()),
        headers.iter().copied(),
        false,
    )?
    .ok_or(HandshakeError::MissingUpgrade)?;
    if let Some(chosen) = subprotocol {
        if !protocol_offered(headers.iter().copied(), chosen) {
            return Err(HandshakeError::UnexpectedSubprotocol);
        }
    }
    let mut response = ::http::Response::builder()
        .status(::http::StatusCode::SWITCHING_PROTOCOLS)
        .header(::http::header::UPGRADE, "websocket")
        .header(::http::header::CONNECTION, "Upgrade")
        .header(
            ::http::header::SEC_WEBSOCKET_ACCEPT,
            upgrade.accept_key().as_str(),
        );
    if let Some(p) = subprotocol {
        response = response.header(::http::header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    response
        .body(())
        .map_err(|_| HandshakeError::InvalidRequest)
}

/// Builds the client's upgrade request as an `http::Request` (for an HTTP client stack), with
/// the base64 `key` (16 random bytes). Check the answer with [`validate_upgrade_response`].
///
/// ```
/// use wsmachine::handshake::client::ClientRequest;
/// use wsmachine::handshake::http::{client_request, upgrade_response, validate_upgrade_response};
/// let key = "dGhlIHNhbXBsZSBub25jZQ==";
/// let request = client_request(&ClientRequest::new("example.com", "/chat"), key).unwrap();
/// assert_eq!(request.headers()["sec-websocket-key"], key);
/// // What a server on the `http` types answers, checked by the client.
/// let response = upgrade_response(&request, None).unwrap();
/// let switched = validate_upgrade_response(&response, key, &[], "").unwrap();
/// assert_eq!(switched.subprotocol, None);
/// ```
///
/// # Errors
///
/// [`HandshakeError::InvalidRequest`] if a part is not valid HTTP.
pub fn client_request(
    request: &ClientRequest<'_>,
    key: &str,
) -> Result<::http::Request<()>, HandshakeError> {
    let scheme = if request.is_secure() { "wss" } else { "ws" };
    let uri = match request.port() {
        Some(port) => alloc::format!("{scheme}://{}:{port}{}", request.host(), request.path()),
        None => alloc::format!("{scheme}://{}{}", request.host(), request.path()),
    };
    let mut builder = ::http::Request::get(uri)
        .header(::http::header::HOST, request.authority().as_ref())
        .header(::http::header::UPGRADE, "websocket")
        .header(::http::header::CONNECTION, "Upgrade")
        .header(::http::header::SEC_WEBSOCKET_KEY, key)
        .header(::http::header::SEC_WEBSOCKET_VERSION, "13");
    if let Some(origin) = request.origin() {
        builder = builder.header(::http::header::ORIGIN, origin);
    }
    if !request.subprotocols().is_empty() {
        builder = builder.header(
            ::http::header::SEC_WEBSOCKET_PROTOCOL,
            request.subprotocols().join(", "),
        );
    }
    if let Some(ext) = request.extensions() {
        builder = builder.header(::http::header::SEC_WEBSOCKET_EXTENSIONS, ext);
    }
    for (name, value) in request.headers() {
        builder = builder.header(*name, *value);
    }
    builder.body(()).map_err(|_| HandshakeError::InvalidRequest)
}

/// Checks an `http::Response` to a request built by [`client_request`] with `key` (§4.1):
/// `offered_protocols` and `offered_extensions` are what the request offered (the
/// subprotocol names, and the `Sec-WebSocket-Extensions` value or `""`).
/// Example on [`client_request`].
///
/// # Errors
///
/// As [`validate_response`].
pub fn validate_upgrade_response<'a, B>(
    response: &'a ::http::Response<B>,
    key: &str,
    offered_protocols: &[&str],
    offered_extensions: &str,
) -> Result<Switched<'a>, HandshakeError> {
    let headers = header_pairs(response.headers());
    let offered = offered_protocols.join(", ");
    let switched = validate_response(
        response.status().as_u16(),
        headers.iter().copied(),
        &accept_key(key.as_bytes()),
        offered.as_bytes(),
        offered_extensions.as_bytes(),
    )?;
    // Re-borrow the subprotocol from the response itself (the pairs above are temporary).
    let subprotocol = switched.subprotocol.and(
        response
            .headers()
            .get(::http::header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .map(str::trim),
    );
    Ok(Switched { subprotocol })
}

impl Request<'_> {
    /// Converts the request head into an `http::Request` (no body).
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Event};
    /// let mut server = Connection::server(Config::new());
    /// let _ = server.receive(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    /// let Some(Event::Request(req)) = server.poll_event() else { panic!() };
    /// let http = req.to_http().unwrap();
    /// assert_eq!((http.method().as_str(), http.uri().path()), ("GET", "/x"));
    /// ```
    ///
    /// # Errors
    ///
    /// An [`http::Error`](::http::Error) if a part is not acceptable to the `http` crate.
    pub fn to_http(&self) -> Result<::http::Request<()>, ::http::Error> {
        let mut builder = ::http::Request::builder()
            .method(self.method())
            .uri(self.path())
            .version(if self.minor_version() == 0 {
                ::http::Version::HTTP_10
            } else {
                ::http::Version::HTTP_11
            });
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        builder.body(())
    }
}

impl Response<'_> {
    /// Converts the response into an `http::Response` with its body.
    ///
    /// ```
    /// use wsmachine::handshake::client::ClientRequest;
    /// use wsmachine::{Config, Connection, Event, Seed};
    /// let request = ClientRequest::new("example.com", "/");
    /// let mut client = Connection::client(Config::new(), &request, Seed::new([1; 32])).unwrap();
    /// let _ = client.receive(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
    /// let Some(Event::Rejected(response)) = client.poll_event() else { panic!() };
    /// let http = response.to_http().unwrap();
    /// assert_eq!((http.status().as_u16(), http.body().as_slice()), (403, &b"no"[..]));
    /// ```
    ///
    /// # Errors
    ///
    /// An [`http::Error`](::http::Error) if a part is not acceptable to the `http` crate.
    pub fn to_http(&self) -> Result<::http::Response<Vec<u8>>, ::http::Error> {
        let mut builder = ::http::Response::builder().status(self.status());
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        builder.body(self.body().to_vec())
    }
}
