//! The `Origin` check: which browser pages may open a WebSocket to this server (RFC 6455
//! §10.2, §4.2.2).
//!
//! A browser attaches the user's cookies to a WebSocket upgrade whatever page opens it, and
//! names that page's origin in `Origin`. A server that serves browsers and does not check it
//! lets any site act as its logged-in users (cross-site WebSocket hijacking, CWE-1385). The
//! check means nothing against other clients, which can send any `Origin` or none: it
//! protects browser users, it does not authenticate.
//!
//! [`OriginPolicy`] is the check: [`ANY`](OriginPolicy::ANY) (the default: a protocol library
//! cannot know its deployment), [`SAME_ORIGIN`](OriginPolicy::SAME_ORIGIN) (the request's own
//! `Host`), or [`allow`](OriginPolicy::allow) (exact origins). Matching is exact on scheme,
//! host (ASCII, case-insensitive) and port, default ports normalised (`http://a:80` is
//! `http://a`): no suffix or substring matching, so `evil-example.com` and
//! `example.com.evil.net` never pass for `example.com`. `null` (sandboxed frames, `file:`
//! pages) passes only when listed. Several `Origin` headers are refused. A request without
//! `Origin` (not from a browser) passes unless [`requiring_origin`](OriginPolicy::requiring_origin)
//! says otherwise. The legacy `Sec-WebSocket-Origin` of version 8 clients is checked the same
//! way when there is no `Origin`.
//!
//! [`Config::with_origin_policy`](crate::Config::with_origin_policy) makes a server connection
//! answer a refused upgrade with `403 Forbidden` ([`HandshakeError::ForbiddenOrigin`]); the
//! request never reaches the application. Paths that upgrade without the connection's
//! handshake (hyper, HTTP/2, HTTP/3) call [`OriginPolicy::check`] on the request's headers.
//!
//! ```
//! use wsmachine::handshake::origin::OriginPolicy;
//! use wsmachine::HandshakeError;
//! let headers = |origin: &'static str| [("Host", &b"chat.example.com"[..]), ("Origin", origin.as_bytes())];
//! let policy = OriginPolicy::SAME_ORIGIN;
//! assert_eq!(policy.check(headers("https://chat.example.com")), Ok(()));
//! assert_eq!(policy.check(headers("https://evil.example")), Err(HandshakeError::ForbiddenOrigin));
//! let listed = OriginPolicy::allow(&["https://chat.example.com", "http://localhost:8080"]);
//! assert_eq!(listed.check(headers("HTTPS://Chat.Example.com:443")), Ok(()));
//! assert_eq!(listed.check(headers("https://chat.example.com.evil.net")), Err(HandshakeError::ForbiddenOrigin));
//! // No `Origin`: not a browser; allowed unless required.
//! assert_eq!(listed.check([("Host", &b"chat.example.com"[..])]), Ok(()));
//! assert!(listed.requiring_origin().check([("Host", &b"chat.example.com"[..])]).is_err());
//! ```

use crate::error::HandshakeError;
use crate::handshake::values;

/// Which origins a server accepts upgrades from (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginPolicy {
    rule: Rule,
    /// A request without an origin passes.
    missing_allowed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Any,
    SameOrigin,
    Allow(&'static [&'static str]),
}

impl OriginPolicy {
    /// Any origin, and none: no check (the default).
    pub const ANY: OriginPolicy = OriginPolicy {
        rule: Rule::Any,
        missing_allowed: true,
    };

    /// Only the origin of the request's own `Host` (any scheme of `http` and `https`: the
    /// connection may sit behind a TLS terminator): host equal, and the port equal to the
    /// `Host` port, or the scheme's default when `Host` has none.
    pub const SAME_ORIGIN: OriginPolicy = OriginPolicy {
        rule: Rule::SameOrigin,
        missing_allowed: true,
    };

    /// Only these origins, each as a browser sends it (`scheme://host[:port]`, or `null`);
    /// listed origins that do not parse match nothing.
    #[must_use]
    pub const fn allow(origins: &'static [&'static str]) -> OriginPolicy {
        OriginPolicy {
            rule: Rule::Allow(origins),
            missing_allowed: true,
        }
    }

    /// The same policy, refusing requests without an origin too (no non-browser clients).
    #[must_use]
    pub const fn requiring_origin(self) -> OriginPolicy {
        OriginPolicy {
            missing_allowed: false,
            ..self
        }
    }

    /// Whether this policy lets nothing be refused ([`ANY`](Self::ANY)).
    #[must_use]
    pub const fn is_any(&self) -> bool {
        matches!(self.rule, Rule::Any) && self.missing_allowed
    }

    /// Checks an upgrade request's headers (`(name, value)` pairs in any case): `Origin`
    /// (or, without one, `Sec-WebSocket-Origin`) against the policy, and for
    /// [`SAME_ORIGIN`](Self::SAME_ORIGIN) `Host` (or, in an HTTP/2 or HTTP/3 extended
    /// CONNECT, `:authority`). Example in the [module docs](self).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::ForbiddenOrigin`] (a server answers `403 Forbidden`).
    pub fn check<'a, I>(&self, headers: I) -> Result<(), HandshakeError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
        I::IntoIter: Clone,
    {
        if self.is_any() {
            return Ok(());
        }
        let headers = headers.into_iter();
        let mut origins = values(headers.clone(), "origin");
        let (first, second) = (origins.next(), origins.next());
        let (first, second) = if first.is_none() {
            let mut legacy = values(headers.clone(), "sec-websocket-origin");
            (legacy.next(), legacy.next())
        } else {
            (first, second)
        };
        let origin = match (first, second) {
            (None, _) if self.missing_allowed => return Ok(()),
            (Some(origin), None) => origin,
            // None where one is required, or several: refused.
            _ => return Err(HandshakeError::ForbiddenOrigin),
        };
        let allowed = match self.rule {
            Rule::Any => true,
            Rule::SameOrigin => {
                // HTTP/1.1's `Host`, or HTTP/2's and HTTP/3's `:authority` (RFC 8441 §4).
                let mut hosts = values(headers.clone(), "host");
                let first = hosts.next();
                let mut hosts = match first {
                    Some(_) => values(headers, "host"),
                    None => values(headers, ":authority"),
                };
                match (hosts.next(), hosts.next()) {
                    (Some(host), None) => same_origin(origin, host),
                    _ => false,
                }
            }
            Rule::Allow(list) => list
                .iter()
                .any(|listed| matches(listed.trim().as_bytes(), origin)),
        };
        if allowed {
            Ok(())
        } else {
            Err(HandshakeError::ForbiddenOrigin)
        }
    }
}

impl Default for OriginPolicy {
    fn default() -> OriginPolicy {
        OriginPolicy::ANY
    }
}

/// An origin, normalised: scheme and host in lower case, the port explicit.
#[derive(Debug, PartialEq, Eq)]
struct Parsed<'a> {
    scheme: Ascii<'a>,
    host: Ascii<'a>,
    port: Option<u16>,
}

/// ASCII compared without case.
#[derive(Debug)]
struct Ascii<'a>(&'a [u8]);

impl PartialEq for Ascii<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Ascii<'_> {}

/// The default port of a scheme browsers use for origins.
fn default_port(scheme: &[u8]) -> Option<u16> {
    let is = |s: &str| scheme.eq_ignore_ascii_case(s.as_bytes());
    if is("http") || is("ws") {
        Some(80)
    } else if is("https") || is("wss") {
        Some(443)
    } else {
        None
    }
}

/// A serialised origin (RFC 6454 §6.2: `scheme "://" host [ ":" port ]`), or `None` for
/// anything else (`null`, a path, user information, an empty host, a bad port).
fn parse(origin: &[u8]) -> Option<Parsed<'_>> {
    let at = origin.windows(3).position(|w| w == b"://")?;
    let (scheme, rest) = (origin.get(..at)?, origin.get(at + 3..)?);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    let (host, port) = split_host_port(rest)?;
    let port = match port {
        Some(port) => Some(port),
        None => default_port(scheme),
    };
    Some(Parsed {
        scheme: Ascii(scheme),
        host: Ascii(host),
        port,
    })
}

/// `host[:port]` (an IPv6 literal in brackets), as in `Host` and after an origin's scheme;
/// `None` for an empty or malformed host, or a port that is not a number up to 65535.
fn split_host_port(text: &[u8]) -> Option<(&[u8], Option<u16>)> {
    let (host, rest) = if text.first() == Some(&b'[') {
        let end = text.iter().position(|&b| b == b']')?;
        (text.get(..=end)?, text.get(end + 1..)?)
    } else {
        let end = text.iter().position(|&b| b == b':').unwrap_or(text.len());
        (text.get(..end)?, text.get(end..)?)
    };
    let host_ok = !host.is_empty()
        && host.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':')
        });
    if !host_ok {
        return None;
    }
    let port = match rest {
        [] => None,
        [b':', digits @ ..] => {
            if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let text = core::str::from_utf8(digits).ok()?;
            Some(text.parse::<u16>().ok()?)
        }
        _ => return None,
    };
    Some((host, port))
}

/// Whether `origin` is the listed origin (`null` only as itself).
fn matches(listed: &[u8], origin: &[u8]) -> bool {
    let origin = trim(origin);
    if listed.eq_ignore_ascii_case(b"null") || origin.eq_ignore_ascii_case(b"null") {
        return listed.eq_ignore_ascii_case(b"null") && origin.eq_ignore_ascii_case(b"null");
    }
    match (parse(listed), parse(origin)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether `origin` is a page of the request's own `Host`.
fn same_origin(origin: &[u8], host: &[u8]) -> bool {
    let Some(origin) = parse(trim(origin)) else {
        return false;
    };
    let browser_scheme = origin.scheme == Ascii(b"http") || origin.scheme == Ascii(b"https");
    let Some((host, port)) = split_host_port(trim(host)) else {
        return false;
    };
    // Without a port in `Host`, the request came to the default port of its own scheme:
    // the origin must not name another port.
    let port_ok = match port {
        Some(port) => origin.port == Some(port),
        None => origin.port == default_port(origin.scheme.0),
    };
    browser_scheme && origin.host == Ascii(host) && port_ok
}

fn trim(value: &[u8]) -> &[u8] {
    crate::handshake::trim_ows(value)
}

#[cfg(test)]
mod tests;
