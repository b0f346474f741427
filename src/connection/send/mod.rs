//! The output side: encoding, fragmentation, masking while copying, the backlog cap, pong
//! coalescing, and the [`Sender`] handle.

use alloc::boxed::Box;

use crate::buffer::ByteBuf;
use crate::close::CloseFrame;
use crate::config::Config;
use crate::connection::compress::SendCompression;
use crate::connection::lifecycle::{Effects, Link, Phase, Step};
use crate::entropy::MaskRng;
use crate::error::SendError;
use crate::event::MessageKind;
use crate::frame::{apply_mask_copy, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::prepared::{FrameOf, PreparedMessage};
use crate::role::Role;
use crate::stats::DirectionStats;
use crate::utf8::Utf8Validator;

mod message;
mod rule;
mod sender;
mod shared_frame;
#[cfg(test)]
mod tests;

pub use sender::Sender;

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

    #[inline(always)]
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

impl MessageKind {
    pub(crate) const fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}
