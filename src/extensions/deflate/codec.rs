//! The compressor and decompressor of permessage-deflate: raw deflate through flate2's
//! zlib-rs backend, one sync flush per message with its `00 00 ff ff` tail removed on send and
//! restored on receipt (RFC 7692 §7.2.1, §7.2.2), and inflation bounded by the message limit.

use alloc::boxed::Box;
use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::{pool, DeflateParams};

/// The bytes a sync flush ends with, removed from every compressed message (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compressed data could not be decompressed, or inflated past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    Corrupt,
    TooBig,
}

/// The compressor of one connection.
pub(crate) struct Deflater {
    compress: Box<Compress>,
    no_context_takeover: bool,
    /// The window bits (9 to 15) and level (0 to 9) it was made with.
    window_bits: u8,
    level: u32,
}

impl core::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Deflater(..)")
    }
}

impl Deflater {
    pub(crate) fn new(params: &DeflateParams, level: u32) -> Deflater {
        // The fields are public: clamp here too (zlib-rs asserts on levels above 9).
        let (window_bits, level) = (params.window_bits.clamp(9, 15), level.min(9));
        Deflater {
            compress: Box::new(Compress::new_with_window_bits(
                Compression::new(level),
                false,
                window_bits,
            )),
            no_context_takeover: params.no_context_takeover,
            window_bits,
            level,
        }
    }

    /// A compressor for these parameters: without context takeover, one given back to the
    /// shared pool by any connection if there is one (see `deflate::pool`).
    pub(crate) fn take_or_new(params: &DeflateParams, level: u32) -> Deflater {
        if params.no_context_takeover {
            if let Some(d) = pool::take_deflater(params.window_bits.clamp(9, 15), level.min(9)) {
                return d;
            }
        }
        Deflater::new(params, level)
    }

    /// Its heap, modelled (zlib-rs's state is opaque) on what a counting allocator measured
    /// at memory level 8: `4 * 2^bits + 243.1 KiB` (tests/alloc.rs checks the model).
    pub(crate) fn heap(window_bits: u8) -> usize {
        (4 << window_bits.clamp(9, 15)) + 248_960
    }

    /// The window bits it compresses with.
    pub(crate) fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Whether it compresses as a compressor made for these (clamped) parameters would.
    pub(crate) fn fits(&self, window_bits: u8, level: u32) -> bool {
        self.no_context_takeover && self.window_bits == window_bits && self.level == level
    }

    /// Whether its context is reset at the end of every message.
    pub(crate) fn resets_per_message(&self) -> bool {
        self.no_context_takeover
    }

    /// Compresses `input`, a message or a piece of one, appending to `out`. With `fin` the
    /// message ends: the trailing `00 00 ff ff` is removed and, without context takeover,
    /// the context reset. Returns `Err` only if zlib reports an internal error.
    pub(crate) fn compress(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        fin: bool,
    ) -> Result<(), ()> {
        let start_in = self.compress.total_in();
        let start_out = out.len();
        loop {
            let consumed = (self.compress.total_in() - start_in) as usize;
            let rest = input.get(consumed..).unwrap_or_default();
            // Room for incompressible input plus block overhead.
            out.reserve(rest.len() + rest.len() / 64 + 64);
            let before = out.len();
            self.compress
                .compress_vec(rest, out, FlushCompress::Sync)
                .map_err(|_| ())?;
            let done = (self.compress.total_in() - start_in) as usize == input.len();
            // The flush is complete when zlib stopped with room left in the output.
            if done && out.len() < out.capacity() {
                break;
            }
            if out.len() == before && done {
                break;
            }
        }
        if fin {
            if out.len() >= start_out + TAIL.len() && out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if out.len() == start_out {
                // zlib flushes nothing when nothing is pending; the tail the receiver adds
                // must then follow an empty stored block's header bits (§7.2.3.6).
                out.push(0x00);
            }
            if self.no_context_takeover {
                self.compress.reset();
            }
        }
        Ok(())
    }
}

/// The decompressor of one connection.
pub(crate) struct Inflater {
    decompress: Box<Decompress>,
    peer_no_context_takeover: bool,
    /// Bytes produced for the current message.
    produced: u64,
    /// The current message's deflate stream ended with a final block.
    ended: bool,
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

impl Inflater {
    /// A decompressor for these parameters: when the peer resets its context after every
    /// message, one given back to the shared pool by any connection if there is one (see
    /// `deflate::pool`).
    pub(crate) fn take_or_new(params: &DeflateParams) -> Inflater {
        if params.peer_no_context_takeover {
            if let Some(inflater) = pool::take_inflater() {
                return inflater;
            }
        }
        Inflater::new(params)
    }

    /// Its heap, modelled (zlib-rs's state is opaque) on what a counting allocator measured:
    /// 46.4 KiB at 9, 12 and 15 window bits alike (tests/zlib_heap.rs).
    pub(crate) const HEAP: usize = 47_552;

    /// Whether it can serve another connection's next message: its context is reset after
    /// every message, it is between two messages, and it never failed.
    pub(crate) fn is_reusable(&self) -> bool {
        self.peer_no_context_takeover
            && !self.failed
            && !self.fed
            && !self.ended
            && self.produced == 0
    }

    pub(crate) fn new(params: &DeflateParams) -> Inflater {
        // A larger window always decodes a smaller one. 8 bits decode with a 9-bit inflater
        // (zlib refuses 8 for raw inflate). When the peer resets its context after every
        // message we reset too, and flate2 re-creates (allocates) the state on reset unless
        // the window is 15: then 15 it is, so that steady traffic allocates nothing.
        let bits = if params.peer_no_context_takeover {
            15
        } else {
            params.peer_window_bits.clamp(9, 15)
        };
        Inflater {
            decompress: Box::new(Decompress::new_with_window_bits(false, bits)),
            peer_no_context_takeover: params.peer_no_context_takeover,
            produced: 0,
            ended: false,
            fed: false,
            failed: false,
        }
    }

    /// Inflates `input` (the next compressed bytes of the current message; with `fin`, the
    /// last ones) into `scratch`, handing every filled piece to `sink`. Fails with
    /// `TooBig` as soon as the message's decompressed size passes `limit`, without
    /// inflating the rest, and with `Corrupt` for data that is not deflate.
    pub(crate) fn inflate<E>(
        &mut self,
        input: &[u8],
        fin: bool,
        limit: u64,
        scratch: &mut [u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<InflateError, E>> {
        self.feed(input, limit, scratch, sink)?;
        if fin {
            // An empty compressed payload (RFC 7692 wants a single 0x00 byte; some peers send
            // nothing) is an empty message: the tail alone would leave a stored block open and
            // corrupt the next message.
            if !self.ended && self.fed {
                self.feed(&TAIL, limit, scratch, sink)?;
            }
            self.finish_message();
        }
        Ok(())
    }

    /// One bounded step for streaming delivery: inflates from `input` into `out`; with `fin`
    /// (`input` is the rest of the message) the restored tail follows once the input is
    /// drained. Returns the input bytes used, the bytes produced, and whether the message is
    /// complete. Call again (with the input not used, possibly none) until it is.
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<(usize, usize, bool), InflateError> {
        let mut used = 0;
        let mut produced = 0;
        if self.failed {
            return Err(InflateError::Corrupt);
        }
        if self.ended {
            if !input.is_empty() {
                return Err(InflateError::Corrupt);
            }
        } else {
            let result;
            (used, produced, result) = self.inflate_once(input, out);
            let Ok(status) = result else {
                if produced == 0 {
                    return Err(InflateError::Corrupt);
                }
                // Deliver what came out before the error; report the error next time.
                self.failed = true;
                return Ok((used, produced, false));
            };
            if status == flate2::Status::StreamEnd {
                self.end_stream();
                if used < input.len() {
                    return Err(InflateError::Corrupt);
                }
            } else if used == 0 && produced == 0 && !input.is_empty() {
                return Err(InflateError::Corrupt);
            }
        }
        let drained = used == input.len() && produced < out.len();
        if !(fin && drained) {
            return Ok((used, produced, false));
        }
        if !self.ended && self.fed {
            // The restored tail is an empty stored block: it releases nothing new, but zlib
            // wants some room to take it.
            let room = out.get_mut(produced..).unwrap_or_default();
            if room.len() < 64 {
                return Ok((used, produced, false));
            }
            let (tail_used, tail_produced, result) = self.inflate_once(&TAIL, room);
            if result.is_err() || tail_used < TAIL.len() {
                return Err(InflateError::Corrupt);
            }
            produced += tail_produced;
        }
        self.finish_message();
        Ok((used, produced, true))
    }

    /// One call into zlib: the input bytes used, the output bytes produced, and the status.
    fn inflate_once(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> (
        usize,
        usize,
        Result<flate2::Status, flate2::DecompressError>,
    ) {
        let (in0, out0) = (self.decompress.total_in(), self.decompress.total_out());
        let result = self
            .decompress
            .decompress(input, out, FlushDecompress::Sync);
        self.fed |= !input.is_empty();
        let used = (self.decompress.total_in() - in0) as usize;
        let produced = (self.decompress.total_out() - out0) as usize;
        (used, produced, result)
    }

    /// A final block ended the stream: nothing may follow it within the message, and the next
    /// message starts a fresh stream.
    fn end_stream(&mut self) {
        self.decompress.reset(false);
        self.ended = true;
    }

    /// Whether corrupt data was found after the output before it was handed on.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed
    }

    /// Ends the current message: per-message state, and the context if the peer resets its.
    fn finish_message(&mut self) {
        self.produced = 0;
        self.ended = false;
        self.fed = false;
        if self.peer_no_context_takeover {
            self.decompress.reset(false);
        }
    }

    fn feed<E>(
        &mut self,
        input: &[u8],
        limit: u64,
        scratch: &mut [u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<InflateError, E>> {
        if self.ended {
            // Nothing may follow a final block within the message.
            return if input.is_empty() {
                Ok(())
            } else {
                Err(Ok(InflateError::Corrupt))
            };
        }
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            // Never more output than one byte past the limit: inflation stops the moment the
            // limit is crossed, before looking at anything further.
            let room = usize::try_from(limit.saturating_sub(self.produced).saturating_add(1))
                .unwrap_or(usize::MAX)
                .min(scratch.len());
            let scratch = scratch.get_mut(..room).unwrap_or_default();
            let (used, produced, result) = self.inflate_once(rest, scratch);
            let Ok(status) = result else {
                // What came out before the error is handed on first, as it would have been had
                // the input arrived in smaller pieces.
                self.produced += produced as u64;
                if self.produced > limit {
                    return Err(Ok(InflateError::TooBig));
                }
                if produced > 0 {
                    // zlib never reports more than the room it was given.
                    sink(scratch.get(..produced).unwrap_or_default()).map_err(Err)?;
                }
                return Err(Ok(InflateError::Corrupt));
            };
            pos += used;
            self.produced += produced as u64;
            if self.produced > limit {
                return Err(Ok(InflateError::TooBig));
            }
            if produced > 0 {
                sink(scratch.get(..produced).unwrap_or_default()).map_err(Err)?;
            }
            if status == flate2::Status::StreamEnd {
                self.end_stream();
                return if pos >= input.len() {
                    Ok(())
                } else {
                    Err(Ok(InflateError::Corrupt))
                };
            }
            if pos >= input.len() && produced < scratch.len() {
                return Ok(());
            }
            if used == 0 && produced == 0 {
                // No progress: done if the input is used up, else the data is not deflate.
                return if rest.is_empty() {
                    Ok(())
                } else {
                    Err(Ok(InflateError::Corrupt))
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        for no_ct in [false, true] {
            let params = DeflateParams {
                window_bits: 15,
                peer_window_bits: 15,
                no_context_takeover: no_ct,
                peer_no_context_takeover: no_ct,
            };
            let mut d = Deflater::new(&params, 6);
            let mut i = Inflater::new(&params);
            for msg in [&b"hello hello hello"[..], b"", b"hello again, hello again"] {
                let mut compressed = Vec::new();
                d.compress(msg, &mut compressed, true).unwrap();
                assert!(!compressed.ends_with(&TAIL));
                let mut out = Vec::new();
                let mut scratch = [0u8; 7];
                i.inflate::<()>(&compressed, true, 1 << 20, &mut scratch, &mut |c| {
                    out.extend_from_slice(c);
                    Ok(())
                })
                .unwrap();
                assert_eq!(out, msg);
            }
        }
    }
}
