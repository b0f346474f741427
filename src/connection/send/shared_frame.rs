//! Sending a [`PreparedMessage`]: admitted and planned by the send rule as any whole message,
//! then written from the encodings every connection shares: the shared frame at the head of
//! the output (no copy) when nothing else waits to be written, else one copy of it (or of
//! its payload, framed for this connection) into the output.

use super::rule::{Part, Plan};
use super::{Outbound, PendingPongs, SharedHead};
use crate::error::SendError;
use crate::prepared::{Encoded, FrameOf, PreparedMessage};

impl Outbound {
    /// Sends a prepared message.
    #[inline]
    pub(crate) fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<(), SendError> {
        let plan = self.plan(msg.kind(), Part::Whole, msg.len(), msg.may_compress())?;
        if !self.wants_write() {
            if let Ok((frame, which)) = self.shared_frame_for(msg, &plan) {
                // The frame goes out from the shared bytes: the head of the output holds a
                // reference to the message, and the connection's deadlines cover it as any
                // other output.
                let len = frame.len();
                self.set_shared_head(SharedHead {
                    message: msg.clone(),
                    which,
                    written: 0,
                });
                debug_assert_eq!(self.pending(), len);
                self.stats.frames += 1;
                self.sent(msg.len());
                return Ok(());
            }
        }
        if self.copy_shared_frame(msg, &plan) {
            return Ok(());
        }
        self.send_prepared_general(msg, plan)
    }

    /// The common case of fan-out: a plan of one plain, unmasked frame (the shared one, as
    /// it is) with room in the buffer's spare capacity, copied without the general path's
    /// steps. Returns `false` with nothing done otherwise.
    #[inline]
    fn copy_shared_frame(&mut self, msg: &PreparedMessage, plan: &Plan) -> bool {
        if plan.masked || !plan.is_plain_frame() {
            return false;
        }
        let frame = msg.server_frame();
        let Some(dst) = self.buf.spare_mut().get_mut(..frame.len()) else {
            // The buffer must grow: the general path's business.
            return false;
        };
        dst.copy_from_slice(frame);
        self.buf.commit(frame.len());
        self.stats.frames += 1;
        self.sent(msg.len());
        true
    }

    #[inline(never)]
    fn send_prepared_general(
        &mut self,
        msg: &PreparedMessage,
        plan: Plan,
    ) -> Result<(), SendError> {
        if plan.compress {
            #[cfg(feature = "deflate")]
            if let Some(key) = self.compression.shared_key() {
                let compressed = msg.deflated(key).ok_or(SendError::CompressionFailed)?;
                self.write_encoded(&plan, &compressed)?;
                self.sent(msg.len());
                return Ok(());
            }
            // With context takeover the message is compressed against this connection's own
            // history: nothing to share.
            self.write_planned(plan, msg.payload(), true)?;
        } else {
            self.write_encoded(&plan, msg.plain())?;
        }
        self.sent(msg.len());
        Ok(())
    }

    /// Queues `encoded`: the shared frame as it is where this connection would encode it the
    /// same way (unmasked, not split), else its own frames around the shared payload.
    fn write_encoded(&mut self, plan: &Plan, encoded: &Encoded) -> Result<(), SendError> {
        let payload = encoded.payload();
        let fits = plan.split == 0 || payload.len() <= plan.split;
        let total = if !plan.masked && fits {
            encoded.frame().len()
        } else {
            self.frames_len(payload.len(), plan.split)
        };
        if plan.compress {
            // Checked against the compressor's worst case already.
            self.reserve_past_backlog(total);
        } else {
            self.reserve(total, self.max_backlog)?;
        }
        if !plan.masked && fits {
            self.buf.push(encoded.frame());
            self.stats.frames += 1;
        } else {
            let rsv = if plan.compress { 0b100 } else { 0 };
            self.write_frames(plan.opcode, true, rsv, payload, plan.split);
        }
        Ok(())
    }

    /// Accepts a prepared message whose frame the caller writes itself, straight from the
    /// shared bytes: admitted by the send rule, and possible for a server with empty output
    /// whose plan is one shared frame (compressed only from the lock-free slot of the shared
    /// encodings). Counted as sent and written, as
    /// [`encode_unbuffered`](Self::encode_unbuffered) counts.
    pub(crate) fn send_prepared_unbuffered<'m>(
        &mut self,
        msg: &'m PreparedMessage,
    ) -> Result<&'m [u8], SendError> {
        let plan = self.plan(msg.kind(), Part::Whole, msg.len(), msg.may_compress())?;
        if self.wants_write() {
            return Err(SendError::UnbufferedNotPossible);
        }
        let (frame, _) = self.shared_frame_for(msg, &plan)?;
        self.stats.bytes += frame.len() as u64;
        self.stats.frames += 1;
        self.sent(msg.len());
        Ok(frame)
    }

    /// The shared frame this connection sends `msg` as under `plan`, where it sends one:
    /// unmasked, not split; compressed only from the lock-free slot of the shared
    /// encodings. Counts nothing.
    fn shared_frame_for<'m>(
        &self,
        msg: &'m PreparedMessage,
        plan: &Plan,
    ) -> Result<(&'m [u8], FrameOf), SendError> {
        if plan.masked {
            return Err(SendError::UnbufferedNotPossible);
        }
        let (encoded, which) = if plan.compress {
            self.shared_deflated(msg)?
        } else {
            (msg.plain(), FrameOf::Plain)
        };
        if plan.split != 0 && encoded.payload().len() > plan.split {
            return Err(SendError::UnbufferedNotPossible);
        }
        Ok((encoded.frame(), which))
    }

    /// The shared compressed encoding in the lock-free slot, for a direct write.
    #[cfg(feature = "deflate")]
    fn shared_deflated<'m>(
        &self,
        msg: &'m PreparedMessage,
    ) -> Result<(&'m Encoded, FrameOf), SendError> {
        let key = self
            .compression
            .shared_key()
            .ok_or(SendError::UnbufferedNotPossible)?;
        match msg.deflated(key) {
            Some(crate::prepared::Compressed::First(encoded)) => Ok((encoded, FrameOf::Deflated)),
            Some(crate::prepared::Compressed::Other(_)) => Err(SendError::UnbufferedNotPossible),
            None => Err(SendError::CompressionFailed),
        }
    }

    #[cfg(not(feature = "deflate"))]
    fn shared_deflated<'m>(
        &self,
        _msg: &'m PreparedMessage,
    ) -> Result<(&'m Encoded, FrameOf), SendError> {
        Err(SendError::UnbufferedNotPossible)
    }

    fn sent(&mut self, len: usize) {
        self.stats.message(len as u64);
        self.pongs = PendingPongs::default();
    }
}
