//! Sending messages and fragments: each path takes its [`Plan`] from the send rule
//! (`rule.rs`), then writes it; the small-message fast path writes the plans it can without
//! the general machinery and leaves the rest to [`Outbound::send_whole`].

use super::rule::{Part, Plan};
use super::{Outbound, PendingPongs};
use crate::error::SendError;
use crate::event::MessageKind;
use crate::frame::{mask_copy_small, FrameHeader, OpCode};

impl Outbound {
    /// Sends a whole message (compressed when the rule says so).
    #[inline]
    pub(crate) fn send_message(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if self.send_small(kind, payload) {
            return Ok(());
        }
        self.send_whole(kind, payload, true)
    }

    /// The common case of small messages: a plan of one uncompressed frame of at most 125
    /// bytes with room for it in the buffer's spare capacity, written without the general
    /// path's steps. Returns `false` with nothing done otherwise, and the general path then
    /// asks the rule again (and reports its refusal).
    #[inline(always)]
    fn send_small(&mut self, kind: MessageKind, payload: &[u8]) -> bool {
        let len = payload.len();
        if len > 125 {
            return false;
        }
        let Ok(plan) = self.plan(kind, Part::Whole, len, true) else {
            return false;
        };
        // A client masks (§5.3): 4 more header bytes for the key.
        let header_len = if plan.masked { 6 } else { 2 };
        let total = header_len + len;
        if !plan.is_plain_frame() || self.buf.spare_mut().len() < total {
            // The buffer must grow, or more than one frame: the general path's business.
            return false;
        }
        let mask = self.rng.as_deref_mut().map(crate::entropy::MaskRng::mask);
        let Some(dst) = self.buf.spare_mut().get_mut(..total) else {
            return false;
        };
        let (head, body) = dst.split_at_mut(header_len);
        // The same header `FrameHeader::encode` writes for a payload of at most 125 bytes.
        let b0 = 0x80 | plan.opcode.as_u8();
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

    /// Sends a whole message by the general path; `compressible`: it may be compressed.
    #[inline(never)]
    pub(crate) fn send_whole(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        compressible: bool,
    ) -> Result<(), SendError> {
        let plan = self.plan(kind, Part::Whole, payload.len(), compressible)?;
        self.write_planned(plan, payload, true)?;
        self.stats.message(payload.len() as u64);
        self.pongs = PendingPongs::default();
        Ok(())
    }

    /// Writes `payload` as `plan` says (`fin`: its last frame ends the message). A compressed
    /// plan was checked against the compressor's worst case, so the compressed bytes go in
    /// whatever their size.
    pub(crate) fn write_planned(
        &mut self,
        plan: Plan,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        if plan.compress {
            let compressed = self
                .compression
                .take_compressed(payload, fin)
                .ok_or(SendError::CompressionFailed)?;
            self.reserve_past_backlog(self.frames_len(compressed.len(), plan.split));
            // RSV1 marks the first frame of a compressed message (RFC 7692 §6).
            let rsv = if plan.opcode == OpCode::Continuation {
                0
            } else {
                0b100
            };
            self.write_frames(plan.opcode, fin, rsv, &compressed, plan.split);
            self.compression.give_back(compressed, self.retain);
        } else {
            self.reserve(plan.reserve, self.max_backlog)?;
            self.write_frames(plan.opcode, fin, 0, payload, plan.split);
        }
        Ok(())
    }

    /// Writes `payload` as one frame, or frames of `split` bytes (0: one); `rsv` on the
    /// first only, `fin` on the last.
    pub(crate) fn write_frames(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: u8,
        payload: &[u8],
        split: usize,
    ) {
        if split == 0 || payload.len() <= split {
            self.write_frame_rsv(opcode, fin, rsv, payload);
            return;
        }
        let mut chunks = payload.chunks(split).peekable();
        let (mut op, mut bits) = (opcode, rsv);
        while let Some(chunk) = chunks.next() {
            self.write_frame_rsv(op, fin && chunks.peek().is_none(), bits, chunk);
            op = OpCode::Continuation;
            bits = 0;
        }
    }

    /// The header of a whole message whose payload the caller writes itself (not copied):
    /// admitted by the same rule as any message (never compressed), and possible when its
    /// plan is one unmasked frame and nothing else waits to be written.
    pub(crate) fn encode_unbuffered(
        &mut self,
        kind: MessageKind,
        len: usize,
    ) -> Result<crate::frame::EncodedHeader, SendError> {
        let plan = self.plan(kind, Part::Whole, len, false)?;
        if plan.masked || plan.split != 0 || self.wants_write() {
            return Err(SendError::UnbufferedNotPossible);
        }
        let header =
            crate::frame::EncodedHeader::new(&FrameHeader::new(plan.opcode, true, len as u64));
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
        let plan = self.plan(kind, Part::Fragment { fin }, payload.len(), true)?;
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
        self.write_planned(plan, payload, fin)?;
        self.compression.set_fragmented(plan.compress && !fin);
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
}
