//! Why going through a proxy failed, naming the proxy.

use std::io;
use std::string::String;

/// Why a proxy did not give a tunnel: the proxy (its URL without credentials, or the
/// environment variable that named it) and what went wrong.
///
/// ```
/// use wsmachine::driver::proxy::{Proxy, ProxyError, ProxyErrorKind};
/// let e = Proxy::parse("ftp://proxy:21").unwrap_err();
/// assert!(matches!(e.kind(), ProxyErrorKind::InvalidUrl { .. }));
/// assert_eq!(e.proxy(), "ftp://proxy:21");
/// assert!(e.to_string().starts_with("proxy ftp://proxy:21: "));
/// ```
#[derive(Debug)]
pub struct ProxyError {
    pub(super) proxy: String,
    pub(super) kind: ProxyErrorKind,
}

/// What went wrong with a proxy (see [`ProxyError`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyErrorKind {
    /// The proxy setting is not a proxy URL this crate can use.
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting to the proxy, or reading from or writing to it, failed.
    Io(io::Error),
    /// The proxy closed the connection before the tunnel was open.
    Closed,
    /// The proxy did not answer before the handshake deadline.
    Timeout,
    /// The HTTP proxy answered `CONNECT` with a status other than 2xx: 407 when it wants
    /// credentials (or refused the ones sent), 403 when the destination is not allowed, 502
    /// when it could not reach it.
    HttpStatus {
        /// The status.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// The SOCKS5 proxy refused the connection with this reply code (RFC 1928 §6: 1
    /// general failure, 2 not allowed by its rules, 3 network unreachable, 4 host
    /// unreachable, 5 connection refused, 6 TTL expired, 7 command not supported, 8 address
    /// type not supported).
    SocksReply(u8),
    /// The SOCKS5 proxy accepted none of the authentication methods offered (with
    /// credentials: username/password; without: none).
    SocksNoAcceptableMethod,
    /// The SOCKS5 proxy refused the user name and password (RFC 1929).
    SocksAuthFailed,
    /// The proxy's answer is not valid for its protocol.
    Malformed(&'static str),
    /// The request cannot be put to this proxy (a SOCKS5 user name, password or host name
    /// longer than 255 bytes).
    Unsupported(&'static str),
}

impl ProxyError {
    pub(crate) fn new(proxy: String, kind: ProxyErrorKind) -> ProxyError {
        ProxyError { proxy, kind }
    }

    /// The proxy: its URL without credentials (`http://proxy.corp:3128`), or the
    /// environment variable whose value is not a proxy URL. Example on [`ProxyError`].
    #[must_use]
    pub fn proxy(&self) -> &str {
        &self.proxy
    }

    /// What went wrong. Example on [`ProxyError`].
    #[must_use]
    pub fn kind(&self) -> &ProxyErrorKind {
        &self.kind
    }
}

impl core::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "proxy {}: ", self.proxy)?;
        match &self.kind {
            ProxyErrorKind::InvalidUrl { reason } => write!(f, "not a usable proxy URL: {reason}"),
            ProxyErrorKind::Io(e) => write!(f, "{e}"),
            ProxyErrorKind::Closed => f.write_str("closed the connection before the tunnel opened"),
            ProxyErrorKind::Timeout => f.write_str("no answer before the handshake deadline"),
            ProxyErrorKind::HttpStatus { status: 407, reason } => write!(
                f,
                "407 {reason}: the proxy wants credentials (user:password@ in the proxy URL) or refused them"
            ),
            ProxyErrorKind::HttpStatus { status, reason } => {
                write!(f, "refused the tunnel: {status} {reason}")
            }
            ProxyErrorKind::SocksReply(code) => {
                write!(f, "SOCKS5 refused the connection: {} (code {code})", socks_reply_text(*code))
            }
            ProxyErrorKind::SocksNoAcceptableMethod => f.write_str(
                "SOCKS5 accepts none of the authentication methods offered (credentials needed?)",
            ),
            ProxyErrorKind::SocksAuthFailed => f.write_str("SOCKS5 refused the user name and password"),
            ProxyErrorKind::Malformed(what) => write!(f, "invalid answer: {what}"),
            ProxyErrorKind::Unsupported(what) => write!(f, "cannot be asked: {what}"),
        }
    }
}

/// RFC 1928 §6's reply codes.
fn socks_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ProxyErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
