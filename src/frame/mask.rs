//! Payload masking (§5.3): XOR with a 4-byte key, resumable at any payload offset.
//!
//! Masking is applied chunk by chunk as bytes arrive, so every function takes the payload
//! `offset` of the first byte: byte `i` of the payload is XORed with `key[i % 4]`.
//!
//! The fast versions work on 8-byte words so that the compiler vectorises the loop; they
//! are checked against [`apply_mask_reference`] by property tests at every offset and length.
//! Payloads of 256 bytes and more go through [`wide`]: split at a 64-byte boundary, and
//! on x86 with `std`, the same loop compiled for AVX2 when the CPU has it.

mod wide;

/// Returns the key rotated so that its first byte applies to payload position `offset`.
#[inline]
fn rotated(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Byte `offset % 4` of the key moves to the front: a rotation of the little-endian word.
    u32::from_le_bytes(key)
        .rotate_right(8 * (offset % 4) as u32)
        .to_le_bytes()
}

#[inline]
fn word(k: [u8; 4]) -> u64 {
    let [a, b, c, d] = k;
    u64::from_ne_bytes([a, b, c, d, a, b, c, d])
}

/// XORs `buf` in place with `key`, where `buf[0]` is payload byte number `offset`.
///
/// Applying the same mask twice restores the original bytes.
///
/// ```
/// use wsmachine::frame::apply_mask;
/// let key = [1, 2, 3, 4];
/// let mut data = *b"Hello";
/// apply_mask(&mut data[..2], key, 0);
/// apply_mask(&mut data[2..], key, 2); // resume mid-payload
/// apply_mask(&mut data, key, 0);
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() >= wide::WIDE_FROM {
        return wide::mask_in_place(buf, rotated(key, offset));
    }
    let k = rotated(key, offset);
    let k64 = word(k);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for w in words {
        *w = (u64::from_ne_bytes(*w) ^ k64).to_ne_bytes();
    }
    // Words cover a multiple of 4 bytes, so the tail starts at key phase 0 again.
    let k32 = u32::from_le_bytes(k);
    for (i, b) in tail.iter_mut().enumerate() {
        *b ^= (k32 >> (8 * (i & 3))) as u8;
    }
}

/// Copies `src` into `dst` while masking, in one pass; `src[0]` is payload byte `offset`
/// (the copying sibling of [`apply_mask`], whose example applies here too).
///
/// Copies `min(src.len(), dst.len())` bytes.
#[inline]
pub fn apply_mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    let n = dst.len().min(src.len());
    let (Some(dst), Some(src)) = (dst.get_mut(..n), src.get(..n)) else {
        return;
    };
    if n >= wide::WIDE_FROM {
        return wide::mask_copy(dst, src, rotated(key, offset));
    }
    let k = rotated(key, offset);
    let k64 = word(k);
    let (dw, dt) = dst.as_chunks_mut::<8>();
    let (sw, st) = src.as_chunks::<8>();
    for (d, s) in dw.iter_mut().zip(sw) {
        *d = (u64::from_ne_bytes(*s) ^ k64).to_ne_bytes();
    }
    // The tail (under 8 bytes) starts at key phase 0: take the key bytes from the word.
    let k32 = u32::from_le_bytes(k);
    for (i, (d, s)) in dt.iter_mut().zip(st).enumerate() {
        *d = s ^ (k32 >> (8 * (i & 3))) as u8;
    }
}

/// Masks the first `len` bytes of `src` into `dst`, key phase 0, in whole 16-byte blocks that
/// may run past `len` on both sides: for small payloads, where the vectorised loop's set-up
/// costs more than the work. Bytes of `dst` past `len` are overwritten with garbage, so `dst`
/// must be scratch space there. Returns `false`, having done nothing, when `src` or `dst` is
/// shorter than `len` rounded up to 16.
#[inline]
pub(crate) fn mask_copy_blocks(dst: &mut [u8], src: &[u8], key: [u8; 4], len: usize) -> bool {
    let span = len.div_ceil(16) * 16;
    let (Some(dst), Some(src)) = (dst.get_mut(..span), src.get(..span)) else {
        return false;
    };
    let [a, b, c, d] = key;
    let k = u128::from_ne_bytes([a, b, c, d, a, b, c, d, a, b, c, d, a, b, c, d]);
    for (d, s) in dst
        .as_chunks_mut::<16>()
        .0
        .iter_mut()
        .zip(src.as_chunks::<16>().0)
    {
        *d = (u128::from_ne_bytes(*s) ^ k).to_ne_bytes();
    }
    true
}

/// Multiplying a 4-byte key (as a `u32`) by this repeats it over 16 bytes, in either byte
/// order.
pub(crate) const KEY_REPEAT: u128 = 0x0000_0001_0000_0001_0000_0001_0000_0001;

/// [`apply_mask_copy`] at key phase 0 for small payloads: whole 16-byte blocks, then single
/// bytes, without the set-up of the vectorised loop.
#[inline(always)]
pub(crate) fn mask_copy_small(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let k = u128::from(u32::from_ne_bytes(key)) * KEY_REPEAT;
    let (dst_blocks, dst_tail) = dst.as_chunks_mut::<16>();
    let (src_blocks, src_tail) = src.as_chunks::<16>();
    for (d, s) in dst_blocks.iter_mut().zip(src_blocks) {
        *d = (u128::from_ne_bytes(*s) ^ k).to_ne_bytes();
    }
    // The blocks covered a multiple of 4 bytes: the tail starts at key phase 0 again.
    for ((d, s), m) in dst_tail.iter_mut().zip(src_tail).zip(k.to_ne_bytes()) {
        *d = s ^ m;
    }
}

/// [`apply_mask`] at key phase 0 for small payloads, in place, with `key` already repeated
/// over 16 bytes (see [`KEY_REPEAT`]): the in-place sibling of [`mask_copy_small`].
#[inline(always)]
pub(crate) fn mask_small(buf: &mut [u8], key: u128) {
    let (blocks, tail) = buf.as_chunks_mut::<16>();
    for b in blocks {
        *b = (u128::from_ne_bytes(*b) ^ key).to_ne_bytes();
    }
    // The blocks covered a multiple of 4 bytes: the tail starts at key phase 0 again.
    for (b, m) in tail.iter_mut().zip(key.to_ne_bytes()) {
        *b ^= m;
    }
}

/// The byte-at-a-time definition of §5.3, kept as the reference the fast paths are tested
/// against (used as [`apply_mask`] is, see its example).
pub fn apply_mask_reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (b, m) in buf.iter_mut().zip(rotated(key, offset).iter().cycle()) {
        *b ^= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_masked_hello() {
        // §5.7: "A single-frame masked text message" with key 37 fa 21 3d.
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn fast_equals_reference_for_small_cases() {
        let key = [0xa1, 0x02, 0xf3, 0x44];
        for len in 0..140 {
            for off in 0..8 {
                let src: alloc::vec::Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let mut fast = src.clone();
                let mut reference = src.clone();
                apply_mask(&mut fast, key, off);
                apply_mask_reference(&mut reference, key, off);
                assert_eq!(fast, reference, "len {len} offset {off}");
                let mut copied = alloc::vec![0u8; len];
                apply_mask_copy(&mut copied, &src, key, off);
                assert_eq!(copied, reference, "copy len {len} offset {off}");
                if off == 0 {
                    let mut small = alloc::vec![0u8; len];
                    mask_copy_small(&mut small, &src, key);
                    assert_eq!(small, reference, "small len {len}");
                    let mut in_place = src.clone();
                    mask_small(
                        &mut in_place,
                        u128::from(u32::from_ne_bytes(key)) * KEY_REPEAT,
                    );
                    assert_eq!(in_place, reference, "in place len {len}");
                    let span = len.div_ceil(16) * 16;
                    let mut padded_src = src.clone();
                    padded_src.resize(span, 0xee);
                    let mut blocks = alloc::vec![0u8; span];
                    assert!(!mask_copy_blocks(&mut blocks, &src[..], key, len) || len % 16 == 0);
                    assert!(mask_copy_blocks(&mut blocks, &padded_src, key, len));
                    assert_eq!(&blocks[..len], &reference[..], "blocks len {len}");
                    assert!(
                        !mask_copy_blocks(
                            &mut blocks[..span.saturating_sub(1)],
                            &padded_src,
                            key,
                            len
                        ) || len == 0
                    );
                }
            }
        }
    }
}
