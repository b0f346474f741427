//! The [`Connection`]: one WebSocket endpoint as a state machine.

mod commands;
mod compress;
mod deadlines;
mod events;
mod inflate;
mod inputs;
mod lifecycle;
mod opening;
mod outputs;
mod recv;
mod send;

use alloc::vec::Vec;

use base64::Engine as _;

pub use lifecycle::State;
pub use opening::Accept;
pub use send::Sender;

use crate::config::Config;
use crate::entropy::{MaskRng, Seed};
use crate::error::HandshakeError;
use crate::handshake::accept_key;
use crate::handshake::client::ClientRequest;
use crate::role::Role;
use crate::stats::{Memory, Stats};
use lifecycle::Phase;
use opening::Opening;
use recv::Ready;
use recv::{Inbound, Stage};
use send::Outbound;

/// A WebSocket endpoint, client or server, from the first handshake byte to the end of the
/// closing handshake, as a pure state machine: bytes in, events and bytes out.
/// Examples: the [crate docs](crate) (a client and a server in memory), [`send_text`](Self::send_text) (commands), [`poll_event`](Self::poll_event) (events), [`handle_timeout`](Self::handle_timeout) (time).
///
/// # The driver contract
///
/// Make the connection, then tell it the time with
/// [`handle_timeout`](Self::handle_timeout) (that starts its deadlines). After any input
/// ([`receive`](Self::receive), [`commit_read`](Self::commit_read),
/// [`receive_eof`](Self::receive_eof)) or command (`send_*`, [`close`](Self::close),
/// [`accept`](Self::accept), [`respond`](Self::respond)):
///
/// 1. after a read, tell the time: [`handle_timeout(now)`](Self::handle_timeout);
/// 2. drain events with [`poll_event`](Self::poll_event) until it returns `None`;
/// 3. while [`wants_write`](Self::wants_write), write [`output`](Self::output) to the
///    transport and call [`consume_output`](Self::consume_output) with what was written
///    (one run of bytes at a time: a prepared message's shared frame, then the buffer;
///    [`output_vectored`](Self::output_vectored) gives both). A read or write that fails:
///    [`receive_transport_error`](Self::receive_transport_error), which ends the
///    connection at once;
/// 4. when [`should_shutdown_write`](Self::should_shutdown_write) is true, half-close the
///    transport (keep reading until drained, so that nothing is reset);
/// 5. arm a timer for [`poll_timeout()`](Self::poll_timeout); when it fires, call
///    `handle_timeout(now)` and go back to 2. Once [`is_drained`](Self::is_drained), drop
///    the transport: after end of stream or the close deadline, and for a server right
///    after a completed closing handshake (§5.5.1: the server closes at once).
///
/// Keep reading until the transport reports end of stream, then call `receive_eof` and drain
/// once more: the last event is always [`Event::Closed`](crate::Event::Closed). A driver that never tells the time
/// gets no deadlines (no handshake, close, keepalive or idle timeouts): it must then bound
/// those waits itself, using [`close_expected`](Self::close_expected).
///
/// Methods fall into six groups: inputs (`receive*`, `read_buf`/`commit_read`), time
/// (`handle_timeout`, `poll_timeout`), events (`poll_event*`), commands (`send_*`, `ping`,
/// `pong`, `close`, `accept`, `respond`), outputs (`output`, `consume_output`) and getters. Inputs only store bytes: what they mean (a close
/// frame, a violation, the end of stream) takes effect, in order, as `poll_event` reaches it,
/// so `state()`, `close_expected()` and the answers of `send_*` change when events are
/// drained. Commands take effect at once.
#[derive(Debug)]
pub struct Connection {
    inb: Inbound,
    out: Outbound,
}

/// An event that [`Connection::decide`] decided and [`Connection::render`] hands out: what
/// it is can be asked before it borrows the connection. Example on
/// [`Connection::decide`].
#[derive(Debug)]
#[must_use = "render it, or the event is lost"]
pub struct Decided {
    ready: Ready,
    /// The input buffer as the decision left it: rendering checks that nothing moved it.
    mark: [usize; 3],
}

impl Decided {
    /// Whether it renders as [`Event::Message`](crate::Event::Message).
    #[must_use]
    #[inline]
    pub fn is_message(&self) -> bool {
        self.ready.is_message()
    }

    /// The end of the connection, if it renders as [`Event::Closed`](crate::Event::Closed): a driver finishes the
    /// transport first (writes a failure's close frame, waits for the peer's end or the close
    /// deadline), then reports it.
    #[must_use]
    pub fn closed(&self) -> Option<crate::event::Closed> {
        self.ready.closed()
    }
}

impl Connection {
    /// A server that starts by reading the client's HTTP request, §4.2 (example in the
    /// [crate docs](crate)).
    #[must_use]
    pub fn server(config: Config) -> Connection {
        let config = config.validated();
        Connection {
            inb: Inbound::new(Role::Server, config, Stage::Handshake(Opening::server())),
            out: Outbound::new(Role::Server, &config, None, Phase::ReadingRequest),
        }
    }

    /// A client whose request head is queued as output right away (§4.1). `seed` provides the
    /// handshake key and the masking keys (§5.3); see [`Seed`].
    /// Example in the [crate docs](crate).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidRequest`] if the request cannot be sent as HTTP.
    pub fn client(
        config: Config,
        request: &ClientRequest<'_>,
        seed: Seed,
    ) -> Result<Connection, HandshakeError> {
        let config = config.validated();
        let mut out = Outbound::new(
            Role::Client,
            &config,
            Some(MaskRng::new(seed)),
            Phase::ReadingResponse,
        );
        let mut nonce = [0u8; 16];
        out.fill_random(&mut nonce);
        let mut key = [0u8; 24];
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(nonce, &mut key);
        // permessage-deflate: offer it first, before any extensions of the application's.
        #[cfg(feature = "deflate")]
        let offer;
        #[cfg(feature = "deflate")]
        let request = &match config.deflate {
            Some(policy) => {
                let own = crate::extensions::deflate::client_offer(&policy);
                offer = match request.extensions() {
                    Some(more) => alloc::format!("{own}, {more}"),
                    None => own,
                };
                request.with_extensions(&offer)
            }
            None => *request,
        };
        let mut head = Vec::new();
        request.write(&key, &mut head)?;
        out.push_raw(&head);
        let protocols = request.subprotocols().join(", ").into_bytes();
        let extensions = request.extensions().unwrap_or("").as_bytes().to_vec();
        let opening = Opening::client(accept_key(&key), protocols, extensions);
        Ok(Connection {
            inb: Inbound::new(Role::Client, config, Stage::Handshake(opening)),
            out,
        })
    }

    /// A server connection whose handshake was done elsewhere (hyper or axum upgrades, an
    /// RFC 8441 HTTP/2 stream), already open. `leftover` holds bytes read past the handshake.
    /// Examples: [`stats`](Self::stats), the [`h3`](crate::handshake::h3) module.
    #[must_use]
    pub fn upgraded_server(config: Config, leftover: &[u8]) -> Connection {
        Connection::upgraded(Role::Server, config, None, leftover)
    }

    /// A client connection whose handshake was done elsewhere, already open; `seed` provides
    /// the masking keys (§5.3). Example: the [`h3`](crate::handshake::h3) module.
    #[must_use]
    pub fn upgraded_client(config: Config, seed: Seed, leftover: &[u8]) -> Connection {
        Connection::upgraded(Role::Client, config, Some(MaskRng::new(seed)), leftover)
    }

    fn upgraded(role: Role, config: Config, rng: Option<MaskRng>, leftover: &[u8]) -> Connection {
        let config = config.validated();
        let mut conn = Connection {
            inb: Inbound::new(role, config, Stage::Frames),
            out: Outbound::new(role, &config, rng, Phase::Open),
        };
        conn.inb.start_frames(0);
        // The leftover is already in memory: take all of it whatever the limit (`receive`
        // may stop early after a large frame, so loop).
        let mut rest = leftover;
        while let Some(tail) = rest.get(conn.inb.receive(rest, Some(usize::MAX))..) {
            if tail.len() == rest.len() {
                break;
            }
            rest = tail;
        }
        conn.note_arrivals();
        conn
    }

    // ----- getters ------------------------------------------------------------------------

    /// Client or server (example on [`stats`](Self::stats)).
    #[must_use]
    pub fn role(&self) -> Role {
        self.out.role()
    }

    /// The phase of the connection (example on [`stats`](Self::stats)).
    #[must_use]
    pub fn state(&self) -> State {
        self.out.link.phase().state()
    }

    /// How the connection ended, once it did: the same value as its [`Event::Closed`](crate::Event::Closed)
    /// (available from the moment the end is decided, and after the event was delivered).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn closed(&self) -> Option<crate::event::Closed> {
        self.out.link.outcome()
    }

    /// Whether the connection is over ([`Event::Closed`](crate::Event::Closed) is due or delivered).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.out.link.phase() == Phase::Closed
    }

    /// The subprotocol agreed in the handshake (example in the [crate docs](crate)).
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.inb.protocol.as_deref()
    }

    /// The permessage-deflate parameters agreed in the handshake (feature `deflate`; example
    /// in [`extensions::deflate`](crate::extensions::deflate)).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(&self) -> Option<crate::extensions::deflate::DeflateParams> {
        self.inb.compression.params()
    }

    /// Turns on permessage-deflate with parameters agreed by a handshake done elsewhere (see
    /// [`extensions::deflate::server_accept`](crate::extensions::deflate::server_accept) and
    /// [`client_accept`](crate::extensions::deflate::client_accept)), for connections made with
    /// [`upgraded_server`](Self::upgraded_server) or [`upgraded_client`](Self::upgraded_client).
    /// Call it before feeding any frame; `policy` supplies the level and threshold.
    /// The negotiation it follows has its example in [`extensions::deflate`](crate::extensions::deflate).
    #[cfg(feature = "deflate")]
    pub fn set_deflate(
        &mut self,
        params: crate::extensions::deflate::DeflateParams,
        policy: &crate::extensions::deflate::DeflateConfig,
    ) {
        self.inb.enable_deflate(&mut self.out, params, policy);
    }

    /// The configuration in use: the one the connection was made with, every value clamped
    /// into its valid range ([`Config::validated`]).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inb.st.config
    }

    /// Counters of bytes, frames, messages, pings and pongs in each direction, and the
    /// largest message. Always kept; a handful of integer additions per frame.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Role, State};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// assert_eq!((server.role(), server.state()), (Role::Server, State::Open));
    /// assert!(server.role().is_server() && !server.role().is_client());
    /// server.send_text("hello").unwrap();
    /// assert!(server.wants_write());
    /// let stats = server.stats();
    /// assert_eq!((stats.sent.messages, stats.sent.frames), (1, 1));
    /// assert!(server.memory().output > 0);
    /// let n = server.output().len();
    /// server.consume_output(n);
    /// server.release_buffers(); // idle now: the output buffer goes
    /// assert_eq!(server.memory().total(), 0);
    /// ```
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            received: self.inb.st.stats,
            sent: self.out.stats,
            latency: self.latency(),
        }
    }

    /// Heap bytes held by the buffers (example on [`stats`](Self::stats)).
    #[must_use]
    #[inline]
    pub fn memory(&self) -> Memory {
        Memory {
            input: self.inb.buf.capacity() + self.inb.lane.text.capacity(),
            message: self.inb.msg.capacity(),
            output: self.out.buf.capacity(),
            compression: self.inb.compression.memory() + self.out.compression.memory(),
            from_pool: self.inb.compression.memory_from_pool()
                + self.out.compression.memory_from_pool(),
        }
    }

    /// Frees every buffer that holds no data, for connections that go idle: an idle open
    /// connection then holds no heap memory beyond the subprotocol name and, when
    /// permessage-deflate was used, the compression state (which must survive between
    /// messages with context takeover). Example on [`stats`](Self::stats); the connection
    /// does this itself after [`Config::release_buffers_after`].
    pub fn release_buffers(&mut self) {
        self.inb.settle(self.out.link.phase());
        self.inb.buf.release();
        self.inb.lane.release();
        if self.inb.msg.capacity() > 0 && !self.inb.msg_in_use() {
            self.inb.msg = recv::MessageBuf::Bytes(Vec::new());
        }
        self.out.buf.release();
    }
}
