//! The input side, split by job:
//!
//! - [`input`]: the input buffer and read-ahead unmasking (`receive`, `read_buf`,
//!   `commit_read`);
//! - [`rules`]: the frame rules, one function that classifies a header against the state;
//! - [`lane`]: the small-message lane, whole small frames decoded ahead of their events;
//! - [`decode`]: frame by frame decoding, control frames and automatic replies;
//! - [`deliver`]: turning decoded frames into events (whole, assembled, streamed,
//!   compressed through the one inflate interface, `connection/inflate.rs`).
//!
//! This file holds what they share: the state, what the last event still borrows ([`Owed`]),
//! and the ways a connection ends from the input side (a failure, a close frame, the end of
//! the stream).

mod decode;
pub(crate) mod deliver;
mod input;
pub(crate) mod lane;
pub(crate) mod rules;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::Range;

use crate::buffer::ByteBuf;
use crate::close::{CloseCode, CloseFrame};
use crate::config::Config;
use crate::connection::inflate::RecvCompression;
use crate::connection::lifecycle::{Phase, Step};
use crate::connection::opening::Opening;
use crate::connection::send::Outbound;
use crate::error::ProtocolError;
use crate::event::{CloseCause, Closed, MessageKind};
use crate::role::Role;
use crate::stats::DirectionStats;
use crate::utf8::Utf8Validator;

pub(crate) use deliver::MessageBuf;
use input::Scanner;
use lane::Lane;
use rules::{FrameRules, LaneMemo, MessageState};

/// Something ready to be turned into an [`Event`](crate::Event). Ranges are absolute
/// positions in the input buffer, valid until the next call that changes it.
#[derive(Debug)]
pub(crate) enum Ready {
    /// The next frame of the small-message lane (rendered from the lane's state).
    Lane,
    Request,
    Accepted,
    Rejected,
    /// A whole single-frame text message in the input buffer (validated by
    /// [`Inbound::decide`] before it is handed out).
    Text(Range<usize>),
    /// A whole single-frame binary message in the input buffer.
    Binary(Range<usize>),
    /// A message assembled in the message buffer.
    Assembled,
    /// Streaming text from the input buffer or (`piece`) from the buffer compressed messages
    /// are inflated into. Once [`Inbound::decide`] has fed it to the validator, `range` is the
    /// text to deliver, or `joined` says that the piece completed the code point the validator
    /// carried (delivered from the validator).
    StreamText {
        range: Range<usize>,
        fin: bool,
        piece: bool,
        joined: bool,
    },
    StreamBinary {
        range: Range<usize>,
        fin: bool,
        piece: bool,
    },
    Ping(Range<usize>),
    Pong(Range<usize>),
    CloseReceived {
        code: CloseCode,
        reason: Range<usize>,
    },
    Closed(Closed),
}

impl Ready {
    /// The end of the connection, if this is its `Closed` event (which borrows nothing).
    pub(crate) fn closed(&self) -> Option<Closed> {
        match self {
            Ready::Closed(closed) => Some(*closed),
            _ => None,
        }
    }

    /// Whether this renders as [`Event::Message`](crate::Event::Message).
    pub(crate) fn is_message(&self) -> bool {
        matches!(
            self,
            Ready::Lane | Ready::Text(_) | Ready::Binary(_) | Ready::Assembled
        )
    }

    /// A piece of a streamed message of `kind`.
    fn stream(kind: MessageKind, range: Range<usize>, fin: bool, piece: bool) -> Ready {
        match kind {
            MessageKind::Text => Ready::StreamText {
                range,
                fin,
                piece,
                joined: false,
            },
            MessageKind::Binary => Ready::StreamBinary { range, fin, piece },
        }
    }
}

/// What the last event borrowed from the input side, released before the next input is
/// looked at (the event's borrow has ended by then). One value, so that a new event can
/// never owe two things at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Owed {
    #[default]
    Nothing,
    /// Bytes at the front of the input buffer: a payload handed out in place.
    Input(usize),
    /// The message buffer held a delivered message: empty it.
    Message,
    /// The client's `Accepted` event borrowed the response head (this many input bytes) and
    /// the handshake state: drop both.
    Head(usize),
}

/// Which bytes the input holds.
#[derive(Debug)]
pub(crate) enum Stage {
    /// An HTTP head (request or response), and what the handshake remembers.
    Handshake(Box<Opening>),
    /// WebSocket frames; also once the connection ended and input is discarded.
    Frames,
}

/// The frame being received, after its header was consumed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameState {
    opcode: crate::frame::OpCode,
    fin: bool,
    /// Payload bytes not yet consumed.
    left: u64,
}

/// The decoding state, kept apart from the buffers so that an event can borrow a buffer while
/// a failure updates the state.
#[derive(Debug)]
pub(crate) struct RecvState {
    pub(crate) config: Config,
    pub(crate) rules: FrameRules,
    /// What the lane learnt from the rules, kept across reads.
    pub(crate) lane_memo: LaneMemo,
    pub(crate) scan: Scanner,
    frame: Option<FrameState>,
    message: Option<MessageState>,
    pub(crate) owed: Owed,
    /// The free space `read_buf` will offer next; it doubles while reads fill it.
    read_size: usize,
    /// The free space the last `read_buf` offered, until `commit_read` or any other input
    /// call (which may move the buffer) voids the offer.
    pub(crate) offered: usize,
    pub(crate) stats: DirectionStats,
}

impl RecvState {
    /// Fails the connection (§7.1.7): queue the close frame, drop further input, report once.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&mut self, error: ProtocolError, out: &mut Outbound) -> Closed {
        out.apply(Step::Fail(error));
        self.frame = None;
        self.message = None;
        let closed = out.link.take_closed();
        debug_assert!(closed.is_some(), "a failure after Closed was reported");
        closed.unwrap_or(Closed {
            code: error.close_code(),
            cause: CloseCause::Failed(error),
        })
    }

    /// A broken internal assumption, found where input cannot have caused it: the connection
    /// fails with 1011 and no detail rather than deliver wrong or truncated data (debug
    /// builds stop here, so that tests find it).
    #[cold]
    #[inline(never)]
    pub(crate) fn internal(&mut self, what: &'static str, out: &mut Outbound) -> Closed {
        debug_assert!(false, "internal error: {what}");
        let _ = what;
        self.misused(out)
    }

    /// A [`Decided`](crate::Decided) rendered after another call moved its bytes: the
    /// application broke the decide-render order. The connection fails with 1011 rather than
    /// hand out wrong bytes (not an internal error: no assertion stops debug builds).
    #[cold]
    #[inline(never)]
    pub(crate) fn misused(&mut self, out: &mut Outbound) -> Closed {
        let error = ProtocolError::Internal;
        if out.link.phase() != Phase::Closed {
            return self.fail(error, out);
        }
        // Already over: its end stands (reported now if it was not yet).
        out.link
            .take_closed()
            .or(out.link.outcome())
            .unwrap_or(Closed {
                code: error.close_code(),
                cause: CloseCause::Failed(error),
            })
    }

    /// No frame or message in progress.
    #[inline]
    pub(crate) fn idle(&self) -> bool {
        self.frame.is_none() && self.message.is_none()
    }
}

/// Everything the input direction owns.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) buf: ByteBuf,
    pub(crate) utf8: Utf8Validator,
    pub(crate) msg: MessageBuf,
    pub(crate) st: RecvState,
    pub(crate) stage: Stage,
    /// The subprotocol agreed in the handshake.
    pub(crate) protocol: Option<Box<str>>,
    /// permessage-deflate, when negotiated.
    pub(crate) compression: RecvCompression,
    /// Small frames `receive` decoded ahead of the events.
    pub(crate) lane: Lane,
}

impl Inbound {
    pub(crate) fn new(role: Role, config: Config, stage: Stage) -> Inbound {
        Inbound {
            buf: ByteBuf::new(),
            utf8: Utf8Validator::new(),
            msg: MessageBuf::Bytes(Vec::new()),
            st: RecvState {
                config,
                rules: FrameRules::new(role, &config),
                lane_memo: LaneMemo::default(),
                scan: Scanner::default(),
                frame: None,
                message: None,
                owed: Owed::Nothing,
                read_size: config.min_read_size,
                offered: 0,
                stats: DirectionStats::default(),
            },
            stage,
            protocol: None,
            compression: RecvCompression::default(),
            lane: Lane::default(),
        }
    }

    /// Turns on permessage-deflate in both directions with the agreed `params`.
    #[cfg(feature = "deflate")]
    pub(crate) fn enable_deflate(
        &mut self,
        out: &mut Outbound,
        params: crate::extensions::deflate::DeflateParams,
        policy: &crate::extensions::deflate::DeflateConfig,
    ) {
        self.compression.negotiate(params, policy.pool);
        self.st.rules.allow_compression();
        self.st.lane_memo = LaneMemo::default();
        out.compression.negotiate(params, policy);
    }

    /// Whether no message is in progress (no frame or message partly decoded): a
    /// decompressor that resets after every message holds nothing needed then.
    pub(crate) fn between_messages(&self) -> bool {
        self.st.message.is_none() && self.st.frame.is_none()
    }

    /// Whether a fragmented message is being assembled in the message buffer.
    pub(crate) fn msg_in_use(&self) -> bool {
        self.st.message.is_some_and(|m| m.buffered)
    }

    /// Applies what the previous event owed. `phase` says whether input still counts: once
    /// a close frame arrived or the connection ended, it is all dropped.
    #[inline]
    pub(crate) fn settle(&mut self, phase: Phase) {
        self.st.offered = 0;
        match (self.st.owed, phase.reads_input()) {
            // The common case after a message: drop its bytes (none when the small-message
            // lane consumed them already).
            (Owed::Input(n), true) => {
                self.buf.consume(n);
                self.st.owed = Owed::Nothing;
            }
            (Owed::Nothing, true) => {}
            _ => return self.settle_slow(phase),
        }
        if self.buf.is_empty() {
            self.buf.maybe_shrink(self.st.config.max_read_size);
        }
    }

    #[inline(never)]
    fn settle_slow(&mut self, phase: Phase) {
        match core::mem::take(&mut self.st.owed) {
            Owed::Nothing => {}
            Owed::Input(n) => self.buf.consume(n),
            Owed::Message => self.msg.clear(self.st.config.max_read_size),
            Owed::Head(n) => {
                self.buf.consume(n);
                self.stage = Stage::Frames;
            }
        }
        if !phase.reads_input() {
            self.discard_input();
        }
        if self.buf.is_empty() {
            self.buf.maybe_shrink(self.st.config.max_read_size);
        }
    }

    /// The decide step's last part: everything that can fail about an item is found here,
    /// before an event borrows the connection, so that rendering it cannot fail (a driver
    /// returning a borrowed message has written the close frame of a failure first). Text is
    /// validated: a whole message, or a streamed piece fed to the validator (§8.1: invalid
    /// UTF-8 fails the connection with 1007).
    pub(crate) fn decide(&mut self, ready: Ready, out: &mut Outbound) -> Ready {
        match ready {
            Ready::Text(range) => {
                let valid = self
                    .buf
                    .data()
                    .get(range.clone())
                    .is_some_and(|bytes| crate::utf8::validate(bytes).is_ok());
                if valid {
                    Ready::Text(range)
                } else {
                    Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out))
                }
            }
            Ready::StreamText {
                range, fin, piece, ..
            } => {
                let bytes = if piece {
                    self.compression.piece(range.clone())
                } else {
                    self.buf.data().get(range.clone())
                };
                let Some(bytes) = bytes else {
                    return Ready::Closed(self.st.internal("piece past the buffer", out));
                };
                match self.utf8.feed(bytes) {
                    Ok(v) if !fin || v.at_boundary => {
                        let joined = !v.joined.is_empty();
                        let body = if joined { 0 } else { v.body.len() };
                        Ready::StreamText {
                            range: range.start..range.start + body,
                            fin,
                            piece,
                            joined,
                        }
                    }
                    _ => Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)),
                }
            }
            other => other,
        }
    }

    /// Drops all input, now and from here on (the callers check the phase first).
    pub(crate) fn discard_input(&mut self) {
        self.buf.clear();
        self.lane.reset();
        self.st.scan = Scanner::default();
        self.stage = Stage::Frames;
    }
}

/// Handles a valid close frame (§5.5.1, §7.1.3): with automatic replies, the reply
/// completes the closing handshake at once.
fn on_close(st: &RecvState, close: CloseFrame<'_>, out: &mut Outbound) {
    let open = out.link.phase() == Phase::Open;
    out.apply(Step::ReceiveClose(close.code));
    if open && st.config.auto_close_reply {
        out.write_close(close);
        out.apply(Step::SendClose { idle: false });
    }
}

/// The transport ended: the connection ends now with `cause` unless it already ended.
pub(crate) fn end_of_stream(out: &mut Outbound, cause: CloseCause) -> Option<Ready> {
    end_transport(out, cause);
    out.link.take_closed().map(Ready::Closed)
}

/// The transport is gone at once, whatever was left unwritten (the close deadline passed, or
/// a read or write failed): the connection ends now unless it already ended, its output is
/// dropped and no more input counts; the `Closed` event is taken by the next poll.
pub(crate) fn abort_transport(out: &mut Outbound) {
    out.apply(Step::TransportLost);
}

/// The transport ended (or is being dropped): the connection ends with `cause` unless it
/// already ended; the `Closed` event is taken by the next poll.
pub(crate) fn end_transport(out: &mut Outbound, cause: CloseCause) {
    out.apply(Step::TransportEnded(cause));
}
