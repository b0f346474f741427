//! permessage-deflate state of a connection, per direction. Without the `deflate` feature
//! these are empty types whose methods say "not negotiated", so the rest of the connection
//! needs no `cfg`.

#[cfg(feature = "deflate")]
pub(crate) use imp::*;
#[cfg(not(feature = "deflate"))]
pub(crate) use stub::*;

#[cfg(feature = "deflate")]
mod imp {
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    use crate::extensions::deflate::{DeflateConfig, DeflateParams, Deflater, Inflater};

    /// Size of the buffer streamed messages are inflated into, piece by piece.
    const STREAM_PIECE: usize = 16 * 1024;

    /// The receiving side: the decompressor, created on the first compressed message.
    #[derive(Debug, Default)]
    pub(crate) struct RecvCompression {
        state: Option<Box<RecvState>>,
    }

    #[derive(Debug)]
    struct RecvState {
        params: DeflateParams,
        inflater: Option<Inflater>,
        /// Streaming delivery: inflated bytes not yet delivered are `out[pending..filled]`.
        out: Vec<u8>,
        pending: usize,
        filled: usize,
        /// The pending bytes end the message.
        complete: bool,
    }

    impl RecvCompression {
        pub(crate) fn negotiate(&mut self, params: DeflateParams) {
            self.state = Some(Box::new(RecvState {
                params,
                inflater: None,
                out: Vec::new(),
                pending: 0,
                filled: 0,
                complete: false,
            }));
        }

        pub(crate) fn params(&self) -> Option<DeflateParams> {
            self.state.as_ref().map(|s| s.params)
        }

        pub(crate) fn inflater(&mut self) -> Option<&mut Inflater> {
            let state = self.state.as_mut()?;
            let params = state.params;
            Some(state.inflater.get_or_insert_with(|| Inflater::new(&params)))
        }

        /// Streaming: the undelivered inflated bytes, and whether they end the message.
        pub(crate) fn pending(&self) -> (&[u8], bool) {
            match &self.state {
                Some(s) => (
                    s.out.get(s.pending..s.filled).unwrap_or_default(),
                    s.complete,
                ),
                None => (&[], false),
            }
        }

        /// Streaming: `n` pending bytes were delivered.
        pub(crate) fn take_pending(&mut self, n: usize) {
            if let Some(s) = self.state.as_mut() {
                s.pending = (s.pending + n).min(s.filled);
                if s.pending == s.filled {
                    s.complete = false;
                }
            }
        }

        /// Streaming: inflates the next piece from `input`; returns the input bytes used.
        pub(crate) fn inflate_piece(
            &mut self,
            input: &[u8],
            fin: bool,
        ) -> Result<usize, crate::extensions::deflate::InflateError> {
            let Some(s) = self.state.as_mut() else {
                return Ok(0);
            };
            if s.out.len() < STREAM_PIECE {
                s.out = alloc::vec![0; STREAM_PIECE];
            }
            let params = s.params;
            let inflater = s.inflater.get_or_insert_with(|| Inflater::new(&params));
            let (used, produced, complete) = inflater.step(input, fin, &mut s.out)?;
            s.pending = 0;
            s.filled = produced;
            s.complete = complete;
            Ok(used)
        }

        /// The decompressor found the data corrupt after handing on what came before.
        pub(crate) fn has_failed(&self) -> bool {
            self.state
                .as_ref()
                .and_then(|s| s.inflater.as_ref())
                .is_some_and(Inflater::has_failed)
        }

        /// The byte range of the streaming piece buffer, for events.
        pub(crate) fn piece(&self, range: core::ops::Range<usize>) -> &[u8] {
            self.state
                .as_ref()
                .and_then(|s| s.out.get(range))
                .unwrap_or_default()
        }

        /// Absolute start of the pending bytes in the piece buffer.
        pub(crate) fn pending_start(&self) -> usize {
            self.state.as_ref().map_or(0, |s| s.pending)
        }

        pub(crate) fn memory(&self) -> usize {
            self.state.as_ref().map_or(0, |s| {
                s.out.capacity()
                    + if s.inflater.is_some() {
                        INFLATE_COST
                    } else {
                        0
                    }
            })
        }
    }

    /// The heap of zlib-rs's decompressor (its state is opaque), measured with a counting
    /// allocator: 46.4 KiB at 9, 12 and 15 window bits alike (tests/zlib_heap.rs).
    const INFLATE_COST: usize = 47_552;

    /// The heap of zlib-rs's compressor at memory level 8: `4 * 2^bits + 243.1 KiB`, measured
    /// likewise.
    fn deflate_cost(bits: u8) -> usize {
        (4 << bits.clamp(9, 15)) + 248_960
    }

    /// The sending side: the compressor, created on the first compressed message.
    #[derive(Debug, Default)]
    pub(crate) struct SendCompression {
        state: Option<Box<SendState>>,
    }

    #[derive(Debug)]
    struct SendState {
        params: DeflateParams,
        level: u32,
        threshold: usize,
        deflater: Option<Deflater>,
        /// Compressed bytes of the message being sent.
        scratch: Vec<u8>,
        /// The outgoing fragmented message is compressed.
        fragmented: bool,
    }

    impl SendCompression {
        pub(crate) fn negotiate(&mut self, params: DeflateParams, config: &DeflateConfig) {
            self.state = Some(Box::new(SendState {
                params,
                level: config.level,
                threshold: config.threshold,
                deflater: None,
                scratch: Vec::new(),
                fragmented: false,
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
            let (params, level) = (s.params, s.level);
            let deflater = s
                .deflater
                .get_or_insert_with(|| Deflater::new(&params, level));
            let mut out = core::mem::take(&mut s.scratch);
            out.clear();
            deflater.compress(input, &mut out, fin).ok()?;
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

        pub(crate) fn set_fragmented(&mut self, on: bool) {
            if let Some(s) = self.state.as_mut() {
                s.fragmented = on;
            }
        }

        pub(crate) fn memory(&self) -> usize {
            self.state.as_ref().map_or(0, |s| {
                s.scratch.capacity()
                    + if s.deflater.is_some() {
                        deflate_cost(s.params.window_bits)
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
    pub(crate) struct RecvCompression {}

    impl RecvCompression {
        pub(crate) fn piece(&self, _range: core::ops::Range<usize>) -> &[u8] {
            &[]
        }
        pub(crate) fn memory(&self) -> usize {
            0
        }
    }

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
        pub(crate) fn memory(&self) -> usize {
            0
        }
    }
}
