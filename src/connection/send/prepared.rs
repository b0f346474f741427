//! Sending a [`PreparedMessage`]: the same checks as any whole message, then the shared
//! encoding at the head of the output (no copy) when nothing else waits to be written, else
//! one copy of it into the output.

use super::{Outbound, PendingPongs, SharedHead};
use crate::error::SendError;
use crate::prepared::{Encoded, FrameOf, PreparedMessage};

impl Outbound {
    /// Sends a prepared message: as [`send_whole`](Self::send_whole), but from encodings
    /// shared by every connection that can use them.
    #[inline]
    pub(crate) fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<(), SendError> {
        if !self.wants_write() && self.rng.is_none() {
            if let Ok((frame, which)) = self.shared_frame_for(msg) {
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
                return self.sent(msg.len());
            }
        }
        if self.send_shared_frame(msg) {
            return Ok(());
        }
        self.send_prepared_general(msg)
    }

    /// The common case of fan-out, without the general path's steps: a server, open, no
    /// fragmented message in progress, nothing to compress or fragment, and room for the
    /// frame in the output within the backlog. Returns `false` with nothing done otherwise;
    /// the general path then decides the same way.
    #[inline]
    fn send_shared_frame(&mut self, msg: &PreparedMessage) -> bool {
        let (frame, len) = (msg.server_frame(), msg.len());
        if self.rng.is_some()
            || !self.link.phase().sends_data()
            || self.sending.is_some()
            || (self.fragment_size != 0 && len > self.fragment_size)
            || (msg.may_compress() && self.compression.wants(len))
            || self.buf.len() + frame.len() > self.max_backlog
        {
            return false;
        }
        let Some(dst) = self.buf.spare_mut().get_mut(..frame.len()) else {
            // The buffer must grow: the general path's business.
            return false;
        };
        dst.copy_from_slice(frame);
        self.buf.commit(frame.len());
        self.stats.frames += 1;
        self.stats.message(len as u64);
        self.pongs = PendingPongs::default();
        true
    }

    #[inline(never)]
    fn send_prepared_general(&mut self, msg: &PreparedMessage) -> Result<(), SendError> {
        self.check_data()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentSequence);
        }
        let len = msg.len();
        if msg.may_compress() && self.compression.wants(len) {
            #[cfg(feature = "deflate")]
            if let Some(key) = self.compression.shared_key() {
                let compressed = msg.deflated(key).ok_or(SendError::CompressionFailed)?;
                self.write_encoded(msg, &compressed, 0b100)?;
                return self.sent(len);
            }
            // With context takeover the message is compressed against this connection's own
            // history: nothing to share.
            return self.send_whole(msg.kind(), msg.payload(), true);
        }
        self.write_encoded(msg, msg.plain(), 0)?;
        self.sent(len)
    }

    /// Queues `encoded` (`rsv` on its first frame): the shared frame as it is where this
    /// connection would encode it the same way (a server, no fragmentation needed), else its
    /// own frames around the shared payload (split by `fragment_size`, masked by a client).
    fn write_encoded(
        &mut self,
        msg: &PreparedMessage,
        encoded: &Encoded,
        rsv: u8,
    ) -> Result<(), SendError> {
        let payload = encoded.payload();
        let fits = self.fragment_size == 0 || payload.len() <= self.fragment_size;
        if self.rng.is_none() && fits {
            let frame = encoded.frame();
            self.reserve(frame.len(), self.max_backlog)?;
            self.buf.push(frame);
            self.stats.frames += 1;
        } else {
            self.reserve(self.frames_len(payload.len()), self.max_backlog)?;
            self.write_frames(msg.kind().opcode(), rsv, payload);
        }
        Ok(())
    }

    /// Accepts a prepared message whose frame the caller writes itself, straight from the
    /// shared bytes: a server with empty output, where the frame goes out as one shared
    /// frame (no fragmentation; compressed only from the lock-free slot of the shared
    /// encodings). Counted as sent and written, as
    /// [`encode_unbuffered`](Self::encode_unbuffered) counts.
    pub(crate) fn send_prepared_unbuffered<'m>(
        &mut self,
        msg: &'m PreparedMessage,
    ) -> Result<&'m [u8], SendError> {
        if self.wants_write() {
            self.check_data()?;
            if self.sending.is_some() {
                return Err(SendError::FragmentSequence);
            }
            return Err(SendError::UnbufferedNotPossible);
        }
        let (frame, _) = self.shared_frame_for(msg)?;
        self.stats.bytes += frame.len() as u64;
        self.stats.frames += 1;
        self.sent(msg.len())?;
        Ok(frame)
    }

    /// The shared frame this connection sends `msg` as, where it sends one: a server, open,
    /// no fragmented message in progress, the frame within the backlog and not split by the
    /// fragment size; compressed only from the lock-free slot of the shared encodings.
    /// Counts nothing.
    fn shared_frame_for<'m>(
        &self,
        msg: &'m PreparedMessage,
    ) -> Result<(&'m [u8], FrameOf), SendError> {
        self.check_data()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentSequence);
        }
        if self.rng.is_some() {
            return Err(SendError::UnbufferedNotPossible);
        }
        let len = msg.len();
        let (encoded, which) = if msg.may_compress() && self.compression.wants(len) {
            self.shared_deflated(msg)?
        } else {
            (msg.plain(), FrameOf::Plain)
        };
        if self.fragment_size != 0 && encoded.payload().len() > self.fragment_size {
            return Err(SendError::UnbufferedNotPossible);
        }
        let frame = encoded.frame();
        if frame.len() > self.max_backlog.saturating_sub(self.buf.len()) {
            return Err(SendError::OutputFull);
        }
        Ok((frame, which))
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

    fn sent(&mut self, len: usize) -> Result<(), SendError> {
        self.stats.message(len as u64);
        self.pongs = PendingPongs::default();
        Ok(())
    }
}
