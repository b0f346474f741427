//! Every phase of a connection and every transition between them, in one table.
//!
//! Both directions read the phase: the receive path to know what input means, the send path
//! to know what may still be sent. It lives in [`Link`], owned by the output side so that a
//! [`Sender`](crate::Sender) can close the connection while an event borrows the input side.

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::deadlines::Deadlines;
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

/// Something that moves the phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Server: a complete request head was parsed and delivered.
    RequestHead,
    /// Server: the application accepted the upgrade.
    Accept,
    /// Server: the application answered with an HTTP response instead.
    Respond,
    /// Client: a valid `101` response.
    Switched,
    /// Client: a response other than `101`; its body follows.
    Refused,
    /// Client: the refusal body is complete.
    RefusalRead,
    /// The handshake failed (invalid request or response, limits).
    HandshakeFailed,
    /// We queue a close frame.
    SendClose,
    /// A valid close frame arrived.
    ReceiveClose,
    /// The peer violated the protocol.
    Fail,
    /// The transport reached end of stream.
    Eof,
}

impl Phase {
    /// The phase after `step`, or `None` when `step` cannot happen in this phase.
    pub(crate) const fn after(self, step: Step) -> Option<Phase> {
        use Phase::*;
        use Step::*;
        Some(match (self, step) {
            (ReadingRequest, RequestHead) => AwaitingAnswer,
            (AwaitingAnswer, Accept) => Open,
            (AwaitingAnswer, Respond) => Closed,
            (ReadingResponse, Switched) => Open,
            (ReadingResponse, Refused) => ReadingRejection,
            (ReadingRejection, RefusalRead) => Closed,
            (ReadingRequest | ReadingResponse, HandshakeFailed) => Closed,
            (Open, SendClose) => CloseSent,
            (CloseReceived, SendClose) => Closed,
            (Open, ReceiveClose) => CloseReceived,
            (CloseSent, ReceiveClose) => Closed,
            (Open | CloseSent, Fail) => Closed,
            (
                ReadingRequest | AwaitingAnswer | ReadingResponse | ReadingRejection | Open
                | CloseSent | CloseReceived,
                Eof,
            ) => Closed,
            _ => return None,
        })
    }

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

/// The state both directions share.
///
/// `repr(C)` with the phase and the flags first: every send checks them, and they then share
/// a cache line with the output's hot fields (see `Outbound`).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Link {
    pub(crate) phase: Phase,
    /// Whether the terminal event was delivered.
    pub(crate) reported: bool,
    /// Close the write side once the output is written (§7.1.1: the server closes first; on
    /// failure both do, §7.1.7).
    pub(crate) shutdown: bool,
    /// End of stream was received.
    pub(crate) eof: bool,
    /// The code of the peer's close frame, once received.
    pub(crate) peer_code: Option<CloseCode>,
    /// The peer's close frame has arrived (it may not be decoded yet).
    pub(crate) peer_close_arrived: bool,
    /// We queued our close frame before the peer's arrived: the closing handshake is ours.
    pub(crate) closed_first: bool,
    /// Our close was the idle deadline's, not the application's.
    pub(crate) idle_close: bool,
    /// The handshake deadline passed while a refusal's body was being read: it ends with
    /// what arrived.
    pub(crate) handshake_expired: bool,
    /// The server completed the closing handshake: it closes the transport as soon as its
    /// output is written, without waiting for the client's end of stream (§5.5.1: "The
    /// server MUST close the underlying TCP connection immediately").
    pub(crate) closes_transport: bool,
    /// The terminal event, once decided and until delivered.
    pub(crate) undelivered: Option<Closed>,
    /// How the connection ended, once decided (kept after delivery).
    pub(crate) outcome: Option<Closed>,
    /// The time-dependent state: deadlines and latency.
    pub(crate) deadlines: Deadlines,
}

impl Link {
    pub(crate) fn new(phase: Phase, config: &Config) -> Link {
        Link {
            phase,
            undelivered: None,
            outcome: None,
            reported: false,
            shutdown: false,
            eof: false,
            peer_code: None,
            peer_close_arrived: false,
            closed_first: false,
            idle_close: false,
            handshake_expired: false,
            closes_transport: false,
            deadlines: Deadlines::new(config),
        }
    }

    /// Applies `step`; returns `false` (and changes nothing) if it cannot happen now.
    pub(crate) fn step(&mut self, step: Step) -> bool {
        match self.phase.after(step) {
            Some(next) => {
                self.phase = next;
                self.deadlines.entered(next);
                true
            }
            None => false,
        }
    }

    /// Ends the connection with `code` and `cause` unless it already ended.
    ///
    /// Every caller has stepped to `Closed` through the table first (checked in debug builds,
    /// so a gap in the table fails the tests); a release build still ends up closed.
    pub(crate) fn finish(&mut self, code: CloseCode, cause: CloseCause) {
        debug_assert_eq!(self.phase, Phase::Closed, "finish without a step to Closed");
        self.phase = Phase::Closed;
        if self.undelivered.is_none() && !self.reported {
            self.undelivered = Some(Closed { code, cause });
            self.outcome = self.undelivered;
        }
    }

    /// Takes the terminal event for delivery (once).
    pub(crate) fn take_closed(&mut self) -> Option<Closed> {
        let closed = self.undelivered.take()?;
        self.reported = true;
        Some(closed)
    }
}

#[cfg(test)]
mod tests {
    use super::Phase::*;
    use super::Step::*;
    use super::*;

    /// The whole transition table, row by row: (from, step, to). Every pair not listed must
    /// be refused.
    const TABLE: &[(Phase, Step, Phase)] = &[
        (ReadingRequest, RequestHead, AwaitingAnswer),
        (ReadingRequest, HandshakeFailed, Closed),
        (ReadingRequest, Eof, Closed),
        (AwaitingAnswer, Accept, Open),
        (AwaitingAnswer, Respond, Closed),
        (AwaitingAnswer, Eof, Closed),
        (ReadingResponse, Switched, Open),
        (ReadingResponse, Refused, ReadingRejection),
        (ReadingResponse, HandshakeFailed, Closed),
        (ReadingResponse, Eof, Closed),
        (ReadingRejection, RefusalRead, Closed),
        (ReadingRejection, Eof, Closed),
        (Open, SendClose, CloseSent),
        (Open, ReceiveClose, CloseReceived),
        (Open, Fail, Closed),
        (Open, Eof, Closed),
        (CloseSent, ReceiveClose, Closed),
        (CloseSent, Fail, Closed),
        (CloseSent, Eof, Closed),
        (CloseReceived, SendClose, Closed),
        (CloseReceived, Eof, Closed),
    ];

    const PHASES: [Phase; 8] = [
        ReadingRequest,
        AwaitingAnswer,
        ReadingResponse,
        ReadingRejection,
        Open,
        CloseSent,
        CloseReceived,
        Closed,
    ];
    const STEPS: [Step; 11] = [
        RequestHead,
        Accept,
        Respond,
        Switched,
        Refused,
        RefusalRead,
        HandshakeFailed,
        SendClose,
        ReceiveClose,
        Fail,
        Eof,
    ];

    #[test]
    fn transition_table_is_exactly_the_listed_rows() {
        for from in PHASES {
            for step in STEPS {
                let expected = TABLE
                    .iter()
                    .find(|(f, s, _)| *f == from && *s == step)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.after(step), expected, "{from:?} + {step:?}");
            }
        }
    }

    #[test]
    fn closed_is_terminal() {
        for step in STEPS {
            assert_eq!(Closed.after(step), None);
        }
    }

    #[test]
    fn public_state_mapping() {
        assert_eq!(ReadingRequest.state(), State::Connecting);
        assert_eq!(Open.state(), State::Open);
        assert_eq!(CloseSent.state(), State::Closing);
        assert_eq!(CloseReceived.state(), State::Closing);
        assert_eq!(Closed.state(), State::Closed);
    }
}
