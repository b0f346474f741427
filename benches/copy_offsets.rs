//! The cost of one 64 KiB `memcpy` by where the destination sits relative to the source
//! modulo 4 KiB (both in one allocation, a multiple of 4 KiB apart, plus the offset), whole
//! and in 2 KiB pieces: the measurement behind the crate's copying in pieces
//! (`buffer::COPY_PIECE`) and the read copy of `benches/compare.rs`.
//!
//! ```sh
//! cargo bench --bench copy_offsets
//! ```
//!
//! On glibc 2.36 and an AMD EPYC with FSRM (this project's machine, 2026-12-07), a whole
//! 64 KiB copy takes the `rep movsb` path: about 3 GB/s with the destination 1 to 15 bytes
//! past the source modulo 4 KiB, 55 GB/s at 0, 16 or 32, about 40 GB/s elsewhere. In 2 KiB
//! pieces (under glibc's 2,112-byte `rep movsb` threshold: the vector loop) the slowest
//! offset ran at 35 GB/s. 4 KiB pieces are still `rep movsb`, and as slow.

use std::hint::black_box;
use std::time::Instant;

const LEN: usize = 64 * 1024;
const ROUNDS: usize = 3000;

/// GB/s for copying `LEN` bytes from `src` to `dst` with `copy`.
fn rate(dst: &mut [u8], src: &[u8], copy: fn(&mut [u8], &[u8])) -> f64 {
    for _ in 0..100 {
        copy(dst, src);
    }
    let started = Instant::now();
    for _ in 0..ROUNDS {
        copy(dst, black_box(src));
        black_box(&*dst);
    }
    (LEN * ROUNDS) as f64 / started.elapsed().as_secs_f64() / 1e9
}

fn whole(dst: &mut [u8], src: &[u8]) {
    dst.copy_from_slice(src);
}

fn pieces(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_mut(2048).zip(src.chunks(2048)) {
        d.copy_from_slice(s);
    }
}

fn main() {
    // Source at the start of a 64-byte line, destination 128 KiB later plus `delta`: the
    // two are `delta` apart modulo 4 KiB.
    let mut backing = vec![1u8; 4 * LEN + 8192];
    let base = backing.as_ptr().align_offset(4096);
    println!("| destination − source (mod 4 KiB) | whole copy (GB/s) | in 2 KiB pieces (GB/s) |");
    println!("|---|---|---|");
    let (mut slowest_whole, mut slowest_pieces) = (f64::MAX, f64::MAX);
    let deltas = (0..64).chain([96, 128, 1024, 2048, 4000, 4095]);
    for delta in deltas {
        let (head, tail) = backing[base..].split_at_mut(2 * LEN);
        let s = &head[..LEN];
        let d = &mut tail[delta..delta + LEN];
        let (w, p) = (rate(d, s, whole), rate(d, s, pieces));
        slowest_whole = slowest_whole.min(w);
        slowest_pieces = slowest_pieces.min(p);
        println!("| {delta} | {w:.1} | {p:.1} |");
    }
    println!("\nslowest: whole {slowest_whole:.1} GB/s, in pieces {slowest_pieces:.1} GB/s");
}
