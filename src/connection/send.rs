//! The output side: encoding, fragmentation, masking while copying, the backlog cap, pong
//! coalescing, and the [`Sender`] handle.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::buffer::ByteBuf;
use crate::close::{CloseCode, CloseFrame};
use crate::config::Config;
use crate::connection::compress::SendCompression;
use crate::connection::lifecycle::{Effects, Link, Phase, Step};
use crate::entropy::MaskRng;
use crate::error::SendError;
use crate::event::MessageKind;
use crate::frame::{
    apply_mask_copy, mask_copy_small, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use crate::prepared::{FrameOf, PreparedMessage};
use crate::role::Role;
use crate::stats::DirectionStats;
use crate::utf8::Utf8Validator;

mod prepared;

/// How many automatic pongs may wait unsent before a newer ping replaces the last one.
pub(crate) const MAX_PENDING_PONGS: usize = 16;

/// The run of automatic pongs at the end of the output.
#[derive(Debug, Default, Clone, Copy)]
struct PendingPongs {
    count: usize,
    /// Their total size.
    bytes: usize,
    /// The size of the last one.
    last: usize,
}

/// Everything the output direction owns.
///
/// `repr(C)`, in this order: the fields every send and drain touches come first, together
/// (the buffer, the limits, the fragment state, the pong run, the counters, then the link,
/// whose phase leads it), so that a send to a connection whose memory is cold (one of
/// thousands in a fan-out) loads three cache lines instead of six.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Outbound {
    pub(crate) buf: ByteBuf,
    fragment_size: usize,
    /// The backlog limit left for `buf`: `backlog_limit` less a shared frame's unwritten rest
    /// at the head of the output (kept up to date so that the fast paths compare with one
    /// field).
    max_backlog: usize,
    /// Boxed: only clients mask, and a server should not carry a ChaCha block per
    /// connection.
    rng: Option<Box<MaskRng>>,
    /// permessage-deflate, when negotiated.
    pub(crate) compression: SendCompression,
    /// The kind of the outgoing fragmented message in progress.
    sending: Option<MessageKind>,
    role: Role,
    /// Validates outgoing text fragments, which may split code points.
    utf8: Utf8Validator,
    /// Automatic pongs at the very end of the output, none of whose bytes were written out
    /// yet; past [`MAX_PENDING_PONGS`] a newer ping replaces the last of them (§5.5.3).
    pongs: PendingPongs,
    pub(crate) stats: DirectionStats,
    retain: usize,
    pub(crate) link: Link,
    /// Payload bytes of the outgoing fragmented message so far.
    sending_len: u64,
    /// A prepared message's shared frame at the head of the output, written from the shared
    /// bytes (no copy) before anything in `buf`.
    shared: Option<SharedHead>,
    /// The configured backlog limit (`Config::max_output_backlog`).
    backlog_limit: usize,
}

/// The unwritten rest of a shared frame at the head of the output.
#[derive(Debug)]
struct SharedHead {
    message: PreparedMessage,
    which: FrameOf,
    /// Bytes of it written out.
    written: usize,
}

impl SharedHead {
    fn rest(&self) -> &[u8] {
        // The frame was there when the head was made, and shared frames are never replaced.
        let frame = self.message.frame_of(self.which);
        debug_assert!(frame.is_some(), "a shared frame went away");
        frame
            .and_then(|frame| frame.get(self.written..))
            .unwrap_or_default()
    }
}

impl Outbound {
    pub(crate) fn new(role: Role, config: &Config, rng: Option<MaskRng>, phase: Phase) -> Outbound {
        Outbound {
            buf: ByteBuf::new(),
            shared: None,
            link: Link::new(phase, role.is_server(), config),
            role,
            rng: rng.map(Box::new),
            max_backlog: config.max_output_backlog,
            backlog_limit: config.max_output_backlog,
            fragment_size: config.outgoing_fragment_size,
            retain: config.max_read_size,
            sending: None,
            utf8: Utf8Validator::new(),
            pongs: PendingPongs::default(),
            sending_len: 0,
            stats: DirectionStats::default(),
            compression: SendCompression::default(),
        }
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    /// The bytes to write next: a shared frame's rest, else the buffer.
    #[inline]
    pub(crate) fn output(&self) -> &[u8] {
        match &self.shared {
            Some(head) => head.rest(),
            None => self.buf.bytes(),
        }
    }

    /// Whether anything waits to be written.
    #[inline]
    pub(crate) fn wants_write(&self) -> bool {
        self.shared.is_some() || !self.buf.is_empty()
    }

    /// The bytes waiting to be written, in order: a shared frame's rest (or nothing), then
    /// the buffer.
    pub(crate) fn output_vectored(&self) -> [&[u8]; 2] {
        match &self.shared {
            Some(head) => [head.rest(), self.buf.bytes()],
            None => [self.buf.bytes(), &[]],
        }
    }

    /// All the bytes waiting to be written: a shared frame's rest and the buffer.
    pub(crate) fn pending(&self) -> usize {
        self.shared.as_ref().map_or(0, |head| head.rest().len()) + self.buf.len()
    }

    /// Puts a shared frame at the head of the output (which is empty).
    fn set_shared_head(&mut self, head: SharedHead) {
        self.max_backlog = self.backlog_limit.saturating_sub(head.rest().len());
        self.shared = Some(head);
    }

    /// Marks `n` output bytes as written: a shared frame's rest first, then the buffer's.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        if self.shared.is_some() {
            return self.consume_shared(n);
        }
        self.consume_buffer(n);
    }

    /// [`consume`](Self::consume) with a shared frame at the head: up to `n` bytes from its
    /// rest, then the buffer's.
    #[cold]
    #[inline(never)]
    fn consume_shared(&mut self, n: usize) {
        let Some(head) = &mut self.shared else {
            return self.consume_buffer(n);
        };
        let rest = head.rest().len();
        let taken = n.min(rest);
        head.written += taken;
        self.stats.bytes += taken as u64;
        if taken < rest {
            self.max_backlog = self.backlog_limit.saturating_sub(rest - taken);
            return;
        }
        self.shared = None;
        self.max_backlog = self.backlog_limit;
        if n > taken {
            self.consume_buffer(n - taken);
        }
    }

    #[inline]
    fn consume_buffer(&mut self, n: usize) {
        self.stats.bytes += n.min(self.buf.len()) as u64;
        self.buf.consume(n);
        if self.buf.len() < self.pongs.bytes {
            // Part of a pending pong went out: none of them can be replaced any more.
            self.pongs = PendingPongs::default();
        }
        if self.buf.is_empty() {
            self.buf.maybe_shrink(self.retain);
        }
    }

    /// Drops all pending output: the transport is going away unwritten.
    pub(crate) fn abandon_output(&mut self) {
        self.shared = None;
        self.max_backlog = self.backlog_limit;
        self.buf.clear();
        self.pongs = PendingPongs::default();
    }

    /// Appends raw bytes (HTTP heads) regardless of the backlog limit.
    pub(crate) fn push_raw(&mut self, bytes: &[u8]) {
        if self.reserve_past_backlog(bytes.len()) {
            self.buf.push(bytes);
            self.pongs = PendingPongs::default();
        }
    }

    fn check_data(&self) -> Result<(), SendError> {
        match self.link.phase() {
            phase if phase.sends_data() => Ok(()),
            Phase::CloseSent => Err(SendError::Closing),
            // Until the application has seen `Event::Closed`, a send that crosses the end of
            // the connection is the benign race; after it, a use after close.
            Phase::Closed if !self.link.reported() => Err(SendError::Closing),
            Phase::Closed => Err(SendError::Closed),
            // The handshake phases (the open ones were taken above).
            _ => Err(SendError::NotOpen),
        }
    }

    /// Writes one frame; the caller reserved `header + payload` bytes.
    #[inline]
    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv(opcode, fin, 0, payload);
    }

    /// Writes one frame with RSV bits (RSV1 marks a compressed message, RFC 7692 §6).
    #[inline]
    fn write_frame_rsv(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        self.stats.frames += 1;
        match opcode {
            OpCode::Ping => self.stats.pings += 1,
            OpCode::Pong => self.stats.pongs += 1,
            _ => {}
        }
        let mask = self.rng.as_deref_mut().map(MaskRng::mask);
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        // Encode straight into the output (the caller reserved room for the whole frame, and
        // any bytes past the header are overwritten by the payload or lie beyond the end).
        let mut head = [0u8; MAX_HEADER_LEN];
        match self.buf.spare_mut().first_chunk_mut::<MAX_HEADER_LEN>() {
            Some(dst) => {
                let n = header.encode(dst);
                self.buf.commit(n);
            }
            None => {
                // `encode` writes at most `MAX_HEADER_LEN` bytes.
                let n = header.encode(&mut head).min(MAX_HEADER_LEN);
                if let Some(head) = head.get(..n) {
                    self.buf.push(head);
                }
            }
        }
        match mask {
            Some(key) => {
                // The whole payload, as the header declares: never fewer bytes.
                let len = payload.len();
                if let Some(dst) = self.buf.spare_at_least(len).get_mut(..len) {
                    apply_mask_copy(dst, payload, key, 0);
                }
                self.buf.commit(len);
            }
            None => self.buf.push(payload),
        }
    }

    fn header_len(&self, payload_len: usize) -> usize {
        crate::frame::header_len(payload_len as u64, self.role.is_client())
    }

    /// Reserves room for frames of `total` bytes within the backlog limit.
    fn reserve(&mut self, total: usize, limit: usize) -> Result<(), SendError> {
        self.buf
            .reserve(total, limit)
            .map(|_| ())
            .map_err(|_| SendError::OutputFull)
    }

    /// Reserves room for `total` bytes that go out whatever the backlog (control frames, a
    /// compressed message already checked against its bound); capacity stays bounded by it.
    fn reserve_past_backlog(&mut self, total: usize) -> bool {
        self.buf.reserve_past(total, self.max_backlog).is_ok()
    }

    /// Sends a whole message, split into frames of `fragment_size` if configured.
    #[inline]
    pub(crate) fn send_message(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if self.send_small(kind, payload) {
            return Ok(());
        }
        let compress = self.compression.wants(payload.len());
        self.send_whole(kind, payload, compress)
    }

    /// The common case of small messages, without the general path's steps: a message of at
    /// most 125 bytes, uncompressed, as one frame, with room for it in the output. Returns
    /// `false` with nothing done otherwise; the general path then decides the same way.
    #[inline]
    fn send_small(&mut self, kind: MessageKind, payload: &[u8]) -> bool {
        let len = payload.len();
        if len > 125
            || !self.link.phase().sends_data()
            || self.sending.is_some()
            || (self.fragment_size != 0 && len > self.fragment_size)
            || self.compression.wants(len)
        {
            return false;
        }
        // A client masks (§5.3): 4 more header bytes for the key.
        let header_len = if self.rng.is_some() { 6 } else { 2 };
        let total = header_len + len;
        if self.buf.len() + total > self.max_backlog || self.buf.spare_mut().len() < total {
            // Over the backlog, or the buffer must grow: the general path's business.
            return false;
        }
        let mask = self.rng.as_deref_mut().map(MaskRng::mask);
        let Some(dst) = self.buf.spare_mut().get_mut(..total) else {
            return false;
        };
        let (head, body) = dst.split_at_mut(header_len);
        let b0 = 0x80 | kind.opcode().as_u8();
        match (head, mask) {
            ([h0, h1, k0, k1, k2, k3], Some(key)) => {
                (*h0, *h1) = (b0, 0x80 | len as u8);
                [*k0, *k1, *k2, *k3] = key;
                mask_copy_small(body, payload, key);
            }
            ([h0, h1], None) => {
                (*h0, *h1) = (b0, len as u8);
                body.copy_from_slice(payload);
            }
            // `head` is `header_len` bytes, which is 6 exactly when there is a key.
            _ => return false,
        }
        self.buf.commit(total);
        self.stats.frames += 1;
        self.stats.message(len as u64);
        self.pongs = PendingPongs::default();
        true
    }

    /// Sends a whole message, compressed or not.
    #[inline(never)]
    pub(crate) fn send_whole(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        compress: bool,
    ) -> Result<(), SendError> {
        self.check_data()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentSequence);
        }
        if compress && self.compression.is_negotiated() {
            let compressed = self.compress_within_backlog(payload, true, Self::frames_len)?;
            self.write_frames(kind.opcode(), 0b100, &compressed);
            self.compression.give_back(compressed, self.retain);
        } else {
            self.reserve(self.frames_len(payload.len()), self.max_backlog)?;
            self.write_frames(kind.opcode(), 0, payload);
        }
        self.stats.message(payload.len() as u64);
        self.pongs = PendingPongs::default();
        Ok(())
    }

    /// Compresses `payload` (`fin`: the message ends with it) and reserves room for its
    /// frames, whose encoded size for a payload length `encoded` gives. The backlog is checked
    /// against the worst case before compressing: the compressor's context must not advance
    /// for a message that is then refused. zlib's worst case is a few bytes per 16 KiB block.
    fn compress_within_backlog(
        &mut self,
        payload: &[u8],
        fin: bool,
        encoded: fn(&Self, usize) -> usize,
    ) -> Result<Vec<u8>, SendError> {
        let bound = compressed_bound(payload.len());
        if encoded(self, bound) > self.max_backlog.saturating_sub(self.buf.len()) {
            return Err(SendError::OutputFull);
        }
        let compressed = self
            .compression
            .take_compressed(payload, fin)
            .ok_or(SendError::CompressionFailed)?;
        self.reserve_past_backlog(encoded(self, compressed.len()));
        Ok(compressed)
    }

    /// The encoded size of a message of `len` payload bytes, split by `fragment_size`.
    fn frames_len(&self, len: usize) -> usize {
        let size = self.fragment_size;
        if size == 0 || len <= size {
            self.header_len(len) + len
        } else {
            let frames = len.div_ceil(size);
            (frames - 1) * self.header_len(size) + self.header_len(len - (frames - 1) * size) + len
        }
    }

    /// Writes a message as one frame, or frames of `fragment_size`; `rsv` on the first only.
    fn write_frames(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) {
        let size = self.fragment_size;
        if size == 0 || payload.len() <= size {
            self.write_frame_rsv(opcode, true, rsv, payload);
            return;
        }
        let mut chunks = payload.chunks(size).peekable();
        let (mut op, mut bits) = (opcode, rsv);
        while let Some(chunk) = chunks.next() {
            self.write_frame_rsv(op, chunks.peek().is_none(), bits, chunk);
            op = OpCode::Continuation;
            bits = 0;
        }
    }

    /// The header of a whole message whose payload the caller writes itself (not copied).
    pub(crate) fn encode_unbuffered(
        &mut self,
        kind: MessageKind,
        len: usize,
    ) -> Result<crate::frame::EncodedHeader, SendError> {
        self.check_data()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentSequence);
        }
        if self.role.is_client() || self.wants_write() {
            return Err(SendError::UnbufferedNotPossible);
        }
        let header =
            crate::frame::EncodedHeader::new(&FrameHeader::new(kind.opcode(), true, len as u64));
        // The caller writes both out (the contract); count them as if they passed `output`.
        self.stats.bytes += (header.as_bytes().len() + len) as u64;
        self.stats.frames += 1;
        self.stats.message(len as u64);
        self.pongs = PendingPongs::default();
        Ok(header)
    }

    /// Sends one fragment of a message (§5.4).
    pub(crate) fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_data()?;
        let opcode = match self.sending {
            None => kind.opcode(),
            Some(current) if current == kind => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentSequence),
        };
        // Validate on a copy so that a refused fragment leaves the state unchanged.
        let mut utf8 = self.utf8.clone();
        if kind == MessageKind::Text {
            let at_boundary = utf8
                .feed(payload)
                .map_err(|_| SendError::InvalidUtf8)?
                .at_boundary;
            if fin && !at_boundary {
                return Err(SendError::InvalidUtf8);
            }
        }
        let compressed = if opcode == OpCode::Continuation {
            self.compression.fragmented()
        } else {
            self.compression.is_negotiated()
        };
        if compressed {
            let one_frame = |out: &Self, len| out.header_len(len) + len;
            let data = self.compress_within_backlog(payload, fin, one_frame)?;
            let rsv = if opcode == OpCode::Continuation {
                0
            } else {
                0b100
            };
            self.write_frame_rsv(opcode, fin, rsv, &data);
            self.compression.give_back(data, self.retain);
        } else {
            self.reserve(
                self.header_len(payload.len()) + payload.len(),
                self.max_backlog,
            )?;
            self.write_frame(opcode, fin, payload);
        }
        self.compression.set_fragmented(compressed && !fin);
        self.utf8 = utf8;
        self.sending_len += payload.len() as u64;
        if fin {
            self.utf8.reset();
            self.stats.message(self.sending_len);
            self.sending_len = 0;
        }
        self.sending = if fin { None } else { Some(kind) };
        self.pongs = PendingPongs::default();
        Ok(())
    }

    /// Queues a keepalive ping whatever the backlog (at most 10 bytes).
    pub(crate) fn write_keepalive_ping(&mut self) {
        let payload = self.link.deadlines_mut().keepalive_ping();
        if self.reserve_past_backlog(self.header_len(payload.len()) + payload.len()) {
            self.write_frame(OpCode::Ping, true, &payload);
            // After the pongs waiting at the end: none of them may be replaced now.
            self.pongs = PendingPongs::default();
        }
    }

    /// Sends a ping or an unsolicited pong.
    pub(crate) fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        match (opcode, self.link.phase()) {
            // §5.5.2: a ping is answered until the peer's close frame arrives, also while we
            // wait for it after sending ours (a driver answering pings itself, with
            // `auto_pong` off, must be able to).
            (OpCode::Pong, Phase::CloseSent) => {}
            _ => self.check_data()?,
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.reserve(
            self.header_len(payload.len()) + payload.len(),
            self.max_backlog,
        )?;
        self.write_frame(opcode, true, payload);
        self.pongs = PendingPongs::default();
        if opcode == OpCode::Ping {
            // Its pong is timed: the latency.
            self.link.deadlines_mut().app_ping(payload);
        }
        Ok(())
    }

    /// Starts or completes the closing handshake (§5.5.1, §7); `idle`: the idle deadline's
    /// close, not the application's.
    pub(crate) fn close(&mut self, frame: CloseFrame<'_>, idle: bool) -> Result<(), SendError> {
        frame.check_sendable()?;
        // A close may be sent exactly when data may.
        self.check_data()?;
        self.write_close(frame);
        self.apply(Step::SendClose { idle });
        Ok(())
    }

    /// Takes a step of the connection's life ([`Link::apply`]) and carries out its effects
    /// on the output: a failure's close frame is queued, and output the transport will never
    /// take is dropped. A step the table refuses changes nothing (debug builds stop there:
    /// a broken assumption the tests must find).
    pub(crate) fn apply(&mut self, step: Step) -> Effects {
        match self.link.apply(step) {
            Ok(effects) => {
                if let Some((code, reason)) = effects.close_frame {
                    self.write_close(CloseFrame { code, reason });
                }
                if effects.abandon_output {
                    self.abandon_output();
                }
                effects
            }
            Err(impossible) => {
                debug_assert!(false, "a step the lifecycle table refuses: {impossible:?}");
                let _ = impossible;
                Effects::default()
            }
        }
    }

    /// Queues a close frame regardless of the backlog limit (it is at most 131 bytes).
    pub(crate) fn write_close(&mut self, frame: CloseFrame<'_>) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        // At most 125 bytes: a code and a reason of at most 123 (checked, or ours).
        let n = frame.write_payload(&mut payload).min(MAX_CONTROL_PAYLOAD);
        if let (Some(payload), true) = (
            payload.get(..n),
            self.reserve_past_backlog(self.header_len(n) + n),
        ) {
            self.write_frame(OpCode::Close, true, payload);
            self.pongs = PendingPongs::default();
        }
    }

    /// Answers a ping automatically. Pongs are kept one per ping (peers such as the
    /// Autobahn|Testsuite expect that), but once [`MAX_PENDING_PONGS`] are waiting unsent at the
    /// end of the output, a newer one replaces the last: §5.5.3 allows answering only the most
    /// recent ping, and a ping flood from a peer that never reads cannot grow memory.
    pub(crate) fn queue_pong(&mut self, payload: &[u8]) {
        // §5.5.2: a ping is answered unless a close frame was *received*; having sent ours
        // (waiting for the reply) is no exemption.
        if !matches!(
            self.link.phase(),
            Phase::Open | Phase::CloseSent | Phase::CloseReceived
        ) || self.link.peer_code().is_some()
        {
            return;
        }
        if self.pongs.count >= MAX_PENDING_PONGS && self.buf.len() >= self.pongs.bytes {
            self.buf.truncate_at(self.buf.end() - self.pongs.last);
            self.pongs.count -= 1;
            self.pongs.bytes -= self.pongs.last;
            // The replaced pong was counted when it was queued.
            self.stats.frames -= 1;
            self.stats.pongs -= 1;
        }
        let total = self.header_len(payload.len()) + payload.len();
        if self.reserve_past_backlog(total) {
            self.write_frame(OpCode::Pong, true, payload);
            self.pongs.count += 1;
            self.pongs.bytes += total;
            self.pongs.last = total;
        }
    }

    /// Random bytes for the client's handshake key.
    pub(crate) fn fill_random(&mut self, buf: &mut [u8]) {
        if let Some(rng) = self.rng.as_deref_mut() {
            rng.fill(buf);
        }
    }
}

/// An upper bound of the compressed size of `len` bytes (zlib's worst case is a few bytes per
/// 16 KiB stored block), to refuse a send before the compressor's context moves.
const fn compressed_bound(len: usize) -> usize {
    len + len / 256 + 64
}

impl MessageKind {
    pub(crate) const fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// Sends on a connection while an event borrowed from it is still alive.
/// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender).
///
/// Returned by [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender):
/// the event borrows the input side and the sender the output side, so an echo can pass a
/// received payload straight to `send_*` without copying it first.
#[derive(Debug)]
pub struct Sender<'a> {
    pub(crate) out: &'a mut Outbound,
}

impl Sender<'_> {
    /// Bytes waiting to be written, as [`Connection::output`](crate::Connection::output): a
    /// blocking driver can write them out while it still holds the event.
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    #[must_use]
    pub fn output(&self) -> &[u8] {
        self.out.output()
    }

    /// Marks output as written, as
    /// [`Connection::consume_output`](crate::Connection::consume_output).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Queues a text message. See [`Connection::send_text`](crate::Connection::send_text).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_text`](crate::Connection::send_text).
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.out.send_message(MessageKind::Text, text.as_bytes())
    }

    /// Queues a binary message. See [`Connection::send_binary`](crate::Connection::send_binary).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_binary`](crate::Connection::send_binary).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.out.send_message(MessageKind::Binary, data)
    }

    /// Queues a prepared message. See
    /// [`Connection::send_prepared`](crate::Connection::send_prepared).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_prepared`](crate::Connection::send_prepared).
    pub fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), SendError> {
        self.out.send_prepared(message)
    }

    /// Queues one fragment. See [`Connection::send_fragment`](crate::Connection::send_fragment).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_fragment`](crate::Connection::send_fragment).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.out.send_fragment(kind, data, fin)
    }

    /// Queues a ping. See [`Connection::ping`](crate::Connection::ping).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::ping`](crate::Connection::ping).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.out.send_control(OpCode::Ping, payload)
    }

    /// Queues a pong. See [`Connection::pong`](crate::Connection::pong).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::pong`](crate::Connection::pong).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.out.send_control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake. See [`Connection::close`](crate::Connection::close).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::close`](crate::Connection::close).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.out.close(CloseFrame { code, reason }, false)
    }
}
