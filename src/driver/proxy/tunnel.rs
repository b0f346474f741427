//! Asking a proxy for a tunnel, sans-IO: the bytes to write, how many to read, and what the
//! answer means. The drivers run it over their streams ([`Tunnel`] shows the loop).

use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;

use super::{Proxy, ProxyError, ProxyErrorKind, ProxyKind};

/// The most an HTTP proxy's answer head may take: beyond it the answer is refused.
const MAX_HTTP_HEAD: usize = 8 * 1024;

/// What a [`Tunnel`] needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelStep {
    /// Write [`Tunnel::output`] to the proxy (and report it with [`Tunnel::written`]).
    Write,
    /// Read at most this many bytes from the proxy and give them to [`Tunnel::receive`]
    /// (never more: what follows the proxy's answer belongs to the tunnel).
    Read(usize),
    /// The tunnel is open: the stream now reaches the destination.
    Done,
}

/// A tunnel request to a proxy, as a state machine: the request for HTTP `CONNECT` (with
/// `Proxy-Authorization: Basic` when the proxy has credentials), or SOCKS5's greeting,
/// authentication (RFC 1929) and `CONNECT` by name (the proxy resolves it).
///
/// ```
/// use wsmachine::driver::proxy::{Proxy, Tunnel, TunnelStep};
///
/// let proxy = Proxy::http("proxy.corp", 3128);
/// let mut tunnel = Tunnel::new(&proxy, "example.com", 443)?;
/// assert_eq!(tunnel.step(), TunnelStep::Write);
/// assert!(tunnel.output().starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
/// let n = tunnel.output().len();
/// tunnel.written(n);
/// let TunnelStep::Read(_) = tunnel.step() else { panic!() };
/// tunnel.receive(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
/// assert_eq!(tunnel.step(), TunnelStep::Done);
/// # Ok::<(), wsmachine::driver::proxy::ProxyError>(())
/// ```
///
/// It debugs without its requests, which carry the proxy's credentials.
pub struct Tunnel {
    proxy: String,
    output: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    state: State,
    /// SOCKS5: the `CONNECT` request, sent once the method (and authentication) is settled.
    socks_connect: Vec<u8>,
    /// SOCKS5: the authentication request, when the proxy has credentials.
    socks_auth: Option<Vec<u8>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for the HTTP answer's head.
    HttpHead,
    /// SOCKS5: the chosen method (2 bytes).
    SocksMethod,
    /// SOCKS5: the authentication status (2 bytes).
    SocksAuth,
    /// SOCKS5: the reply's first 5 bytes (enough to know its length).
    SocksReplyStart,
    /// SOCKS5: the rest of the reply (the bound address and port).
    SocksReplyRest(usize),
    Done,
}

impl core::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tunnel")
            .field("proxy", &self.proxy)
            .field("state", &self.state)
            .field("to_write", &self.output().len())
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// A tunnel to `host:port` (an IPv6 address with or without brackets) through `proxy`.
    /// Example on [`Tunnel`].
    ///
    /// # Errors
    ///
    /// [`ProxyErrorKind::Unsupported`] for a host that is not a host name or address (empty,
    /// or with spaces, line ends, `/`, `@`), or a SOCKS5 user name, password or host name
    /// longer than 255 bytes.
    pub fn new(proxy: &Proxy, host: &str, port: u16) -> Result<Tunnel, ProxyError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = proxy.to_string();
        // A host goes into the request verbatim: nothing but a name's or an address's
        // characters (RFC 3986 reg-name and IPv6), so no request can be smuggled in it.
        let host_byte = |b: u8| b.is_ascii_alphanumeric() || b"-._~%:!$&'()*+,;=".contains(&b);
        if host.is_empty() || !host.bytes().all(host_byte) {
            return Err(ProxyError::new(
                name,
                ProxyErrorKind::Unsupported("a destination that is not a host name or address"),
            ));
        }
        let unsupported = |what| ProxyError::new(name.clone(), ProxyErrorKind::Unsupported(what));
        let mut tunnel = Tunnel {
            proxy: name.clone(),
            output: Vec::new(),
            written: 0,
            input: Vec::new(),
            state: State::HttpHead,
            socks_connect: Vec::new(),
            socks_auth: None,
        };
        match proxy.kind() {
            ProxyKind::HttpConnect => {
                let authority = if host.contains(':') {
                    std::format!("[{host}]:{port}")
                } else {
                    std::format!("{host}:{port}")
                };
                let mut request =
                    std::format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
                if let Some((user, password)) = proxy.credentials() {
                    let token = base64::engine::general_purpose::STANDARD
                        .encode(std::format!("{user}:{password}"));
                    request.push_str(&std::format!("Proxy-Authorization: Basic {token}\r\n"));
                }
                request.push_str("\r\n");
                tunnel.output = request.into_bytes();
            }
            ProxyKind::Socks5 => {
                tunnel.state = State::SocksMethod;
                // Greeting: version 5, the methods offered (RFC 1928 §3).
                tunnel.output = match proxy.credentials() {
                    Some(_) => std::vec![5, 1, 2],
                    None => std::vec![5, 1, 0],
                };
                if let Some((user, password)) = proxy.credentials() {
                    let (Ok(u), Ok(p)) = (u8::try_from(user.len()), u8::try_from(password.len()))
                    else {
                        return Err(unsupported("a user name or password over 255 bytes"));
                    };
                    let mut auth = std::vec![1, u];
                    auth.extend_from_slice(user.as_bytes());
                    auth.push(p);
                    auth.extend_from_slice(password.as_bytes());
                    tunnel.socks_auth = Some(auth);
                }
                // CONNECT (RFC 1928 §4): an IP address as one, any other name as a domain
                // name for the proxy to resolve.
                let mut connect = std::vec![5, 1, 0];
                match host.parse::<core::net::IpAddr>() {
                    Ok(core::net::IpAddr::V4(ip)) => {
                        connect.push(1);
                        connect.extend_from_slice(&ip.octets());
                    }
                    Ok(core::net::IpAddr::V6(ip)) => {
                        connect.push(4);
                        connect.extend_from_slice(&ip.octets());
                    }
                    Err(_) => {
                        let Ok(len) = u8::try_from(host.len()) else {
                            return Err(unsupported("a host name over 255 bytes"));
                        };
                        connect.push(3);
                        connect.push(len);
                        connect.extend_from_slice(host.as_bytes());
                    }
                }
                connect.extend_from_slice(&port.to_be_bytes());
                tunnel.socks_connect = connect;
            }
        }
        Ok(tunnel)
    }

    /// What to do next. Example on [`Tunnel`].
    #[must_use]
    pub fn step(&self) -> TunnelStep {
        if self.written < self.output.len() {
            return TunnelStep::Write;
        }
        match self.state {
            State::Done => TunnelStep::Done,
            State::HttpHead => TunnelStep::Read(MAX_HTTP_HEAD.saturating_sub(self.input.len())),
            State::SocksMethod | State::SocksAuth => TunnelStep::Read(2 - self.input.len()),
            State::SocksReplyStart => TunnelStep::Read(5 - self.input.len()),
            State::SocksReplyRest(n) => TunnelStep::Read(n - self.input.len()),
        }
    }

    /// The bytes still to write to the proxy. Example on [`Tunnel`].
    #[must_use]
    pub fn output(&self) -> &[u8] {
        self.output.get(self.written..).unwrap_or_default()
    }

    /// Reports that `n` bytes of [`output`](Self::output) were written.
    pub fn written(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.output.len());
    }

    /// Takes bytes read from the proxy (at most what [`TunnelStep::Read`] asked for).
    ///
    /// # Errors
    ///
    /// The proxy's refusal ([`ProxyErrorKind::HttpStatus`], [`ProxyErrorKind::SocksReply`],
    /// [`ProxyErrorKind::SocksAuthFailed`], [`ProxyErrorKind::SocksNoAcceptableMethod`]) or
    /// an answer that is not valid ([`ProxyErrorKind::Malformed`], also for more bytes than
    /// asked for).
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        let TunnelStep::Read(room) = self.step() else {
            return Err(self.error(ProxyErrorKind::Malformed(
                "bytes before they were asked for",
            )));
        };
        if bytes.len() > room {
            return Err(self.error(ProxyErrorKind::Malformed(
                "more bytes than the answer may have",
            )));
        }
        self.input.extend_from_slice(bytes);
        match self.state {
            State::HttpHead => self.http_head(),
            _ => self.socks(),
        }
    }

    /// The proxy closed the connection: the error to report (the tunnel never opened).
    #[must_use]
    pub fn closed(&self) -> ProxyError {
        self.error(ProxyErrorKind::Closed)
    }

    /// An error naming this tunnel's proxy (for a driver's I/O failure or deadline).
    #[must_use]
    pub fn error(&self, kind: ProxyErrorKind) -> ProxyError {
        ProxyError::new(self.proxy.clone(), kind)
    }

    fn http_head(&mut self) -> Result<(), ProxyError> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&self.input) {
            Ok(httparse::Status::Partial) => {
                if self.input.len() >= MAX_HTTP_HEAD {
                    return Err(self.error(ProxyErrorKind::Malformed("an answer head over 8 KiB")));
                }
                Ok(())
            }
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(0);
                if !(200..300).contains(&status) {
                    let reason = response.reason.unwrap_or("").to_string();
                    return Err(self.error(ProxyErrorKind::HttpStatus { status, reason }));
                }
                // The destination speaks only after the client (a WebSocket request, a TLS
                // ClientHello), so nothing may follow a 2xx head yet.
                if len != self.input.len() {
                    return Err(self.error(ProxyErrorKind::Malformed(
                        "bytes after the answer, before the tunnel was used",
                    )));
                }
                self.finish();
                Ok(())
            }
            Err(_) => Err(self.error(ProxyErrorKind::Malformed("not an HTTP answer"))),
        }
    }

    fn socks(&mut self) -> Result<(), ProxyError> {
        let TunnelStep::Read(0) = self.step() else {
            return Ok(()); // more of this part to come
        };
        let part = core::mem::take(&mut self.input);
        let byte = |i: usize| part.get(i).copied().unwrap_or(0);
        // The version byte: 5 for SOCKS itself, 1 for the authentication subnegotiation
        // (RFC 1929); the rest of a reply has none.
        let version = match self.state {
            State::SocksMethod | State::SocksReplyStart => Some(5),
            State::SocksAuth => Some(1),
            _ => None,
        };
        if version.is_some_and(|v| byte(0) != v) {
            return Err(self.error(ProxyErrorKind::Malformed("not a SOCKS5 answer")));
        }
        match self.state {
            State::SocksMethod => match (byte(1), self.socks_auth.take()) {
                (0, _) => {
                    let connect = core::mem::take(&mut self.socks_connect);
                    self.send(State::SocksReplyStart, connect);
                }
                (2, Some(auth)) => self.send(State::SocksAuth, auth),
                (0xff, _) => {
                    return Err(self.error(ProxyErrorKind::SocksNoAcceptableMethod));
                }
                _ => {
                    return Err(
                        self.error(ProxyErrorKind::Malformed("a method that was not offered"))
                    )
                }
            },
            State::SocksAuth => {
                if byte(1) != 0 {
                    return Err(self.error(ProxyErrorKind::SocksAuthFailed));
                }
                let connect = core::mem::take(&mut self.socks_connect);
                self.send(State::SocksReplyStart, connect);
            }
            State::SocksReplyStart => {
                if byte(1) != 0 {
                    return Err(self.error(ProxyErrorKind::SocksReply(byte(1))));
                }
                // The rest: the bound address (4 bytes of 1 read, 16 of 4, or a name whose
                // length byte is read) and the port.
                let rest = match byte(3) {
                    1 => 3 + 2,
                    4 => 15 + 2,
                    3 => usize::from(byte(4)) + 2,
                    _ => {
                        return Err(self.error(ProxyErrorKind::Malformed("an unknown address type")))
                    }
                };
                self.state = State::SocksReplyRest(rest);
            }
            State::SocksReplyRest(_) => self.finish(),
            State::HttpHead | State::Done => {}
        }
        Ok(())
    }

    /// SOCKS5: the next request, and the answer it waits for.
    fn send(&mut self, next: State, request: Vec<u8>) {
        self.output = request;
        self.written = 0;
        self.state = next;
    }

    fn finish(&mut self) {
        self.state = State::Done;
        self.input = Vec::new();
        self.output = Vec::new();
        self.written = 0;
    }
}
