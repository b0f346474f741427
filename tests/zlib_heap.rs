//! The heap figures that `Connection::memory()` and README's deflate memory table rest on,
//! measured with a counting allocator: zlib-rs's compressor takes `4 * 2^bits + 243 KiB`, and
//! its decompressor the same (about 46 KiB) at every window size. Run with `--nocapture` to
//! see them.
#![cfg(feature = "deflate")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

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
fn decompressor_heap_does_not_depend_on_window_bits() {
    // JSON-like text that repeats at a distance larger than a 9-bit window.
    let record = br#"{"id": 12, "name": "alpha", "tags": ["x", "y"]}, "#;
    let text: Vec<u8> = (0..65536usize)
        .map(|i| record[i % record.len()] ^ ((i / 997) as u8 & 1))
        .collect();
    let mut sizes = Vec::new();
    for bits in [9u8, 12, 15] {
        let start = live();
        let mut compress = Compress::new_with_window_bits(Compression::new(6), false, bits);
        let compressor = live() - start;
        let mut packed = Vec::with_capacity(2 * text.len());
        compress
            .compress_vec(&text, &mut packed, FlushCompress::Sync)
            .unwrap();
        let mut plain = Vec::with_capacity(text.len());
        let before = live();
        let mut decompress = Decompress::new_with_window_bits(false, bits);
        let created = live() - before;
        decompress
            .decompress_vec(&packed, &mut plain, FlushDecompress::Sync)
            .unwrap();
        let used = live() - before;
        assert_eq!(plain, text);
        assert_eq!(created, used, "the decompressor grows while inflating");
        println!("{bits} bits: compressor {compressor} B, decompressor {used} B");
        sizes.push((compressor, used));
    }
    let (c9, d9) = sizes[0];
    let (c12, d12) = sizes[1];
    let (c15, d15) = sizes[2];
    assert_eq!((d9, d12), (d15, d15));
    assert!((40 * 1024..56 * 1024).contains(&d15), "{d15}");
    assert_eq!(c12 - c9, 4 * ((1 << 12) - (1 << 9)));
    assert_eq!(c15 - c12, 4 * ((1 << 15) - (1 << 12)));
    assert!(
        (230 * 1024..256 * 1024).contains(&(c9 - 4 * (1 << 9))),
        "{c9}"
    );
}
