//! A byte buffer with a consumed prefix, used for input and output.
//!
//! The backing `Vec` is always fully initialised (its length is its capacity), so that a socket
//! can read straight into the free space (`spare_mut`) and masking can write straight into it,
//! all in safe code. Live bytes are `data[start..end]`.

use alloc::vec::Vec;

/// The buffer cannot take that many more bytes without exceeding its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

#[derive(Debug, Default)]
pub(crate) struct ByteBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// The most live bytes held since the buffer was last empty.
    peak: usize,
}

impl ByteBuf {
    pub(crate) const fn new() -> ByteBuf {
        ByteBuf {
            data: Vec::new(),
            start: 0,
            end: 0,
            peak: 0,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// Heap bytes held.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }

    /// The live bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        // `start <= end <= data.len()` always holds (every method keeps it).
        self.data.get(self.start..self.end).unwrap_or_default()
    }

    /// The whole initialised region, for positions kept as absolute indices.
    #[inline]
    /// Where the buffer is and what it holds: a value that changes with every call that
    /// could move or change its bytes.
    pub(crate) fn mark(&self) -> [usize; 3] {
        [self.data.as_ptr().addr(), self.start, self.end]
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Drops `n` bytes from the front.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops every byte at or after absolute position `at`.
    pub(crate) fn truncate_at(&mut self, at: usize) {
        self.end = at.clamp(self.start, self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops all bytes.
    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Makes at least `extra` bytes free after the live bytes without holding more than
    /// `limit` live bytes. Returns by how much absolute positions moved down (live bytes are
    /// moved to the front when that makes room).
    ///
    /// Live bytes are moved only when the consumed gap in front of them is at least as large
    /// as they are, so each byte is moved at most once per byte consumed (no repeated large
    /// moves when a buffer hovers near its limit); otherwise the buffer grows, to at most
    /// twice the limit in capacity, and once there the live bytes are moved after all.
    pub(crate) fn reserve(&mut self, extra: usize, limit: usize) -> Result<usize, Full> {
        self.reserve_within(extra, limit, limit)
    }

    /// [`reserve`](Self::reserve) for bytes that may go past `limit` (small control frames
    /// and HTTP heads queued whatever the backlog): any number of live bytes is accepted, but
    /// capacity still grows to at most twice `limit` (or to what is needed, when more), so a
    /// peer that times its pings against a nearly full backlog cannot double the buffer again.
    pub(crate) fn reserve_past(&mut self, extra: usize, limit: usize) -> Result<usize, Full> {
        self.reserve_within(extra, usize::MAX, limit)
    }

    fn reserve_within(
        &mut self,
        extra: usize,
        limit: usize,
        capacity_limit: usize,
    ) -> Result<usize, Full> {
        let live = self.len();
        let needed = live.checked_add(extra).ok_or(Full)?;
        // The limit applies to live bytes, whatever capacity earlier growth left behind.
        if needed > limit {
            return Err(Full);
        }
        if self.data.len() - self.end >= extra {
            return Ok(0);
        }
        let shift = self.start;
        let cap = needed
            .max(self.data.len().saturating_mul(2))
            .min(capacity_limit.saturating_mul(2))
            .max(needed);
        if self.data.len() >= needed && (self.start >= live || cap <= self.data.len()) {
            // Down to the front, a piece at a time (each piece moves below where the next
            // one starts reading).
            let mut at = 0;
            while at < live {
                let n = (live - at).min(COPY_PIECE);
                self.data
                    .copy_within(self.start + at..self.start + at + n, at);
                at += n;
            }
        } else {
            // A fresh zeroed allocation (calloc: no memset for large sizes) and one copy of the
            // live bytes, rather than a realloc that would also copy the consumed prefix.
            let mut data = alloc::vec![0u8; cap];
            if let (Some(dst), Some(src)) =
                (data.get_mut(..live), self.data.get(self.start..self.end))
            {
                copy_in_pieces(dst, src);
            }
            self.data = data;
        }
        self.start = 0;
        self.end = live;
        Ok(shift)
    }

    /// The free space after the live bytes.
    #[inline]
    pub(crate) fn spare_mut(&mut self) -> &mut [u8] {
        // `end <= data.len()` always holds (every method keeps it).
        self.data.get_mut(self.end..).unwrap_or_default()
    }

    /// The free space after the live bytes, at least `n` bytes of it. Callers reserve first;
    /// were they not to, the buffer grows here rather than lose bytes (debug builds stop, so
    /// that the tests find the caller).
    #[inline]
    pub(crate) fn spare_at_least(&mut self, n: usize) -> &mut [u8] {
        let needed = self.end.saturating_add(n);
        if self.data.len() < needed {
            self.grow_unreserved(needed);
        }
        self.data.get_mut(self.end..).unwrap_or_default()
    }

    #[cold]
    #[inline(never)]
    fn grow_unreserved(&mut self, needed: usize) {
        debug_assert!(false, "a write of {needed} bytes without a reservation");
        self.data.resize(needed, 0);
    }

    /// Marks `n` bytes of the free space as live.
    #[inline]
    pub(crate) fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(self.data.len());
        self.note_peak();
    }

    /// Appends bytes; the caller has reserved room (if not, the buffer grows: bytes are never
    /// dropped).
    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        if let Some(dst) = self.spare_at_least(n).get_mut(..n) {
            copy_in_pieces(dst, bytes);
            self.end += n;
            self.note_peak();
        }
    }

    /// Frees the memory of an empty buffer.
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            self.data = Vec::new();
            self.start = 0;
            self.end = 0;
            self.peak = 0;
        }
    }

    /// Frees an empty buffer that grew beyond `retain` bytes for traffic that is now much
    /// smaller than it: a large message does not pin its memory for the rest of the
    /// connection, while steady large traffic keeps its buffer (no allocation per message).
    ///
    /// Each emptying is judged once: a second call before any byte arrived again (peak 0)
    /// changes nothing, so the buffer a large message needed survives callers that settle
    /// twice.
    pub(crate) fn maybe_shrink(&mut self, retain: usize) {
        if self.is_empty() && self.peak > 0 {
            if self.data.len() > retain && self.peak < self.data.len() / 8 {
                self.release();
            }
            self.peak = 0;
        }
    }

    #[inline]
    fn note_peak(&mut self) {
        let live = self.end - self.start;
        if live > self.peak {
            self.peak = live;
        }
    }
}

/// Copies of more than 2 KiB go in pieces of this size. glibc's `memcpy` switches to
/// `rep movsb` from 2,112 bytes on CPUs with fast short `rep movsb` (FSRM), and on the AMD
/// EPYC this project measures on, that runs at 3 GB/s instead of 55 when the destination
/// sits 1 to 15 bytes past the source modulo 4 KiB (`benches/copy_offsets.rs`: 64 KiB at
/// every relative offset); copies of 2 KiB take the vector loop, at 35 GB/s or more at every
/// offset. Where a payload sits in a buffer relative to where it goes is arbitrary (header
/// lengths, earlier messages, the allocator), so large copies go in pieces.
pub(crate) const COPY_PIECE: usize = 2048;

/// `dst.copy_from_slice(src)` (the same lengths) in pieces of at most [`COPY_PIECE`].
#[inline]
pub(crate) fn copy_in_pieces(dst: &mut [u8], src: &[u8]) {
    if src.len() <= COPY_PIECE {
        dst.copy_from_slice(src);
        return;
    }
    for (d, s) in dst.chunks_mut(COPY_PIECE).zip(src.chunks(COPY_PIECE)) {
        d.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_moves_live_bytes_to_the_front_and_reports_the_shift() {
        let mut b = ByteBuf::new();
        assert_eq!(b.reserve(8, 16), Ok(0));
        b.push(b"abcdefgh");
        b.consume(6);
        assert_eq!(b.reserve(7, 16), Ok(6));
        assert_eq!(b.bytes(), b"gh");
        assert!(b.spare_mut().len() >= 7);
        assert_eq!(b.reserve(15, 16), Err(Full));
    }

    /// Control frames go out past the backlog limit, but a peer that times its pings against
    /// a nearly full backlog must not double the capacity past twice the limit.
    #[test]
    fn reserve_past_the_limit_keeps_capacity_within_twice_the_limit() {
        let limit = 1000;
        let mut b = ByteBuf::new();
        // Data grows the buffer to twice the limit: full, one byte written out, one more byte.
        b.reserve(limit, limit).unwrap();
        b.push(&[1; 1000]);
        b.consume(1);
        b.reserve(1, limit).unwrap();
        b.push(&[2]);
        assert_eq!(b.capacity(), 2 * limit);
        // Most of it written out, then more data: 960 live bytes behind a 940-byte gap,
        // 100 bytes free at the end.
        b.consume(940);
        b.reserve(900, limit).unwrap();
        b.push(&[3; 900]);
        assert_eq!((b.len(), b.spare_mut().len()), (960, 100));
        // A pong-sized reservation past the limit moves the bytes instead of growing to 4×.
        b.reserve_past(131, limit).unwrap();
        assert_eq!(b.capacity(), 2 * limit);
        assert!(b.spare_mut().len() >= 131);
        assert_eq!(b.bytes().first(), Some(&1));
        assert_eq!(b.bytes().last(), Some(&3));
        b.push(&[4; 131]);
        assert_eq!(b.len(), 1091);
        // Past the limit in live bytes, which only `reserve_past` may do.
        assert_eq!(b.reserve(1, limit), Err(Full));
        assert!(b.reserve_past(1000, limit).is_ok());
        assert!(b.capacity() >= 2091);
    }
}
