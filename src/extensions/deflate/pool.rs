//! Compressors and decompressors shared by every connection of the process, one message at a
//! time, in the directions where the context is reset after every message (no context
//! takeover, RFC 7692 §7.1.1).
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

/// Idle states kept for reuse, of each kind: enough for the threads compressing at once on a
/// busy server; beyond that, a state given back is freed (about 371 KiB per compressor at 15
/// window bits, 58 KiB per decompressor).
pub(crate) const KEEP_IDLE: usize = 8;

static DEFLATERS: Mutex<Vec<Deflater>> = Mutex::new(Vec::new());
static INFLATERS: Mutex<Vec<Inflater>> = Mutex::new(Vec::new());

/// The lists are whole at every point a thread could panic, so a poisoned lock is still good.
fn lock<T>(list: &'static Mutex<Vec<T>>) -> MutexGuard<'static, Vec<T>> {
    list.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An idle compressor with these window bits and level, if one was given back.
pub(crate) fn take_deflater(window_bits: u8, level: u32) -> Option<Deflater> {
    let mut idle = lock(&DEFLATERS);
    let at = idle.iter().rposition(|d| d.fits(window_bits, level))?;
    Some(idle.swap_remove(at))
}

/// Keeps a compressor for the next message of any connection with its parameters. Only a
/// compressor that resets after every message, between two messages, belongs here: the
/// callers give one back right after the last piece of a message.
pub(crate) fn give_deflater(deflater: Deflater) {
    if !deflater.resets_per_message() {
        return;
    }
    let mut idle = lock(&DEFLATERS);
    if idle.len() < KEEP_IDLE {
        idle.push(deflater);
    }
}

/// An idle decompressor, if one was given back (they all keep a 32 KiB history, which
/// decodes every window).
pub(crate) fn take_inflater() -> Option<Inflater> {
    lock(&INFLATERS).pop()
}

/// Keeps a decompressor, between two messages, for the next message of any connection whose
/// peer resets its context after every message; one that failed is dropped.
pub(crate) fn give_inflater(inflater: Inflater) {
    if !inflater.is_reusable() {
        return;
    }
    let mut idle = lock(&INFLATERS);
    if idle.len() < KEEP_IDLE {
        idle.push(inflater);
    }
}

/// Frees every idle state (the public form is `deflate::release_idle_states`).
pub(crate) fn release_idle() {
    // Taken out first: freeing runs outside the locks.
    let deflaters = core::mem::take(&mut *lock(&DEFLATERS));
    let inflaters = core::mem::take(&mut *lock(&INFLATERS));
    drop((deflaters, inflaters));
}

/// The heap the idle states hold, by the same model as `Connection::memory`.
pub(crate) fn idle_memory() -> usize {
    let deflaters: usize = lock(&DEFLATERS)
        .iter()
        .map(|d| Deflater::heap(d.window_bits()))
        .sum();
    deflaters + lock(&INFLATERS).len() * Inflater::HEAP
}
