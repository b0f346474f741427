//! Proxies for clients: which proxy a URL goes through ([`ProxyEnv::proxy_for`], a pure
//! function of the destination and an environment given as an argument) and the tunnel
//! through it ([`Tunnel`]: HTTP `CONNECT` or SOCKS5, bytes in and bytes out, no I/O). The
//! drivers' `connect` run both through [`Connector`](super::Connector); a driver of your
//! own runs the [`Tunnel`] over its stream the same way.
//!
//! ```
//! use wsmachine::driver::proxy::{Proxy, ProxyEnv};
//!
//! let env = ProxyEnv::from_pairs(&[
//!     ("HTTPS_PROXY", "http://user:secret@proxy.corp:3128"),
//!     ("NO_PROXY", "localhost,.internal"),
//! ]);
//! let proxy = env.proxy_for(true, "api.example.com", 443)?.expect("through the proxy");
//! assert_eq!(proxy, Proxy::parse("http://user:secret@proxy.corp:3128")?);
//! assert_eq!(proxy.to_string(), "http://proxy.corp:3128"); // never the password
//! assert!(env.proxy_for(true, "db.internal", 443)?.is_none()); // NO_PROXY
//! assert!(env.proxy_for(false, "api.example.com", 80)?.is_none()); // no HTTP_PROXY
//! # Ok::<(), wsmachine::driver::proxy::ProxyError>(())
//! ```

mod env;
mod error;
mod tunnel;

#[cfg(test)]
mod tests;

pub use env::{no_proxy_matches, ProxyEnv};
pub use error::{ProxyError, ProxyErrorKind};
pub use tunnel::{Tunnel, TunnelStep};

use std::string::{String, ToString};
use std::vec::Vec;

/// How a proxy is asked for a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// An HTTP proxy: `CONNECT host:port` (RFC 9110 §9.3.6); `http://` proxy URLs.
    HttpConnect,
    /// A SOCKS5 proxy (RFC 1928), which resolves the destination's name itself;
    /// `socks5://` and `socks5h://` proxy URLs alike.
    Socks5,
}

/// A proxy: its kind, address and credentials (example in the [module docs](self)).
///
/// It displays (and debugs) without its credentials, so errors and logs that name it never
/// show a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl Proxy {
    /// An HTTP `CONNECT` proxy at `host:port`.
    ///
    /// ```
    /// use wsmachine::driver::proxy::{Proxy, ProxyKind};
    /// let proxy = Proxy::http("proxy.corp", 3128).with_credentials("me", "pw");
    /// assert_eq!(proxy.kind(), ProxyKind::HttpConnect);
    /// assert_eq!(proxy.to_string(), "http://proxy.corp:3128");
    /// ```
    #[must_use]
    pub fn http(host: &str, port: u16) -> Proxy {
        Proxy::new(ProxyKind::HttpConnect, host, port)
    }

    /// A SOCKS5 proxy at `host:port`.
    ///
    /// ```
    /// use wsmachine::driver::proxy::Proxy;
    /// assert_eq!(Proxy::socks5("127.0.0.1", 1080).to_string(), "socks5h://127.0.0.1:1080");
    /// ```
    #[must_use]
    pub fn socks5(host: &str, port: u16) -> Proxy {
        Proxy::new(ProxyKind::Socks5, host, port)
    }

    fn new(kind: ProxyKind, host: &str, port: u16) -> Proxy {
        Proxy {
            kind,
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
            credentials: None,
        }
    }

    /// The proxy with a user name and password: `Proxy-Authorization: Basic` for HTTP,
    /// username/password authentication (RFC 1929) for SOCKS5. Example on [`Proxy::http`].
    #[must_use]
    pub fn with_credentials(mut self, user: &str, password: &str) -> Proxy {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Parses a proxy URL: `http://[user:password@]host[:port]` (port 80 unless given),
    /// `socks5://` or `socks5h://` (port 1080), or a bare `host:port` (HTTP, as curl
    /// reads it). The user and password are percent-decoded.
    ///
    /// ```
    /// use wsmachine::driver::proxy::{Proxy, ProxyKind};
    /// let p = Proxy::parse("socks5://me:p%40ss@[::1]:9050")?;
    /// assert_eq!((p.kind(), p.host(), p.port()), (ProxyKind::Socks5, "::1", 9050));
    /// assert_eq!(p.credentials(), Some(("me", "p@ss")));
    /// assert_eq!(Proxy::parse("proxy:3128")?, Proxy::http("proxy", 3128));
    /// assert!(Proxy::parse("https://proxy:443").is_err()); // TLS to the proxy: not supported
    /// # Ok::<(), wsmachine::driver::proxy::ProxyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ProxyErrorKind::InvalidUrl`] for a URL that is not one of these (a scheme other
    /// than those, no host, a port that is not a number).
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let invalid = |reason: &'static str| {
            ProxyError::new(
                redact(url),
                ProxyErrorKind::InvalidUrl {
                    reason: reason.into(),
                },
            )
        };
        let url = url.trim();
        let (kind, rest, default_port) = match url.split_once("://") {
            None => (ProxyKind::HttpConnect, url, 80),
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "http" => (ProxyKind::HttpConnect, rest, 80),
                "socks5" | "socks5h" => (ProxyKind::Socks5, rest, 1080),
                "https" => return Err(invalid("TLS to the proxy (https://) is not supported")),
                _ => return Err(invalid("the scheme is not http, socks5 or socks5h")),
            },
        };
        // Anything after the authority ("/", a path) is ignored, as curl and Python do; an '@'
        // there means a password with an unencoded '/', '?' or '#', which would otherwise
        // make its start the host (and show it in errors).
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if rest
            .get(authority.len()..)
            .is_some_and(|after| after.contains('@'))
        {
            return Err(invalid(
                "an '@' after the host: percent-encode '/', '?' and '#' in the credentials",
            ));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| invalid("a bad port"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let mut proxy = Proxy::new(kind, host, port.unwrap_or(default_port));
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let user = percent_decode(user).ok_or_else(|| invalid("bad percent-encoding"))?;
            let password =
                percent_decode(password).ok_or_else(|| invalid("bad percent-encoding"))?;
            proxy = proxy.with_credentials(&user, &password);
        }
        Ok(proxy)
    }

    /// How the proxy is asked for a tunnel.
    #[must_use]
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host (an IPv6 address without brackets): what a driver connects to.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name and password, if any (example on [`Proxy::parse`]).
    #[must_use]
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }
}

impl core::fmt::Display for Proxy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let scheme = match self.kind {
            ProxyKind::HttpConnect => "http",
            ProxyKind::Socks5 => "socks5h",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl core::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `host[:port]` with an IPv6 host in brackets; `None` for a port that is not a number.
pub(crate) fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    match port {
        None | Some("") => Some((host, None)),
        Some(port) => Some((host, Some(port.parse().ok()?))),
    }
}

/// A proxy URL for an error message: everything but the credentials.
fn redact(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    if scheme.is_empty() {
        rest.to_string()
    } else {
        std::format!("{scheme}://{rest}")
    }
}

/// `%XX` decoding of a URL's userinfo; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = core::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
