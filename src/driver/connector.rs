//! The one way a client gets from a URL to a connection, for every driver: the [`Route`]
//! (the request, the destination, the proxy, whether TLS runs over it) that a
//! [`Connector`] works out without I/O, then the steps over the stream to the first hop:
//! the proxy's tunnel, TLS for `wss://` (feature `rustls`), the WebSocket handshake. The
//! drivers' `connect` open the TCP connection and run these steps; a driver of your own runs
//! them the same way ([`WebSocket::connect_route`](super::WebSocket::connect_route) does for
//! every async runtime).

use core::future::poll_fn;
use core::task::{Context, Poll};
use std::io;
use std::string::{String, ToString};
#[cfg(feature = "rustls")]
use std::sync::Arc;

use super::client_transport::ClientTransport;
use super::proxy::{Proxy, ProxyEnv, ProxyError, ProxyErrorKind, Tunnel, TunnelStep};
use super::transport::Transport;
use super::{Error, WebSocket};
use crate::handshake::client::ClientRequest;
use crate::{Config, OwnedResponse, Timestamp};

/// Why TLS with a server failed: a certificate that is not trusted, expired or for another
/// name, a server that does not speak TLS, or `wss://` without the `rustls` feature.
///
/// ```
/// # #[cfg(not(feature = "rustls"))] {
/// use wsmachine::driver::{Connector, Error};
/// let Err(Error::Tls(e)) = Connector::new().route("wss://example.com/") else { panic!() };
/// assert_eq!(e.server(), "example.com");
/// assert!(e.to_string().contains("rustls"));
/// # }
/// ```
#[derive(Debug)]
pub struct TlsError {
    server: String,
    error: io::Error,
}

impl TlsError {
    pub(crate) fn new(server: &str, error: impl Into<io::Error>) -> TlsError {
        TlsError {
            server: server.into(),
            error: error.into(),
        }
    }

    /// `wss://` asked for in a build without the feature `rustls`.
    pub(crate) fn needs_rustls(server: &str) -> TlsError {
        TlsError::new(
            server,
            io::Error::new(
                io::ErrorKind::Unsupported,
                "wss:// needs the feature `rustls` (or make the TLS stream yourself and use \
                 the driver's WebSocket::connect)",
            ),
        )
    }

    /// The server's name (or address) as the URL gave it.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The failure: rustls's error inside an `io::Error` for a certificate or protocol
    /// failure (see [`rustls_error`](Self::rustls_error)), the transport's otherwise.
    #[must_use]
    pub fn io_error(&self) -> &io::Error {
        &self.error
    }

    /// rustls's error, when rustls refused the session (`InvalidCertificate(UnknownIssuer)`,
    /// `InvalidCertificate(Expired)`, `InvalidCertificate(NotValidForName)`, an alert).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        self.error.get_ref()?.downcast_ref()
    }
}

impl core::fmt::Display for TlsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TLS with {}: {}", self.server, self.error)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Where a client's proxy comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ProxyChoice {
    /// The process environment, read when a route is made.
    ProcessEnv,
    /// These settings.
    Env(ProxyEnv),
    /// This proxy for every destination.
    Fixed(Proxy),
    /// No proxy.
    Direct,
}

/// How a client connects: its [`Config`], its proxy (the process environment unless set:
/// [`ProxyEnv`]) and, with feature `rustls`, its TLS configuration (the default roots unless
/// set). The drivers' `connect(url)` use `Connector::new()`; `connect_with(url, &connector)`
/// takes one.
///
/// ```
/// use wsmachine::driver::proxy::{Proxy, ProxyEnv};
/// use wsmachine::driver::Connector;
/// use wsmachine::Config;
///
/// let env = ProxyEnv::from_pairs(&[("ALL_PROXY", "socks5h://127.0.0.1:1080")]);
/// let connector = Connector::new()
///     .with_config(Config::new().with_max_message_size(1 << 20))
///     .with_proxy_env(env);
/// let route = connector.route("ws://chat.example:8080/room")?;
/// assert_eq!(route.destination(), ("chat.example", 8080));
/// assert_eq!(route.first_hop(), ("127.0.0.1", 1080)); // connect here, then tunnel
/// assert_eq!(route.proxy(), Some(&Proxy::socks5("127.0.0.1", 1080)));
///
/// let direct = Connector::new().direct().route("ws://chat.example/")?;
/// assert_eq!(direct.first_hop(), ("chat.example", 80));
/// # Ok::<(), wsmachine::driver::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Connector {
    config: Config,
    proxy: ProxyChoice,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for Connector {
    fn default() -> Connector {
        Connector::new()
    }
}

impl Connector {
    /// The default: [`Config::new`], the proxy of the process environment, and (feature
    /// `rustls`) the default roots. Example on [`Connector`].
    #[must_use]
    pub fn new() -> Connector {
        Connector {
            config: Config::new(),
            proxy: ProxyChoice::ProcessEnv,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// The connection's configuration. Its `handshake_timeout` also bounds each step before
    /// the WebSocket handshake, each on its own: the TCP connection, the proxy's answer, the
    /// TLS handshake (so a connection can take up to four times it in all).
    /// Example on [`Connector`].
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Connector {
        self.config = config;
        self
    }

    /// The configuration connections get. Example on [`Connector`].
    #[must_use]
    pub fn config(&self) -> Config {
        self.config
    }

    /// Goes through `proxy` to every destination (the environment is not read).
    /// Example on [`Connector`].
    #[must_use]
    pub fn with_proxy(mut self, proxy: Proxy) -> Connector {
        self.proxy = ProxyChoice::Fixed(proxy);
        self
    }

    /// Chooses the proxy from `env` ([`ProxyEnv::proxy_for`]) instead of the process
    /// environment. Example on [`Connector`].
    #[must_use]
    pub fn with_proxy_env(mut self, env: ProxyEnv) -> Connector {
        self.proxy = ProxyChoice::Env(env);
        self
    }

    /// Connects directly, whatever the environment says. Example on [`Connector`].
    #[must_use]
    pub fn direct(mut self) -> Connector {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Uses `config` for `wss://` (a private CA, client certificates, another provider).
    /// ALPN `http/1.1` is added when it offers no protocol.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let roots = rustls::RootCertStore::empty(); // add a private CA here
    /// let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
    ///     rustls::crypto::aws_lc_rs::default_provider(),
    /// ))
    /// .with_safe_default_protocol_versions()
    /// .unwrap()
    /// .with_root_certificates(roots)
    /// .with_no_client_auth();
    /// let connector = wsmachine::driver::Connector::new().with_tls(Arc::new(tls));
    /// # let _ = connector;
    /// ```
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn with_tls(mut self, config: Arc<rustls::ClientConfig>) -> Connector {
        self.tls = Some(super::tls::with_alpn(config));
        self
    }

    /// Trusts exactly the certificates in `pem` (a private CA, say) for `wss://`, instead of
    /// the default roots.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidData`] for PEM text without a usable certificate.
    #[cfg(feature = "rustls")]
    pub fn with_ca_pem(self, pem: &[u8]) -> io::Result<Connector> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in super::tls::pem_certificates(pem)? {
            roots
                .add(cert)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        let config = super::tls::config_with_roots(roots)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(self.with_tls(Arc::new(config)))
    }

    /// The route to `url` (`ws://` or `wss://`): no I/O, the proxy chosen by the
    /// connector's setting. Example on [`Connector`].
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] for a URL that is not `ws://` or `wss://`, [`Error::Proxy`] for
    /// a proxy setting that is not a proxy URL, [`Error::Tls`] for `wss://` without the
    /// `rustls` feature.
    pub fn route<'u>(&self, url: &'u str) -> Result<Route<'u>, Error> {
        self.route_request(ClientRequest::from_uri(url).map_err(Error::Handshake)?)
    }

    /// The route for a request of your own (subprotocols, headers; its host, port and
    /// `secure` flag say where it goes). Example on [`Connector`].
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    pub fn route_request<'u>(&self, request: ClientRequest<'u>) -> Result<Route<'u>, Error> {
        let host = request.host().trim_start_matches('[').trim_end_matches(']');
        let port = request.effective_port();
        let secure = request.is_secure();
        if secure && !cfg!(feature = "rustls") {
            return Err(Error::Tls(TlsError::needs_rustls(host)));
        }
        let proxy = match &self.proxy {
            ProxyChoice::ProcessEnv => ProxyEnv::from_process().proxy_for(secure, host, port),
            ProxyChoice::Env(env) => env.proxy_for(secure, host, port),
            ProxyChoice::Fixed(proxy) => Ok(Some(proxy.clone())),
            ProxyChoice::Direct => Ok(None),
        }
        .map_err(Error::Proxy)?;
        Ok(Route {
            request,
            host,
            port,
            proxy,
        })
    }

    /// The TLS configuration for `wss://`: the connector's, else the default roots.
    #[cfg(feature = "rustls")]
    pub(crate) fn tls_config(&self, server: &str) -> Result<Arc<rustls::ClientConfig>, Error> {
        match &self.tls {
            Some(config) => Ok(Arc::clone(config)),
            None => super::tls::default_config().map_err(|why| {
                Error::Tls(TlsError::new(
                    server,
                    io::Error::new(io::ErrorKind::NotFound, why),
                ))
            }),
        }
    }
}

/// Where a client connects and how (made by [`Connector::route`]): the request, the
/// destination, the proxy on the way, TLS or not. Example on [`Connector`].
#[derive(Clone, Debug)]
pub struct Route<'u> {
    request: ClientRequest<'u>,
    host: &'u str,
    port: u16,
    proxy: Option<Proxy>,
}

impl<'u> Route<'u> {
    /// The upgrade request.
    #[must_use]
    pub fn request(&self) -> &ClientRequest<'u> {
        &self.request
    }

    /// The destination's host (an IPv6 address without brackets) and port.
    /// Example on [`Connector`].
    #[must_use]
    pub fn destination(&self) -> (&'u str, u16) {
        (self.host, self.port)
    }

    /// Where to open the TCP connection: the proxy, else the destination.
    /// Example on [`Connector`].
    #[must_use]
    pub fn first_hop(&self) -> (&str, u16) {
        match &self.proxy {
            Some(proxy) => (proxy.host(), proxy.port()),
            None => (self.host, self.port),
        }
    }

    /// The proxy, if the connection goes through one. Example on [`Connector`].
    #[must_use]
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// Whether TLS runs to the destination (`wss://`).
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.request.is_secure()
    }

    /// A failure to reach the first hop: named by the proxy when there is one.
    #[must_use]
    pub fn unreachable(&self, error: io::Error) -> Error {
        match &self.proxy {
            Some(proxy) => Error::Proxy(ProxyError::new(
                proxy.to_string(),
                ProxyErrorKind::Io(error),
            )),
            None => Error::Io(error),
        }
    }
}

/// The handshake deadline of the steps before the WebSocket handshake (each step gets the
/// whole `handshake_timeout`).
fn deadline<T: Transport>(transport: &T, config: &Config) -> Option<Timestamp> {
    config
        .handshake_timeout
        .map(|t| transport.now().saturating_add(t))
}

fn passed<T: Transport>(transport: &mut T, cx: &mut Context<'_>, at: Option<Timestamp>) -> bool {
    at.is_some_and(|at| transport.poll_timer(cx, at).is_ready())
}

/// Runs `tunnel` over `transport` until the proxy opened it, refused, or the deadline.
async fn run_tunnel<T: Transport>(
    transport: &mut T,
    tunnel: &mut Tunnel,
    at: Option<Timestamp>,
) -> Result<(), ProxyError> {
    let mut scratch = [0u8; 512];
    poll_fn(|cx| {
        loop {
            let progress = match tunnel.step() {
                TunnelStep::Done => return Poll::Ready(Ok(())),
                TunnelStep::Write => match transport.poll_write(cx, tunnel.output()) {
                    Poll::Ready(Ok(0)) => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => {
                        tunnel.written(n);
                        Poll::Ready(Ok(()))
                    }
                    other => other.map_ok(|_| ()),
                },
                TunnelStep::Read(room) => {
                    let room = room.min(scratch.len());
                    let buf = scratch.get_mut(..room).unwrap_or_default();
                    match transport.poll_flush(cx) {
                        Poll::Ready(Ok(())) => match transport.poll_read(cx, buf) {
                            Poll::Ready(Ok(0)) => return Poll::Ready(Err(tunnel.closed())),
                            Poll::Ready(Ok(n)) => {
                                let got = buf.get(..n).unwrap_or_default();
                                if let Err(e) = tunnel.receive(got) {
                                    return Poll::Ready(Err(e));
                                }
                                Poll::Ready(Ok(()))
                            }
                            other => other.map_ok(|_| ()),
                        },
                        other => other,
                    }
                }
            };
            match progress {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(tunnel.error(ProxyErrorKind::Io(e))));
                }
                Poll::Pending => break,
            }
        }
        if passed(transport, cx, at) {
            return Poll::Ready(Err(tunnel.error(ProxyErrorKind::Timeout)));
        }
        Poll::Pending
    })
    .await
}

impl<T: Transport> WebSocket<ClientTransport<T>> {
    /// A client over `transport`, a stream connected to `route`'s
    /// [`first_hop`](Route::first_hop): asks the proxy for a tunnel (if any), runs TLS
    /// (`wss://`, feature `rustls`) and the WebSocket handshake, with `connector`'s
    /// configuration. What the runtimes' `connect_with` do once their TCP connection is
    /// open. Not cancel-safe.
    ///
    /// # Errors
    ///
    /// [`Error::Proxy`] when the proxy refuses or fails (naming it), [`Error::Tls`] when TLS
    /// fails (an untrusted or expired certificate, a wrong name), and those of
    /// [`connect_transport`](WebSocket::connect_transport).
    pub async fn connect_route(
        mut transport: T,
        route: &Route<'_>,
        connector: &Connector,
    ) -> Result<(WebSocket<ClientTransport<T>>, OwnedResponse), Error> {
        let config = connector.config();
        if let Some(proxy) = route.proxy() {
            let (host, port) = route.destination();
            let mut tunnel = Tunnel::new(proxy, host, port).map_err(Error::Proxy)?;
            let at = deadline(&transport, &config);
            run_tunnel(&mut transport, &mut tunnel, at)
                .await
                .map_err(Error::Proxy)?;
        }
        let transport = if route.is_secure() {
            secure(transport, route, connector).await?
        } else {
            ClientTransport::plain(transport)
        };
        WebSocket::connect_transport(transport, route.request(), config).await
    }
}

/// TLS over `transport` to the route's destination, its handshake done.
#[cfg(feature = "rustls")]
async fn secure<T: Transport>(
    transport: T,
    route: &Route<'_>,
    connector: &Connector,
) -> Result<ClientTransport<T>, Error> {
    let (server, _) = route.destination();
    let config = connector.tls_config(server)?;
    let at = deadline(&transport, &connector.config());
    let mut tls = super::tls::TlsTransport::new(transport, config, server).map_err(Error::Tls)?;
    poll_fn(|cx| match tls.poll_handshake(cx) {
        Poll::Ready(done) => Poll::Ready(done),
        Poll::Pending if passed(&mut tls, cx, at) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no TLS handshake before the handshake deadline",
        ))),
        Poll::Pending => Poll::Pending,
    })
    .await
    .map_err(|e| Error::Tls(TlsError::new(server, e)))?;
    Ok(ClientTransport::tls(tls))
}

/// Without `rustls`, [`Connector::route_request`] refuses `wss://`; a route made with the
/// feature never reaches a build without it.
#[cfg(not(feature = "rustls"))]
async fn secure<T: Transport>(
    _transport: T,
    route: &Route<'_>,
    _connector: &Connector,
) -> Result<ClientTransport<T>, Error> {
    Err(Error::Tls(TlsError::needs_rustls(route.destination().0)))
}
