//! Compressors and decompressors shared by connections (every connection of the process by
//! default), one message at a time, in the directions where the context is reset after every
//! message (no context takeover, RFC 7692 §7.1.1).
//!
//! Such a state carries nothing from one message to the next, so a connection needs one only
//! while it compresses (or inflates) a message: it takes one from here when a message starts
//! and gives it back, reset, when the message ends. A connection between messages then holds
//! no compression memory at all, and the process holds about one state per message in
//! progress, plus a few idle ones. zlib-rs's compressor is `4 * 2^bits + 243 KiB` whatever
//! the memory level (its hash table alone is 64 Ki entries), so this is what brings a busy
//! compressing connection from about 430 KB to a few KiB.
//!
//! The states are plain memory: sharing them involves no I/O, clock or randomness, and a
//! reset state compresses exactly as a new one does (tested in `tests/deflate.rs`).

use alloc::vec::Vec;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Deflater, Inflater};

/// Idle states the process-wide pool keeps for reuse, of each kind: enough for the threads
/// compressing at once on a busy server; beyond that, a state given back is freed (about 371
/// KiB per compressor at 15 window bits, 58 KiB per decompressor).
pub const KEEP_IDLE: usize = 8;

/// The pool every [`DeflateConfig`](super::DeflateConfig) uses unless given another.
static PROCESS: DeflatePool = DeflatePool::new(KEEP_IDLE);

/// Compressors and decompressors shared, one message at a time, by the connections whose
/// [`DeflateConfig`](super::DeflateConfig) names this pool, in the directions without
/// context takeover (see [`DeflateConfig::no_context_takeover`](super::DeflateConfig::no_context_takeover)). A value the application chooses, as
/// rustls keeps its caches in its config: the process-wide one by default
/// ([`DeflatePool::process`]), or a `static` of its own (per tenant, or to bound a group of
/// connections to `keep_idle` idle states of each kind).
///
/// ```
/// use wsmachine::extensions::deflate::{DeflateConfig, DeflatePool};
/// use wsmachine::Config;
///
/// static CHAT_POOL: DeflatePool = DeflatePool::new(2);
/// const CHAT: Config = Config::new().with_deflate(DeflateConfig::new().with_pool(&CHAT_POOL));
/// assert!(core::ptr::eq(CHAT.deflate.unwrap().pool, &CHAT_POOL));
/// assert!(core::ptr::eq(DeflateConfig::new().pool, DeflatePool::process()));
/// CHAT_POOL.release_idle();
/// assert_eq!(CHAT_POOL.idle_memory(), 0);
/// ```
pub struct DeflatePool {
    deflaters: Mutex<Vec<Deflater>>,
    inflaters: Mutex<Vec<Inflater>>,
    keep_idle: usize,
}

impl DeflatePool {
    /// An empty pool that keeps at most `keep_idle` idle states of each kind (example on
    /// [`DeflatePool`]).
    #[must_use]
    pub const fn new(keep_idle: usize) -> DeflatePool {
        DeflatePool {
            deflaters: Mutex::new(Vec::new()),
            inflaters: Mutex::new(Vec::new()),
            keep_idle,
        }
    }

    /// The process-wide pool, which keeps [`KEEP_IDLE`] idle states of each kind: the
    /// default of every [`DeflateConfig`](super::DeflateConfig) (example on
    /// [`DeflatePool`]).
    #[must_use]
    pub fn process() -> &'static DeflatePool {
        &PROCESS
    }

    /// The process-wide pool, for a `const` configuration.
    pub(crate) const PROCESS: &'static DeflatePool = &PROCESS;

    /// Frees every idle state (example on [`DeflatePool`]). The next message builds a new
    /// one.
    pub fn release_idle(&self) {
        // Taken out first: freeing runs outside the locks.
        let deflaters = core::mem::take(&mut *lock(&self.deflaters));
        let inflaters = core::mem::take(&mut *lock(&self.inflaters));
        drop((deflaters, inflaters));
    }

    /// The heap the idle states hold, by the same model as `Connection::memory` (example on
    /// [`DeflatePool`]).
    #[must_use]
    pub fn idle_memory(&self) -> usize {
        let deflaters: usize = lock(&self.deflaters)
            .iter()
            .map(|d| Deflater::heap(d.window_bits()))
            .sum();
        deflaters + lock(&self.inflaters).len() * Inflater::HEAP
    }

    /// An idle compressor with these window bits and level, if one was given back.
    pub(crate) fn take_deflater(&self, window_bits: u8, level: u32) -> Option<Deflater> {
        let mut idle = lock(&self.deflaters);
        let at = idle.iter().rposition(|d| d.fits(window_bits, level))?;
        Some(idle.swap_remove(at))
    }

    /// Keeps a compressor for the next message of any connection with its parameters. Only a
    /// compressor that resets after every message, between two messages, belongs here: the
    /// callers give one back right after the last piece of a message.
    pub(crate) fn give_deflater(&self, deflater: Deflater) {
        if !deflater.resets_per_message() {
            return;
        }
        let mut idle = lock(&self.deflaters);
        if idle.len() < self.keep_idle {
            idle.push(deflater);
        }
    }

    /// An idle decompressor, if one was given back (they all keep a 32 KiB history, which
    /// decodes every window).
    pub(crate) fn take_inflater(&self) -> Option<Inflater> {
        lock(&self.inflaters).pop()
    }

    /// Keeps a decompressor, between two messages, for the next message of any connection
    /// whose peer resets its context after every message; one that failed is dropped.
    pub(crate) fn give_inflater(&self, inflater: Inflater) {
        if !inflater.is_reusable() {
            return;
        }
        let mut idle = lock(&self.inflaters);
        if idle.len() < self.keep_idle {
            idle.push(inflater);
        }
    }
}

/// Two pools are the same pool: a configuration compares its pool by address.
impl PartialEq for DeflatePool {
    fn eq(&self, other: &DeflatePool) -> bool {
        core::ptr::eq(self, other)
    }
}

impl Eq for DeflatePool {}

impl core::fmt::Debug for DeflatePool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeflatePool")
            .field("keep_idle", &self.keep_idle)
            .finish_non_exhaustive()
    }
}

/// The lists are whole at every point a thread could panic, so a poisoned lock is still good.
fn lock<T>(list: &Mutex<Vec<T>>) -> MutexGuard<'_, Vec<T>> {
    list.lock().unwrap_or_else(PoisonError::into_inner)
}
