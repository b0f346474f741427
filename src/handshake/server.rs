//! Server side of the opening handshake (§4.2): validating a request, writing the response.
//!
//! ```
//! use wsmachine::handshake::server::{validate_request, write_accept};
//! let headers = [
//!     ("Host", &b"example.com"[..]),
//!     ("Upgrade", b"websocket"),
//!     ("Connection", b"keep-alive, Upgrade"),
//!     ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
//!     ("Sec-WebSocket-Version", b"13"),
//! ];
//! let upgrade = validate_request("GET", 1, headers, false).unwrap().expect("an upgrade");
//! let mut response = Vec::new();
//! write_accept(&mut response, &upgrade.accept_key(), None, &[]).unwrap();
//! assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! assert!(response.windows(28).any(|w| w == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
//! ```

use alloc::vec::Vec;

use crate::error::{HandshakeError, SendError};
use crate::handshake::{
    accept_key, has_token, is_valid_header, is_valid_key, trim_ows, values, AcceptKey,
};

/// A valid WebSocket upgrade request, as far as the server needs it (example in the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upgrade<'a> {
    /// The `Sec-WebSocket-Key` value, trimmed.
    pub key: &'a [u8],
    /// The `Sec-WebSocket-Version`: 13, or 8 when legacy versions are accepted.
    pub version: u8,
}

impl Upgrade<'_> {
    /// The `Sec-WebSocket-Accept` value for this request (example in the [module docs](self)).
    #[must_use]
    pub fn accept_key(&self) -> AcceptKey {
        accept_key(self.key)
    }
}

/// Checks a request against §4.2.1.
/// Example in the [module docs](self).
///
/// Returns `Ok(None)` for a request that does not ask for a WebSocket (no `Upgrade:
/// websocket` and no `Sec-WebSocket-Key` or `Sec-WebSocket-Version`): a plain HTTP request
/// the application may answer itself. `headers` are
/// `(name, value)` pairs in any case; `minor_version` is 1 for HTTP/1.1. With `legacy`,
/// version 8 is accepted as well as 13.
///
/// # Errors
///
/// [`HandshakeError::MissingUpgrade`] for WebSocket headers without `Upgrade: websocket`;
/// then the first rule broken, checked in this order: method, HTTP version, `Host`,
/// `Connection`, `Sec-WebSocket-Version` (426), `Sec-WebSocket-Key`.
pub fn validate_request<'a, I>(
    method: &str,
    minor_version: u8,
    headers: I,
    legacy: bool,
) -> Result<Option<Upgrade<'a>>, HandshakeError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
    I::IntoIter: Clone + 'a,
{
    let headers = headers.into_iter();
    if !values(headers.clone(), "upgrade").any(|v| has_token(v, "websocket")) {
        // A request with WebSocket headers but no `Upgrade: websocket` is a broken upgrade
        // (answered 400), not a plain request for the application to serve.
        let websocket_headers = ["sec-websocket-key", "sec-websocket-version"];
        if websocket_headers
            .iter()
            .any(|name| values(headers.clone(), name).next().is_some())
        {
            return Err(HandshakeError::MissingUpgrade);
        }
        return Ok(None);
    }
    if method != "GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if minor_version < 1 {
        return Err(HandshakeError::HttpVersion);
    }
    if values(headers.clone(), "host").count() != 1 {
        return Err(HandshakeError::MissingHost);
    }
    if !values(headers.clone(), "connection").any(|v| has_token(v, "upgrade")) {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let mut versions = values(headers.clone(), "sec-websocket-version").map(trim_ows);
    let version = match (versions.next(), versions.next()) {
        (Some(b"13"), None) => 13,
        (Some(b"8"), None) if legacy => 8,
        _ => return Err(HandshakeError::UnsupportedVersion),
    };
    let mut keys = values(headers, "sec-websocket-key").map(trim_ows);
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => key,
        _ => return Err(HandshakeError::MissingKey),
    };
    if !is_valid_key(key) {
        return Err(HandshakeError::InvalidKey);
    }
    Ok(Some(Upgrade { key, version }))
}

fn put_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Checks extra headers supplied by the application.
pub(crate) fn check_headers(headers: &[(&str, &str)]) -> Result<(), SendError> {
    if headers
        .iter()
        .all(|(n, v)| is_valid_header(n, v.as_bytes()))
    {
        Ok(())
    } else {
        Err(SendError::InvalidHeader)
    }
}

/// Writes a `101 Switching Protocols` response (§4.2.2) with the chosen subprotocol and any
/// extra headers (such as `Sec-WebSocket-Extensions` or cookies).
/// Example in the [module docs](self).
///
/// # Errors
///
/// [`SendError::InvalidHeader`] for a subprotocol or header that is not safe to send; nothing
/// is written then.
pub fn write_accept(
    out: &mut Vec<u8>,
    accept: &AcceptKey,
    subprotocol: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<(), SendError> {
    check_headers(headers)?;
    if let Some(p) = subprotocol {
        if !crate::extensions::is_token(p.as_bytes()) {
            return Err(SendError::InvalidHeader);
        }
    }
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    );
    put_header(out, "Sec-WebSocket-Accept", accept.as_bytes());
    if let Some(p) = subprotocol {
        put_header(out, "Sec-WebSocket-Protocol", p.as_bytes());
    }
    for (name, value) in headers {
        put_header(out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// The standard reason phrase for common statuses.
///
/// ```
/// assert_eq!(wsmachine::handshake::server::reason_phrase(426), "Upgrade Required");
/// ```
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Writes an HTTP response that ends the connection: a rejection of an upgrade, or the answer
/// to a plain request. `Content-Length` (unless given, and except for 204 and 304, which
/// carry no content, RFC 9110 §8.6) and `Connection: close` are added.
///
/// ```
/// let mut out = Vec::new();
/// wsmachine::handshake::server::write_response(&mut out, 404, &[], b"nope").unwrap();
/// assert!(out.starts_with(b"HTTP/1.1 404 Not Found\r\n") && out.ends_with(b"\r\n\r\nnope"));
/// ```
///
/// # Errors
///
/// [`SendError::InvalidStatus`] for a status outside 200-599,
/// [`SendError::InvalidHeader`] for a header that is not safe to send,
/// [`SendError::BodyNotAllowed`] for a body with 204 or 304.
pub fn write_response(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), SendError> {
    if !(200..=599).contains(&status) {
        return Err(SendError::InvalidStatus(status));
    }
    // RFC 9110 §15.3.5, §15.4.5: no content, so no body and no `Content-Length` of ours.
    let contentless = matches!(status, 204 | 304);
    if contentless && !body.is_empty() {
        return Err(SendError::BodyNotAllowed(status));
    }
    check_headers(headers)?;
    out.extend_from_slice(b"HTTP/1.1 ");
    let mut digits = [0u8; 3];
    for (d, div) in digits.iter_mut().zip([100, 10, 1]) {
        *d = b'0' + (status / div % 10) as u8;
    }
    out.extend_from_slice(&digits);
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_length = false;
    for (name, value) in headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        put_header(out, name, value.as_bytes());
    }
    if !has_length && !contentless {
        let mut buf = [0u8; 20];
        put_header(out, "Content-Length", format_usize(body.len(), &mut buf));
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    Ok(())
}

/// Writes the error response for a failed handshake: 400, 426 listing the versions the
/// server accepts (§4.4: `13`, or `13, 8` with `legacy`), or 431; the body is the reason.
pub(crate) fn write_error(out: &mut Vec<u8>, error: HandshakeError, legacy: bool) {
    let status = error.http_status().unwrap_or(400);
    let versions = if legacy { "13, 8" } else { "13" };
    let headers: &[(&str, &str)] = if status == 426 {
        &[
            ("Sec-WebSocket-Version", versions),
            ("Content-Type", "text/plain"),
        ]
    } else {
        &[("Content-Type", "text/plain")]
    };
    let _ = write_response(out, status, headers, error.reason().as_bytes());
}

fn format_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_numbers() {
        let mut b = [0; 20];
        assert_eq!(format_usize(0, &mut b), b"0");
        assert_eq!(format_usize(1234, &mut b), b"1234");
        assert_eq!(
            format_usize(usize::MAX, &mut b),
            usize::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn response_has_length_and_close() {
        let mut out = Vec::new();
        write_response(&mut out, 404, &[], b"nope").unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
        );
        assert_eq!(
            write_response(&mut out, 101, &[], b""),
            Err(SendError::InvalidStatus(101))
        );
        assert_eq!(
            write_response(&mut out, 200, &[("X", "a\r\nSet-Cookie: x")], b""),
            Err(SendError::InvalidHeader)
        );
    }
}
