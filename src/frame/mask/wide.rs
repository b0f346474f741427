//! Masking large payloads at memory speed: the crate's one audited `unsafe`.
//!
//! Safe Rust compiled for baseline x86-64 vectorises the masking loop to 16-byte SSE2
//! stores, and the store port then bounds it at about half of what 32-byte AVX2 stores reach
//! in cache. Choosing wider instructions at run time takes a function compiled with
//! `#[target_feature(enable = "avx2")]`, which is safe to write (Rust 1.86) but `unsafe` to
//! call from code compiled without the feature: the caller vouches that the CPU has it. So
//! this module holds exactly two `unsafe` blocks, one per direction (in place; while
//! copying), each right after `is_x86_feature_detected!("avx2")` returned true, and each
//! calling a function whose body is the same safe, portable loop the portable path runs
//! (no intrinsics, no pointer casts): only the code the compiler generates for it differs.
//! Without `std` (no feature detection) or on other architectures there is no `unsafe` at
//! all: the portable loop runs, vectorised to whatever the build's target CPU allows
//! (aarch64 has NEON as its baseline). No AVX-512 path: it could not be measured here.
//!
//! Both paths also split the payload at the next 64-byte boundary of its address, so that
//! the bulk runs on aligned stores (the key rotated by the head's length). Tests compare both
//! paths with the byte-at-a-time definition of §5.3 at every length to 4 KiB, every start
//! offset in a cache line and every key phase (`tests` below, and the `mask` fuzz target).

#![allow(unsafe_code)]

use super::{rotated, word};

/// Payloads from this size take the split and the wide loop; below it the set-up costs more
/// than it saves.
pub(super) const WIDE_FROM: usize = 256;

/// XORs `buf` with `key` (phase 0 at `buf[0]`), in 8-byte words and a byte tail. The loop
/// every path runs; `#[inline(always)]` so that it is compiled anew inside each caller,
/// with that caller's target features.
#[inline(always)]
fn xor_in_place(buf: &mut [u8], key: [u8; 4]) {
    let k64 = word(key);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for w in words {
        *w = (u64::from_ne_bytes(*w) ^ k64).to_ne_bytes();
    }
    // Words cover a multiple of 4 bytes, so the tail starts at key phase 0 again.
    let k32 = u32::from_le_bytes(key);
    for (i, b) in tail.iter_mut().enumerate() {
        *b ^= (k32 >> (8 * (i & 3))) as u8;
    }
}

/// The copying sibling of [`xor_in_place`]: `dst` and `src` have the same length.
#[inline(always)]
fn xor_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let k64 = word(key);
    let (dw, dt) = dst.as_chunks_mut::<8>();
    let (sw, st) = src.as_chunks::<8>();
    for (d, s) in dw.iter_mut().zip(sw) {
        *d = (u64::from_ne_bytes(*s) ^ k64).to_ne_bytes();
    }
    let k32 = u32::from_le_bytes(key);
    for (i, (d, s)) in dt.iter_mut().zip(st).enumerate() {
        *d = s ^ (k32 >> (8 * (i & 3))) as u8;
    }
}

/// Bytes before the next 64-byte boundary of `ptr`'s address, at most `len`.
#[inline(always)]
fn head_len(ptr: *const u8, len: usize) -> usize {
    ptr.addr().wrapping_neg() % 64 % (len + 1)
}

/// Masks `buf` in place, `key` already rotated to `buf[0]`'s phase: the head up to a 64-byte
/// boundary, then the bulk on aligned stores.
pub(super) fn mask_in_place(buf: &mut [u8], key: [u8; 4]) {
    let (head, bulk) = buf.split_at_mut(head_len(buf.as_ptr(), buf.len()));
    xor_in_place(head, key);
    bulk_in_place(bulk, rotated(key, head.len()));
}

/// Masks `src` into `dst` (the same length), `key` already rotated to `src[0]`'s phase: the
/// head up to a 64-byte boundary of `dst`, then the bulk on aligned stores.
pub(super) fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let n = dst.len().min(src.len());
    let at = head_len(dst.as_ptr(), n);
    let (dst_head, dst_bulk) = dst.split_at_mut(at);
    let (src_head, src_bulk) = src.split_at(at);
    xor_copy(dst_head, src_head, key);
    let (dst_bulk, src_bulk) = (
        dst_bulk.get_mut(..n - at).unwrap_or_default(),
        src_bulk.get(..n - at).unwrap_or_default(),
    );
    bulk_copy(dst_bulk, src_bulk, rotated(key, at));
}

/// The in-place loop, the widest the CPU runs: the dispatch.
fn bulk_in_place(buf: &mut [u8], key: [u8; 4]) {
    #[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the function's only precondition is the CPU feature it is compiled with,
        // AVX2, which `is_x86_feature_detected!` confirmed on the line above.
        unsafe { avx2::xor_in_place(buf, key) };
        return;
    }
    xor_in_place(buf, key);
}

/// The copying loop, the widest the CPU runs: the dispatch.
fn bulk_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    #[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the function's only precondition is the CPU feature it is compiled with,
        // AVX2, which `is_x86_feature_detected!` confirmed on the line above.
        unsafe { avx2::xor_copy(dst, src, key) };
        return;
    }
    xor_copy(dst, src, key);
}

/// The portable loops compiled with AVX2: safe functions, `unsafe` only to call (see the
/// module docs).
#[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
mod avx2 {
    #[target_feature(enable = "avx2")]
    pub(super) fn xor_in_place(buf: &mut [u8], key: [u8; 4]) {
        super::xor_in_place(buf, key);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn xor_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
        super::xor_copy(dst, src, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::apply_mask_reference;
    use alloc::vec::Vec;

    /// Every path against the byte-at-a-time definition of §5.3, in place and copying: the
    /// split and dispatch together (the wide loop on a CPU with AVX2) for every length
    /// 0..=4096, every start offset within a 64-byte line (so every head length) and every
    /// key phase; the wide loop called directly (the dispatch's bulk) and the portable loop
    /// for every length and phase at four start offsets (they do not split, so alignment
    /// only moves where the vector stores fall).
    #[test]
    fn every_path_equals_the_reference() {
        const MAX: usize = 4096;
        let key = [0x9d, 0x31, 0xe4, 0x07];
        let backing: Vec<u8> = (0..MAX + 128).map(|i| (i * 131 % 251) as u8).collect();
        let mut work = alloc::vec![0u8; backing.len()];
        let mut copy = alloc::vec![0u8; backing.len()];
        type InPlace = fn(&mut [u8], [u8; 4]);
        type Copying = fn(&mut [u8], &[u8], [u8; 4]);
        let split: [(&str, InPlace, Copying); 1] =
            [("split and dispatch", mask_in_place, mask_copy)];
        let direct: [(&str, InPlace, Copying); 2] = [
            ("wide loop directly", bulk_in_place, bulk_copy),
            ("portable loop", xor_in_place, xor_copy),
        ];
        for start in 0..64 {
            for phase in 0..4 {
                // The reference for the longest payload at this start; shorter ones are its
                // prefixes.
                let mut want = backing[start..start + MAX].to_vec();
                apply_mask_reference(&mut want, key, phase);
                let k = rotated(key, phase);
                let paths = if [0, 1, 31, 63].contains(&start) {
                    &[split[0], direct[0], direct[1]][..]
                } else {
                    &split[..]
                };
                for len in 0..=MAX {
                    let src = &backing[start..start + len];
                    let want = &want[..len];
                    for (name, in_place, copying) in paths {
                        let buf = &mut work[start..start + len];
                        buf.copy_from_slice(src);
                        in_place(buf, k);
                        assert!(buf == want, "{name}: start {start} len {len} phase {phase}");
                        let dst = &mut copy[63 - start..63 - start + len];
                        copying(dst, src, k);
                        assert!(
                            dst == want,
                            "{name} copying: start {start} len {len} phase {phase}"
                        );
                    }
                }
            }
        }
    }
}
