//! The opening handshake (§4): pure helpers shared by both roles.
//!
//! [`Connection`](crate::Connection) drives the handshake itself; these functions are public
//! for stacks that parse HTTP on their own (hyper, axum, an HTTP/2 server) and only need the
//! WebSocket rules: [`accept_key`], [`server::validate_request`], [`server::write_accept`],
//! [`client::validate_response`], the RFC 8441 helpers in [`h2`] and, for HTTP/3 (RFC 9220,
//! the same rules), [`h3`]. Each has its example ([`accept_key`]'s, [`server`]'s module docs,
//! [`h2`]'s, [`h3`]'s).

pub mod client;
pub mod h2;
pub mod h3;
#[cfg(feature = "http")]
pub mod http;
pub mod origin;
pub mod server;

use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::error::HandshakeError;

/// The GUID appended to the client's key before hashing, §1.3 (used by [`accept_key`], see
/// its example).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A `Sec-WebSocket-Accept` value: 28 characters of base64 (example on [`accept_key`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AcceptKey([u8; 28]);

impl AcceptKey {
    /// The value as text (example on [`accept_key`]).
    #[must_use]
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The value as bytes (example on [`accept_key`]).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AcceptKey({})", self.as_str())
    }
}

impl fmt::Display for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Computes `Sec-WebSocket-Accept` from `Sec-WebSocket-Key`: `base64(sha1(key + GUID))` (§4.2.2).
///
/// ```
/// // The example of §1.3.
/// let accept = wsmachine::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(accept.as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
pub fn accept_key(key: &[u8]) -> AcceptKey {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    // 20 bytes of digest always encode to exactly 28 characters.
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut out);
    AcceptKey(out)
}

/// Base64 that tolerates non-zero trailing bits: the example key of §4.1 itself,
/// `AQIDBAUGBwgJCgsMDQ4PEC==`, is not canonical base64 (RFC 4648 §3.5), and clients copy it.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of exactly 16 bytes (§4.2.1).
///
/// ```
/// use wsmachine::handshake::is_valid_key;
/// assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ==")); // §1.3
/// assert!(is_valid_key(b"AQIDBAUGBwgJCgsMDQ4PEC==")); // §4.1, with non-zero trailing bits
/// assert!(!is_valid_key(b"c2hvcnQ="));
/// ```
#[must_use]
pub fn is_valid_key(key: &[u8]) -> bool {
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(LENIENT_BASE64.decode_slice(key, &mut decoded), Ok(16))
}

/// Trims optional whitespace (spaces and tabs) from both ends.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = s.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(a), Some(b)) => s.get(a..=b).unwrap_or_default(),
        _ => &[],
    }
}

/// The non-empty elements of a comma-separated header value, trimmed (RFC 7230 §7).
///
/// ```
/// use wsmachine::handshake::list_items;
/// let items: Vec<&[u8]> = list_items(b"chat, , superchat ").collect();
/// assert_eq!(items, [&b"chat"[..], b"superchat"]);
/// ```
pub fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|s| !s.is_empty())
}

/// Whether a comma-separated header value contains `token`, compared case-insensitively.
///
/// ```
/// use wsmachine::handshake::has_token;
/// assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
/// assert!(!has_token(b"keep-alive", "upgrade"));
/// ```
#[must_use]
pub fn has_token(value: &[u8], token: &str) -> bool {
    list_items(value).any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
}

/// Finds the end of an HTTP head (the empty line) in `buf`, scanning from `from` (bytes
/// before it were scanned already and hold no end). Returns the head length including the
/// empty line.
///
/// Scanning only new bytes keeps a head fed one byte per call linear, where re-parsing the
/// whole buffer each time would be quadratic.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    // A terminator may straddle the previous scan: start up to 3 bytes earlier.
    let start = from.saturating_sub(3);
    let tail = buf.get(start..)?;
    memchr::memchr_iter(b'\n', tail).find_map(|nl| {
        let before = tail.get(..nl).unwrap_or_default();
        // A blank line needs a previous line: "\n" at the very start of a head is not one.
        matches!(before, [.., b'\n'] | [.., b'\n', b'\r']).then_some(start + nl + 1)
    })
}

/// A range of a head's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    /// The span of `part`, a subslice of `whole`.
    fn of(whole: &[u8], part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        Span {
            start,
            end: start + part.len(),
        }
    }

    pub(crate) fn get<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes.get(self.start..self.end).unwrap_or_default()
    }

    pub(crate) fn get_str<'a>(&self, bytes: &'a [u8]) -> &'a str {
        core::str::from_utf8(self.get(bytes)).unwrap_or_default()
    }
}

/// A parsed HTTP head, stored as spans into its bytes so that events can borrow it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Head {
    /// Length of the head in bytes, including the blank line.
    pub(crate) len: usize,
    /// Request: method. Response: reason phrase.
    pub(crate) first: Span,
    /// Request: path. Response: unused.
    pub(crate) second: Span,
    /// Response status code.
    pub(crate) status: u16,
    /// `1` for HTTP/1.1.
    pub(crate) minor_version: u8,
    pub(crate) headers: Vec<(Span, Span)>,
}

/// Header slots for parsing `head`: as many as it has lines (each header takes one), and at
/// most `max_headers`, so that a large limit costs nothing for a small head and a head with
/// too many lines still fails with `TooManyHeaders`.
fn header_slots(head: &[u8], max_headers: usize) -> usize {
    let lines = memchr::memchr_iter(b'\n', head).count();
    lines.min(max_headers)
}

/// The head's length, once httparse has it all (the caller found the blank line first).
fn complete(parsed: httparse::Result<usize>) -> Result<usize, HandshakeError> {
    match parsed.map_err(map_httparse)? {
        httparse::Status::Complete(len) => Ok(len),
        httparse::Status::Partial => Err(HandshakeError::MalformedHttp),
    }
}

/// Each header as spans into `bytes`.
fn header_spans(bytes: &[u8], headers: &[httparse::Header<'_>]) -> Vec<(Span, Span)> {
    headers
        .iter()
        .map(|h| (Span::of(bytes, h.name.as_bytes()), Span::of(bytes, h.value)))
        .collect()
}

fn map_httparse(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        _ => HandshakeError::MalformedHttp,
    }
}

impl Head {
    /// Parses a complete request head (`bytes` ends with the blank line).
    pub(crate) fn parse_request(bytes: &[u8], max_headers: usize) -> Result<Head, HandshakeError> {
        let mut storage = alloc::vec![httparse::EMPTY_HEADER; header_slots(bytes, max_headers)];
        let mut req = httparse::Request::new(&mut storage);
        let len = complete(req.parse(bytes))?;
        Ok(Head {
            len,
            first: Span::of(bytes, req.method.unwrap_or_default().as_bytes()),
            second: Span::of(bytes, req.path.unwrap_or_default().as_bytes()),
            status: 0,
            minor_version: req.version.unwrap_or(0),
            headers: header_spans(bytes, req.headers),
        })
    }

    /// Parses a complete response head.
    pub(crate) fn parse_response(bytes: &[u8], max_headers: usize) -> Result<Head, HandshakeError> {
        let mut storage = alloc::vec![httparse::EMPTY_HEADER; header_slots(bytes, max_headers)];
        let mut res = httparse::Response::new(&mut storage);
        let len = complete(res.parse(bytes))?;
        Ok(Head {
            len,
            first: Span::of(bytes, res.reason.unwrap_or_default().as_bytes()),
            second: Span::default(),
            status: res.code.unwrap_or(0),
            minor_version: res.version.unwrap_or(0),
            headers: header_spans(bytes, res.headers),
        })
    }

    /// The headers as `(name, value)` pairs.
    pub(crate) fn headers<'a>(&'a self, bytes: &'a [u8]) -> HeaderIter<'a> {
        HeaderIter {
            bytes,
            inner: self.headers.iter(),
        }
    }
}

/// Iterator over the headers of a request or response: `(name, value)`, in order (example on
/// [`Request`](crate::Request)).
#[derive(Clone, Debug)]
pub struct HeaderIter<'a> {
    bytes: &'a [u8],
    inner: core::slice::Iter<'a, (Span, Span)>,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(n, v)| (n.get_str(self.bytes), v.get(self.bytes)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Server: the subprotocols a request's `Sec-WebSocket-Protocol` headers offer, in order.
/// Only HTTP tokens count (RFC 9110 §5.6.2, which §4.1 refers to): a value a `101` could not
/// echo back is never offered, so an application cannot choose it and then fail to answer.
pub(crate) fn offered_protocols<'a, I>(headers: I) -> impl Iterator<Item = &'a [u8]>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    values(headers, "sec-websocket-protocol")
        .flat_map(list_items)
        .filter(|p| crate::extensions::is_token(p))
}

/// Server: whether the request's `Sec-WebSocket-Protocol` headers offer `protocol`.
pub(crate) fn protocol_offered<'a, I>(headers: I, protocol: &str) -> bool
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    offered_protocols(headers).any(|p| p == protocol.as_bytes())
}

/// Client: the subprotocol a response chose (§4.1): none, or exactly one value, which
/// `offered` says the request offered.
pub(crate) fn protocol_chosen<'a, I>(
    headers: I,
    offered: impl Fn(&[u8]) -> bool,
) -> Result<Option<&'a str>, HandshakeError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let mut chosen = values(headers, "sec-websocket-protocol").flat_map(list_items);
    match (chosen.next(), chosen.next()) {
        (None, _) => Ok(None),
        (Some(p), None) if offered(p) => core::str::from_utf8(p)
            .map(Some)
            .map_err(|_| HandshakeError::UnexpectedSubprotocol),
        _ => Err(HandshakeError::UnexpectedSubprotocol),
    }
}

/// The values of every header named `name` (case-insensitive), in order.
pub(crate) fn values<'a, 'n, I>(headers: I, name: &'n str) -> Values<'n, I::IntoIter>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    Values {
        inner: headers.into_iter(),
        name,
    }
}

/// Iterator returned by [`values`].
#[derive(Clone, Debug)]
pub(crate) struct Values<'n, I> {
    inner: I,
    name: &'n str,
}

impl<'a, I> Iterator for Values<'_, I>
where
    I: Iterator<Item = (&'a str, &'a [u8])>,
{
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        self.inner
            .by_ref()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Whether a header name is a token and a value has no CR, LF or NUL (header injection).
pub(crate) fn is_valid_header(name: &str, value: &[u8]) -> bool {
    crate::extensions::is_token(name.as_bytes())
        && !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1_3_accept_key() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").as_str(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn key_validity() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ")); // unpadded
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXg=")); // 17 bytes
        assert!(!is_valid_key(b"")); // empty
        assert!(!is_valid_key(b"!!!!!!!!!!!!!!!!!!!!!!==")); // not base64
    }

    #[test]
    fn head_end_is_found_across_calls() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
        for split in 0..head.len() {
            let first = find_head_end(&head[..split], 0);
            let found = first.or_else(|| find_head_end(head, split));
            assert_eq!(found, Some(27), "split {split}");
        }
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: x\n\n", 0), Some(24));
    }
}
