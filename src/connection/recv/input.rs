//! The input buffer and read-ahead unmasking: `receive` copies bytes in, `read_buf` and
//! `commit_read` let a socket read straight into the buffer. Payload bytes are unmasked as
//! they enter (one pass: while copying in `receive`, in place right after a read in
//! `commit_read`), so that decoding later only looks at headers and hands out slices.
//!
//! Every entry point takes the input limit of the current phase, or `None` once input is
//! discarded (a close frame arrived, or the connection ended): bytes are then reported as
//! taken and dropped.

use crate::connection::recv::Inbound;
use crate::frame::{
    apply_mask, apply_mask_copy, header_len_from_b1, mask_copy_blocks, FrameHeader, OpCode, Status,
};

/// Unmasks payload bytes as they arrive by following frame headers ahead of the decoder.
///
/// It only parses headers structurally; the decoder re-parses them and enforces every rule,
/// and where the scanner meets a header it cannot parse it stops, leaving the decoder to
/// report the error at the same place.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scanner {
    pub(crate) on: bool,
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
    /// A whole close frame went by: the peer's close has arrived, whether or not the
    /// application has polled it yet (which side closed first is decided by arrival, §7).
    close_arrived: bool,
    /// The current frame is a close frame.
    close_started: bool,
}

/// Frames from this size on end a `receive` call early and bound reads (see `receive`).
const LARGE_FRAME: u64 = 64 * 1024;

impl Scanner {
    /// Whether a whole close frame from the peer has arrived.
    #[inline]
    pub(crate) fn close_arrived(&self) -> bool {
        self.close_arrived || (self.close_started && self.left == 0)
    }

    /// Follows a header that was just parsed.
    #[inline]
    fn start(&mut self, header: &FrameHeader) {
        // The previous frame is complete when the next one starts.
        self.close_arrived |= self.close_started;
        self.close_started = header.opcode == OpCode::Close;
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

impl Inbound {
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

    /// Copies input in, unmasking payload bytes on the way. Returns the bytes taken: all of
    /// them when input is discarded (`limit` is `None`).
    pub(crate) fn receive(&mut self, data: &[u8], limit: Option<usize>) -> usize {
        // Whatever `read_buf` offered may move now.
        self.st.offered = 0;
        let Some(limit) = limit else {
            return data.len();
        };
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
                // Within the buffer: `have` is at most `end`.
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
        if let Some(batch) = &mut batch {
            self.validate_lane(batch);
        }
        let taken = n - rest.len();
        self.st.stats.bytes += taken as u64;
        taken
    }

    /// The free space a read should fill. When input is discarded (`limit` is `None`) the
    /// buffer is emptied and offered whole, so that a driver can read on to end of stream.
    pub(crate) fn read_buf(&mut self, limit: Option<usize>) -> &mut [u8] {
        let mut want = self.st.read_size;
        let limit = match limit {
            Some(limit) => limit,
            None => {
                self.discard_input();
                want
            }
        };
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
        let len = spare.len().min(most);
        self.st.offered = len;
        // `len` is at most the spare length.
        spare.get_mut(..len).unwrap_or_default()
    }

    /// Takes `n` bytes written into [`read_buf`](Self::read_buf): at most what it offered,
    /// and nothing if any other input call came in between (the offer is void then, since
    /// the buffer may have moved) or input is discarded (`discard`).
    pub(crate) fn commit_read(&mut self, n: usize, discard: bool) {
        let offered = core::mem::take(&mut self.st.offered);
        let n = n.min(offered).min(self.buf.spare_mut().len());
        if n >= offered && n > 0 {
            // The read filled everything offered: offer more next time.
            self.st.read_size = self
                .st
                .read_size
                .saturating_mul(2)
                .min(self.st.config.max_read_size);
        }
        if discard || n == 0 {
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
            if let Some(batch) = &mut batch {
                self.validate_lane(batch);
            }
        }
    }
}
