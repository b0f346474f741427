//! The decompressor of permessage-deflate: raw deflate through `miniz_oxide`, bounded by the
//! message limit, and strict about where a message ends.
//!
//! RFC 7692 §7.2.1 makes a sender end every compressed message with an empty stored block
//! and remove its last four bytes, `00 00 ff ff`; §7.2.2 has the receiver append them again.
//! A message whose data does not end where that block's header leaves off (inside a stored
//! block, inside a Huffman block, or right after a complete block) would take the appended
//! bytes for something else: content (made-up bytes), part of a code (a truncated message),
//! or the start of a block that swallows the next message. So after the tail the
//! decompressor must stand exactly on a block boundary, having produced nothing from the
//! tail: that is checked here, with `miniz_oxide`'s block-boundary stop
//! (`TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY`), which zlib's `Z_BLOCK` offers only through an
//! `unsafe` call. A message may also end right after a final block (BFINAL, §7.2.3.4): its
//! stream ended there, and nothing was made up.
//!
//! Output goes into a buffer of the decompressor's own: the last 32 KiB (deflate's largest
//! window) plus room for 16 KiB more. It is used without wrapping, so the decompressor
//! checks every distance against the bytes actually produced in the current context: a
//! message cannot reach into a previous one when the peer resets its context, nor into a
//! message another connection inflated with a shared decompressor (`deflate::pool`).

use alloc::boxed::Box;
use alloc::vec;

use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY,
    TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress_with_limit, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use super::codec::TAIL;
use super::{DeflateParams, DeflatePool};

/// The history a back-reference may reach: deflate's largest window.
const HISTORY: usize = 32 * 1024;
/// Room for output beyond the history; when it is used up, the history is moved to the front.
const ROOM: usize = 16 * 1024;
const BUF: usize = HISTORY + ROOM;

/// Blocks a message may hold besides one per KiB of its size limit. Every Huffman block costs
/// the decoder a table build (about 2 µs for miniz_oxide, which builds even the fixed tables
/// anew), so a flood of empty blocks would cost far more time than the bytes that carry it
/// (CVE-2026-128131 class); counted against the limit, a message's work stays within that
/// of inflating a message of the limit's size. Compressors emit a block per 16 K or so
/// symbols, and one more per flush: far fewer.
const FREE_BLOCKS: u64 = 64;
const BYTES_PER_BLOCK: u64 = 1024;

/// Raw deflate (no zlib header, no checksum), output into a buffer that holds the history,
/// stopping at every block boundary.
const FLAGS: u32 = TINFL_FLAG_HAS_MORE_INPUT
    | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
    | TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY;

/// Compressed data could not be decompressed, or inflated past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    Corrupt,
    TooBig,
}

/// Where the deflate stream stands after the last call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stand {
    /// Between two blocks (or before the first one of a context).
    Boundary,
    /// Inside a block, or inside a block's header.
    InBlock,
    /// Output room ran out inside a block: call again, with or without input.
    OutputFull,
    /// A final block (BFINAL) ended the stream; what follows, if anything, starts a new one.
    Ended,
}

/// The decompressor of one connection (or, without context takeover, of one message at a
/// time of any connection).
pub(crate) struct Inflater {
    core: Box<DecompressorOxide>,
    /// The history and room for new output; `buf[..pos]` was produced in this context.
    buf: Box<[u8]>,
    pos: usize,
    stand: Stand,
    peer_no_context_takeover: bool,
    /// Bytes produced for the current message.
    produced: u64,
    /// Blocks the current message's data has ended so far.
    blocks: u64,
    /// Compressed bytes were fed for the current message.
    fed: bool,
    /// The data was found corrupt after some output was handed on: report it next time, so
    /// that the error comes after that output whatever way the input was split.
    failed: bool,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Inflater(..)")
    }
}

/// One call's result: input used, output produced (at `pos` before the call), whether the
/// stream moved at all, and what went wrong, if anything.
struct Round {
    used: usize,
    produced: usize,
    /// Input used, output produced, or a block ended: the end of a block whose last bytes
    /// filled the previous call's room is reached by a call that uses and produces nothing.
    moved: bool,
    error: Option<InflateError>,
}

impl Inflater {
    /// The heap one takes: the decoder's tables and the output buffer, whatever the window.
    pub(crate) const HEAP: usize = core::mem::size_of::<DecompressorOxide>() + BUF;

    pub(crate) fn new(params: &DeflateParams) -> Inflater {
        Inflater {
            core: Box::default(),
            buf: vec![0; BUF].into_boxed_slice(),
            pos: 0,
            stand: Stand::Boundary,
            peer_no_context_takeover: params.peer_no_context_takeover,
            produced: 0,
            blocks: 0,
            fed: false,
            failed: false,
        }
    }

    /// A decompressor for these parameters: when the peer resets its context after every
    /// message, one given back to the shared pool by any connection if there is one (see
    /// `deflate::pool`).
    pub(crate) fn take_or_new(params: &DeflateParams, pool: &DeflatePool) -> Inflater {
        if params.peer_no_context_takeover {
            if let Some(inflater) = pool.take_inflater() {
                return inflater;
            }
        }
        Inflater::new(params)
    }

    /// Whether it can serve another connection's next message: its context is reset after
    /// every message, it is between two messages, and it never failed.
    pub(crate) fn is_reusable(&self) -> bool {
        self.peer_no_context_takeover
            && !self.failed
            && !self.fed
            && self.produced == 0
            && self.pos == 0
    }

    /// Whether corrupt data was found after the output before it was handed on.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed
    }

    /// One call into the decoder. Its output lands at `buf[pos..]` (the history is moved to
    /// the front first when the room behind it is used up): at most `cap` bytes, and at most
    /// one byte past `limit` for the message, so that crossing the limit is seen without
    /// inflating further.
    fn round(&mut self, input: &[u8], limit: u64, cap: usize) -> Round {
        let before = self.stand;
        if self.stand == Stand::Ended && !input.is_empty() {
            // A new stream follows a final block within the message (§7.2.3.4); the history
            // stays, as it does from one message to the next.
            self.core.init();
            self.stand = Stand::Boundary;
        }
        if self.pos >= BUF {
            self.buf.copy_within(BUF - HISTORY..BUF, 0);
            self.pos = HISTORY;
        }
        let to_limit = limit.saturating_sub(self.produced).saturating_add(1);
        let max_out = usize::try_from(to_limit)
            .unwrap_or(usize::MAX)
            .min(cap)
            .min(BUF - self.pos);
        let (status, used, produced) = decompress_with_limit(
            &mut self.core,
            input,
            &mut self.buf,
            self.pos,
            max_out,
            FLAGS,
        );
        self.fed |= used > 0;
        // The decoder never reports more than the room it was given.
        let produced = produced.min(BUF - self.pos);
        self.pos += produced;
        self.produced += produced as u64;
        self.stand = match status {
            TINFLStatus::BlockBoundary => Stand::Boundary,
            TINFLStatus::Done => Stand::Ended,
            TINFLStatus::HasMoreOutput => Stand::OutputFull,
            TINFLStatus::NeedsMoreInput => Stand::InBlock,
            // Errors (and any status this build does not know): the data is not deflate. The
            // decoder is never handed on after that.
            _ => {
                self.failed = true;
                return Round {
                    used,
                    produced,
                    moved: true,
                    error: Some(InflateError::Corrupt),
                };
            }
        };
        let mut error = None;
        if matches!(self.stand, Stand::Boundary | Stand::Ended) {
            self.blocks += 1;
            if self.blocks > FREE_BLOCKS + limit / BYTES_PER_BLOCK {
                self.failed = true;
                error = Some(InflateError::TooBig);
            }
        }
        let moved = used > 0 || produced > 0 || self.stand != before;
        Round {
            used,
            produced,
            moved,
            error,
        }
    }

    /// The output of the last round.
    fn output(&self, produced: usize) -> &[u8] {
        self.buf
            .get(self.pos.saturating_sub(produced)..self.pos)
            .unwrap_or_default()
    }

    /// Rounds until one makes progress (a round can end a block without using input or
    /// producing output, when the previous one ran out of room right before its end).
    fn progress(&mut self, input: &[u8], limit: u64, cap: usize) -> Round {
        let round = self.round(input, limit, cap);
        let stalled = round.used == 0 && round.produced == 0 && round.error.is_none();
        if stalled && self.stand == Stand::Boundary && !input.is_empty() {
            return self.round(input, limit, cap);
        }
        round
    }

    /// Whether the message's data must be completed by the restored tail: it left the stream
    /// inside a block (the header of the empty stored block the sender's flush began), not at
    /// the end of a final one, and it was not empty.
    fn wants_tail(&self) -> bool {
        self.fed && self.stand != Stand::Ended
    }

    /// Inflates the restored tail; it must complete an empty stored block: all four bytes
    /// taken, nothing produced, and the stream on a block boundary after it (or ended there,
    /// when the block was a final one).
    fn close_with_tail(&mut self) -> Result<(), InflateError> {
        let round = self.round(&TAIL, u64::MAX, BUF);
        if round.error.is_some()
            || round.used != TAIL.len()
            || round.produced != 0
            || !matches!(self.stand, Stand::Boundary | Stand::Ended)
        {
            self.failed = true;
            return Err(InflateError::Corrupt);
        }
        Ok(())
    }

    /// Assembled delivery: inflates `input` (the next compressed bytes of the current
    /// message; with `fin`, the last ones), handing every piece of output to `sink`. Fails
    /// with `TooBig` as soon as the message's decompressed size passes `limit`, without
    /// inflating the rest, and with `Corrupt` for data that is not deflate or does not end
    /// on a block boundary.
    pub(crate) fn inflate<E>(
        &mut self,
        input: &[u8],
        fin: bool,
        limit: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<InflateError, E>> {
        let mut rest = input;
        while !rest.is_empty() || self.stand == Stand::OutputFull {
            let round = self.progress(rest, limit, BUF);
            rest = rest.get(round.used..).unwrap_or_default();
            if self.produced > limit {
                return Err(Ok(InflateError::TooBig));
            }
            if round.produced > 0 {
                // What came out before an error is handed on first, as it would have been
                // had the input arrived in smaller pieces.
                sink(self.output(round.produced)).map_err(Err)?;
            }
            if let Some(error) = round.error {
                return Err(Ok(error));
            }
            if !round.moved {
                self.failed = true;
                return Err(Ok(InflateError::Corrupt));
            }
        }
        if fin {
            // An empty compressed payload (RFC 7692 wants a single 0x00 byte; some peers send
            // nothing) is an empty message: nothing to complete.
            if self.wants_tail() {
                self.close_with_tail().map_err(Ok)?;
            }
            self.finish_message();
        }
        Ok(())
    }

    /// One bounded step for streaming delivery: inflates from `input` into `out`; with `fin`
    /// (`input` is the rest of the message) the restored tail follows once the input is
    /// drained. Returns the input bytes used, the bytes produced, and whether the message is
    /// complete. Call again (with the input not used, possibly none) until it is. The
    /// message's decompressed size is bounded by `limit` as in assembled delivery.
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        fin: bool,
        limit: u64,
        out: &mut [u8],
    ) -> Result<(usize, usize, bool), InflateError> {
        if self.failed {
            return Err(InflateError::Corrupt);
        }
        let mut used = 0;
        let mut produced = 0;
        // Rounds stop at every block boundary; go on while input and room are left.
        while used < input.len() || self.stand == Stand::OutputFull {
            let rest = input.get(used..).unwrap_or_default();
            let room = out.get_mut(produced..).unwrap_or_default();
            if room.is_empty() {
                break;
            }
            let round = self.progress(rest, limit, room.len());
            used += round.used;
            if self.produced > limit {
                self.failed = true;
                return Err(InflateError::TooBig);
            }
            if let Some(piece) = room.get_mut(..round.produced) {
                piece.copy_from_slice(self.output(round.produced));
            }
            produced += round.produced;
            if round.error == Some(InflateError::TooBig) {
                return Err(InflateError::TooBig);
            }
            if round.error.is_some() || !round.moved {
                self.failed = true;
                if produced == 0 {
                    return Err(InflateError::Corrupt);
                }
                // Deliver what came out before the error; report the error next time.
                return Ok((used, produced, false));
            }
            if self.stand != Stand::Boundary {
                break;
            }
        }
        let drained = used == input.len() && self.stand != Stand::OutputFull;
        if !(fin && drained) {
            return Ok((used, produced, false));
        }
        if self.wants_tail() {
            self.close_with_tail()?;
        }
        self.finish_message();
        Ok((used, produced, true))
    }

    /// Ends the current message: per-message state, and the context if the peer resets its.
    fn finish_message(&mut self) {
        self.produced = 0;
        self.blocks = 0;
        self.fed = false;
        if self.peer_no_context_takeover {
            self.core.init();
            self.pos = 0;
            self.stand = Stand::Boundary;
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    /// A raw deflate stream of one stored (uncompressed) block holding `data`, not final.
    fn stored_block(data: &[u8]) -> Vec<u8> {
        let len = u16::try_from(data.len()).unwrap();
        let mut out = vec![0x00];
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    /// Raw deflate of `data` in one final block (flate2's zlib-rs, as a peer compresses).
    fn final_block(data: &[u8]) -> Vec<u8> {
        use flate2::{Compress, Compression, FlushCompress};
        let mut c = Compress::new(Compression::new(6), false);
        let mut out = Vec::with_capacity(data.len() + 64);
        c.compress_vec(data, &mut out, FlushCompress::Finish)
            .unwrap();
        out
    }

    /// A block whose last literal fills the output room exactly: the decoder stops for room
    /// before it reads the end-of-block code, and the next call reaches the block's end
    /// using and producing nothing. That is progress, not corrupt data (Autobahn 12.1.14:
    /// 64 KiB messages with context takeover in 256-byte fragments failed with 1007). Both
    /// deliveries, the second message whole and split around its end.
    #[test]
    fn a_block_that_ends_where_the_output_room_does_is_not_corrupt() {
        let params = DeflateParams {
            window_bits: 15,
            peer_window_bits: 15,
            no_context_takeover: false,
            peer_no_context_takeover: false,
        };
        let text: Vec<u8> = b"a json-ish line {\"k\": [1, 2, 3]} "
            .iter()
            .copied()
            .cycle()
            .take(3000)
            .collect();
        let second = final_block(&text);
        // The first message leaves exactly `text.len()` bytes of room: a stored block, then
        // the header byte of the flush's empty stored block (its other four bytes are the
        // tail the receiver restores).
        let filler: Vec<u8> = (0..BUF - text.len()).map(|i| (i % 251) as u8).collect();
        let mut first = stored_block(&filler);
        first.push(0x00);
        for split in [second.len(), second.len() - 1, second.len() / 2, 1] {
            let (head, tail) = second.split_at(split);
            let mut inflater = Inflater::new(&params);
            let mut out = Vec::new();
            let mut sink = |piece: &[u8]| -> Result<(), ()> {
                out.extend_from_slice(piece);
                Ok(())
            };
            let mut ignore = |_: &[u8]| -> Result<(), ()> { Ok(()) };
            inflater
                .inflate(&first, true, 1 << 20, &mut ignore)
                .unwrap();
            inflater.inflate(head, false, 1 << 20, &mut sink).unwrap();
            inflater.inflate(tail, true, 1 << 20, &mut sink).unwrap();
            assert!(out == text, "split at {split}");
        }
        // Streaming delivery, into room of the text's size.
        let mut inflater = Inflater::new(&params);
        let mut room = vec![0u8; BUF];
        let (_, _, done) = inflater.step(&first, true, 1 << 20, &mut room).unwrap();
        assert!(done);
        let mut room = vec![0u8; text.len()];
        let mut streamed = Vec::new();
        let mut rest = &second[..];
        for _ in 0..10 {
            let (used, produced, done) = inflater.step(rest, true, 1 << 20, &mut room).unwrap();
            streamed.extend_from_slice(&room[..produced]);
            rest = &rest[used..];
            if done {
                break;
            }
        }
        assert!(streamed == text, "streamed");
    }
}
