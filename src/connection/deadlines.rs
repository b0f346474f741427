//! The deadlines a connection keeps: handshake, close, keepalive and idle, and the latency of
//! answered pings. Time comes in as an argument (`tick`); nothing here reads a clock.
//!
//! Activity is read off counters the connection keeps anyway (bytes received, messages
//! either way) when the driver reports the time, so the hot paths pay nothing for it: a
//! driver reports the time after every read, which times arrivals to one loop turn.
//!
//! Each deadline is computed by one function ([`Deadlines::at`]); what is due now and when
//! to wake next both come from it.

use core::time::Duration;

use crate::close::{CloseCode, CloseFrame};
use crate::config::Config;
use crate::connection::lifecycle::{Phase, Step};
use crate::connection::recv::abort_transport;
use crate::connection::send::Outbound;
use crate::connection::Connection;
use crate::error::HandshakeError;
use crate::time::Timestamp;

/// "Not set", for the timestamps below (a time no deadline reaches).
const NEVER: Timestamp = Timestamp::MAX;

/// One kind of deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// The opening handshake did not complete in time.
    Handshake,
    /// Nothing heard from the peer for the keepalive interval: send a ping.
    KeepalivePing,
    /// Nothing heard from the peer within the keepalive timeout after a ping: fail.
    KeepaliveFailed,
    /// No message either way for the idle timeout: close with 1001.
    Idle,
    /// The closing handshake (or the wait for the transport's end) took too long: drop the
    /// transport.
    Close,
    /// Nothing moved for a while: give the empty buffers back (housekeeping, no protocol
    /// effect).
    ReleaseBuffers,
}

const ALL: [Deadline; 6] = [
    Deadline::Handshake,
    Deadline::KeepalivePing,
    Deadline::KeepaliveFailed,
    Deadline::Idle,
    Deadline::Close,
    Deadline::ReleaseBuffers,
];

/// What the deadlines depend on besides time: the phase, whether end of stream was seen,
/// and whether the handshake deadline already passed (a refusal's body cut short).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation {
    pub(crate) phase: Phase,
    pub(crate) eof: bool,
    pub(crate) handshake_expired: bool,
    /// Output waits to be written (a peer that stopped reading keeps it waiting).
    pub(crate) unwritten: bool,
}

impl Situation {
    fn of(out: &Outbound) -> Situation {
        out.link.situation(out.wants_write())
    }
}

/// The time-dependent state of a connection.
#[derive(Debug, Clone)]
pub(crate) struct Deadlines {
    /// The latest time the driver reported; `NEVER` until it reports one.
    now: Timestamp,
    /// The first time reported: the handshake's start.
    started: Timestamp,
    /// When the peer was last heard from, and the bytes received by then.
    heard: Timestamp,
    heard_bytes: u64,
    /// When a data message last went either way, and the messages counted by then.
    message_at: Timestamp,
    messages: u64,
    /// The last keepalive ping: when it was sent, and its sequence number (its payload).
    ping_sent: Timestamp,
    ping_seq: u32,
    /// Nothing was heard since the last keepalive ping.
    ping_unanswered: bool,
    /// The last ping the application sent: a hash of its payload, and when.
    app_ping: (u64, Timestamp),
    /// When the connection entered its closing (a close sent or received, or the end while
    /// the transport is still open).
    closing_since: Timestamp,
    /// The round-trip time of the last answered ping.
    latency: Span,
    /// The buffers were given back since anything last moved.
    released: bool,
    /// The timeouts (`None`: off), copied from the configuration.
    handshake_timeout: Span,
    close_timeout: Span,
    keepalive_interval: Span,
    keepalive_timeout: Span,
    idle_timeout: Span,
    release_buffers_after: Span,
}

/// An optional duration in 8 bytes rather than an `Option<Duration>`'s 16 (seven of them sit
/// in every connection, whose idle size is kept under 1 KiB): nanoseconds, `u64::MAX` for
/// none. Durations past 584 years are held as the longest one (no deadline is that far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span(u64);

impl Span {
    const NONE: Span = Span(u64::MAX);

    fn of(duration: Option<Duration>) -> Span {
        match duration {
            Some(d) => Span(
                u64::try_from(d.as_nanos())
                    .unwrap_or(u64::MAX - 1)
                    .min(u64::MAX - 1),
            ),
            None => Span::NONE,
        }
    }

    fn get(self) -> Option<Duration> {
        (self != Span::NONE).then(|| Duration::from_nanos(self.0))
    }
}

impl Deadlines {
    pub(crate) fn new(config: &Config) -> Deadlines {
        Deadlines {
            now: NEVER,
            started: NEVER,
            heard: NEVER,
            heard_bytes: 0,
            message_at: NEVER,
            messages: 0,
            ping_sent: NEVER,
            ping_seq: 0,
            ping_unanswered: false,
            app_ping: (0, NEVER),
            closing_since: NEVER,
            latency: Span::NONE,
            released: false,
            handshake_timeout: Span::of(config.handshake_timeout),
            close_timeout: Span::of(config.close_timeout),
            keepalive_interval: Span::of(config.keepalive_interval),
            keepalive_timeout: Span::of(config.keepalive_timeout),
            idle_timeout: Span::of(config.idle_timeout),
            release_buffers_after: Span::of(config.release_buffers_after),
        }
    }

    /// The driver reports the time. `received` and `messages` are the connection's counters
    /// (bytes from the peer; data messages either way): when they moved since the last
    /// report, the peer was heard from (at about `now`: bytes are read just before), or a
    /// message went by (at about the last report: messages go by while events are drained,
    /// right after it). Time never runs backwards here: an earlier `now` counts as the
    /// latest one.
    pub(crate) fn tick(&mut self, now: Timestamp, received: u64, messages: u64, phase: Phase) {
        if self.now == NEVER {
            // The first report starts every clock.
            self.started = now;
            self.heard = now;
            self.message_at = now;
            self.heard_bytes = received;
            self.messages = messages;
        }
        // Messages are decoded and sent while events are drained, which follows the last
        // report: they went by at about that time.
        if messages != self.messages {
            self.messages = messages;
            self.message_at = self.now;
            self.released = false;
        }
        if self.now == NEVER || now > self.now {
            self.now = now;
        }
        // Bytes are read just before a report: they arrived at about this one.
        if received != self.heard_bytes {
            self.heard_bytes = received;
            self.heard = self.now;
            self.ping_unanswered = false;
            self.released = false;
        }
        // A closing that began before the first report starts now.
        if phase.is_closing() {
            self.entered_closing();
        }
    }

    /// The closing began (a close sent or received, or the end while the transport is still
    /// open): the close deadline starts.
    pub(crate) fn entered_closing(&mut self) {
        if self.closing_since == NEVER {
            // Before the driver has reported a time, the first report starts it.
            self.closing_since = self.now;
        }
    }

    /// When `kind` falls due in `s`, or `None` if it does not apply.
    pub(crate) fn at(&self, kind: Deadline, s: Situation) -> Option<Timestamp> {
        if self.now == NEVER {
            return None;
        }
        let open = s.phase == Phase::Open;
        let after = |since: Timestamp, timeout: Option<Duration>| {
            timeout
                .map(|t| since.saturating_add(t))
                .filter(|&d| d != NEVER)
        };
        match kind {
            Deadline::Handshake => {
                let reading = matches!(
                    s.phase,
                    Phase::ReadingRequest | Phase::ReadingResponse | Phase::ReadingRejection
                );
                after(self.started, self.handshake_timeout.get())
                    .filter(|_| reading && !s.eof && !s.handshake_expired)
            }
            Deadline::KeepalivePing => {
                let waiting = self.ping_unanswered && self.keepalive_timeout.get().is_some();
                let last = if self.ping_sent == NEVER {
                    self.heard
                } else {
                    self.heard.max(self.ping_sent)
                };
                after(last, self.keepalive_interval.get()).filter(|_| open && !waiting && !s.eof)
            }
            Deadline::KeepaliveFailed => after(self.ping_sent, self.keepalive_timeout.get())
                .filter(|_| open && self.ping_unanswered && !s.eof),
            Deadline::Idle => after(self.message_at, self.idle_timeout.get()).filter(|_| open),
            Deadline::Close => {
                let closing = matches!(
                    s.phase,
                    Phase::CloseSent | Phase::CloseReceived | Phase::Closed
                );
                let since = if self.closing_since == NEVER {
                    self.now
                } else {
                    self.closing_since
                };
                // Until the transport ended and all output is written: a peer that neither
                // closes nor reads must not hold the connection either.
                after(since, self.close_timeout.get())
                    .filter(|_| closing && (!s.eof || s.unwritten))
            }
            Deadline::ReleaseBuffers => after(
                self.heard.max(self.message_at),
                self.release_buffers_after.get(),
            )
            .filter(|_| open && !self.released),
        }
    }

    /// The buffers were given back: not again until something moves.
    pub(crate) fn released(&mut self) {
        self.released = true;
    }

    /// The first deadline due at the latest reported time, if any.
    pub(crate) fn due(&self, s: Situation) -> Option<Deadline> {
        ALL.into_iter()
            .find(|&kind| self.at(kind, s).is_some_and(|d| d <= self.now))
    }

    /// The earliest deadline, for the driver's timer.
    pub(crate) fn next(&self, s: Situation) -> Option<Timestamp> {
        ALL.into_iter().filter_map(|kind| self.at(kind, s)).min()
    }

    /// A keepalive ping goes out now; returns its payload (unique on this connection).
    pub(crate) fn keepalive_ping(&mut self) -> [u8; 4] {
        self.ping_seq = self.ping_seq.wrapping_add(1);
        self.ping_sent = self.now;
        self.ping_unanswered = true;
        self.ping_seq.to_be_bytes()
    }

    /// The application sent a ping with `payload`: its pong is timed too.
    pub(crate) fn app_ping(&mut self, payload: &[u8]) {
        if self.now != NEVER {
            self.app_ping = (hash(payload), self.now);
        }
    }

    /// A pong arrived (decoded at the latest reported time): if it answers the last keepalive
    /// ping or the application's last ping, its round trip is the latency. Pongs with other
    /// payloads, unsolicited ones included, change nothing (§5.5.3).
    pub(crate) fn pong(&mut self, payload: &[u8]) {
        if self.now == NEVER {
            return;
        }
        if self.ping_sent != NEVER && payload == self.ping_seq.to_be_bytes() {
            self.latency = Span::of(Some(self.now.saturating_duration_since(self.ping_sent)));
            self.ping_sent = NEVER;
            self.ping_unanswered = false;
        } else if self.app_ping.1 != NEVER && hash(payload) == self.app_ping.0 {
            self.latency = Span::of(Some(self.now.saturating_duration_since(self.app_ping.1)));
            self.app_ping = (0, NEVER);
        }
    }

    /// The round-trip time of the last answered ping.
    pub(crate) fn latency(&self) -> Option<Duration> {
        self.latency.get()
    }
}

/// FNV-1a over a ping payload (at most 125 bytes): enough to tell our pings apart.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The driver's side of time (see the driver contract on [`Connection`]).
impl Connection {
    /// Tells the connection the time: call it with the current time after every read (so
    /// that arrivals are timed), and when the timer armed for
    /// [`poll_timeout`](Self::poll_timeout) fires. Calling it early or often is harmless.
    /// Whatever fell due by `now` happens here: a handshake that took too long fails (a
    /// server queues `408`), a keepalive ping is queued or a silent peer failed with 1011,
    /// an idle connection starts closing with 1001, a closing that took too long ends the
    /// connection and abandons its output ([`is_drained`](Self::is_drained)), an open
    /// connection with nothing moving gives its empty buffers back. Then drain
    /// events and write output, as after any input.
    ///
    /// ```
    /// use std::time::Duration;
    /// use wsmachine::{Config, Connection, Timestamp};
    /// let config = Config::new().with_release_buffers_after(None);
    /// let mut server = Connection::upgraded_server(config, &[]);
    /// server.handle_timeout(Timestamp::ZERO); // the deadlines start
    /// let next = server.poll_timeout().unwrap(); // keepalive: a ping after 20 s of silence
    /// assert_eq!(next, Timestamp::ZERO + Duration::from_secs(20));
    /// server.handle_timeout(next); // the driver's timer fired
    /// assert_eq!(server.output()[0], 0x89); // the ping is queued
    /// assert!(server.latency().is_none() && !server.is_drained());
    /// ```
    ///
    /// `now` counts from an origin the driver chooses and keeps; a `now` earlier than one
    /// already reported counts as that one (time never runs backwards here). Until the
    /// first call, no deadline runs: a connection that is never told the time keeps none.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let received = self.inb.st.stats.bytes;
        let messages = self.inb.st.stats.messages + self.out.stats.messages;
        let phase = self.out.link.phase();
        self.out
            .link
            .deadlines_mut()
            .tick(now, received, messages, phase);
        // Each expiry moves the state past its deadline; bounded all the same.
        for _ in 0..=ALL.len() {
            let Some(due) = self.out.link.deadlines().due(Situation::of(&self.out)) else {
                return;
            };
            self.expire(due);
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next (arm a timer for it), or
    /// `None` if no deadline runs. Never earlier than the last time reported, once
    /// `handle_timeout` has run for it.
    /// Example on [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.out.link.deadlines().next(Situation::of(&self.out))
    }

    /// The round-trip time of the last answered ping: a keepalive ping, or a ping the
    /// application sent (matched by its payload). Measured between the times reported to
    /// [`handle_timeout`](Self::handle_timeout), so as precise as the driver reports them.
    /// Example on [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn latency(&self) -> Option<core::time::Duration> {
        self.out.link.deadlines().latency()
    }

    /// Whether the connection is done with its transport: `Event::Closed` was delivered,
    /// there is no output left to write, and the transport ended (end of stream, or the
    /// close deadline passed) or, on a server, the closing handshake completed: §5.5.1 "The
    /// server MUST close the underlying TCP connection immediately", so it does not wait for
    /// the client's end of stream. Drop the transport then, after the half-close that
    /// [`should_shutdown_write`](Self::should_shutdown_write) asks for (a TLS stream sends
    /// its `close_notify` there).
    /// Example on [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn is_drained(&self) -> bool {
        self.out.link.reported() && self.may_close_transport()
    }

    /// Acts on a deadline that fell due.
    fn expire(&mut self, due: Deadline) {
        match due {
            Deadline::Handshake => match self.out.link.phase() {
                Phase::ReadingRejection => {
                    self.out.apply(Step::HandshakeExpired);
                }
                _ => self
                    .inb
                    .end_handshake(&mut self.out, HandshakeError::Timeout),
            },
            Deadline::KeepalivePing => self.out.write_keepalive_ping(),
            Deadline::KeepaliveFailed => {
                self.out.apply(Step::KeepaliveFailed);
            }
            Deadline::Idle => {
                let frame = CloseFrame {
                    code: CloseCode::GOING_AWAY,
                    reason: "idle timeout",
                };
                // Refused only when the connection is closing already.
                let _ = self.out.close(frame, true);
            }
            Deadline::ReleaseBuffers => {
                // Only empty buffers go (bytes not yet written or taken stay), and compression
                // state only where it is reset after every message anyway.
                self.release_buffers();
                if self.inb.between_messages() {
                    self.inb.compression.release_if_reset();
                }
                self.out.compression.release_if_reset();
                self.out.link.deadlines_mut().released();
            }
            // The peer had its time: the transport goes, whatever is left unwritten.
            Deadline::Close => abort_transport(&mut self.out),
        }
    }
}
