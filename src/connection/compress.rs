//! permessage-deflate, the sending side: the compressor of a connection (the receiving side
//! is `inflate.rs`). Without the `deflate` feature this is an empty type whose methods say
//! "not negotiated", so the rest of the connection needs no `cfg`.

#[cfg(feature = "deflate")]
pub(crate) use imp::*;
#[cfg(not(feature = "deflate"))]
pub(crate) use stub::*;

#[cfg(feature = "deflate")]
mod imp {
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    use crate::extensions::deflate::{DeflateConfig, DeflateParams, DeflatePool, Deflater};

    /// The sending side: the compressor, created on the first compressed message.
    #[derive(Debug, Default)]
    pub(crate) struct SendCompression {
        state: Option<Box<DeflateState>>,
    }

    #[derive(Debug)]
    struct DeflateState {
        params: DeflateParams,
        level: u32,
        threshold: usize,
        deflater: Option<Deflater>,
        /// Compressed bytes of the message being sent.
        scratch: Vec<u8>,
        /// The outgoing fragmented message is compressed.
        fragmented: bool,
        /// Where compressors without context takeover come from and go back to.
        pool: &'static DeflatePool,
    }

    impl SendCompression {
        pub(crate) fn negotiate(&mut self, params: DeflateParams, config: &DeflateConfig) {
            self.state = Some(Box::new(DeflateState {
                params,
                level: config.level,
                threshold: config.threshold,
                deflater: None,
                scratch: Vec::new(),
                fragmented: false,
                pool: config.pool,
            }));
        }

        pub(crate) fn is_negotiated(&self) -> bool {
            self.state.is_some()
        }

        /// Whether a whole message of `len` bytes goes out compressed.
        pub(crate) fn wants(&self, len: usize) -> bool {
            self.state.as_ref().is_some_and(|s| len >= s.threshold)
        }

        /// Compresses `input` (a message, or a piece of one; `fin` ends the message) and
        /// returns the compressed bytes in the reusable scratch buffer, taken out: hand it
        /// back with [`give_back`](Self::give_back).
        pub(crate) fn take_compressed(&mut self, input: &[u8], fin: bool) -> Option<Vec<u8>> {
            let s = self.state.as_mut()?;
            let (params, level, pool) = (s.params, s.level, s.pool);
            let deflater = s
                .deflater
                .get_or_insert_with(|| Deflater::take_or_new(&params, level, pool));
            let mut out = core::mem::take(&mut s.scratch);
            out.clear();
            deflater.compress(input, &mut out, fin).ok()?;
            if fin && params.no_context_takeover {
                // Reset for the next message: any connection may use it for its next one.
                if let Some(deflater) = s.deflater.take() {
                    s.pool.give_deflater(deflater);
                }
            }
            Some(out)
        }

        /// Returns the scratch buffer, freed if a large message grew it beyond `retain`.
        pub(crate) fn give_back(&mut self, scratch: Vec<u8>, retain: usize) {
            if let Some(s) = self.state.as_mut() {
                if scratch.capacity() <= retain {
                    s.scratch = scratch;
                }
            }
        }

        pub(crate) fn fragmented(&self) -> bool {
            self.state.as_ref().is_some_and(|s| s.fragmented)
        }

        /// Drops the compressor and its scratch buffer when this side resets its context after
        /// every message anyway and no compressed message is half sent; the next compressed
        /// message builds them anew.
        pub(crate) fn release_if_reset(&mut self) {
            if let Some(s) = self.state.as_mut() {
                if s.params.no_context_takeover && !s.fragmented {
                    if let Some(deflater) = s.deflater.take() {
                        s.pool.give_deflater(deflater);
                    }
                    s.scratch = Vec::new();
                }
            }
        }

        /// The parameters of a compressed encoding that this connection can share with
        /// others: only without context takeover in the sending direction, where every
        /// message is compressed from a fresh context.
        pub(crate) fn shared_key(&self) -> Option<crate::prepared::DeflateKey> {
            let s = self.state.as_ref()?;
            s.params
                .no_context_takeover
                .then(|| crate::prepared::DeflateKey {
                    window_bits: s.params.window_bits.clamp(9, 15),
                    level: s.level.min(9),
                    pool: s.pool,
                })
        }

        pub(crate) fn set_fragmented(&mut self, on: bool) {
            if let Some(s) = self.state.as_mut() {
                s.fragmented = on;
            }
        }

        /// Of [`memory`](Self::memory), the compressor held from the pool (only while a
        /// message is compressed, without context takeover).
        pub(crate) fn memory_from_pool(&self) -> usize {
            self.state.as_ref().map_or(0, |s| {
                if s.deflater.is_some() && s.params.no_context_takeover {
                    Deflater::heap(s.params.window_bits)
                } else {
                    0
                }
            })
        }

        pub(crate) fn memory(&self) -> usize {
            self.state.as_ref().map_or(0, |s| {
                s.scratch.capacity()
                    + if s.deflater.is_some() {
                        Deflater::heap(s.params.window_bits)
                    } else {
                        0
                    }
            })
        }
    }
}

#[cfg(not(feature = "deflate"))]
mod stub {
    /// permessage-deflate is not compiled in.
    #[derive(Debug, Default)]
    pub(crate) struct SendCompression {}

    impl SendCompression {
        pub(crate) fn is_negotiated(&self) -> bool {
            false
        }
        pub(crate) fn wants(&self, _len: usize) -> bool {
            false
        }
        pub(crate) fn take_compressed(
            &mut self,
            _input: &[u8],
            _fin: bool,
        ) -> Option<alloc::vec::Vec<u8>> {
            None
        }
        pub(crate) fn give_back(&mut self, _scratch: alloc::vec::Vec<u8>, _retain: usize) {}
        pub(crate) fn fragmented(&self) -> bool {
            false
        }
        pub(crate) fn set_fragmented(&mut self, _on: bool) {}
        pub(crate) fn release_if_reset(&mut self) {}
        pub(crate) fn memory(&self) -> usize {
            0
        }
        pub(crate) fn memory_from_pool(&self) -> usize {
            0
        }
    }
}
