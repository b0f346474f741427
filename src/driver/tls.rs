//! TLS for clients (feature `rustls`): rustls's `ClientConnection` run over any
//! [`Transport`], so the tokio and futures-io drivers (and a runtime of your own) get
//! `wss://` from one piece of code. rustls is itself sans-IO: this module only moves its
//! records between it and the transport.

use core::task::{Context, Poll};
use std::borrow::ToOwned;
use std::io::{self, Read, Write};
use std::string::ToString;
use std::sync::{Arc, OnceLock};
use std::vec::Vec;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::transport::Transport;
use super::TlsError;
use crate::Timestamp;

/// The protocol a `wss://` client offers in ALPN (RFC 7301): WebSocket runs over HTTP/1.1.
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// A TLS client session over a transport (the `wss://` form of
/// [`ClientTransport`](super::ClientTransport)).
#[derive(Debug)]
pub(crate) struct TlsTransport<T> {
    inner: T,
    tls: ClientConnection,
    close_notify_sent: bool,
}

/// A transport seen as a `Read + Write` for rustls within one poll: `Pending` reads and writes
/// are `WouldBlock` (the context's waker is registered by then).
struct PollIo<'a, 'b, T> {
    inner: &'a mut T,
    cx: &'a mut Context<'b>,
}

impl<T: Transport> Read for PollIo<'_, '_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.poll_read(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<T: Transport> Write for PollIo<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.poll_write(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.poll_flush(self.cx) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<T> TlsTransport<T> {
    /// The transport under TLS.
    #[must_use]
    pub(crate) fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The rustls session: the protocol version, the ALPN protocol, the server's
    /// certificates.
    #[must_use]
    pub(crate) fn session(&self) -> &ClientConnection {
        &self.tls
    }
}

impl<T: Transport> TlsTransport<T> {
    /// Starts a TLS session with `server` (a DNS name or an IP address) over `inner`.
    pub(crate) fn new(
        inner: T,
        config: Arc<ClientConfig>,
        server: &str,
    ) -> Result<TlsTransport<T>, TlsError> {
        Ok(TlsTransport {
            inner,
            tls: client_session(config, server)?,
            close_notify_sent: false,
        })
    }

    /// Writes every pending TLS record.
    fn poll_write_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            let mut io = PollIo {
                inner: &mut self.inner,
                cx,
            };
            match self.tls.write_tls(&mut io) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads TLS records once and processes them: `Ok(0)` at the end of the stream.
    fn poll_read_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut io = PollIo {
            inner: &mut self.inner,
            cx,
        };
        let n = match self.tls.read_tls(&mut io) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if let Err(e) = self.tls.process_new_packets() {
            // The alert that says why goes out before the error is reported, if it can.
            let _ = self.poll_write_records(cx);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
        }
        Poll::Ready(Ok(n))
    }

    /// Runs the TLS handshake to its end.
    pub(crate) fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.is_handshaking() {
            if self.poll_write_records(cx)?.is_pending() {
                return Poll::Pending;
            }
            if !self.tls.is_handshaking() {
                break;
            }
            if self.tls.wants_read() {
                match self.poll_read_records(cx) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the server closed the connection during the TLS handshake",
                        )))
                    }
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        self.poll_write_records(cx)
    }
}

impl<T: Transport> Transport for TlsTransport<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The server ended TCP without a close_notify. The WebSocket framing says
                // whether that cut anything short (a close frame missing or a message cut in
                // the middle ends the connection as abnormal), so it reads as the end of
                // the stream, as it would over TCP: many servers end that way after the
                // closing handshake.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Poll::Ready(Ok(0)),
                Err(e) => return Poll::Ready(Err(e)),
            }
            // Records rustls owes the server (an alert, a key update) go out as reads go on;
            // a full send buffer does not hold up reading.
            if let Poll::Ready(Err(e)) = self.poll_write_records(cx) {
                return Poll::Ready(Err(e));
            }
            match self.poll_read_records(cx) {
                Poll::Ready(Ok(_)) => {} // the plaintext (or the end) is read above
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            // rustls takes plaintext up to its buffer limit (64 KiB of records by default),
            // so what waits for the transport stays bounded.
            let taken = self.tls.writer().write(buf)?;
            match self.poll_write_records(cx) {
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending if taken == 0 => return Poll::Pending,
                Poll::Ready(Ok(())) if taken == 0 && !buf.is_empty() => continue,
                _ => return Poll::Ready(Ok(taken)),
            }
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tls.writer().flush()?;
        if self.poll_write_records(cx)?.is_pending() {
            return Poll::Pending;
        }
        self.inner.poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.close_notify_sent {
            self.tls.send_close_notify();
            self.close_notify_sent = true;
        }
        if self.poll_write_records(cx)?.is_pending() {
            return Poll::Pending;
        }
        self.inner.poll_shutdown(cx)
    }

    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Timestamp) -> Poll<()> {
        self.inner.poll_timer(cx, at)
    }
}

/// A client session with `server` (a DNS name or an IP address), for the async transport
/// here and the blocking driver's stream alike.
///
/// # Errors
///
/// A server name that is neither, or rustls's refusal of the configuration.
pub(crate) fn client_session(
    config: Arc<ClientConfig>,
    server: &str,
) -> Result<ClientConnection, TlsError> {
    let name = ServerName::try_from(server.to_owned())
        .map_err(|e| TlsError::new(server, io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    ClientConnection::new(config, name)
        .map_err(|e| TlsError::new(server, io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// The `aws-lc-rs` provider (X25519MLKEM768 first, with feature `prefer-post-quantum`), given
/// to each configuration instead of the process-wide default: an application that also links
/// `ring` would otherwise make `ClientConfig::builder()` panic for want of a choice.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client configuration that trusts `roots`, offers ALPN `http/1.1` and sends no client
/// certificate.
///
/// # Errors
///
/// rustls's, when the provider supports none of the safe protocol versions (never with
/// `aws-lc-rs`).
pub(crate) fn config_with_roots(roots: RootCertStore) -> Result<ClientConfig, rustls::Error> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = std::vec![ALPN_HTTP_1_1.to_vec()];
    Ok(config)
}

/// `config` with ALPN `http/1.1` when it offers no protocol of its own.
pub(crate) fn with_alpn(config: Arc<ClientConfig>) -> Arc<ClientConfig> {
    if !config.alpn_protocols.is_empty() {
        return config;
    }
    let mut config = (*config).clone();
    config.alpn_protocols = std::vec![ALPN_HTTP_1_1.to_vec()];
    Arc::new(config)
}

/// The configuration `wss://` uses unless a connector is given one: the roots of the
/// enabled features (`rustls-native-roots`: the operating system's store;
/// `rustls-webpki-roots`: Mozilla's, compiled in; both: both), loaded once per process.
///
/// # Errors
///
/// When neither feature is enabled or no root could be loaded: the message says what to do.
pub(crate) fn default_config() -> Result<Arc<ClientConfig>, &'static str> {
    static DEFAULT: OnceLock<Result<Arc<ClientConfig>, &'static str>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            #[allow(unused_mut)] // filled only by the roots features
            let mut roots = RootCertStore::empty();
            #[cfg(feature = "rustls-webpki-roots")]
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            #[cfg(feature = "rustls-native-roots")]
            {
                let found = rustls_native_certs::load_native_certs();
                let _ = roots.add_parsable_certificates(found.certs);
            }
            if roots.is_empty() {
                return Err(
                    if cfg!(any(
                        feature = "rustls-webpki-roots",
                        feature = "rustls-native-roots"
                    )) {
                        "no root certificate could be loaded from the system's store: give the \
                     connector a rustls ClientConfig (Connector::with_tls)"
                    } else {
                        "no root certificates: enable the feature rustls-native-roots or \
                     rustls-webpki-roots, or give the connector a rustls ClientConfig \
                     (Connector::with_tls)"
                    },
                );
            }
            config_with_roots(roots)
                .map(Arc::new)
                .map_err(|_| "the aws-lc-rs provider supports no safe TLS version")
        })
        .clone()
}

/// Reads certificates from PEM text (for a private CA: `--ca FILE` in the examples).
///
/// # Errors
///
/// The PEM parser's, or none found.
pub(crate) fn pem_certificates(
    pem: &[u8],
) -> io::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no certificate in the PEM text",
        ));
    }
    Ok(certs)
}
