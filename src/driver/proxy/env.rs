//! The proxy environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), read through a
//! lookup function so that choosing a proxy is a pure function of the URL and the values
//! given: tests pass their own, the drivers pass the process's.

use core::net::IpAddr;
use std::string::{String, ToString};

use super::{redact, split_host_port, Proxy, ProxyError, ProxyErrorKind};

/// The proxy settings of an environment: the values of `https_proxy`, `http_proxy`,
/// `all_proxy` and `no_proxy` (each in lower case, else upper case; an empty value counts as
/// unset). Example in the [module docs](super).
///
/// It debugs with the proxies' credentials left out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    https: Option<(&'static str, String)>,
    http: Option<(&'static str, String)>,
    all: Option<(&'static str, String)>,
    no_proxy: Option<String>,
}

impl ProxyEnv {
    /// No proxy settings at all.
    #[must_use]
    pub fn empty() -> ProxyEnv {
        ProxyEnv::default()
    }

    /// The settings `lookup` gives for each variable name. As in Go's `net/http`, upper-case
    /// `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set (a CGI program, whose
    /// `HTTP_PROXY` may come from a request's `Proxy:` header).
    ///
    /// ```
    /// use wsmachine::driver::proxy::ProxyEnv;
    /// let cgi = ProxyEnv::from_pairs(&[("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")]);
    /// assert!(cgi.proxy_for(false, "example.com", 80)?.is_none());
    /// # Ok::<(), wsmachine::driver::proxy::ProxyError>(())
    /// ```
    #[must_use]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v))
        };
        let cgi = lookup("REQUEST_METHOD").is_some();
        ProxyEnv {
            https: get("https_proxy").or_else(|| get("HTTPS_PROXY")),
            http: get("http_proxy").or_else(|| if cgi { None } else { get("HTTP_PROXY") }),
            all: get("all_proxy").or_else(|| get("ALL_PROXY")),
            no_proxy: get("no_proxy").or_else(|| get("NO_PROXY")).map(|(_, v)| v),
        }
    }

    /// The settings in `pairs` of name and value (for tests and for settings read from a
    /// file). Example in the [module docs](super).
    #[must_use]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::from_lookup(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_string())
        })
    }

    /// The process environment's settings: what the drivers' `connect` use unless told
    /// otherwise.
    #[must_use]
    pub fn from_process() -> ProxyEnv {
        ProxyEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// The proxy to reach `host:port` through, `None` for a direct connection: `NO_PROXY`
    /// decides what goes direct (see [`no_proxy_matches`]; nothing else is special, not
    /// even loopback), then `https_proxy` for `wss://` (`secure`) or `http_proxy` for
    /// `ws://`, then `all_proxy`. Examples in the [module docs](super).
    ///
    /// # Errors
    ///
    /// [`ProxyErrorKind::InvalidUrl`] when the variable that applies is not a proxy URL
    /// ([`Proxy::parse`]); the error names the variable.
    pub fn proxy_for(
        &self,
        secure: bool,
        host: &str,
        port: u16,
    ) -> Result<Option<Proxy>, ProxyError> {
        if self
            .no_proxy
            .as_deref()
            .is_some_and(|list| no_proxy_matches(list, host, port))
        {
            return Ok(None);
        }
        let scheme = if secure { &self.https } else { &self.http };
        let Some((name, value)) = scheme.as_ref().or(self.all.as_ref()) else {
            return Ok(None);
        };
        Proxy::parse(value).map(Some).map_err(|e| match e.kind {
            ProxyErrorKind::InvalidUrl { reason } => ProxyError::new(
                std::format!("{} (from {name})", redact(value)),
                ProxyErrorKind::InvalidUrl { reason },
            ),
            kind => ProxyError::new(e.proxy, kind),
        })
    }
}

impl core::fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let shown = |v: &Option<(&'static str, String)>| {
            v.as_ref()
                .map(|(name, value)| std::format!("{name}={}", redact(value)))
        };
        f.debug_struct("ProxyEnv")
            .field("https", &shown(&self.https))
            .field("http", &shown(&self.http))
            .field("all", &shown(&self.all))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// Whether a `NO_PROXY` list sends `host:port` direct. Entries are separated by commas or
/// spaces, matched without regard to case:
///
/// - `*` matches every host;
/// - a name matches itself and every name under it (`example.com` and `.example.com` both
///   match `example.com` and `ws.example.com`, never `badexample.com`);
/// - an IP address matches itself, and `address/bits` every address in that block;
/// - `:port` after a name or address (`[v6]:port` for IPv6) limits the entry to that port.
///
/// ```
/// use wsmachine::driver::proxy::no_proxy_matches;
/// let list = "localhost, .corp.example, 10.0.0.0/8, [::1]:8080";
/// assert!(no_proxy_matches(list, "LOCALHOST", 443));
/// assert!(no_proxy_matches(list, "chat.corp.example", 443));
/// assert!(!no_proxy_matches(list, "notcorp.example", 443));
/// assert!(no_proxy_matches(list, "10.20.30.40", 80));
/// assert!(no_proxy_matches(list, "::1", 8080));
/// assert!(!no_proxy_matches(list, "::1", 8081));
/// assert!(!no_proxy_matches(list, "127.0.0.1", 80)); // loopback is not special
/// ```
#[must_use]
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.parse().ok();
    list.split([',', ' ', '\t', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| entry_matches(&entry.to_ascii_lowercase(), &host, host_ip, port))
}

fn entry_matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((net, bits)) = entry.split_once('/') {
        return match (net.parse::<IpAddr>(), bits.parse::<u8>(), host_ip) {
            (Ok(net), Ok(bits), Some(ip)) => in_block(ip, net, bits),
            _ => false,
        };
    }
    // A bare IPv6 address has colons but no port.
    let (name, entry_port) = match entry.parse::<IpAddr>() {
        Ok(_) => (entry, None),
        Err(_) => match split_host_port(entry) {
            Some(split) => split,
            None => return false,
        },
    };
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return host_ip == Some(ip);
    }
    let name = name
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.');
    if name.is_empty() {
        return false;
    }
    host == name
        || host
            .strip_suffix(name)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

/// Whether `ip` is within `net/bits` (the same family only).
fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    fn masked(a: u128, b: u128, bits: u8, width: u8) -> bool {
        if bits > width {
            return false;
        }
        if bits == 0 {
            return true;
        }
        let shift = u32::from(width - bits);
        (a >> shift) == (b >> shift)
    }
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            masked(u128::from(a.to_bits()), u128::from(b.to_bits()), bits, 32)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => masked(a.to_bits(), b.to_bits(), bits, 128),
        _ => false,
    }
}
