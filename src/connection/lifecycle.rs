//! The life of a connection as data: every phase, every step that moves it, and what follows
//! from each step, in one function ([`Link::apply`]) and one table (below, rendered from that
//! function by a test, so that it cannot drift from the code).
//!
//! Both directions read the phase: the receive path to know what input means, the send path
//! to know what may still be sent. It lives in [`Link`], owned by the output side so that a
//! [`Sender`](crate::Sender) can close the connection while an event borrows the input side.
//! Nothing outside this module writes the link's fields: a change is a [`Step`], and
//! [`Outbound::apply`](crate::connection::send::Outbound::apply) carries out its
//! [`Effects`] on the output (a failure's close frame, output dropped with the transport).
//! A step the table does not have for a phase is refused and changes nothing; debug builds
//! stop there, so that the tests find any gap.
//!
//! ## The table
//!
//! Role, phase × step → next phase, then the effects: `frame` (a close frame queued, with
//! its code), `shut` (half-close once the output is written), `drop` (this side closes the
//! transport first: the server after the closing handshake, §5.5.1), `abandon` (unwritten
//! output dropped), `end` (the connection's `Closed`: code and cause), `close timer` (the
//! close deadline starts). Steps carry sample values (a failure with invalid UTF-8, a
//! refusal with 403, a peer closing with 1000, and 1001 as the code of the peer's close
//! frame in `CloseReceived`). Steps not listed for a phase are refused; `Eof` and
//! `CloseArrived` are accepted in every phase and only recorded where no row lists them.
//!
//! <!-- lifecycle table: begin -->
//! | role | phase | step | next | effects |
//! |---|---|---|---|---|
//! | server | ReadingRequest | RequestHead | AwaitingAnswer |  |
//! | server | ReadingRequest | HandshakeFailed(Timeout) | Closed | shut, end 1006 Handshake(Timeout), close timer |
//! | server | ReadingRequest | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8), close timer |
//! | server | ReadingRequest | TransportEnded(Abnormal) | Closed | end 1006 Abnormal, close timer |
//! | server | ReadingRequest | TransportLost | Closed | abandon, end 1006 Abnormal, close timer |
//! | server | AwaitingAnswer | Accept | Open |  |
//! | server | AwaitingAnswer | Respond | Closed | shut, end 1006 Responded, close timer |
//! | server | AwaitingAnswer | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8), close timer |
//! | server | AwaitingAnswer | TransportEnded(Abnormal) | Closed | end 1006 Abnormal, close timer |
//! | server | AwaitingAnswer | TransportLost | Closed | abandon, end 1006 Abnormal, close timer |
//! | server | Open | SendClose | CloseSent | close timer |
//! | server | Open | SendClose (idle) | CloseSent | close timer |
//! | server | Open | ReceiveClose(1000) | CloseReceived | close timer |
//! | server | Open | Fail(InvalidUtf8) | Closed | frame 1007, shut, end 1007 Failed(InvalidUtf8), close timer |
//! | server | Open | KeepaliveFailed | Closed | frame 1011, shut, end 1011 KeepaliveTimeout, close timer |
//! | server | Open | TransportEnded(Abnormal) | Closed | end 1006 Abnormal, close timer |
//! | server | Open | TransportLost | Closed | abandon, end 1006 Abnormal, close timer |
//! | server | CloseSent | ReceiveClose(1000) | Closed | shut, drop, end 1000 ClosedLocally |
//! | server | CloseSent | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8) |
//! | server | CloseSent | TransportEnded(Abnormal) | Closed | end 1006 Abnormal |
//! | server | CloseSent | TransportLost | Closed | abandon, end 1006 Abnormal |
//! | server | CloseReceived | SendClose | Closed | shut, drop, end 1001 ClosedByPeer |
//! | server | CloseReceived | SendClose (idle) | Closed | shut, drop, end 1001 ClosedByPeer |
//! | server | CloseReceived | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8) |
//! | server | CloseReceived | TransportEnded(Abnormal) | Closed | end 1001 Abnormal |
//! | server | CloseReceived | TransportLost | Closed | abandon, end 1001 Abnormal |
//! | server | Closed | TransportEnded(Abnormal) | Closed |  |
//! | server | Closed | TransportLost | Closed | abandon |
//! | client | ReadingResponse | Switched | Open |  |
//! | client | ReadingResponse | Refused | ReadingRejection |  |
//! | client | ReadingResponse | HandshakeFailed(Timeout) | Closed | shut, end 1006 Handshake(Timeout), close timer |
//! | client | ReadingResponse | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8), close timer |
//! | client | ReadingResponse | TransportEnded(Abnormal) | Closed | end 1006 Abnormal, close timer |
//! | client | ReadingResponse | TransportLost | Closed | abandon, end 1006 Abnormal, close timer |
//! | client | ReadingRejection | RefusalRead(403) | Closed | shut, end 1006 Handshake(Rejected(403)), close timer |
//! | client | ReadingRejection | HandshakeExpired | ReadingRejection |  |
//! | client | ReadingRejection | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8), close timer |
//! | client | ReadingRejection | TransportEnded(Abnormal) | Closed | end 1006 Abnormal, close timer |
//! | client | ReadingRejection | TransportLost | Closed | abandon, end 1006 Abnormal, close timer |
//! | client | Open | SendClose | CloseSent | close timer |
//! | client | Open | SendClose (idle) | CloseSent | close timer |
//! | client | Open | ReceiveClose(1000) | CloseReceived | close timer |
//! | client | Open | Fail(InvalidUtf8) | Closed | frame 1007, shut, end 1007 Failed(InvalidUtf8), close timer |
//! | client | Open | KeepaliveFailed | Closed | frame 1011, shut, end 1011 KeepaliveTimeout, close timer |
//! | client | Open | TransportEnded(Abnormal) | Closed | end 1006 Abnormal, close timer |
//! | client | Open | TransportLost | Closed | abandon, end 1006 Abnormal, close timer |
//! | client | CloseSent | ReceiveClose(1000) | Closed | end 1000 ClosedLocally |
//! | client | CloseSent | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8) |
//! | client | CloseSent | TransportEnded(Abnormal) | Closed | end 1006 Abnormal |
//! | client | CloseSent | TransportLost | Closed | abandon, end 1006 Abnormal |
//! | client | CloseReceived | SendClose | Closed | end 1001 ClosedByPeer |
//! | client | CloseReceived | SendClose (idle) | Closed | end 1001 ClosedByPeer |
//! | client | CloseReceived | Fail(InvalidUtf8) | Closed | shut, end 1007 Failed(InvalidUtf8) |
//! | client | CloseReceived | TransportEnded(Abnormal) | Closed | end 1001 Abnormal |
//! | client | CloseReceived | TransportLost | Closed | abandon, end 1001 Abnormal |
//! | client | Closed | TransportEnded(Abnormal) | Closed |  |
//! | client | Closed | TransportLost | Closed | abandon |
//! <!-- lifecycle table: end -->
//!
//! The transport's end follows from the table: half-close (`should_shutdown_write`) once the
//! output is written after a `shut`, or once the connection is over and end of stream
//! arrived; close it (`may_close_transport`) once the output is written, the connection is
//! over, and the transport ended (`Eof`, `TransportLost`) or this side drops it (`drop`):
//! [`Link::should_shutdown`] and [`Link::may_close_transport`].
//!
//! `CloseSent + ReceiveClose` ends `ClosedLocally` when our close frame was queued before
//! the peer's arrived (`CloseArrived`, reported as its bytes arrive, before they are
//! decoded), `IdleTimeout` when that close was the idle deadline's, and `ClosedByPeer` when
//! the peer's had arrived first: who closed first is a matter of arrival, not of when the
//! application polled.

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::deadlines::{Deadlines, Situation};
use crate::error::{HandshakeError, ProtocolError};
use crate::event::{CloseCause, Closed};

/// The phase of a connection, as the application sees it (example on
/// [`Connection::stats`](crate::Connection::stats)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// The opening handshake is in progress (§4).
    Connecting,
    /// Messages flow both ways (§5).
    Open,
    /// A close frame has been sent or received, the closing handshake is not complete (§7).
    Closing,
    /// The connection is over; [`Event::Closed`](crate::Event::Closed) is or was delivered.
    Closed,
}

/// The internal phase: [`State`] refined by who is waiting for what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Server: reading the request head.
    ReadingRequest,
    /// Server: the request was delivered; waiting for `accept` or `respond`.
    AwaitingAnswer,
    /// Client: reading the response head.
    ReadingResponse,
    /// Client: the server refused the upgrade; reading its response body.
    ReadingRejection,
    /// The connection is established.
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent,
    /// The peer's close frame arrived and ours is not sent yet (automatic replies off).
    CloseReceived,
    /// Terminal.
    Closed,
}

/// Something that happens to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Server: a complete request head was parsed and delivered.
    RequestHead,
    /// Server: the application accepted the upgrade (the `101` is queued).
    Accept,
    /// Server: the application answered with an HTTP response instead (queued).
    Respond,
    /// Client: a valid `101` response.
    Switched,
    /// Client: a response other than `101`; its body follows.
    Refused,
    /// Client: the refusal body is complete; the status.
    RefusalRead(u16),
    /// Client: the handshake deadline passed while a refusal's body was being read: it ends
    /// with what arrived.
    HandshakeExpired,
    /// The handshake failed (invalid request or response, limits, its deadline); a server's
    /// error response is queued.
    HandshakeFailed(HandshakeError),
    /// Our close frame is queued (by the application, or by the idle deadline: `idle`).
    SendClose {
        /// The idle deadline's close, not the application's.
        idle: bool,
    },
    /// The peer's close frame arrived (its bytes; it may not be decoded yet).
    CloseArrived,
    /// A valid close frame from the peer was decoded, with its code.
    ReceiveClose(CloseCode),
    /// The connection fails (§7.1.7): the peer violated the protocol, or an internal
    /// assumption broke.
    Fail(ProtocolError),
    /// Nothing heard from the peer within the keepalive timeout after a ping.
    KeepaliveFailed,
    /// The transport reached end of stream (input still buffered is decoded first).
    Eof,
    /// The transport ended, and the input before the end is decoded: the connection ends
    /// with `cause` unless it already ended.
    TransportEnded(CloseCause),
    /// The transport is gone at once (a read or write failed, or the close deadline
    /// passed): whatever was left unwritten is dropped.
    TransportLost,
}

/// What follows from a step, besides the phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Effects {
    /// A close frame to queue (a failure's).
    pub(crate) close_frame: Option<(CloseCode, &'static str)>,
    /// Half-close the transport once the output is written.
    pub(crate) shutdown: bool,
    /// This side closes the transport first (the server after the closing handshake).
    pub(crate) closes_transport: bool,
    /// The output not yet written is dropped (the transport is gone).
    pub(crate) abandon_output: bool,
    /// The connection ended, so: its `Closed`.
    pub(crate) ended: Option<Closed>,
    /// The close deadline starts.
    pub(crate) close_timer: bool,
}

/// A step the table does not have for the phase: a broken internal assumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Impossible {
    pub(crate) phase: Phase,
    pub(crate) step: Step,
}

impl Phase {
    /// Whether input still means something: not once the peer's close frame arrived (nothing
    /// after it belongs to the connection, §5.5.1) or the connection ended. Input is
    /// discarded in those phases.
    pub(crate) const fn reads_input(self) -> bool {
        !matches!(self, Phase::CloseReceived | Phase::Closed)
    }

    /// Whether data frames (and our close frame) may be sent: open, or the peer's close
    /// received and ours not yet sent (§5.5.1). Every send path asks this.
    pub(crate) const fn sends_data(self) -> bool {
        matches!(self, Phase::Open | Phase::CloseReceived)
    }

    /// Whether the closing handshake began (or the connection ended): the close deadline
    /// runs.
    pub(crate) const fn is_closing(self) -> bool {
        matches!(
            self,
            Phase::CloseSent | Phase::CloseReceived | Phase::Closed
        )
    }

    /// The public view of the phase.
    pub(crate) const fn state(self) -> State {
        match self {
            Phase::ReadingRequest
            | Phase::AwaitingAnswer
            | Phase::ReadingResponse
            | Phase::ReadingRejection => State::Connecting,
            Phase::Open => State::Open,
            Phase::CloseSent | Phase::CloseReceived => State::Closing,
            Phase::Closed => State::Closed,
        }
    }
}

/// The state both directions share: the phase and what the steps so far left behind.
///
/// `repr(C)` with the phase and the flags first: every send checks them, and they then share
/// a cache line with the output's hot fields (see `Outbound`).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Link {
    phase: Phase,
    /// A server (which closes the transport first after the closing handshake).
    server: bool,
    /// Whether the terminal event was delivered.
    reported: bool,
    /// Close the write side once the output is written (§7.1.1: the server closes first; on
    /// failure both do, §7.1.7).
    shutdown: bool,
    /// End of stream was received.
    eof: bool,
    /// The peer's close frame has arrived (it may not be decoded yet).
    peer_close_arrived: bool,
    /// We queued our close frame before the peer's arrived: the closing handshake is ours.
    closed_first: bool,
    /// Our close was the idle deadline's, not the application's.
    idle_close: bool,
    /// The handshake deadline passed while a refusal's body was being read.
    handshake_expired: bool,
    /// The server completed the closing handshake: it closes the transport as soon as its
    /// output is written, without waiting for the client's end of stream (§5.5.1: "The
    /// server MUST close the underlying TCP connection immediately").
    closes_transport: bool,
    /// The code of the peer's close frame, once received.
    peer_code: Option<CloseCode>,
    /// The terminal event, once decided and until delivered.
    undelivered: Option<Closed>,
    /// How the connection ended, once decided (kept after delivery).
    outcome: Option<Closed>,
    /// The time-dependent state: deadlines and latency (changed by time and by the pings
    /// and pongs that go by, through its own methods; the steps here only start the close
    /// deadline).
    deadlines: Deadlines,
}

impl Link {
    pub(crate) fn new(phase: Phase, server: bool, config: &Config) -> Link {
        Link {
            phase,
            server,
            reported: false,
            shutdown: false,
            eof: false,
            peer_close_arrived: false,
            closed_first: false,
            idle_close: false,
            handshake_expired: false,
            closes_transport: false,
            peer_code: None,
            undelivered: None,
            outcome: None,
            deadlines: Deadlines::new(config),
        }
    }

    /// The one place a connection's life moves: applies `step` and returns what follows
    /// from it (the rows of the module's table). A step the table does not have for the
    /// phase changes nothing and is an [`Impossible`] error.
    pub(crate) fn apply(&mut self, step: Step) -> Result<Effects, Impossible> {
        use Phase::*;
        let phase = self.phase;
        let mut fx = Effects::default();
        // The code the end reports when the transport ends (§7.1.5), or the closing
        // handshake completes (1005 for a close frame without a code).
        let peer_or = |default: CloseCode, link: &Link| link.peer_code.unwrap_or(default);
        let next = match (phase, step) {
            // Observations, in any phase.
            (_, Step::Eof) => {
                self.eof = true;
                phase
            }
            (_, Step::CloseArrived) => {
                self.peer_close_arrived = true;
                phase
            }
            // The opening handshake.
            (ReadingRequest, Step::RequestHead) => AwaitingAnswer,
            (AwaitingAnswer, Step::Accept) => Open,
            (AwaitingAnswer, Step::Respond) => {
                fx.shutdown = true;
                fx.ended = Some(closed(CloseCode::ABNORMAL, CloseCause::Responded));
                Closed
            }
            (ReadingResponse, Step::Switched) => Open,
            (ReadingResponse, Step::Refused) => ReadingRejection,
            (ReadingRejection, Step::HandshakeExpired) => {
                self.handshake_expired = true;
                phase
            }
            (ReadingRejection, Step::RefusalRead(status)) => {
                fx.shutdown = true;
                let cause = CloseCause::Handshake(HandshakeError::Rejected(status));
                fx.ended = Some(closed(CloseCode::ABNORMAL, cause));
                Closed
            }
            (ReadingRequest | ReadingResponse, Step::HandshakeFailed(error)) => {
                fx.shutdown = true;
                fx.ended = Some(closed(CloseCode::ABNORMAL, CloseCause::Handshake(error)));
                Closed
            }
            // The closing handshake (§7.1.2–§7.1.3).
            (Open, Step::SendClose { idle }) => {
                self.closed_first = !self.peer_close_arrived;
                self.idle_close = idle;
                CloseSent
            }
            (Open, Step::ReceiveClose(code)) => {
                self.peer_code = Some(code);
                CloseReceived
            }
            (CloseReceived, Step::SendClose { .. }) => {
                self.completed(&mut fx, CloseCause::ClosedByPeer);
                Closed
            }
            (CloseSent, Step::ReceiveClose(code)) => {
                self.peer_code = Some(code);
                let cause = match (self.closed_first, self.idle_close) {
                    (true, true) => CloseCause::IdleTimeout,
                    (true, false) => CloseCause::ClosedLocally,
                    (false, _) => CloseCause::ClosedByPeer,
                };
                self.completed(&mut fx, cause);
                Closed
            }
            // Failures (§7.1.7): a close frame where one may still be sent, then the
            // transport is closed.
            (Open, Step::Fail(error)) => {
                fx.close_frame = Some((error.close_code(), error.reason()));
                fx.shutdown = true;
                fx.ended = Some(closed(error.close_code(), CloseCause::Failed(error)));
                Closed
            }
            (Open, Step::KeepaliveFailed) => {
                let code = CloseCode::INTERNAL_ERROR;
                fx.close_frame = Some((code, "keepalive timeout"));
                fx.shutdown = true;
                fx.ended = Some(closed(code, CloseCause::KeepaliveTimeout));
                Closed
            }
            (
                ReadingRequest | AwaitingAnswer | ReadingResponse | ReadingRejection | CloseSent
                | CloseReceived,
                Step::Fail(error),
            ) => {
                fx.shutdown = true;
                fx.ended = Some(closed(error.close_code(), CloseCause::Failed(error)));
                Closed
            }
            // The transport's end.
            (Closed, Step::TransportEnded(_)) => Closed,
            (_, Step::TransportEnded(cause)) => {
                fx.ended = Some(closed(peer_or(CloseCode::ABNORMAL, self), cause));
                Closed
            }
            (Closed, Step::TransportLost) => {
                self.eof = true;
                fx.abandon_output = true;
                Closed
            }
            (_, Step::TransportLost) => {
                self.eof = true;
                fx.abandon_output = true;
                let code = peer_or(CloseCode::ABNORMAL, self);
                fx.ended = Some(closed(code, CloseCause::Abnormal));
                Closed
            }
            _ => return Err(Impossible { phase, step }),
        };
        fx.close_timer = next.is_closing() && !phase.is_closing();
        self.phase = next;
        if fx.close_timer {
            self.deadlines.entered_closing();
        }
        self.shutdown |= fx.shutdown;
        self.closes_transport |= fx.closes_transport;
        if let Some(ended) = fx.ended {
            self.undelivered = Some(ended);
            self.outcome = Some(ended);
        }
        Ok(fx)
    }

    /// The closing handshake is complete: the end, and a server closes TCP first and at
    /// once (§7.1.1, §5.5.1).
    fn completed(&self, fx: &mut Effects, cause: CloseCause) {
        fx.ended = Some(closed(
            self.peer_code.unwrap_or(CloseCode::NO_STATUS),
            cause,
        ));
        fx.shutdown = self.server;
        fx.closes_transport = self.server;
    }

    /// Takes the terminal event for delivery (once).
    pub(crate) fn take_closed(&mut self) -> Option<Closed> {
        let closed = self.undelivered.take()?;
        self.reported = true;
        Some(closed)
    }

    /// The phase.
    #[inline]
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// End of stream was received (or the transport was lost).
    #[inline]
    pub(crate) fn eof(&self) -> bool {
        self.eof
    }

    /// The terminal event was delivered.
    #[inline]
    pub(crate) fn reported(&self) -> bool {
        self.reported
    }

    /// The code of the peer's close frame, once decoded.
    #[inline]
    pub(crate) fn peer_code(&self) -> Option<CloseCode> {
        self.peer_code
    }

    /// The handshake deadline passed while a refusal's body was being read.
    pub(crate) fn handshake_expired(&self) -> bool {
        self.handshake_expired
    }

    /// Whether to half-close the transport once all output is written: a step asked for it
    /// (`shut` in the table), or the connection is over and the peer's end of stream arrived.
    #[inline]
    pub(crate) fn should_shutdown(&self) -> bool {
        self.shutdown || (self.eof && self.phase == Phase::Closed)
    }

    /// Whether the transport may be closed once all output is written: the connection is
    /// over, and the transport ended (end of stream, `TransportLost`) or this side closes it
    /// first (`drop` in the table). The one rule every driver follows.
    #[inline]
    pub(crate) fn may_close_transport(&self) -> bool {
        self.phase == Phase::Closed && (self.eof || self.closes_transport)
    }

    /// How the connection ended, once decided.
    #[inline]
    pub(crate) fn outcome(&self) -> Option<Closed> {
        self.outcome
    }

    /// The deadlines.
    #[inline]
    pub(crate) fn deadlines(&self) -> &Deadlines {
        &self.deadlines
    }

    /// The deadlines, to tell them the time or what went by.
    #[inline]
    pub(crate) fn deadlines_mut(&mut self) -> &mut Deadlines {
        &mut self.deadlines
    }

    /// What the deadlines depend on besides time.
    pub(crate) fn situation(&self, unwritten: bool) -> Situation {
        Situation {
            phase: self.phase,
            eof: self.eof,
            handshake_expired: self.handshake_expired,
            unwritten,
        }
    }
}

fn closed(code: CloseCode, cause: CloseCause) -> Closed {
    Closed { code, cause }
}

#[cfg(test)]
mod tests;
