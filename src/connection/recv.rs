//! The input side: the input buffer, unmasking on arrival, lazy frame decoding, control
//! frames, message assembly and automatic replies.
//!
//! Bytes are unmasked as they enter the buffer (one pass: while copying in `receive`, in place
//! right after a socket read in `commit_read`), so that decoding later only looks at headers
//! and hands out slices. A message that is one complete frame is delivered straight from the
//! input buffer; fragmented messages, and text frames that arrive in pieces, are assembled in
//! a separate buffer while being validated, so each byte is validated exactly once and invalid
//! UTF-8 fails the connection as soon as it arrives (§8.1).
//!
//! Small messages have a fast path, the `Lane`: while `receive` copies a run of whole frames
//! with payloads of at most 125 bytes (or `commit_read` unmasks them in place), it also
//! checks them against every rule the decoder
//! would apply and validates their text in one call for the whole run, so that each event is
//! then a few loads. The frames stay in the input buffer; whenever the lane cannot deliver
//! them in order, the general decoder drops it and reads them again.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::buffer::ByteBuf;
use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Delivery};
use crate::connection::compress::RecvCompression;
use crate::connection::opening::Opening;
use crate::connection::send::Outbound;
use crate::connection::state::{Phase, Step};
use crate::error::ProtocolError;
use crate::event::{CloseCause, Closed, Message, MessageKind};
use crate::frame::{
    apply_mask, apply_mask_copy, header_len_from_b1, mask_copy_blocks, mask_small, FrameHeader,
    OpCode, Status, KEY_REPEAT,
};
use crate::role::Role;
use crate::stats::DirectionStats;
use crate::utf8::{Utf8Error, Utf8Validator};

/// Something ready to be turned into an [`Event`](crate::Event). Ranges are absolute
/// positions in the input buffer, valid until the next call that changes it.
#[derive(Debug)]
pub(crate) enum Ready {
    Request,
    Accepted,
    Rejected,
    /// A whole single-frame text message in the input buffer, not validated yet.
    Text(Range<usize>),
    /// A whole single-frame binary message in the input buffer.
    Binary(Range<usize>),
    /// A message assembled in the message buffer.
    Assembled,
    /// Streaming text: bytes to validate and deliver, from the input buffer or (`piece`)
    /// from the buffer compressed messages are inflated into.
    StreamText {
        range: Range<usize>,
        fin: bool,
        piece: bool,
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
    /// A piece of a streamed message of `kind`.
    fn stream(kind: MessageKind, range: Range<usize>, fin: bool, piece: bool) -> Ready {
        match kind {
            MessageKind::Text => Ready::StreamText { range, fin, piece },
            MessageKind::Binary => Ready::StreamBinary { range, fin, piece },
        }
    }
}

/// Unmasks payload bytes as they arrive by following frame headers ahead of the decoder.
///
/// It only parses headers structurally; the decoder re-parses them and enforces every rule,
/// and where the scanner meets a header it cannot parse it stops, leaving the decoder to
/// report the error at the same place.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scanner {
    on: bool,
    /// Bytes at the end of the input buffer not yet scanned (relative to the end, so moving
    /// the buffer's contents does not disturb it).
    unscanned: usize,
    /// Payload bytes of the current frame still to come.
    left: u64,
    /// The payload length of the current frame.
    len: u64,
    key: Option<[u8; 4]>,
    /// Payload offset of the next byte, for the mask phase.
    offset: usize,
}

/// Frames from this size on end a `receive` call early and bound reads (see `receive`).
const LARGE_FRAME: u64 = 64 * 1024;

/// Whole small data frames that `receive` already decoded, checked and (for text) validated,
/// so that delivering them is a few loads: each header is parsed once, and text is validated
/// in one call per `receive` instead of one per message (making a `&str` in safe Rust means
/// validating, and for short texts the per-call cost of `from_utf8` is most of the work).
///
/// The lane is only an accelerator: its frames stay in the input buffer as they arrived, and
/// the general decoder drops the lane (`reset`) as soon as it reaches them, then reads them
/// again. Bytes in front of the lane (the rest of a frame that straddled two reads) are the
/// general decoder's; the lane is used once they are consumed and no message is in progress.
#[derive(Debug, Default)]
pub(crate) struct Lane {
    /// Absolute position in the input buffer of the lane's first frame.
    pub(crate) from: usize,
    /// Bytes from `from` that are whole frames meeting every rule of
    /// `RecvState::takes_whole` when no message is in progress, each with a payload of at
    /// most 125 bytes behind a header of `header_len(role)` bytes.
    pub(crate) bytes: usize,
    /// The text payloads of those frames, in order, after the ones already delivered.
    pub(crate) text: String,
    /// Where the next undelivered text starts in `text`.
    pub(crate) pos: usize,
}

impl Lane {
    /// The header length of every frame in the lane: 2, plus the masking key from a client.
    #[inline]
    pub(crate) fn header_len(role: Role) -> usize {
        if role.is_server() {
            6
        } else {
            2
        }
    }

    /// Hands the frames back to the general decoder.
    pub(crate) fn reset(&mut self) {
        self.bytes = 0;
        self.pos = 0;
        self.text.clear();
    }

    /// The general decoder is about to parse the header at absolute position `at`: from
    /// there on the frames are its own.
    #[inline]
    pub(crate) fn reached(&mut self, at: usize) {
        if self.bytes > 0 && at >= self.from {
            self.reset();
        }
    }

    /// The input buffer's contents moved down by `shift` bytes.
    #[inline]
    fn shifted(&mut self, shift: usize) {
        self.from = self.from.saturating_sub(shift);
    }

    /// Frees the text buffer when it holds nothing undelivered.
    pub(crate) fn release(&mut self) {
        if self.bytes == 0 {
            self.reset();
            self.text = String::new();
        }
    }
}

/// What a frame must be to join the lane, from the configuration: a one-frame text or binary
/// message (FIN, no RSV bits), masked exactly when the peer is a client, with a payload of at
/// most 125 bytes within the frame and message limits.
#[derive(Clone, Copy)]
struct SmallRules {
    server: bool,
    header_len: usize,
    max_len: usize,
    /// The lane's bound on text: a read's worth.
    max_text: usize,
}

impl SmallRules {
    /// `None` when no frame can take the lane (streaming delivery, no fragments allowed).
    #[inline]
    fn new(st: &RecvState) -> Option<SmallRules> {
        let config = &st.config;
        (config.delivery == Delivery::Assembled && config.max_fragments > 0).then(|| SmallRules {
            server: st.role.is_server(),
            header_len: Lane::header_len(st.role),
            max_len: config.max_frame_size.min(config.max_message_size).min(125),
            max_text: config.max_read_size,
        })
    }

    /// The payload length of the frame that starts `rest` and whether it is text, if the
    /// frame may join the lane (its payload may still be incomplete).
    #[inline(always)]
    fn frame(&self, rest: &[u8]) -> Option<(usize, bool)> {
        let &[b0, b1] = rest.first_chunk::<2>()?;
        let len = usize::from(b1 & 0x7F);
        let text = b0 == 0x81;
        // 126 and 127 (an extended length follows) are above any `max_len`.
        ((text || b0 == 0x82) && (b1 & 0x80 != 0) == self.server && len <= self.max_len)
            .then_some((len, text))
    }
}

impl Lane {
    /// The batch for frames joining the lane at absolute position `at` during this call (made
    /// on first use), or `None` if `at` does not follow the lane's last frame.
    fn batch_at<'b>(
        &mut self,
        at: usize,
        batch: &'b mut Option<LaneBatch>,
    ) -> Option<&'b mut LaneBatch> {
        if self.bytes == 0 {
            self.from = at;
        } else if self.from + self.bytes != at {
            // Something the general decoder must read first lies between.
            return None;
        }
        Some(match batch {
            Some(batch) => batch,
            None => {
                if self.bytes == 0 {
                    // Everything in it was delivered: start again at the front.
                    self.reset();
                }
                batch.insert(LaneBatch::new(self))
            }
        })
    }
}

/// Text frames joining the lane during one `receive` or `commit_read` call, validated together
/// at its end.
struct LaneBatch {
    /// The lane's text so far, then the new payloads; zeroed room past `filled` so that
    /// payloads are stored in whole blocks without a capacity check per block.
    bytes: Vec<u8>,
    /// The bytes of `bytes` in use.
    filled: usize,
    /// Length of the lane's text before this call.
    text_before: usize,
    /// `Lane::bytes` before this call.
    lane_before: usize,
}

impl LaneBatch {
    /// Takes the lane's text to append to.
    fn new(lane: &mut Lane) -> LaneBatch {
        let text_before = lane.text.len();
        LaneBatch {
            bytes: core::mem::take(&mut lane.text).into_bytes(),
            filled: text_before,
            text_before,
            lane_before: lane.bytes,
        }
    }

    /// Makes room for a payload of `len` bytes, zeroed, growing by at least `room` (what the
    /// rest of the input could hold), but to at most `max` bytes of text. `false` if it would
    /// not fit within `max`.
    #[inline]
    fn make_room(&mut self, len: usize, room: usize, max: usize) -> bool {
        if self.filled + len + TEXT_WINDOW <= self.bytes.len() {
            return true;
        }
        self.grow(len, room, max)
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, len: usize, room: usize, max: usize) -> bool {
        if self.filled + len > max {
            return false;
        }
        // Whole blocks may run past the last payload: a window of slack at the end. Exact
        // growth keeps the capacity within `max + TEXT_WINDOW`.
        let want = (self.filled + room.max(len)).min(max) + TEXT_WINDOW;
        self.bytes
            .reserve_exact(want.saturating_sub(self.bytes.len()));
        self.bytes.resize(want, 0);
        true
    }

    /// The room for the next payload of `len` bytes (within what `make_room` made), which
    /// counts as filled from now on.
    #[inline(always)]
    fn window(&mut self, len: usize) -> Option<&mut [u8; TEXT_WINDOW]> {
        let at = self.filled;
        self.filled += len;
        self.bytes.get_mut(at..)?.first_chunk_mut::<TEXT_WINDOW>()
    }

    /// Appends `bytes` (within the room `make_room` made).
    fn put(&mut self, bytes: &[u8]) {
        let at = self.filled;
        if let Some(dst) = self.bytes.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.filled += bytes.len();
        }
    }

    /// The text, cut to what was filled.
    fn finish(mut self) -> (Vec<u8>, usize, usize) {
        self.bytes.truncate(self.filled);
        (self.bytes, self.text_before, self.lane_before)
    }
}

impl Scanner {
    /// Follows a header that was just parsed.
    #[inline]
    fn start(&mut self, header: &FrameHeader) {
        self.left = header.payload_len;
        self.len = header.payload_len;
        self.key = header.mask;
        self.offset = 0;
    }

    /// Unmasks the rest of the current frame's payload among the unscanned bytes, stopping at
    /// the frame's end.
    fn finish_payload(&mut self, data: &mut [u8], end: usize) {
        if !self.on || self.left == 0 {
            return;
        }
        let pos = end - self.unscanned.min(end);
        let n = (end - pos).min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if let (Some(key), Some(bytes)) = (self.key, data.get_mut(pos..pos + n)) {
            apply_mask(bytes, key, self.offset);
        }
        self.unscanned -= n;
        self.left -= n as u64;
        self.offset = (self.offset + n) & 3;
    }

    /// Scans the last `unscanned` bytes of `data[..end]` in place.
    fn scan(&mut self, data: &mut [u8], end: usize) {
        if !self.on {
            self.unscanned = 0;
            return;
        }
        let mut pos = end - self.unscanned.min(end);
        while pos < end {
            if self.left > 0 {
                let n = (end - pos).min(usize::try_from(self.left).unwrap_or(usize::MAX));
                if let (Some(key), Some(bytes)) = (self.key, data.get_mut(pos..pos + n)) {
                    apply_mask(bytes, key, self.offset);
                }
                pos += n;
                self.left -= n as u64;
                self.offset = (self.offset + n) & 3;
            } else {
                match FrameHeader::parse(data.get(pos..end).unwrap_or_default()) {
                    Ok(Status::Complete((header, len))) => {
                        pos += len;
                        self.start(&header);
                    }
                    Ok(Status::Partial) => break,
                    Err(_) => {
                        self.on = false;
                        break;
                    }
                }
            }
        }
        self.unscanned = end - pos;
    }

    /// How many bytes the header being assembled needs in total, from the bytes seen so far
    /// (`first` is what is buffered, `more` what follows).
    fn header_len(first: &[u8], more: &[u8]) -> usize {
        let b1 = first.get(1).or_else(|| more.get(1 - first.len().min(1)));
        b1.map_or(2, |&b1| header_len_from_b1(b1))
    }
}

/// The current frame, after its header was consumed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameState {
    opcode: OpCode,
    fin: bool,
    /// Payload bytes not yet consumed.
    left: u64,
}

/// The data message in progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageState {
    kind: MessageKind,
    frames: usize,
    len: u64,
    /// Being assembled in the message buffer (else: a single frame read in place).
    buffered: bool,
    /// Compressed with permessage-deflate (RSV1 on its first frame).
    compressed: bool,
}

/// The buffer messages are assembled in; a `String` for text, so that validated pieces are
/// appended as `&str` and the whole needs no second validation.
#[derive(Debug)]
pub(crate) enum MessageBuf {
    Bytes(Vec<u8>),
    Text(String),
}

impl MessageBuf {
    fn start(&mut self, kind: MessageKind) {
        let taken = core::mem::replace(self, MessageBuf::Bytes(Vec::new()));
        let mut bytes = match taken {
            MessageBuf::Bytes(b) => b,
            MessageBuf::Text(s) => s.into_bytes(),
        };
        bytes.clear();
        *self = match kind {
            // An empty Vec is valid UTF-8: this keeps the allocation and checks nothing.
            MessageKind::Text => MessageBuf::Text(String::from_utf8(bytes).unwrap_or_default()),
            MessageKind::Binary => MessageBuf::Bytes(bytes),
        };
    }

    /// Appends a piece of the message; text is validated on the way. Growth doubles, but
    /// never beyond `limit` (the message size limit), so the buffer stays within it.
    fn append(
        &mut self,
        chunk: &[u8],
        utf8: &mut Utf8Validator,
        limit: usize,
    ) -> Result<(), Utf8Error> {
        let (len, cap) = match self {
            MessageBuf::Text(s) => (s.len(), s.capacity()),
            MessageBuf::Bytes(b) => (b.len(), b.capacity()),
        };
        let needed = len + chunk.len();
        let extra = if needed > cap {
            cap.saturating_mul(2).max(needed).min(limit.max(needed)) - len
        } else {
            0
        };
        match self {
            MessageBuf::Text(s) => {
                s.reserve_exact(extra);
                let v = utf8.feed(chunk)?;
                s.push_str(v.joined);
                s.push_str(v.body);
            }
            MessageBuf::Bytes(b) => {
                b.reserve_exact(extra);
                b.extend_from_slice(chunk);
            }
        }
        Ok(())
    }

    pub(crate) fn view(&self) -> Message<'_> {
        match self {
            MessageBuf::Text(s) => Message::Text(s),
            MessageBuf::Bytes(b) => Message::Binary(b),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        match self {
            MessageBuf::Text(s) => s.capacity(),
            MessageBuf::Bytes(b) => b.capacity(),
        }
    }

    /// Empties the buffer after a message was delivered. The allocation is kept for the next
    /// message unless it is beyond `retain` and far larger than the message just delivered
    /// (traffic got smaller): steady large messages do not reallocate, and one large message
    /// does not pin its memory once small ones follow.
    fn clear(&mut self, retain: usize) {
        let len = self.view().as_bytes().len();
        if self.capacity() > retain && self.capacity() / 8 > len {
            *self = MessageBuf::Bytes(Vec::new());
        } else {
            match self {
                MessageBuf::Text(s) => s.clear(),
                MessageBuf::Bytes(b) => b.clear(),
            }
        }
    }
}

/// The decoding state, kept apart from the buffers so that an event can borrow a buffer while
/// a failure updates the state.
#[derive(Debug)]
pub(crate) struct RecvState {
    pub(crate) role: Role,
    pub(crate) config: Config,
    pub(crate) scan: Scanner,
    frame: Option<FrameState>,
    message: Option<MessageState>,
    /// Input bytes the last event used, dropped before the next one.
    pub(crate) consume: usize,
    clear_message: bool,
    /// Drop all input from now on (after a close frame, a failure, or an HTTP answer).
    pub(crate) discard: bool,
    /// Drop the handshake state at the next poll.
    pub(crate) drop_opening: bool,
    read_size: usize,
    offered: usize,
    pub(crate) stats: DirectionStats,
    /// permessage-deflate was negotiated: RSV1 marks compressed messages.
    pub(crate) deflate: bool,
}

/// Outcome of one decoding step.
enum Flow {
    Ready(Ready),
    /// Need more input.
    More,
    /// Progress was made; step again.
    Again,
}

impl RecvState {
    /// Fails the connection (§7.1.7): queue the close frame, drop further input, report once.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&mut self, error: ProtocolError, out: &mut Outbound) -> Closed {
        if out.link.phase == Phase::Open {
            out.write_close(CloseFrame {
                code: error.close_code(),
                reason: error.reason(),
            });
        }
        out.link.step(Step::Fail);
        out.link
            .finish(error.close_code(), CloseCause::Failed(error));
        out.link.shutdown = true;
        self.discard = true;
        self.frame = None;
        self.message = None;
        out.link.take_closed().unwrap_or(Closed {
            code: error.close_code(),
            cause: CloseCause::Failed(error),
        })
    }

    /// No frame or message in progress.
    #[inline]
    pub(crate) fn idle(&self) -> bool {
        self.frame.is_none() && self.message.is_none()
    }

    /// Whether `header` starts a one-frame data message that meets every rule `check_header`
    /// would check for it, so that it can be delivered whole without that bookkeeping.
    #[inline(always)]
    fn takes_whole(&self, header: &FrameHeader) -> bool {
        let config = &self.config;
        let payload = header.payload_len;
        header.fin
            && header.rsv == 0
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && header.mask.is_some() == self.role.is_server()
            && self.message.is_none()
            && config.delivery == Delivery::Assembled
            && payload <= config.max_frame_size as u64
            && payload <= config.max_message_size as u64
            && config.max_fragments >= 1
    }

    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // RSV1 marks the first frame of a compressed message, and only that (RFC 7692 §6).
        let compressed = match h.rsv {
            0 => false,
            0b100 if self.deflate && matches!(h.opcode, OpCode::Text | OpCode::Binary) => true,
            bits => return Err(ProtocolError::UnexpectedRsvBits(bits)),
        };
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedClientFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedServerFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            return Ok(());
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge);
        }
        let assembled = self.config.delivery == Delivery::Assembled;
        let next = match (h.opcode, self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(m)) => MessageState {
                frames: m.frames + 1,
                len: m.len + h.payload_len,
                ..m
            },
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (op, None) => MessageState {
                kind: if op == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                },
                frames: 1,
                len: h.payload_len,
                buffered: assembled && (!h.fin || compressed),
                compressed,
            },
        };
        if next.frames > self.config.max_fragments {
            return Err(ProtocolError::TooManyFragments);
        }
        if assembled && next.len > self.config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge);
        }
        self.message = Some(next);
        Ok(())
    }
}

/// Everything the input direction owns.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) buf: ByteBuf,
    pub(crate) utf8: Utf8Validator,
    pub(crate) msg: MessageBuf,
    pub(crate) st: RecvState,
    pub(crate) opening: Option<Box<Opening>>,
    /// The subprotocol agreed in the handshake.
    pub(crate) protocol: Option<Box<str>>,
    /// permessage-deflate, when negotiated.
    pub(crate) compression: RecvCompression,
    /// Small frames `receive` decoded ahead of the events.
    pub(crate) lane: Lane,
}

impl Inbound {
    pub(crate) fn new(role: Role, config: Config, opening: Option<Box<Opening>>) -> Inbound {
        Inbound {
            buf: ByteBuf::new(),
            utf8: Utf8Validator::new(),
            msg: MessageBuf::Bytes(Vec::new()),
            st: RecvState {
                role,
                config,
                scan: Scanner::default(),
                frame: None,
                message: None,
                consume: 0,
                clear_message: false,
                discard: false,
                drop_opening: false,
                read_size: config.min_read_size.max(1),
                offered: 0,
                stats: DirectionStats::default(),
                deflate: false,
            },
            opening,
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
        self.compression.negotiate(params);
        // Cached for the per-frame RSV1 check.
        self.st.deflate = true;
        out.compression.negotiate(params, policy);
    }

    /// Whether a fragmented message is being assembled in the message buffer.
    pub(crate) fn msg_in_use(&self) -> bool {
        self.st.message.is_some_and(|m| m.buffered)
    }

    /// Starts frame decoding on whatever follows the consumed handshake.
    pub(crate) fn start_frames(&mut self, unscanned: usize) {
        self.st.scan = Scanner {
            on: true,
            unscanned,
            ..Scanner::default()
        };
        let end = self.buf.end();
        self.st.scan.scan(self.buf.data_mut(), end);
    }

    /// Copies input in, unmasking payload bytes on the way. Returns the bytes taken.
    pub(crate) fn receive(&mut self, data: &[u8], limit: usize) -> usize {
        if self.st.discard {
            return data.len();
        }
        let room = limit.saturating_sub(self.buf.len());
        let mut n = data.len().min(room);
        match self.buf.reserve(n, limit) {
            Ok(shift) => self.lane.shifted(shift),
            Err(_) => n = 0,
        }
        let Some(data) = data.get(..n) else {
            return 0;
        };
        if !self.st.scan.on {
            self.buf.push(data);
            self.st.stats.bytes += n as u64;
            return n;
        }
        let mut rest = data;
        let mut batch = None;
        while !rest.is_empty() {
            let scan = &self.st.scan;
            if scan.on && scan.unscanned == 0 && scan.left == 0 {
                let taken = self.receive_small_frames(rest, &mut batch);
                let Some(tail) = rest.get(taken..).filter(|t| !t.is_empty()) else {
                    rest = &[];
                    break;
                };
                rest = tail;
            }
            let scan = &mut self.st.scan;
            if !scan.on {
                self.buf.push(rest);
                break;
            }
            if scan.unscanned == 0 && scan.left > 0 {
                let k = rest
                    .len()
                    .min(usize::try_from(scan.left).unwrap_or(usize::MAX));
                let (chunk, tail) = rest.split_at(k);
                match scan.key {
                    Some(key) => {
                        if let Some(dst) = self.buf.spare_mut().get_mut(..k) {
                            apply_mask_copy(dst, chunk, key, scan.offset);
                        }
                        self.buf.commit(k);
                    }
                    None => self.buf.push(chunk),
                }
                scan.left -= k as u64;
                scan.offset = (scan.offset + k) & 3;
                rest = tail;
                if scan.left == 0 && scan.len >= LARGE_FRAME && !rest.is_empty() {
                    // A large frame just ended: stop here, so that the next frame starts in a
                    // buffer the application has emptied, not behind a megabyte that would
                    // have to be moved to make room.
                    break;
                }
            } else if let (0, Ok(Status::Complete((header, len)))) =
                (scan.unscanned, FrameHeader::parse(rest))
            {
                // The common case: a whole header at hand.
                let (head, tail) = rest.split_at(len);
                match (
                    rest.first_chunk::<16>(),
                    self.buf.spare_mut().first_chunk_mut::<16>(),
                ) {
                    // A fixed-size copy (two moves, no call); bytes past the header are
                    // overwritten by the payload or lie beyond the end.
                    (Some(src), Some(dst)) => {
                        *dst = *src;
                        self.buf.commit(len);
                    }
                    _ => self.buf.push(head),
                }
                scan.start(&header);
                rest = tail;
                // A small frame whose whole payload is at hand: copy it in the same step.
                let payload_len = header.payload_len as usize;
                if header.payload_len <= 125 && payload_len <= rest.len() {
                    let (payload, tail) = rest.split_at(payload_len);
                    match header.mask {
                        Some(key) => {
                            // Whole blocks, over-reading into the next frame's bytes and
                            // over-writing spare space, where both have room.
                            let spare = self.buf.spare_mut();
                            if !mask_copy_blocks(spare, rest, key, payload_len) {
                                if let Some(dst) = spare.get_mut(..payload_len) {
                                    apply_mask_copy(dst, payload, key, 0);
                                }
                            }
                            self.buf.commit(payload_len);
                        }
                        None => self.buf.push(payload),
                    }
                    let scan = &mut self.st.scan;
                    scan.left = 0;
                    rest = tail;
                }
            } else {
                // A header split across calls: copy just enough of it to complete it, so that
                // the payload after it is copied with unmasking.
                let end = self.buf.end();
                let have = scan.unscanned.min(end);
                let first = self.buf.data().get(end - have..end).unwrap_or_default();
                let need = Scanner::header_len(first, rest).saturating_sub(have).max(1);
                let (chunk, tail) = rest.split_at(need.min(rest.len()));
                self.buf.push(chunk);
                let scan = &mut self.st.scan;
                scan.unscanned += chunk.len();
                let end = self.buf.end();
                scan.scan(self.buf.data_mut(), end);
                rest = tail;
            }
        }
        if let Some(batch) = batch {
            self.validate_lane(batch);
        }
        let taken = n - rest.len();
        self.st.stats.bytes += taken as u64;
        taken
    }

    /// The common case of small messages, in one tight loop: copies the whole frames with
    /// payloads of at most 125 bytes at the front of `data` (unmasking them) and adds them to
    /// the lane. It takes only frames that the lane can deliver, that is one-frame text or
    /// binary messages within every limit, and stops at anything else (a longer or partial
    /// frame, a control frame, a frame the general decoder must judge), which the general
    /// path then copies. Returns the bytes taken.
    #[inline]
    fn receive_small_frames(&mut self, data: &[u8], batch: &mut Option<LaneBatch>) -> usize {
        let Some(rules) = SmallRules::new(&self.st) else {
            return 0;
        };
        let Some(batch) = self.lane.batch_at(self.buf.end(), batch) else {
            return 0;
        };
        let SmallRules {
            server,
            header_len,
            max_text,
            ..
        } = rules;
        let spare = self.buf.spare_mut();
        let mut pos = 0;
        while let Some(rest) = data.get(pos..) {
            let Some((len, text)) = rules.frame(rest) else {
                break;
            };
            let total = header_len + len;
            let (true, Some(out)) = (rest.len() >= total, spare.get_mut(pos..)) else {
                break;
            };
            // Text is bounded like a read: beyond that, frames take the general path.
            if text && !batch.make_room(len, rest.len(), max_text) {
                break;
            }
            let key = match rest.get(2..).and_then(|k| k.first_chunk::<4>()) {
                Some(&k) if server => u128::from(u32::from_ne_bytes(k)) * KEY_REPEAT,
                _ => 0,
            };
            let frame = SmallFrame {
                header_len,
                len,
                key,
            };
            match (
                rest.first_chunk::<WINDOW>(),
                out.first_chunk_mut::<WINDOW>(),
            ) {
                (Some(src), Some(dst)) => {
                    frame.copy_window(dst, src, if text { batch.window(len) } else { None });
                }
                _ => frame.copy_exact(out, rest, text.then_some(&mut *batch)),
            }
            pos += total;
        }
        self.lane.bytes += pos;
        self.buf.commit(pos);
        pos
    }

    /// [`receive_small_frames`](Self::receive_small_frames) for bytes a read already put in
    /// the buffer (`commit_read`): the whole small frames from absolute position `from` to
    /// `end` are unmasked in place and added to the lane. Returns the bytes taken.
    fn scan_small_frames(
        &mut self,
        from: usize,
        end: usize,
        batch: &mut Option<LaneBatch>,
    ) -> usize {
        let Some(rules) = SmallRules::new(&self.st) else {
            return 0;
        };
        let Some(batch) = self.lane.batch_at(from, batch) else {
            return 0;
        };
        let header_len = rules.header_len;
        let data = self.buf.data_mut();
        let mut pos = from;
        while let Some(rest) = data.get(pos..end) {
            let Some((len, text)) = rules.frame(rest) else {
                break;
            };
            let total = header_len + len;
            if rest.len() < total || (text && !batch.make_room(len, rest.len(), rules.max_text)) {
                break;
            }
            let key = match rest.get(2..).and_then(|k| k.first_chunk::<4>()) {
                Some(&k) if rules.server => u128::from(u32::from_ne_bytes(k)) * KEY_REPEAT,
                _ => 0,
            };
            let at = pos + header_len;
            if let Some(payload) = data.get_mut(at..pos + total) {
                mask_small(payload, key);
            }
            if text {
                // Whole blocks, reading past the payload where the buffer has room.
                match data.get(at..at + len.div_ceil(16) * 16) {
                    Some(src) => {
                        if let Some(window) = batch.window(len) {
                            let blocks = window.as_chunks_mut::<16>().0.iter_mut();
                            for (d, s) in blocks.zip(src.as_chunks::<16>().0) {
                                *d = *s;
                            }
                        }
                    }
                    None => batch.put(data.get(at..pos + total).unwrap_or_default()),
                }
            }
            pos += total;
        }
        let taken = pos - from;
        self.lane.bytes += taken;
        taken
    }

    /// Validates the text payloads that joined the lane in one `receive` or `commit_read`
    /// call, all at once.
    /// If any of them is not UTF-8, those frames leave the lane again and the general
    /// decoder, checking message by message, delivers the valid ones before failing the
    /// connection at the first invalid one (§8.1).
    fn validate_lane(&mut self, batch: LaneBatch) {
        let lane = &mut self.lane;
        let (bytes, text_before, lane_before) = batch.finish();
        match String::from_utf8(bytes) {
            Ok(text) => lane.text = text,
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.truncate(text_before);
                // Text that was in the lane before this call is valid: this cannot fail.
                lane.text = String::from_utf8(bytes).unwrap_or_default();
                lane.bytes = lane_before;
            }
        }
    }

    /// The free space a read should fill.
    pub(crate) fn read_buf(&mut self, limit: usize) -> &mut [u8] {
        let mut want = self.st.read_size;
        if self.st.discard {
            self.buf.clear();
            self.lane.reset();
        }
        let scan = &self.st.scan;
        // Inside a large frame, read no further than its end, for the reason `receive` stops
        // there; the bytes after it land in a buffer the application has emptied.
        let bound = (scan.on && scan.unscanned == 0 && scan.len >= LARGE_FRAME && scan.left > 0)
            .then(|| usize::try_from(scan.left).unwrap_or(usize::MAX));
        if let Some(left) = bound {
            want = want.min(left);
        }
        match self.buf.reserve(want, limit) {
            Ok(shift) => self.lane.shifted(shift),
            Err(_) => {
                let room = limit.saturating_sub(self.buf.len());
                if let Ok(shift) = self.buf.reserve(room, limit) {
                    self.lane.shifted(shift);
                }
            }
        }
        // Earlier growth may have left more free space than the limit allows to fill.
        let room = limit.saturating_sub(self.buf.len());
        let most = bound.map_or(room, |left| left.min(room));
        let spare = self.buf.spare_mut();
        let spare = match spare.len() > most {
            true => spare.get_mut(..most).unwrap_or_default(),
            false => spare,
        };
        self.st.offered = spare.len();
        spare
    }

    /// Takes `n` bytes written into [`read_buf`](Self::read_buf).
    pub(crate) fn commit_read(&mut self, n: usize) {
        // Only what `read_buf` offered (which kept to the limit), and only once.
        let n = n.min(self.st.offered).min(self.buf.spare_mut().len());
        if n >= self.st.offered && n > 0 {
            // The read filled everything offered: offer more next time.
            self.st.read_size = self
                .st
                .read_size
                .saturating_mul(2)
                .min(self.st.config.max_read_size.max(1));
        }
        self.st.offered = 0;
        if self.st.discard {
            return;
        }
        self.st.stats.bytes += n as u64;
        self.buf.commit(n);
        if self.st.scan.on {
            self.st.scan.unscanned += n;
            let end = self.buf.end();
            let mut batch = None;
            // The end of a frame that straddled reads, then small frames, then the rest frame
            // by frame.
            self.st.scan.finish_payload(self.buf.data_mut(), end);
            if self.st.scan.left == 0 {
                let from = end.saturating_sub(self.st.scan.unscanned);
                let taken = self.scan_small_frames(from, end, &mut batch);
                self.st.scan.unscanned -= taken;
            }
            self.st.scan.scan(self.buf.data_mut(), end);
            if let Some(batch) = batch {
                self.validate_lane(batch);
            }
        }
    }

    /// Applies what the previous event owed: consumed input, a delivered message.
    #[inline]
    pub(crate) fn settle(&mut self) {
        if self.st.consume > 0 && !(self.st.discard | self.st.drop_opening | self.st.clear_message)
        {
            // The common case after a message: drop its bytes.
            self.buf.consume(self.st.consume);
            self.st.consume = 0;
            if self.buf.is_empty() {
                self.buf.maybe_shrink(self.st.config.max_read_size);
            }
            return;
        }
        self.settle_slow();
    }

    #[inline(never)]
    fn settle_slow(&mut self) {
        if self.st.discard {
            self.buf.clear();
            self.lane.reset();
            self.st.scan.on = false;
            self.st.consume = 0;
            self.opening = None;
        }
        if self.st.consume > 0 {
            self.buf.consume(self.st.consume);
            self.st.consume = 0;
        }
        if self.st.drop_opening {
            self.opening = None;
            self.st.drop_opening = false;
        }
        if self.st.clear_message {
            self.msg.clear(self.st.config.max_read_size);
            self.st.clear_message = false;
        }
        if self.buf.is_empty() {
            self.buf.maybe_shrink(self.st.config.max_read_size);
        }
    }

    /// The fast path of [`Connection::poll_event`](crate::Connection::poll_event): a whole
    /// one-frame data message next in the buffer, meeting every rule (the checks of
    /// `check_header` for that case). Anything else returns `None` with nothing changed but
    /// the consumption owed by the previous event.
    #[inline]
    pub(crate) fn fast_message(&mut self) -> Option<Ready> {
        let st = &mut self.st;
        if st.discard | st.drop_opening | st.clear_message
            || st.frame.is_some()
            || st.message.is_some()
            || st.config.delivery != Delivery::Assembled
        {
            return None;
        }
        self.settle();
        self.lane.reached(self.buf.start());
        let Ok(Status::Complete((header, len))) = FrameHeader::parse(self.buf.bytes()) else {
            return None;
        };
        self.whole_message(&header, len)
    }

    /// The common case, decided at once: a whole one-frame data message at the start of the
    /// buffer (its header parsed, `len` bytes long), meeting every rule that `check_header`
    /// would check for it, without its bookkeeping. Taken (header consumed, payload owed to
    /// the event), or `None` with nothing changed.
    #[inline(always)]
    fn whole_message(&mut self, header: &FrameHeader, len: usize) -> Option<Ready> {
        let st = &mut self.st;
        let payload = header.payload_len;
        if !(st.takes_whole(header) && (self.buf.len() - len) as u64 >= payload) {
            return None;
        }
        self.buf.consume(len);
        st.stats.frames += 1;
        st.stats.message(payload);
        let start = self.buf.start();
        let range = start..start + payload as usize;
        st.consume = payload as usize;
        Some(if header.opcode == OpCode::Text {
            Ready::Text(range)
        } else {
            Ready::Binary(range)
        })
    }

    /// Decodes frames until something is ready or more input is needed.
    pub(crate) fn advance_frames(&mut self, out: &mut Outbound) -> Option<Ready> {
        loop {
            match self.step(out) {
                Flow::Ready(ready) => return Some(ready),
                Flow::Again => {}
                Flow::More => {
                    if out.link.eof {
                        return end_of_stream(&mut self.st, out, CloseCause::Abnormal);
                    }
                    return None;
                }
            }
        }
    }

    fn step(&mut self, out: &mut Outbound) -> Flow {
        let Some(frame) = self.st.frame else {
            self.lane.reached(self.buf.start());
            let (header, len) = match FrameHeader::parse(self.buf.bytes()) {
                Ok(Status::Complete(parsed)) => parsed,
                Ok(Status::Partial) => return Flow::More,
                Err(e) => return Flow::Ready(Ready::Closed(self.st.fail(e, out))),
            };
            if let Some(ready) = self.whole_message(&header, len) {
                return Flow::Ready(ready);
            }
            if let Err(e) = self.st.check_header(&header) {
                return Flow::Ready(Ready::Closed(self.st.fail(e, out)));
            }
            self.buf.consume(len);
            self.st.stats.frames += 1;
            self.st.frame = Some(FrameState {
                opcode: header.opcode,
                fin: header.fin,
                left: header.payload_len,
            });
            if header.opcode != OpCode::Continuation && !header.opcode.is_control() {
                // The first frame of a fragmented message: start assembling.
                if let Some(m) = self.st.message.filter(|m| m.buffered) {
                    self.msg.start(m.kind);
                }
            }
            return Flow::Again;
        };
        if frame.opcode.is_control() {
            return self.control(frame, out);
        }
        match self.st.config.delivery {
            Delivery::Assembled => self.assemble(frame, out),
            Delivery::Streaming => self.stream(frame, out),
        }
    }

    #[inline(never)]
    fn control(&mut self, frame: FrameState, out: &mut Outbound) -> Flow {
        // Control payloads are at most 125 bytes: wait for the whole frame.
        let len = frame.left as usize;
        if self.buf.len() < len {
            return Flow::More;
        }
        let start = self.buf.start();
        let range = start..start + len;
        self.st.consume = len;
        self.st.frame = None;
        let payload = self.buf.data().get(range.clone()).unwrap_or_default();
        Flow::Ready(match frame.opcode {
            OpCode::Ping => {
                self.st.stats.pings += 1;
                if self.st.config.auto_pong {
                    out.queue_pong(payload);
                }
                Ready::Ping(range)
            }
            OpCode::Pong => {
                self.st.stats.pongs += 1;
                Ready::Pong(range)
            }
            _ => match CloseFrame::parse(payload) {
                Err(e) => Ready::Closed(self.st.fail(e, out)),
                Ok(close) => {
                    let code = close.code;
                    let reason_start = if len >= 2 { start + 2 } else { start };
                    on_close(&mut self.st, close, out);
                    Ready::CloseReceived {
                        code,
                        reason: reason_start..start + len,
                    }
                }
            },
        })
    }

    #[inline(never)]
    fn assemble(&mut self, mut frame: FrameState, out: &mut Outbound) -> Flow {
        let Some(mut message) = self.st.message else {
            return Flow::More;
        };
        if message.compressed {
            return self.assemble_compressed(frame, message, out);
        }
        let avail = self.buf.len();
        if !message.buffered {
            if avail as u64 >= frame.left {
                let start = self.buf.start();
                let range = start..start + frame.left as usize;
                self.st.consume = frame.left as usize;
                self.st.frame = None;
                self.st.message = None;
                self.st.stats.message(frame.left);
                return Flow::Ready(match message.kind {
                    MessageKind::Text => Ready::Text(range),
                    MessageKind::Binary => Ready::Binary(range),
                });
            }
            if message.kind == MessageKind::Binary {
                // Wait for the whole frame in the input buffer: no copy, no validation.
                return Flow::More;
            }
            // Text arriving in pieces: validate each piece as it comes (fail fast, §8.1) while
            // assembling, so that no byte is validated twice.
            message.buffered = true;
            self.st.message = Some(message);
            self.msg.start(message.kind);
        }
        let n = (avail as u64).min(frame.left) as usize;
        if n > 0 {
            let chunk = self.buf.bytes().get(..n).unwrap_or_default();
            if self
                .msg
                .append(chunk, &mut self.utf8, self.st.config.max_message_size)
                .is_err()
            {
                return Flow::Ready(Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)));
            }
            self.buf.consume(n);
            frame.left -= n as u64;
        }
        self.frame_assembled(frame, message, out)
    }

    /// After a piece of an assembled message was taken: wait for the rest of the frame, go on
    /// to the next frame, or deliver the message when its final frame is complete.
    fn frame_assembled(
        &mut self,
        frame: FrameState,
        message: MessageState,
        out: &mut Outbound,
    ) -> Flow {
        if frame.left > 0 {
            self.st.frame = Some(frame);
            return Flow::More;
        }
        self.st.frame = None;
        if !frame.fin {
            return Flow::Again;
        }
        if message.kind == MessageKind::Text && self.utf8.finish().is_err() {
            return Flow::Ready(Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)));
        }
        self.st.message = None;
        self.st.clear_message = true;
        // The delivered size: decompressed for compressed messages.
        self.st
            .stats
            .message(self.msg.view().as_bytes().len() as u64);
        Flow::Ready(Ready::Assembled)
    }

    #[inline(never)]
    fn stream(&mut self, mut frame: FrameState, out: &mut Outbound) -> Flow {
        let Some(message) = self.st.message else {
            return Flow::More;
        };
        if message.compressed {
            return self.stream_compressed(frame, message, out);
        }
        let avail = (self.buf.len() as u64).min(frame.left) as usize;
        let start = self.buf.start();
        let mut n = avail;
        if message.kind == MessageKind::Text {
            let chunk = self.buf.bytes().get(..avail).unwrap_or_default();
            // Hold back pieces that would deliver no complete code point: feed them now.
            let Some(len) = self.utf8.next_piece_len(chunk) else {
                if self.utf8.feed(chunk).is_err() {
                    return Flow::Ready(Ready::Closed(
                        self.st.fail(ProtocolError::InvalidUtf8, out),
                    ));
                }
                self.buf.consume(avail);
                frame.left -= avail as u64;
                if frame.left > 0 {
                    self.st.frame = Some(frame);
                    return Flow::More;
                }
                if !frame.fin {
                    self.st.frame = None;
                    return Flow::Again;
                }
                // The message ends inside a code point.
                return Flow::Ready(Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)));
            };
            n = len;
        }
        frame.left -= n as u64;
        let done = frame.left == 0;
        let fin = done && frame.fin;
        self.st.frame = if done { None } else { Some(frame) };
        if fin {
            self.st.message = None;
            self.st.stats.message(message.len);
        }
        if n == 0 && !fin {
            return if done { Flow::Again } else { Flow::More };
        }
        self.st.consume = n;
        Flow::Ready(Ready::stream(message.kind, start..start + n, fin, false))
    }
}

#[cfg(feature = "deflate")]
impl Inbound {
    /// A compressed message, assembled: inflate each piece as it arrives, checking the
    /// decompressed size against the limit while inflating (a bomb stops at the limit) and
    /// validating text on the way.
    #[inline(never)]
    fn assemble_compressed(
        &mut self,
        mut frame: FrameState,
        message: MessageState,
        out: &mut Outbound,
    ) -> Flow {
        use crate::extensions::deflate::InflateError;
        let n = (self.buf.len() as u64).min(frame.left) as usize;
        let last = frame.fin && n as u64 == frame.left;
        if n > 0 || last {
            let limit = self.st.config.max_message_size;
            let Inbound {
                buf,
                msg,
                utf8,
                compression,
                st,
                ..
            } = self;
            let Some(inflater) = compression.inflater() else {
                return Flow::Ready(Ready::Closed(st.fail(ProtocolError::InflateFailed, out)));
            };
            let input = buf.bytes().get(..n).unwrap_or_default();
            let mut scratch = [0u8; 8192];
            let result = inflater.inflate(input, last, limit as u64, &mut scratch, &mut |chunk| {
                msg.append(chunk, utf8, limit)
            });
            let error = match result {
                Ok(()) => None,
                Err(Ok(InflateError::Corrupt)) => Some(ProtocolError::InflateFailed),
                Err(Ok(InflateError::TooBig)) => Some(ProtocolError::MessageTooLarge),
                Err(Err(_)) => Some(ProtocolError::InvalidUtf8),
            };
            if let Some(e) = error {
                return Flow::Ready(Ready::Closed(st.fail(e, out)));
            }
            buf.consume(n);
            frame.left -= n as u64;
        }
        self.frame_assembled(frame, message, out)
    }

    /// A compressed message, streamed: inflate into a bounded piece buffer and deliver the
    /// pieces one event at a time, so memory stays bounded whatever the ratio.
    #[inline(never)]
    fn stream_compressed(
        &mut self,
        mut frame: FrameState,
        message: MessageState,
        out: &mut Outbound,
    ) -> Flow {
        let (pending, complete) = self.compression.pending();
        if !pending.is_empty() || complete {
            let len = pending.len();
            let mut n = len;
            if message.kind == MessageKind::Text {
                let Some(piece_len) = self.utf8.next_piece_len(pending) else {
                    if complete || self.utf8.feed(pending).is_err() {
                        return Flow::Ready(Ready::Closed(
                            self.st.fail(ProtocolError::InvalidUtf8, out),
                        ));
                    }
                    self.compression.take_pending(len);
                    return Flow::Again;
                };
                n = piece_len;
            }
            let start = self.compression.pending_start();
            let fin = complete && n == len;
            self.compression.take_pending(n);
            if fin {
                self.st.frame = None;
                self.st.message = None;
                self.st.stats.message(message.len);
            }
            if n == 0 && !fin {
                return Flow::Again;
            }
            return Flow::Ready(Ready::stream(message.kind, start..start + n, fin, true));
        }
        if self.compression.has_failed() {
            // Corrupt data, found after the output before it was delivered: fail here, before
            // anything that follows in the stream.
            return Flow::Ready(Ready::Closed(
                self.st.fail(ProtocolError::InflateFailed, out),
            ));
        }
        if frame.left == 0 && !frame.fin {
            self.st.frame = None;
            return Flow::Again;
        }
        let avail = (self.buf.len() as u64).min(frame.left) as usize;
        let last = frame.fin && avail as u64 == frame.left;
        let input = self.buf.bytes().get(..avail).unwrap_or_default();
        let used = match self.compression.inflate_piece(input, last) {
            Ok(used) => used,
            Err(_) => {
                return Flow::Ready(Ready::Closed(
                    self.st.fail(ProtocolError::InflateFailed, out),
                ))
            }
        };
        self.buf.consume(used);
        frame.left -= used as u64;
        self.st.frame = Some(frame);
        let (pending, complete) = self.compression.pending();
        if !pending.is_empty() || complete || used > 0 {
            return Flow::Again;
        }
        Flow::More
    }
}

#[cfg(not(feature = "deflate"))]
impl Inbound {
    fn assemble_compressed(&mut self, _: FrameState, _: MessageState, out: &mut Outbound) -> Flow {
        Flow::Ready(Ready::Closed(
            self.st.fail(ProtocolError::UnexpectedRsvBits(0b100), out),
        ))
    }

    fn stream_compressed(&mut self, _: FrameState, _: MessageState, out: &mut Outbound) -> Flow {
        Flow::Ready(Ready::Closed(
            self.st.fail(ProtocolError::UnexpectedRsvBits(0b100), out),
        ))
    }
}

/// Bytes that hold any small frame (at most 6 + 125) rounded up to whole 16-byte blocks.
const WINDOW: usize = 144;

/// Text room a small frame may write into, in whole blocks.
const TEXT_WINDOW: usize = 128;

/// A whole frame with a payload of at most 125 bytes, to copy into the input buffer.
struct SmallFrame {
    header_len: usize,
    /// The payload length.
    len: usize,
    /// The masking key repeated over 16 bytes, or 0 for frames without one.
    key: u128,
}

impl SmallFrame {
    /// Copies the frame from the front of `src` to the front of `dst`, unmasking the payload,
    /// in whole 16-byte blocks: the bytes written past the frame are overwritten by the next
    /// frame or lie beyond the buffer's end. Text payloads are appended to `text` the same
    /// way (its length then cut to the payload).
    #[inline(always)]
    fn copy_window(
        &self,
        dst: &mut [u8; WINDOW],
        src: &[u8; WINDOW],
        text: Option<&mut [u8; TEXT_WINDOW]>,
    ) {
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<16>(), src.first_chunk::<16>()) {
            // The header, and the start of the payload that the blocks overwrite.
            *d = *s;
        }
        let blocks = self.len.div_ceil(16);
        let mut text_out = text;
        for i in 0..blocks {
            let at = self.header_len + 16 * i;
            let (Some(d), Some(s)) = (
                dst.get_mut(at..).and_then(|d| d.first_chunk_mut::<16>()),
                src.get(at..).and_then(|s| s.first_chunk::<16>()),
            ) else {
                break;
            };
            let v = (u128::from_ne_bytes(*s) ^ self.key).to_ne_bytes();
            *d = v;
            if let Some(t) = text_out
                .as_deref_mut()
                .and_then(|t| t.get_mut(16 * i..))
                .and_then(|t| t.first_chunk_mut::<16>())
            {
                *t = v;
            }
        }
    }

    /// The same, byte-exact, for the last frames of an input.
    fn copy_exact(&self, dst: &mut [u8], src: &[u8], text: Option<&mut LaneBatch>) {
        let total = self.header_len + self.len;
        let (Some(dst), Some(src)) = (dst.get_mut(..total), src.get(..total)) else {
            return;
        };
        dst.copy_from_slice(src);
        let payload = dst.get_mut(self.header_len..).unwrap_or_default();
        let key = self.key.to_ne_bytes();
        apply_mask(payload, key.first_chunk().copied().unwrap_or_default(), 0);
        if let Some(t) = text {
            t.put(payload);
        }
    }
}

/// Handles a valid close frame (§5.5.1, §7.1.3).
fn on_close(st: &mut RecvState, close: CloseFrame<'_>, out: &mut Outbound) {
    out.link.peer_code = Some(close.code);
    // Nothing after a close frame is data of this connection.
    st.discard = true;
    match out.link.phase {
        Phase::Open => {
            out.link.step(Step::ReceiveClose);
            if st.config.auto_close_reply {
                out.write_close(close);
                out.link.step(Step::SendClose);
                out.finish_closing(CloseCause::ClosedByPeer);
            }
        }
        Phase::CloseSent => {
            out.link.step(Step::ReceiveClose);
            out.finish_closing(CloseCause::ClosedLocally);
        }
        _ => {}
    }
}

/// The transport ended: the connection ends now with `cause` unless it already ended.
pub(crate) fn end_of_stream(
    st: &mut RecvState,
    out: &mut Outbound,
    cause: CloseCause,
) -> Option<Ready> {
    if out.link.step(Step::Eof) {
        // §7.1.5: the code of the first close frame received, if one was; 1006 if not.
        let code = out.link.peer_code.unwrap_or(CloseCode::ABNORMAL);
        out.link.finish(code, cause);
    }
    st.discard = true;
    out.link.take_closed().map(Ready::Closed)
}
