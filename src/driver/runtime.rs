//! The constructors every runtime's module gives [`WebSocket`](super::WebSocket) over its
//! adapter, written once: a runtime's module is its [`Transport`](super::Transport) and one
//! line that names it here.

/// Gives `WebSocket<S>` (the runtime module's alias for `driver::WebSocket<$adapter<S>>`)
/// the constructors that take a stream: `accept`, `accept_with`, `connect`, `from_upgraded`,
/// and `get_ref`. Each wraps the stream in `$adapter::new` and calls the generic step.
macro_rules! runtime_constructors {
    ($adapter:ident, $($bound:tt)+) => {
        /// The constructors over this runtime's streams; every other method is the driver's
        /// ([`driver::WebSocket`](crate::driver::WebSocket)).
        impl<S: $($bound)+> WebSocket<S> {
            /// A server: reads the request on `stream` and upgrades it (no subprotocol), with
            /// the default configuration. A request that is not a WebSocket upgrade is
            /// answered `400`. Not cancel-safe (dropping it drops the connection).
            /// Example on [`WebSocket`].
            ///
            /// # Errors
            ///
            /// [`Error::Handshake`](crate::driver::Error::Handshake) when the request is
            /// invalid (answered with its status), was not an upgrade, or the handshake
            /// deadline passed; [`Error::Io`](crate::driver::Error::Io).
            pub async fn accept(stream: S) -> Result<WebSocket<S>, crate::driver::Error> {
                let answer = crate::driver::Answer::default_for;
                match WebSocket::accept_with(stream, crate::Config::new(), answer).await? {
                    Some(ws) => Ok(ws),
                    None => Err(crate::driver::Error::Handshake(
                        crate::HandshakeError::MissingUpgrade,
                    )),
                }
            }

            /// A server with `config`: reads the request on `stream` and lets `answer`
            /// decide: an upgrade (choosing a subprotocol, adding headers) or any HTTP
            /// response (a page and a WebSocket endpoint share a port). `Ok(None)` when it
            /// was answered with a response (written out and the stream half-closed). Not
            /// cancel-safe.
            /// Example on [`WebSocket`], and on [`Answer`](crate::driver::Answer).
            ///
            /// # Errors
            ///
            /// As [`accept`](Self::accept).
            pub async fn accept_with<F>(
                stream: S,
                config: crate::Config,
                answer: F,
            ) -> Result<Option<WebSocket<S>>, crate::driver::Error>
            where
                F: FnOnce(&crate::Request<'_>) -> crate::driver::Answer,
            {
                // The handshake's state lives on the heap while it runs: a task that awaits
                // this and then serves the connection is sized by its largest state, and
                // that would otherwise be this one, for the whole life of every idle
                // connection.
                let transport = $adapter::new(stream);
                std::boxed::Box::pin(WebSocket::accept_transport(transport, config, answer)).await
            }

            /// A client: sends `request` on `stream` and waits for the `101`, with a masking
            /// seed from the operating system. Returns the connection and the server's
            /// response. Not cancel-safe.
            /// Example on [`WebSocket`].
            ///
            /// # Errors
            ///
            /// [`Error::Rejected`](crate::driver::Error::Rejected) for another status (with
            /// its headers and body), [`Error::Handshake`](crate::driver::Error::Handshake)
            /// for an invalid response or the handshake deadline,
            /// [`Error::Io`](crate::driver::Error::Io) (also when the operating system has
            /// no random source).
            pub async fn connect(
                stream: S,
                request: &crate::handshake::client::ClientRequest<'_>,
                config: crate::Config,
            ) -> Result<(WebSocket<S>, crate::OwnedResponse), crate::driver::Error> {
                // On the heap while it runs, as in `accept_with`.
                let transport = $adapter::new(stream);
                std::boxed::Box::pin(WebSocket::connect_transport(transport, request, config))
                    .await
            }

            /// A connection whose handshake was done elsewhere (hyper or axum upgrades, an
            /// RFC 8441 HTTP/2 stream): `leftover` holds bytes read past the handshake. A
            /// client draws its masking keys from a seed of the operating system.
            /// Example on [`WebSocket`].
            ///
            /// # Errors
            ///
            /// [`Error::Io`](crate::driver::Error::Io) when a client finds no random source.
            pub fn from_upgraded(
                stream: S,
                role: crate::Role,
                config: crate::Config,
                leftover: &[u8],
            ) -> Result<WebSocket<S>, crate::driver::Error> {
                WebSocket::from_upgraded_transport($adapter::new(stream), role, config, leftover)
            }

            /// The stream (the one given to [`accept`](Self::accept), say).
            /// Example on [`WebSocket`].
            #[must_use]
            pub fn get_ref(&self) -> &S {
                self.transport().get_ref()
            }
        }
    };
}

pub(crate) use runtime_constructors;
