//! Limits and policies of a connection.

use core::time::Duration;

/// How received data messages are handed to the application (example on
/// [`Fragment`](crate::Fragment) for streaming, on [`Config`] for setting it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Whole messages: [`Event::Message`](crate::Event::Message) with all fragments joined.
    /// Memory per message is bounded by `max_message_size`.
    Assembled,
    /// Pieces as they arrive: [`Event::Fragment`](crate::Event::Fragment), text already
    /// validated, so a message of any size and any number of frames passes through with
    /// bounded memory. `max_fragments` does not apply, nor does `max_message_size` to
    /// uncompressed messages (`max_frame_size` does): each byte delivered is a byte the peer
    /// sent. A compressed message (permessage-deflate) is bounded by `max_message_size`
    /// after decompression, as in assembled delivery, since inflating multiplies what the
    /// peer sent (up to about 1000 times).
    Streaming,
}

/// Limits and policies, with finite defaults.
///
/// Every buffer the connection holds is bounded by one of these limits, and memory grows only
/// with bytes that actually arrived: a frame header that *declares* a huge length fails the
/// connection before anything is allocated. The limits bound the bytes a buffer holds; its
/// capacity stays within twice that (the room that keeps moving bytes within a buffer cheap).
///
/// | limit | default | valid range | on violation |
/// |---|---|---|---|
/// | `max_handshake_bytes` | 16 KiB | 0 to 1 MiB | server: 431; client: handshake fails |
/// | `max_headers` | 64 | 0 to 4,096 | server: 431; client: handshake fails |
/// | `max_frame_size` | 16 MiB | 0 to [`MAX_LIMIT`](Config::MAX_LIMIT) | close 1009 |
/// | `max_message_size` | 16 MiB | 0 to `MAX_LIMIT` | close 1009 (assembled delivery; compressed messages in both) |
/// | `max_fragments` | 4,096 frames per message | 1 to `usize::MAX` | close 1008 (assembled delivery) |
/// | `max_output_backlog` | 16 MiB + 64 KiB | 0 to `MAX_LIMIT` | `SendError::OutputFull`, nothing queued |
///
/// Deadlines (each `None` turns it off; they run only for a driver that reports the time,
/// see [`Connection::handle_timeout`](crate::Connection::handle_timeout)):
///
/// | deadline | default | on expiry |
/// |---|---|---|
/// | `handshake_timeout` | 10 s | server: 408; `Closed` 1006, `Handshake(Timeout)` |
/// | `close_timeout` | 10 s | transport dropped; `Closed` 1006, `Abnormal` if not closed yet |
/// | `keepalive_interval` | 20 s | a ping with a unique payload |
/// | `keepalive_timeout` | 20 s | close 1011; `Closed` 1011, `KeepaliveTimeout` |
/// | `idle_timeout` | off | close 1001; `Closed` with the peer's answer, `IdleTimeout` |
/// | `release_buffers_after` | 1 s | an open connection with nothing moving gives its empty buffers back |
///
/// No configuration can make a connection panic or allocate without bound: every value is
/// clamped into its valid range (listed on each field) when a connection is made, and the
/// builder methods clamp as they set. [`validated`](Config::validated) shows the values a
/// connection uses, and [`Connection::config`](crate::Connection::config) returns them.
///
/// With permessage-deflate (feature `deflate`), `max_message_size` bounds the decompressed
/// size, checked while inflating: a small frame that inflates past it fails with 1009 as soon
/// as the limit is crossed. It also bounds the deflate blocks of a compressed message (64
/// plus one per KiB of the limit), since each costs the decoder work whatever it holds.
///
/// ```
/// use core::time::Duration;
/// use wsmachine::{Config, Delivery};
/// const CONFIG: Config = Config::new()
///     .with_max_message_size(1 << 20)
///     .with_delivery(Delivery::Streaming);
/// assert_eq!(CONFIG.max_message_size, 1 << 20);
///
/// // Every builder, each setting the field of its name.
/// let secs = |s| Some(Duration::from_secs(s));
/// let config = Config::new()
///     .with_handshake_timeout(secs(5))
///     .with_close_timeout(secs(5))
///     .with_keepalive(secs(30), secs(10))
///     .with_idle_timeout(secs(600))
///     .with_release_buffers_after(secs(2))
///     .with_max_handshake_bytes(8 * 1024)
///     .with_max_headers(32)
///     .with_max_frame_size(1 << 20)
///     .with_max_fragments(64)
///     .with_max_output_backlog(4 << 20)
///     .with_outgoing_fragment_size(64 * 1024)
///     .with_auto_pong(true)
///     .with_auto_close_reply(true)
///     .with_accept_legacy_versions(false)
///     .with_read_sizes(4096, 64 * 1024);
/// assert_eq!((config.max_fragments, config.keepalive_timeout), (64, secs(10)));
/// // Values out of range are clamped when a connection is made (see `validated`).
/// let huge = Config::new().with_max_frame_size(usize::MAX).validated();
/// assert_eq!(huge.max_frame_size, Config::MAX_LIMIT);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest HTTP request or response head, and for a rejected client, head plus body.
    /// 0 to 1 MiB.
    pub max_handshake_bytes: usize,
    /// Most header lines in an HTTP head. 0 to 4,096 (the parser's storage is sized by the
    /// lines the head has, not by this limit).
    pub max_headers: usize,
    /// Largest frame payload accepted. 0 to [`MAX_LIMIT`](Config::MAX_LIMIT).
    pub max_frame_size: usize,
    /// Largest assembled message accepted. 0 to [`MAX_LIMIT`](Config::MAX_LIMIT).
    pub max_message_size: usize,
    /// Most frames one message may be split into, with assembled delivery (a streamed
    /// message may have any number: each frame costs only its own bytes). 1 to `usize::MAX`.
    pub max_fragments: usize,
    /// Most bytes of output waiting to be written before `send_*` refuses new frames.
    /// Automatic pongs and close replies (at most 131 bytes each) are always queued.
    /// 0 to [`MAX_LIMIT`](Config::MAX_LIMIT).
    pub max_output_backlog: usize,
    /// Split outgoing messages into frames of at most this many payload bytes; 0 sends every
    /// message as one frame. 0 to [`MAX_LIMIT`](Config::MAX_LIMIT).
    pub outgoing_fragment_size: usize,
    /// Whole messages or streamed fragments.
    pub delivery: Delivery,
    /// Answer pings with pongs automatically (§5.5.2). Each ping gets its pong, but once 16
    /// automatic pongs wait unwritten at the end of the output, a newer ping replaces the
    /// last of them (§5.5.3 allows answering only the most recent ping), so a ping flood from
    /// a peer that never reads cannot grow the output past 16 pongs (2 KiB).
    pub auto_pong: bool,
    /// Answer a close frame with a close frame echoing its code and reason (§5.5.1). When off,
    /// the application calls `close` after [`Event::CloseReceived`](crate::Event::CloseReceived).
    pub auto_close_reply: bool,
    /// Server: also accept `Sec-WebSocket-Version: 8` (the hybi drafts that old tutorials still
    /// copy; framing is identical). Their `Sec-WebSocket-Origin` is reported by
    /// [`Request::origin`](crate::Request::origin) whatever this setting.
    pub accept_legacy_versions: bool,
    /// The smallest free space `read_buf` offers, and the initial input buffer size.
    /// 1 to 16 MiB.
    pub min_read_size: usize,
    /// The largest free space `read_buf` offers; it grows towards this while reads fill it.
    /// It also bounds the text of small messages that `receive` decodes ahead of their events
    /// (128 bytes more at most). `min_read_size` to 16 MiB.
    pub max_read_size: usize,
    /// How long the opening handshake may take: a server that has not received a complete
    /// request, or a client a complete response (a refusal's body included), by then fails
    /// the connection (a server answers `408`). `None`: no deadline. Default 10 s.
    pub handshake_timeout: Option<Duration>,
    /// How long the closing may take: once a close frame is sent or received, or the
    /// connection is over but its transport still open, the transport is to be dropped at
    /// this deadline ([`Connection::is_drained`](crate::Connection::is_drained)), and
    /// `Closed` reports 1006 if it had not ended yet. `None`: no deadline. Default 10 s.
    pub close_timeout: Option<Duration>,
    /// After this long without hearing from the peer, send a ping (keepalive). `None`: no
    /// keepalive pings. Default 20 s.
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive ping, how long to wait for anything from the peer (its pong, or any
    /// other bytes) before failing the connection with 1011
    /// ([`CloseCause::KeepaliveTimeout`](crate::CloseCause::KeepaliveTimeout)). `None`:
    /// never fail (the pings still keep middleboxes awake). Default 20 s.
    pub keepalive_timeout: Option<Duration>,
    /// Close with 1001 after this long without a data message either way
    /// ([`CloseCause::IdleTimeout`](crate::CloseCause::IdleTimeout)). `None` (the
    /// default): no idle limit.
    pub idle_timeout: Option<Duration>,
    /// After this long with nothing moving (no bytes from the peer, no data message either
    /// way), an open connection gives its empty buffers back
    /// ([`Connection::release_buffers`](crate::Connection::release_buffers)), so that an idle
    /// connection holds no buffer memory; they grow again with the next bytes. With
    /// permessage-deflate it also frees its scratch buffers (without context takeover, the
    /// compressor and decompressor already went back to the shared pool when the last
    /// message ended). Steady traffic never waits this long, so it allocates nothing per
    /// message. `None`: keep the buffers.
    /// Default 1 s.
    pub release_buffers_after: Option<Duration>,
    /// permessage-deflate (RFC 7692, feature `deflate`): offered by a client, accepted by a
    /// server, when set.
    /// Off by default. Limits apply to the decompressed size. Window bits are clamped to 9
    /// to 15 and the level to 0 to 9.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::extensions::deflate::DeflateConfig>,
    /// Server: which browser origins may upgrade
    /// ([`OriginPolicy`](crate::handshake::origin::OriginPolicy), RFC 6455 §10.2): a refused
    /// request is answered `403 Forbidden` and ends with
    /// [`HandshakeError::ForbiddenOrigin`](crate::HandshakeError::ForbiddenOrigin); it never
    /// reaches the application. Default
    /// [`OriginPolicy::ANY`](crate::handshake::origin::OriginPolicy::ANY) (no check): a
    /// server that serves browser pages should use
    /// [`SAME_ORIGIN`](crate::handshake::origin::OriginPolicy::SAME_ORIGIN) or an allowlist.
    pub origin_policy: crate::handshake::origin::OriginPolicy,
}

/// A timeout of at least a millisecond: a zero one would make a driver spin on its timer.
const fn at_least_a_millisecond(timeout: Option<Duration>) -> Option<Duration> {
    match timeout {
        Some(t) if t.as_nanos() < 1_000_000 => Some(Duration::from_millis(1)),
        other => other,
    }
}

/// The smaller of two sizes, in a `const fn`.
const fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

impl Config {
    /// The largest value any byte limit takes (frame, message, backlog, fragment size; see
    /// [`validated`](Self::validated)): a
    /// quarter of the address space, so that buffers holding up to twice a limit, plus a
    /// header and a read, never overflow a size or exceed what an allocation may be.
    /// Example on [`Config`].
    pub const MAX_LIMIT: usize = isize::MAX as usize / 4;

    /// The largest `max_handshake_bytes`.
    const MAX_HANDSHAKE: usize = 1 << 20;
    /// The largest `max_headers`.
    const MAX_HEADERS: usize = 4096;
    /// The largest read size.
    const MAX_READ: usize = 16 << 20;

    /// This configuration with every value clamped into its valid range: what a connection
    /// uses. Idempotent; the defaults are unchanged by it.
    ///
    /// ```
    /// use wsmachine::Config;
    /// let config = Config::new().with_read_sizes(0, usize::MAX).validated();
    /// assert_eq!((config.min_read_size, config.max_read_size), (1, 16 << 20));
    /// assert_eq!(Config::new().validated(), Config::new());
    /// ```
    #[must_use]
    pub const fn validated(mut self) -> Config {
        self.max_handshake_bytes = min(self.max_handshake_bytes, Self::MAX_HANDSHAKE);
        self.max_headers = min(self.max_headers, Self::MAX_HEADERS);
        self.max_frame_size = min(self.max_frame_size, Self::MAX_LIMIT);
        self.max_message_size = min(self.max_message_size, Self::MAX_LIMIT);
        if self.max_fragments == 0 {
            self.max_fragments = 1;
        }
        self.max_output_backlog = min(self.max_output_backlog, Self::MAX_LIMIT);
        self.outgoing_fragment_size = min(self.outgoing_fragment_size, Self::MAX_LIMIT);
        self.min_read_size = min(self.min_read_size, Self::MAX_READ);
        if self.min_read_size == 0 {
            self.min_read_size = 1;
        }
        self.max_read_size = min(self.max_read_size, Self::MAX_READ);
        if self.max_read_size < self.min_read_size {
            self.max_read_size = self.min_read_size;
        }
        self.handshake_timeout = at_least_a_millisecond(self.handshake_timeout);
        self.close_timeout = at_least_a_millisecond(self.close_timeout);
        self.keepalive_interval = at_least_a_millisecond(self.keepalive_interval);
        self.keepalive_timeout = at_least_a_millisecond(self.keepalive_timeout);
        self.idle_timeout = at_least_a_millisecond(self.idle_timeout);
        self.release_buffers_after = at_least_a_millisecond(self.release_buffers_after);
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate {
            self.deflate = Some(deflate.validated());
        }
        self
    }

    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_handshake_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`close_timeout`](Self::close_timeout).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_close_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`keepalive_interval`](Self::keepalive_interval) and
    /// [`keepalive_timeout`](Self::keepalive_timeout).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_keepalive(
        mut self,
        interval: Option<Duration>,
        timeout: Option<Duration>,
    ) -> Config {
        self.keepalive_interval = interval;
        self.keepalive_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`release_buffers_after`](Self::release_buffers_after).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_release_buffers_after(mut self, after: Option<Duration>) -> Config {
        self.release_buffers_after = after;
        self
    }

    /// No deadline at all (handshake, close, keepalive, idle, buffer release): the connection
    /// then needs no clock, as before it kept deadlines.
    ///
    /// ```
    /// let config = wsmachine::Config::new().without_deadlines();
    /// assert_eq!((config.keepalive_interval, config.release_buffers_after), (None, None));
    /// ```
    #[must_use]
    pub const fn without_deadlines(self) -> Config {
        self.with_handshake_timeout(None)
            .with_close_timeout(None)
            .with_keepalive(None, None)
            .with_idle_timeout(None)
            .with_release_buffers_after(None)
    }

    /// The defaults listed in the table above (example on [`Config`]).
    #[must_use]
    pub const fn new() -> Config {
        Config {
            max_handshake_bytes: 16 * 1024,
            max_headers: 64,
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_fragments: 4096,
            max_output_backlog: (16 << 20) + (64 << 10),
            outgoing_fragment_size: 0,
            delivery: Delivery::Assembled,
            auto_pong: true,
            auto_close_reply: true,
            accept_legacy_versions: false,
            min_read_size: 512,
            max_read_size: 64 * 1024,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Some(Duration::from_secs(10)),
            keepalive_interval: Some(Duration::from_secs(20)),
            keepalive_timeout: Some(Duration::from_secs(20)),
            idle_timeout: None,
            release_buffers_after: Some(Duration::from_secs(1)),
            #[cfg(feature = "deflate")]
            deflate: None,
            origin_policy: crate::handshake::origin::OriginPolicy::ANY,
        }
    }

    /// Sets [`origin_policy`](Self::origin_policy): which browser origins a server accepts
    /// upgrades from.
    ///
    /// ```
    /// use wsmachine::handshake::origin::OriginPolicy;
    /// use wsmachine::{Config, Connection, Event, HandshakeError, CloseCause};
    /// let config = Config::new().with_origin_policy(OriginPolicy::SAME_ORIGIN);
    /// let mut server = Connection::server(config);
    /// let _ = server.receive(
    ///     b"GET /chat HTTP/1.1\r\nHost: chat.example.com\r\nUpgrade: websocket\r\n\
    ///       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    ///       Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n",
    /// );
    /// let Some(Event::Closed(closed)) = server.poll_event() else { panic!() };
    /// assert_eq!(closed.cause, CloseCause::Handshake(HandshakeError::ForbiddenOrigin));
    /// assert!(server.output().starts_with(b"HTTP/1.1 403 "));
    /// ```
    #[must_use]
    pub const fn with_origin_policy(
        mut self,
        policy: crate::handshake::origin::OriginPolicy,
    ) -> Config {
        self.origin_policy = policy;
        self
    }

    /// Enables permessage-deflate with `deflate` as the policy (feature `deflate`; example on
    /// [`DeflateConfig`](crate::extensions::deflate::DeflateConfig)).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub const fn with_deflate(
        mut self,
        deflate: crate::extensions::deflate::DeflateConfig,
    ) -> Config {
        self.deflate = Some(deflate);
        self
    }

    /// Sets [`max_handshake_bytes`](Self::max_handshake_bytes).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_max_handshake_bytes(mut self, bytes: usize) -> Config {
        self.max_handshake_bytes = bytes;
        self
    }

    /// Sets [`max_headers`](Self::max_headers).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_max_headers(mut self, count: usize) -> Config {
        self.max_headers = count;
        self
    }

    /// Sets [`max_frame_size`](Self::max_frame_size).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_max_frame_size(mut self, bytes: usize) -> Config {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`max_message_size`](Self::max_message_size).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Config {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_fragments`](Self::max_fragments).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_max_fragments(mut self, count: usize) -> Config {
        self.max_fragments = count;
        self
    }

    /// Sets [`max_output_backlog`](Self::max_output_backlog).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_max_output_backlog(mut self, bytes: usize) -> Config {
        self.max_output_backlog = bytes;
        self
    }

    /// Sets [`outgoing_fragment_size`](Self::outgoing_fragment_size).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_outgoing_fragment_size(mut self, bytes: usize) -> Config {
        self.outgoing_fragment_size = bytes;
        self
    }

    /// Sets [`delivery`](Self::delivery).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_delivery(mut self, delivery: Delivery) -> Config {
        self.delivery = delivery;
        self
    }

    /// Sets [`auto_pong`](Self::auto_pong).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_auto_pong(mut self, on: bool) -> Config {
        self.auto_pong = on;
        self
    }

    /// Sets [`auto_close_reply`](Self::auto_close_reply).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_auto_close_reply(mut self, on: bool) -> Config {
        self.auto_close_reply = on;
        self
    }

    /// Sets [`accept_legacy_versions`](Self::accept_legacy_versions).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_accept_legacy_versions(mut self, on: bool) -> Config {
        self.accept_legacy_versions = on;
        self
    }

    /// Sets [`min_read_size`](Self::min_read_size) and [`max_read_size`](Self::max_read_size)
    /// (clamped as [`validated`](Self::validated) does).
    /// Example on [`Config`].
    #[must_use]
    pub const fn with_read_sizes(mut self, min: usize, max: usize) -> Config {
        self.min_read_size = min;
        self.max_read_size = max;
        self.validated()
    }

    /// The most bytes the input buffer holds once open: one whole frame plus one read.
    pub(crate) const fn max_buffered_input(&self) -> usize {
        self.max_frame_size
            .saturating_add(crate::frame::MAX_HEADER_LEN)
            .saturating_add(self.max_read_size)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}
