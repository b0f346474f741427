//! The transport a [`Connector`](super::Connector) makes for a client: the stream itself for
//! `ws://`, TLS over it for `wss://` (feature `rustls`), one type for both so that a URL's
//! scheme does not change the connection's type.

use core::task::{Context, Poll};
use std::io;

use super::transport::Transport;
use crate::Timestamp;

/// A client's transport as [`Connector`](super::Connector) makes it: the stream itself for `ws://`, TLS over
/// it for `wss://` (feature `rustls`).
#[derive(Debug)]
pub struct ClientTransport<T> {
    inner: Layer<T>,
}

#[derive(Debug)]
enum Layer<T> {
    Plain(T),
    // Boxed: a TLS session is large, and a plain connection should not pay for its room.
    #[cfg(feature = "rustls")]
    Tls(std::boxed::Box<super::tls::TlsTransport<T>>),
}

impl<T> ClientTransport<T> {
    pub(super) fn plain(transport: T) -> ClientTransport<T> {
        ClientTransport {
            inner: Layer::Plain(transport),
        }
    }

    #[cfg(feature = "rustls")]
    pub(super) fn tls(tls: super::tls::TlsTransport<T>) -> ClientTransport<T> {
        ClientTransport {
            inner: Layer::Tls(std::boxed::Box::new(tls)),
        }
    }

    /// The transport under TLS (the stream itself for `ws://`).
    #[must_use]
    pub fn get_ref(&self) -> &T {
        match &self.inner {
            Layer::Plain(t) => t,
            #[cfg(feature = "rustls")]
            Layer::Tls(tls) => tls.get_ref(),
        }
    }

    /// Whether TLS runs over the transport.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        !matches!(self.inner, Layer::Plain(_))
    }

    /// The rustls session of a `wss://` connection (its protocol version, ALPN protocol
    /// and the server's certificates).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls_session(&self) -> Option<&rustls::ClientConnection> {
        match &self.inner {
            Layer::Plain(_) => None,
            Layer::Tls(tls) => Some(tls.session()),
        }
    }
}

macro_rules! each_layer {
    ($self:ident, $t:ident => $e:expr) => {
        match &mut $self.inner {
            Layer::Plain($t) => $e,
            #[cfg(feature = "rustls")]
            Layer::Tls($t) => $e,
        }
    };
}

impl<T: Transport> Transport for ClientTransport<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        each_layer!(self, t => t.poll_read(cx, buf))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each_layer!(self, t => t.poll_write(cx, buf))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_layer!(self, t => t.poll_flush(cx))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_layer!(self, t => t.poll_shutdown(cx))
    }

    fn now(&self) -> Timestamp {
        match &self.inner {
            Layer::Plain(t) => t.now(),
            #[cfg(feature = "rustls")]
            Layer::Tls(t) => t.now(),
        }
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Timestamp) -> Poll<()> {
        each_layer!(self, t => t.poll_timer(cx, at))
    }
}
