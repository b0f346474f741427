//! permessage-deflate, the receiving side: the decompressor of a connection and the piece
//! buffer streamed messages are inflated into (the sending side is `compress.rs`). This is
//! the one interface the input side inflates through; without the `deflate` feature it is an
//! empty type that is never negotiated, so the input side needs no `cfg`.

#[cfg(feature = "deflate")]
pub(crate) use imp::*;
#[cfg(not(feature = "deflate"))]
pub(crate) use stub::*;

#[cfg(feature = "deflate")]
mod imp {
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    use crate::error::ProtocolError;
    use crate::extensions::deflate::{DeflateParams, DeflatePool, InflateError, Inflater};
    use crate::utf8::Utf8Error;

    /// Size of the buffer streamed messages are inflated into, piece by piece.
    const STREAM_PIECE: usize = 16 * 1024;

    /// The receiving side: the decompressor, created on the first compressed message.
    #[derive(Debug, Default)]
    pub(crate) struct RecvCompression {
        state: Option<Box<InflateState>>,
    }

    #[derive(Debug)]
    struct InflateState {
        params: DeflateParams,
        inflater: Option<Inflater>,
        /// Streaming delivery: inflated bytes not yet delivered are `out[pending..filled]`.
        out: Vec<u8>,
        pending: usize,
        filled: usize,
        /// The pending bytes end the message.
        complete: bool,
        /// Where decompressors without context takeover come from and go back to.
        pool: &'static DeflatePool,
    }

    impl InflateState {
        /// Between two messages, hands a decompressor whose context the peer resets after
        /// every message to the shared pool, for the next message of any connection (see
        /// `deflate::pool`); with context takeover it stays.
        fn give_back_inflater(&mut self) {
            if self.params.peer_no_context_takeover {
                if let Some(inflater) = self.inflater.take() {
                    self.pool.give_inflater(inflater);
                }
            }
        }
    }

    impl RecvCompression {
        pub(crate) fn negotiate(&mut self, params: DeflateParams, pool: &'static DeflatePool) {
            self.state = Some(Box::new(InflateState {
                params,
                inflater: None,
                out: Vec::new(),
                pending: 0,
                filled: 0,
                complete: false,
                pool,
            }));
        }

        pub(crate) fn params(&self) -> Option<DeflateParams> {
            self.state.as_ref().map(|s| s.params)
        }

        /// Assembled delivery: inflates `input`, the next compressed bytes of the current
        /// message (with `last`, its end), handing the output to `sink`. The decompressed
        /// size is checked against `limit` while inflating: a bomb stops at the limit.
        pub(crate) fn inflate_message(
            &mut self,
            input: &[u8],
            last: bool,
            limit: usize,
            sink: &mut dyn FnMut(&[u8]) -> Result<(), Utf8Error>,
        ) -> Result<(), ProtocolError> {
            let Some(state) = self.state.as_mut() else {
                return Err(ProtocolError::InflateFailed);
            };
            let (params, pool) = (state.params, state.pool);
            let inflater = state
                .inflater
                .get_or_insert_with(|| Inflater::take_or_new(&params, pool));
            inflater
                .inflate(input, last, limit as u64, sink)
                .map_err(|e| match e {
                    Ok(InflateError::Corrupt) => ProtocolError::InflateFailed,
                    Ok(InflateError::TooBig) => ProtocolError::MessageTooLarge,
                    Err(Utf8Error) => ProtocolError::InvalidUtf8,
                })?;
            if last {
                state.give_back_inflater();
            }
            Ok(())
        }

        /// Drops the decompressor and its piece buffer when the peer resets its context after
        /// every message (so nothing in them is needed again) and nothing is pending; the next
        /// compressed message builds them anew. The caller checks that no message is in
        /// progress.
        pub(crate) fn release_if_reset(&mut self) {
            if let Some(s) = self.state.as_mut() {
                let failed = s.inflater.as_ref().is_some_and(Inflater::has_failed);
                if s.params.peer_no_context_takeover && s.pending == s.filled && !failed {
                    s.give_back_inflater();
                    s.out = Vec::new();
                    s.pending = 0;
                    s.filled = 0;
                    s.complete = false;
                }
            }
        }

        /// Streaming: the undelivered inflated bytes, and whether they end the message.
        pub(crate) fn pending(&self) -> (&[u8], bool) {
            match &self.state {
                // `pending <= filled <= out.len()` always holds.
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

        /// Streaming: inflates the next piece from `input`; returns the input bytes used. The
        /// message's decompressed size is bounded by `limit`, as in assembled delivery.
        pub(crate) fn inflate_piece(
            &mut self,
            input: &[u8],
            fin: bool,
            limit: usize,
        ) -> Result<usize, ProtocolError> {
            let Some(s) = self.state.as_mut() else {
                return Ok(0);
            };
            if s.out.len() < STREAM_PIECE {
                s.out = alloc::vec![0; STREAM_PIECE];
            }
            let (params, pool) = (s.params, s.pool);
            let inflater = s
                .inflater
                .get_or_insert_with(|| Inflater::take_or_new(&params, pool));
            let (used, produced, complete) = inflater
                .step(input, fin, limit as u64, &mut s.out)
                .map_err(|e| match e {
                    InflateError::Corrupt => ProtocolError::InflateFailed,
                    InflateError::TooBig => ProtocolError::MessageTooLarge,
                })?;
            s.pending = 0;
            s.filled = produced;
            s.complete = complete;
            if complete {
                s.give_back_inflater();
            }
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
        pub(crate) fn piece(&self, range: core::ops::Range<usize>) -> Option<&[u8]> {
            self.state.as_ref().and_then(|s| s.out.get(range))
        }

        /// Absolute start of the pending bytes in the piece buffer.
        pub(crate) fn pending_start(&self) -> usize {
            self.state.as_ref().map_or(0, |s| s.pending)
        }

        /// Of [`memory`](Self::memory), the decompressor held from the pool (only while a
        /// message is inflated, when the peer resets its context after every message).
        pub(crate) fn memory_from_pool(&self) -> usize {
            self.state.as_ref().map_or(0, |s| {
                if s.inflater.is_some() && s.params.peer_no_context_takeover {
                    Inflater::HEAP
                } else {
                    0
                }
            })
        }

        pub(crate) fn memory(&self) -> usize {
            self.state.as_ref().map_or(0, |s| {
                s.out.capacity()
                    + if s.inflater.is_some() {
                        Inflater::HEAP
                    } else {
                        0
                    }
            })
        }
    }
}

#[cfg(not(feature = "deflate"))]
mod stub {
    use crate::error::ProtocolError;
    use crate::utf8::Utf8Error;

    /// permessage-deflate is not compiled in: never negotiated, so no frame is ever
    /// classified as compressed and none of these is reached with data.
    #[derive(Debug, Default)]
    pub(crate) struct RecvCompression {}

    impl RecvCompression {
        pub(crate) fn inflate_message(
            &mut self,
            _input: &[u8],
            _last: bool,
            _limit: usize,
            _sink: &mut dyn FnMut(&[u8]) -> Result<(), Utf8Error>,
        ) -> Result<(), ProtocolError> {
            Err(ProtocolError::InflateFailed)
        }
        pub(crate) fn pending(&self) -> (&[u8], bool) {
            (&[], false)
        }
        pub(crate) fn take_pending(&mut self, _n: usize) {}
        pub(crate) fn release_if_reset(&mut self) {}
        pub(crate) fn inflate_piece(
            &mut self,
            _input: &[u8],
            _fin: bool,
            _limit: usize,
        ) -> Result<usize, ProtocolError> {
            Err(ProtocolError::InflateFailed)
        }
        pub(crate) fn has_failed(&self) -> bool {
            false
        }
        pub(crate) fn piece(&self, _range: core::ops::Range<usize>) -> Option<&[u8]> {
            None
        }
        pub(crate) fn pending_start(&self) -> usize {
            0
        }
        pub(crate) fn memory_from_pool(&self) -> usize {
            0
        }
        pub(crate) fn memory(&self) -> usize {
            0
        }
    }
}
