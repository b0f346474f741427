//! The small-message lane: while `receive` copies a run of whole frames with payloads of at
//! most 125 bytes (or `commit_read` unmasks them in place), it also classifies them with the
//! frame rules and validates their text in one call for the whole run, so that each event is
//! then a few loads. The frames stay in the input buffer; whenever the lane cannot deliver
//! them in order, the general decoder drops it and reads them again.

use alloc::string::String;
use alloc::vec::Vec;

use crate::connection::recv::rules::SmallFrames;
use crate::connection::recv::{Inbound, Owed, RecvState};
use crate::connection::send::Outbound;
use crate::error::ProtocolError;
use crate::event::{Event, Message};
use crate::frame::{mask_small, KEY_REPEAT};

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
    /// Bytes from `from` that are whole frames that `FrameRules::small_whole` accepts (whole
    /// messages when no message is in progress), each with a payload of at most 125 bytes
    /// behind a header of `FrameRules::short_header_len` bytes.
    pub(crate) bytes: usize,
    /// The text payloads of those frames, in order, after the ones already delivered.
    pub(crate) text: String,
    /// Where the next undelivered text starts in `text`.
    pub(crate) pos: usize,
}

impl Lane {
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
    pub(crate) fn shifted(&mut self, shift: usize) {
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
pub(super) struct LaneBatch {
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
        let window = self
            .bytes
            .get_mut(self.filled..)?
            .first_chunk_mut::<TEXT_WINDOW>()?;
        self.filled += len;
        Some(window)
    }

    /// Appends `bytes` (within the room `make_room` made).
    fn put(&mut self, bytes: &[u8]) {
        let at = self.filled;
        let dst = self.bytes.get_mut(at..at + bytes.len());
        debug_assert!(dst.is_some(), "lane text without the room make_room made");
        if let Some(dst) = dst {
            dst.copy_from_slice(bytes);
            self.filled += bytes.len();
        }
    }

    /// The text, cut to what was filled.
    fn finish(&mut self) -> (Vec<u8>, usize, usize) {
        self.bytes.truncate(self.filled);
        (
            core::mem::take(&mut self.bytes),
            self.text_before,
            self.lane_before,
        )
    }
}

impl Inbound {
    /// The common case of small messages, in one tight loop: copies the whole frames with
    /// payloads of at most 125 bytes at the front of `data` (unmasking them) and adds them to
    /// the lane. It takes only frames that the lane can deliver, that is one-frame text or
    /// binary messages within every limit, and stops at anything else (a longer or partial
    /// frame, a control frame, a frame the general decoder must judge), which the general
    /// path then copies. Returns the bytes taken.
    #[inline]
    pub(super) fn receive_small_frames(
        &mut self,
        data: &[u8],
        batch: &mut Option<LaneBatch>,
    ) -> usize {
        let rules = &self.st.rules;
        let Some(mut small) = SmallFrames::new(rules, self.st.lane_memo) else {
            return 0;
        };
        let Some(batch) = self.lane.batch_at(self.buf.end(), batch) else {
            return 0;
        };
        let header_len = rules.short_header_len();
        let server = header_len == 6;
        // Text is bounded like a read: beyond that, frames take the general path.
        let max_text = self.st.config.max_read_size;
        let spare = self.buf.spare_mut();
        let mut pos = 0;
        while let Some(rest) = data.get(pos..) {
            let Some((len, text)) = small.frame(rules, rest) else {
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
        self.st.lane_memo = small.memo();
        self.lane.bytes += pos;
        self.buf.commit(pos);
        pos
    }

    /// [`receive_small_frames`](Self::receive_small_frames) for bytes a read already put in
    /// the buffer (`commit_read`): the whole small frames from absolute position `from` to
    /// `end` are unmasked in place and added to the lane. Returns the bytes taken.
    pub(super) fn scan_small_frames(
        &mut self,
        from: usize,
        end: usize,
        batch: &mut Option<LaneBatch>,
    ) -> usize {
        let rules = &self.st.rules;
        let Some(mut small) = SmallFrames::new(rules, self.st.lane_memo) else {
            return 0;
        };
        let Some(batch) = self.lane.batch_at(from, batch) else {
            return 0;
        };
        let header_len = rules.short_header_len();
        let server = header_len == 6;
        let max_text = self.st.config.max_read_size;
        let data = self.buf.data_mut();
        let mut pos = from;
        while let Some(rest) = data.get(pos..end) {
            let Some((len, text)) = small.frame(rules, rest) else {
                break;
            };
            let total = header_len + len;
            if rest.len() < total || (text && !batch.make_room(len, rest.len(), max_text)) {
                break;
            }
            let key = match rest.get(2..).and_then(|k| k.first_chunk::<4>()) {
                Some(&k) if server => u128::from(u32::from_ne_bytes(k)) * KEY_REPEAT,
                _ => 0,
            };
            let at = pos + header_len;
            match (text, data.get_mut(at..pos + total)) {
                (true, Some(payload)) => match batch.window(len) {
                    Some(window) => unmask_into_window(payload, key, window),
                    // `make_room` made the window; without it, byte-exact.
                    None => {
                        mask_small(payload, key);
                        batch.put(payload);
                    }
                },
                (false, Some(payload)) => mask_small(payload, key),
                // `pos + total <= end`: checked above.
                (_, None) => {}
            }
            pos += total;
        }
        self.st.lane_memo = small.memo();
        let taken = pos - from;
        self.lane.bytes += taken;
        taken
    }

    /// Validates the text payloads that joined the lane in one `receive` or `commit_read`
    /// call, all at once.
    /// If any of them is not UTF-8, those frames leave the lane again and the general
    /// decoder, checking message by message, delivers the valid ones before failing the
    /// connection at the first invalid one (§8.1).
    /// (Taken by reference: moving the batch by value into the call cost a store-forwarding
    /// stall on every read, measured as 10% of a small-message echo.)
    pub(super) fn validate_lane(&mut self, batch: &mut LaneBatch) {
        let lane = &mut self.lane;
        let (bytes, text_before, lane_before) = batch.finish();
        match String::from_utf8(bytes) {
            Ok(text) => lane.text = text,
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.truncate(text_before);
                match String::from_utf8(bytes) {
                    Ok(text) => lane.text = text,
                    // Text that was in the lane before this call was valid: this cannot
                    // happen. Were it to, every frame goes back to the general decoder.
                    Err(_) => {
                        debug_assert!(false, "the lane's earlier text became invalid");
                        lane.reset();
                        return;
                    }
                }
                lane.bytes = lane_before;
            }
        }
    }
}

/// Delivers the next frame of the lane: its header was classified and its text validated by
/// `receive`, so only the lengths are read again here.
#[inline]
pub(crate) fn lane_event<'a>(inb: &'a mut Inbound, out: &mut Outbound) -> Event<'a> {
    let Inbound { buf, st, lane, .. } = inb;
    let header_len = st.rules.short_header_len();
    let &[b0, b1, ..] = buf.bytes() else {
        return Event::Closed(st.internal("lane without a frame", out));
    };
    let len = usize::from(b1 & 0x7F);
    let total = header_len + len;
    let start = buf.start() + header_len;
    lane.bytes = lane.bytes.saturating_sub(total);
    lane.from += total;
    // Consumed now (the bytes stay where they are while the event borrows them), so that the
    // next poll owes nothing; only an emptied buffer waits for it, to be shrunk once the
    // event's borrow has ended.
    buf.consume(total);
    st.owed = if buf.is_empty() {
        Owed::Input(0)
    } else {
        Owed::Nothing
    };
    st.stats.frames += 1;
    st.stats.message(len as u64);
    if b0 & 0x0F == 0x1 {
        let from = lane.pos;
        lane.pos += len;
        // Validated as part of the lane's text; a payload that ends or starts inside a code
        // point (valid only together with its neighbour) is not a boundary there.
        return match lane.text.get(from..from + len) {
            Some(text) => Event::Message(Message::Text(text)),
            // Failing ends input: the next settling drops the lane with it.
            None => Event::Closed(st.fail(ProtocolError::InvalidUtf8, out)),
        };
    }
    match buf.data().get(start..start + len) {
        Some(bytes) => Event::Message(Message::Binary(bytes)),
        None => Event::Closed(st.internal("lane frame past the buffer", out)),
    }
}

/// For the decide step: whether the lane's next frame can be rendered without failing. The
/// lane validates its frames' text as one run, so a text frame that starts or ends inside a
/// code point (valid only together with its neighbour: not a message of its own) is found
/// here, by the same boundary check [`lane_event`] makes.
#[inline]
pub(crate) fn lane_next_renders(inb: &Inbound) -> bool {
    let &[b0, b1, ..] = inb.buf.bytes() else {
        return false;
    };
    if b0 & 0x0F != 0x1 {
        return true;
    }
    let from = inb.lane.pos;
    inb.lane
        .text
        .get(from..from + usize::from(b1 & 0x7F))
        .is_some()
}

/// Whether the frames in the lane can be delivered from it now (after settling what the
/// previous event owes). If not, the general decoder drops the lane and decodes them again.
#[inline]
pub(crate) fn lane_ready(lane: &Lane, st: &RecvState, start: usize) -> bool {
    // The state the lane's frames were checked for: no frame or message in progress, and
    // nothing left in front of them.
    start == lane.from && st.idle()
}

/// Unmasks a small text payload in place and copies it to its room in the lane's text, one
/// 16-byte block at a time from registers: unmasking in place first and then copying the
/// block back out made every small text frame wait on a failed store-to-load forward (a
/// 16-byte load of two 8-byte stores), measured as a fifth of decoding 16-byte messages.
#[inline(always)]
fn unmask_into_window(payload: &mut [u8], key: u128, window: &mut [u8; TEXT_WINDOW]) {
    let (blocks, tail) = payload.as_chunks_mut::<16>();
    let (rooms, _) = window.as_chunks_mut::<16>();
    let mut rooms = rooms.iter_mut();
    for block in blocks {
        let clear = (u128::from_ne_bytes(*block) ^ key).to_ne_bytes();
        *block = clear;
        if let Some(room) = rooms.next() {
            *room = clear;
        }
    }
    if tail.is_empty() {
        return;
    }
    // The blocks covered a multiple of 4 bytes: the tail starts at key phase 0 again.
    let mut last = [0u8; 16];
    if let Some(start) = last.get_mut(..tail.len()) {
        start.copy_from_slice(tail);
    }
    let clear = (u128::from_ne_bytes(last) ^ key).to_ne_bytes();
    if let Some(start) = clear.get(..tail.len()) {
        tail.copy_from_slice(start);
    }
    if let Some(room) = rooms.next() {
        *room = clear;
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
    #[inline(always)]
    fn copy_exact(&self, dst: &mut [u8], src: &[u8], text: Option<&mut LaneBatch>) {
        let total = self.header_len + self.len;
        // The caller checked that both hold the whole frame.
        let (Some(dst), Some(src)) = (dst.get_mut(..total), src.get(..total)) else {
            debug_assert!(false, "a small frame copied without room");
            return;
        };
        dst.copy_from_slice(src);
        let (_, payload) = dst.split_at_mut(self.header_len.min(total));
        // At most 125 bytes: the small-payload loop (the key is 0 for unmasked frames).
        mask_small(payload, self.key);
        if let Some(t) = text {
            t.put(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Connection, Event, Message};

    /// Masked client text frames "message 0", "message 1", …
    fn frames(count: usize) -> (Vec<u8>, Vec<String>) {
        let key = [0x12, 0x34, 0x56, 0x78];
        let texts: Vec<String> = (0..count).map(|i| format!("message {i}")).collect();
        let mut wire = Vec::new();
        for t in &texts {
            wire.extend_from_slice(&[0x81, 0x80 | t.len() as u8]);
            wire.extend_from_slice(&key);
            wire.extend(t.bytes().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        }
        (wire, texts)
    }

    /// The lane only accelerates: without it the general decoder delivers the same events, so
    /// only its state tells whether a run of small frames took it. Every whole frame does,
    /// through `commit_read` and `receive` alike (the last one ending exactly at the end of
    /// the input), and each event takes exactly its frame off the lane.
    #[test]
    fn runs_of_small_frames_take_the_lane() {
        let (wire, texts) = frames(50);
        for through_read_buf in [true, false] {
            let config = Config::new().with_read_sizes(4096, 64 * 1024);
            let mut conn = Connection::upgraded_server(config, &[]);
            if through_read_buf {
                let buf = conn.read_buf();
                assert!(buf.len() >= wire.len());
                buf[..wire.len()].copy_from_slice(&wire);
                conn.commit_read(wire.len());
            } else {
                assert_eq!(conn.receive(&wire), wire.len());
            }
            assert_eq!(conn.inb.lane.bytes, wire.len());
            let mut left = wire.len();
            for t in &texts {
                assert_eq!(
                    conn.poll_event(),
                    Some(Event::Message(Message::Text(t.as_str())))
                );
                left -= 6 + t.len();
                assert_eq!(conn.inb.lane.bytes, left);
            }
            assert_eq!(conn.poll_event(), None);
        }
    }
}
