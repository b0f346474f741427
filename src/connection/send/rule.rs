//! The one rule for sending a message or a fragment: whether it is admitted now, and how it
//! is framed ([`Outbound::plan`]). Every send path asks it — `send_text`/`send_binary` (their
//! small-message fast path included), `send_fragment`, `send_prepared` (its shared-frame fast
//! paths included) and `send_prepared_unbuffered` — as the receive lane asks
//! `FrameRules::classify`: a fast path takes the plan, and leaves to the general path every
//! plan it does not handle itself. `tests.rs` beside this file drives every path with the
//! same inputs and checks that they agree, byte for byte and error for error, with each
//! other and with a model of the rule written out there independently.
//!
//! Control frames (ping, pong, close) have their own, smaller rule in `send_control` and
//! `close`: they go out whatever the backlog and interleave with a fragmented message.

use super::Outbound;
use crate::connection::lifecycle::Phase;
use crate::error::SendError;
use crate::event::MessageKind;
use crate::frame::OpCode;

/// Which part of a message a send is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// A whole message (split by `Config::outgoing_fragment_size` if it is longer).
    Whole,
    /// One fragment of a message (§5.4); `fin` ends the message.
    Fragment {
        /// This fragment ends the message.
        fin: bool,
    },
}

/// How an admitted send is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The opcode of its first frame: the message's, or continuation (§5.4).
    pub(crate) opcode: OpCode,
    /// Compressed with permessage-deflate (RSV1 on the message's first frame, RFC 7692 §6).
    pub(crate) compress: bool,
    /// Split into frames of this many payload bytes; 0: one frame.
    pub(crate) split: usize,
    /// The output it may take: exact when not compressed, the compressor's worst case when
    /// compressed (checked against the backlog before the compressor's context moves).
    pub(crate) reserve: usize,
    /// Masked: a client's frames (§5.3).
    pub(crate) masked: bool,
}

impl Plan {
    /// One frame, not compressed: what the fast paths write without the general machinery.
    #[inline]
    pub(crate) fn is_plain_frame(&self) -> bool {
        !self.compress && self.split == 0
    }
}

impl Outbound {
    /// The send rule: whether a send of `len` payload bytes (`compressible`: a message that
    /// may be compressed, as a [`PreparedMessage`](crate::PreparedMessage) made for it says)
    /// is admitted now, and its [`Plan`]. In order: the phase (§5.5.1: nothing after our
    /// close frame), the fragmented message in progress (§5.4: no other data message
    /// interleaves), compression (a whole message at or above the threshold; a fragment
    /// whenever its message is compressed), the fragment size, then the backlog limit.
    #[inline(always)]
    pub(crate) fn plan(
        &self,
        kind: MessageKind,
        part: Part,
        len: usize,
        compressible: bool,
    ) -> Result<Plan, SendError> {
        self.check_data()?;
        let opcode = match (part, self.sending) {
            (_, None) => kind.opcode(),
            (Part::Fragment { .. }, Some(current)) if current == kind => OpCode::Continuation,
            (_, Some(_)) => return Err(SendError::FragmentSequence),
        };
        let (compress, split) = match part {
            Part::Whole => {
                let compress = compressible && self.compression.wants(len);
                let size = self.fragment_size;
                // A compressed message is split by its compressed length (see `reserve`).
                let split = if size != 0 && (compress || len > size) {
                    size
                } else {
                    0
                };
                (compress, split)
            }
            // A fragment goes out as it is: one frame, compressed when its message is.
            Part::Fragment { .. } => {
                let compress = if opcode == OpCode::Continuation {
                    self.compression.fragmented()
                } else {
                    self.compression.is_negotiated()
                };
                (compress, 0)
            }
        };
        let encoded = if compress { compressed_bound(len) } else { len };
        let reserve = self.frames_len(encoded, split);
        if reserve > self.max_backlog.saturating_sub(self.buf.len()) {
            return Err(SendError::OutputFull);
        }
        Ok(Plan {
            opcode,
            compress,
            split,
            reserve,
            masked: self.rng.is_some(),
        })
    }

    /// Whether data frames may be sent now, and the error when not.
    #[inline(always)]
    pub(crate) fn check_data(&self) -> Result<(), SendError> {
        if self.link.phase().sends_data() {
            Ok(())
        } else {
            Err(self.refusal())
        }
    }

    /// Why data frames may not be sent now (called only then: the phases that send data
    /// are not matched).
    #[cold]
    #[inline(never)]
    fn refusal(&self) -> SendError {
        match self.link.phase() {
            Phase::CloseSent => SendError::Closing,
            // Until the application has seen `Event::Closed`, a send that crosses the end of
            // the connection is the benign race; after it, a use after close.
            Phase::Closed if !self.link.reported() => SendError::Closing,
            Phase::Closed => SendError::Closed,
            // The handshake phases.
            _ => SendError::NotOpen,
        }
    }

    /// The encoded size of `len` payload bytes in frames of `split` bytes (0: one frame).
    #[inline(always)]
    pub(crate) fn frames_len(&self, len: usize, split: usize) -> usize {
        if split == 0 || len <= split {
            self.header_len(len) + len
        } else {
            let frames = len.div_ceil(split);
            let last = len - (frames - 1) * split;
            (frames - 1) * self.header_len(split) + self.header_len(last) + len
        }
    }
}

/// An upper bound of the compressed size of `len` bytes (zlib's worst case is a few bytes per
/// 16 KiB stored block), to refuse a send before the compressor's context moves.
pub(crate) const fn compressed_bound(len: usize) -> usize {
    len + len / 256 + 64
}
