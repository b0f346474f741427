//! The blocking driver's `connect(url)`: the TCP connection to the route's first hop, the
//! proxy's tunnel, TLS for `wss://` (feature `rustls`), then the WebSocket handshake, the
//! same steps as the async driver's [`connect_route`](crate::driver::WebSocket::connect_route)
//! over a blocking stream.

use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Instant;

use super::{Hooks, WebSocket};
use crate::driver::proxy::{ProxyErrorKind, Tunnel, TunnelStep};
use crate::driver::{Connector, Error, Route};
use crate::OwnedResponse;

/// The stream of a client made by [`connect`](super::connect): TCP, with TLS over it for
/// `wss://` (feature `rustls`).
#[derive(Debug)]
pub struct ClientStream {
    inner: Layer,
}

#[derive(Debug)]
enum Layer {
    Plain(TcpStream),
    // Boxed: a TLS session is large, and a plain connection should not pay for its room.
    #[cfg(feature = "rustls")]
    Tls(std::boxed::Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl ClientStream {
    /// The TCP stream (under TLS for `wss://`).
    #[must_use]
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Layer::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            Layer::Tls(tls) => tls.get_ref(),
        }
    }

    /// Whether TLS runs over the stream.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        !matches!(self.inner, Layer::Plain(_))
    }

    /// The rustls session of a `wss://` connection.
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls_session(&self) -> Option<&rustls::ClientConnection> {
        match &self.inner {
            Layer::Plain(_) => None,
            Layer::Tls(tls) => Some(&tls.conn),
        }
    }

    /// A second handle for a [`Reader`](super::Reader) (what
    /// [`WebSocket::split`](super::WebSocket::split) uses): the socket's `try_clone`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::Unsupported`] for TLS, whose one session cannot be read and written
    /// from two threads this way; the error of `try_clone`.
    pub fn try_clone(&self) -> io::Result<ClientStream> {
        match &self.inner {
            Layer::Plain(tcp) => Ok(ClientStream {
                inner: Layer::Plain(tcp.try_clone()?),
            }),
            #[cfg(feature = "rustls")]
            Layer::Tls(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a TLS connection cannot be split into two threads' halves",
            )),
        }
    }

    /// The driver's hooks for this stream: the TCP socket's timeouts, and a half-close that
    /// sends TLS's `close_notify` first.
    #[must_use]
    pub fn hooks() -> Hooks<ClientStream> {
        fn timeouts(s: &ClientStream, t: Option<Duration>) -> io::Result<()> {
            s.tcp().set_read_timeout(t)?;
            s.tcp().set_write_timeout(t)
        }
        fn shutdown(s: &mut ClientStream) -> io::Result<()> {
            match &mut s.inner {
                Layer::Plain(tcp) => tcp.shutdown(Shutdown::Write),
                #[cfg(feature = "rustls")]
                Layer::Tls(tls) => {
                    tls.conn.send_close_notify();
                    tls.flush()?;
                    tls.sock.shutdown(Shutdown::Write)
                }
            }
        }
        Hooks {
            timeouts: Some(timeouts),
            shutdown: Some(shutdown),
        }
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Layer::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "rustls")]
            Layer::Tls(tls) => match tls.read(buf) {
                // The server ended TCP without a close_notify: the end of the stream, as the
                // async driver reads it (the WebSocket framing says whether anything was cut).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Layer::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "rustls")]
            Layer::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Layer::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "rustls")]
            Layer::Tls(tls) => tls.flush(),
        }
    }
}

impl WebSocket<ClientStream> {
    /// Splits the connection into a [`Reader`](super::Reader) and a
    /// [`Writer`](super::Writer) for two threads (`ws://` only: see
    /// [`ClientStream::try_clone`]).
    ///
    /// # Errors
    ///
    /// As [`ClientStream::try_clone`].
    pub fn split(self) -> io::Result<(super::Reader<ClientStream>, super::Writer<ClientStream>)> {
        self.split_with(ClientStream::try_clone)
    }
}

/// A client for a `ws://` or `wss://` URL with `connector` (a configuration, a proxy, a
/// private CA). Example on [`connect`](super::connect).
///
/// # Errors
///
/// [`Error::Handshake`] for a URL that is not `ws://` or `wss://`; [`Error::Proxy`] when the
/// proxy cannot be reached or refuses; [`Error::Tls`] when TLS fails; [`Error::Io`] when the
/// server cannot be reached; those of [`WebSocket::connect`].
pub fn connect_with(url: &str, connector: &Connector) -> Result<WebSocket<ClientStream>, Error> {
    let route = connector.route(url)?;
    let (ws, _) = connect_route(&route, connector)?;
    Ok(ws)
}

/// A client along `route` (from [`Connector::route_request`] for a request of your own),
/// with the server's response.
///
/// # Errors
///
/// As [`connect_with`].
pub fn connect_route(
    route: &Route<'_>,
    connector: &Connector,
) -> Result<(WebSocket<ClientStream>, OwnedResponse), Error> {
    // Each step before the WebSocket handshake (the TCP connection, the proxy's answer, the
    // TLS handshake) ends by a deadline `handshake_timeout` after it starts, however slowly
    // the peer drips bytes: every read and write waits at most the time left.
    let limit = connector
        .config()
        .handshake_timeout
        .map(|t| t.max(Duration::from_millis(1)));
    let deadline = || limit.map(|t| Instant::now() + t);
    let mut tcp = open(route.first_hop(), deadline()).map_err(|e| route.unreachable(e))?;
    let _ = tcp.set_nodelay(true);
    if let Some(proxy) = route.proxy() {
        let (host, port) = route.destination();
        let mut tunnel = Tunnel::new(proxy, host, port).map_err(Error::Proxy)?;
        run_tunnel(&mut tcp, &mut tunnel, deadline()).map_err(Error::Proxy)?;
    }
    let stream = if route.is_secure() {
        secure(tcp, route, connector, deadline())?
    } else {
        ClientStream {
            inner: Layer::Plain(tcp),
        }
    };
    WebSocket::connect(
        stream,
        ClientStream::hooks(),
        route.request(),
        connector.config(),
    )
}

/// The time left before `deadline` (`None`: no deadline); `TimedOut` once it passed.
fn time_left(deadline: Option<Instant>) -> io::Result<Option<Duration>> {
    let Some(deadline) = deadline else {
        return Ok(None);
    };
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(Some(left)),
        _ => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the handshake deadline passed",
        )),
    }
}

/// Sets `tcp`'s read and write timeouts to the time left before `deadline`.
fn arm(tcp: &TcpStream, deadline: Option<Instant>) -> io::Result<()> {
    let left = time_left(deadline)?;
    tcp.set_read_timeout(left)?;
    tcp.set_write_timeout(left)
}

/// A TCP connection to `host:port`, trying each address it resolves to, all before
/// `deadline`.
fn open((host, port): (&str, u16), deadline: Option<Instant>) -> io::Result<TcpStream> {
    if deadline.is_none() {
        return TcpStream::connect((host, port));
    }
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
    for address in (host, port).to_socket_addrs()? {
        let Some(left) = time_left(deadline)? else {
            break;
        };
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Runs `tunnel` over `tcp` until it opens, the proxy refuses, or `deadline`.
fn run_tunnel(
    tcp: &mut TcpStream,
    tunnel: &mut Tunnel,
    deadline: Option<Instant>,
) -> Result<(), crate::driver::proxy::ProxyError> {
    let failed = |tunnel: &Tunnel, e: io::Error| {
        let kind = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ProxyErrorKind::Timeout,
            _ => ProxyErrorKind::Io(e),
        };
        tunnel.error(kind)
    };
    let mut scratch = [0u8; 512];
    loop {
        arm(tcp, deadline).map_err(|e| failed(tunnel, e))?;
        match tunnel.step() {
            TunnelStep::Done => return Ok(()),
            TunnelStep::Write => match tcp.write(tunnel.output()) {
                Ok(0) => return Err(tunnel.closed()),
                Ok(n) => tunnel.written(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed(tunnel, e)),
            },
            TunnelStep::Read(room) => {
                let buf = scratch.get_mut(..room.min(512)).unwrap_or_default();
                match tcp.read(buf) {
                    Ok(0) => return Err(tunnel.closed()),
                    Ok(n) => tunnel.receive(buf.get(..n).unwrap_or_default())?,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(failed(tunnel, e)),
                }
            }
        }
    }
}

/// TLS over `tcp` to the route's destination, its handshake done before `deadline`.
#[cfg(feature = "rustls")]
fn secure(
    mut tcp: TcpStream,
    route: &Route<'_>,
    connector: &Connector,
    deadline: Option<Instant>,
) -> Result<ClientStream, Error> {
    use crate::driver::TlsError;
    let (server, _) = route.destination();
    let config = connector.tls_config(server)?;
    let tls_error = |e: io::Error| {
        let e = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                "no TLS handshake before the handshake deadline",
            ),
            _ => e,
        };
        Error::Tls(TlsError::new(server, e))
    };
    let mut conn = crate::driver::tls_client_session(config, server).map_err(Error::Tls)?;
    tls_handshake(&mut conn, &mut tcp, deadline).map_err(tls_error)?;
    Ok(ClientStream {
        inner: Layer::Tls(std::boxed::Box::new(rustls::StreamOwned::new(conn, tcp))),
    })
}

/// The TLS handshake record by record (not rustls's `complete_io`, which reads on while
/// records arrive), so that every read waits at most the time left before `deadline`.
#[cfg(feature = "rustls")]
fn tls_handshake(
    conn: &mut rustls::ClientConnection,
    tcp: &mut TcpStream,
    deadline: Option<Instant>,
) -> io::Result<()> {
    while conn.is_handshaking() || conn.wants_write() {
        arm(tcp, deadline)?;
        let result = if conn.wants_write() {
            conn.write_tls(tcp).map(|_| ())
        } else {
            match conn.read_tls(tcp) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection during the TLS handshake",
                    ))
                }
                Ok(_) => conn.process_new_packets().map(|_| ()).map_err(|e| {
                    // The alert that says why goes out first, if it can.
                    let _ = conn.write_tls(tcp);
                    io::Error::new(io::ErrorKind::InvalidData, e)
                }),
                Err(e) => Err(e),
            }
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => other?,
        }
    }
    Ok(())
}

/// Without `rustls`, [`Connector::route_request`] refuses `wss://` before this is reached.
#[cfg(not(feature = "rustls"))]
fn secure(
    _tcp: TcpStream,
    route: &Route<'_>,
    _connector: &Connector,
    _deadline: Option<Instant>,
) -> Result<ClientStream, Error> {
    Err(Error::Tls(crate::driver::TlsError::needs_rustls(
        route.destination().0,
    )))
}
