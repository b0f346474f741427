//! The compressor of permessage-deflate: raw deflate through flate2's zlib-rs backend (which
//! honours window bits), one sync flush per message with its `00 00 ff ff` tail removed
//! (RFC 7692 §7.2.1); the receiver restores it (§7.2.2, `inflater.rs`).

use alloc::boxed::Box;
use alloc::vec::Vec;

use flate2::{Compress, Compression, FlushCompress};

use super::{DeflateParams, DeflatePool};

/// The bytes a sync flush ends with, removed from every compressed message (§7.2.1).
pub(super) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

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
    pub(crate) fn take_or_new(params: &DeflateParams, level: u32, pool: &DeflatePool) -> Deflater {
        if params.no_context_takeover {
            if let Some(d) = pool.take_deflater(params.window_bits.clamp(9, 15), level.min(9)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::deflate::Inflater;

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
                i.inflate::<()>(&compressed, true, 1 << 20, &mut |c| {
                    out.extend_from_slice(c);
                    Ok(())
                })
                .unwrap();
                assert_eq!(out, msg);
            }
        }
    }
}
