//! The heap figure that `Connection::memory()` and README's deflate memory table rest on for
//! the compressor, measured with a counting allocator: zlib-rs's compressor takes
//! `4 * 2^bits + 243 KiB`. (The decompressor is miniz_oxide's: its tables and a 48 KiB output
//! buffer, two allocations of known size, checked against the heap in `tests/alloc.rs`.) Run
//! with `--nocapture` to see the figures.
#![cfg(feature = "deflate")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use flate2::{Compress, Compression, FlushCompress};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts the bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

#[test]
fn compressor_heap_is_four_bytes_per_window_byte_plus_243_kib() {
    // JSON-like text that repeats at a distance larger than a 9-bit window.
    let record = br#"{"id": 12, "name": "alpha", "tags": ["x", "y"]}, "#;
    let text: Vec<u8> = (0..65536usize)
        .map(|i| record[i % record.len()] ^ ((i / 997) as u8 & 1))
        .collect();
    let mut sizes = Vec::new();
    for bits in [9u8, 12, 15] {
        let start = live();
        let mut compress = Compress::new_with_window_bits(Compression::new(6), false, bits);
        let created = live() - start;
        let mut packed = Vec::with_capacity(2 * text.len());
        let before = live();
        compress
            .compress_vec(&text, &mut packed, FlushCompress::Sync)
            .unwrap();
        assert_eq!(live(), before, "the compressor grows while compressing");
        println!("{bits} bits: compressor {created} B");
        sizes.push(created);
    }
    let (c9, c12, c15) = (sizes[0], sizes[1], sizes[2]);
    assert_eq!(c12 - c9, 4 * ((1 << 12) - (1 << 9)));
    assert_eq!(c15 - c12, 4 * ((1 << 15) - (1 << 12)));
    assert!(
        (230 * 1024..256 * 1024).contains(&(c9 - 4 * (1 << 9))),
        "{c9}"
    );
}
