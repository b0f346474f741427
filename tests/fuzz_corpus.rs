//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/`) through the same
//! harness bodies the cargo-fuzz targets run, so a plain `cargo test` exercises them on the
//! stable toolchain.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    // Every target has a committed corpus: a missing or empty folder (a renamed target, a
    // corpus left out of a commit) fails here instead of replaying nothing.
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{target}: no corpus at {}: {e}", dir.display()));
    let mut files = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        // A fuzzer running on the same corpus may have just replaced the file.
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(result.is_ok(), "{target}: {} fails", path.display());
        files += 1;
    }
    assert!(
        files > 0,
        "{target}: the corpus at {} is empty",
        dir.display()
    );
    // Empty input and a few fixed ones always run too.
    run(&[]);
    run(&[0; 64]);
    run(&[0xff; 64]);
    println!("{target}: {files} corpus files");
}

#[test]
fn frame_header_corpus() {
    replay("frame_header", harness::frame_header);
}

#[test]
fn server_stream_corpus() {
    replay("server_stream", harness::server_stream);
}

#[test]
fn client_stream_corpus() {
    replay("client_stream", harness::client_stream);
}

#[test]
fn handshake_request_corpus() {
    replay("handshake_request", harness::handshake_request);
}

#[test]
fn handshake_response_corpus() {
    replay("handshake_response", harness::handshake_response);
}

#[test]
fn pair_ops_corpus() {
    replay("pair_ops", harness::pair_ops);
}

#[test]
fn utf8_corpus() {
    replay("utf8", harness::utf8);
}

#[test]
fn mask_corpus() {
    replay("mask", harness::mask);
}

#[cfg(feature = "deflate")]
#[test]
fn inflate_corpus() {
    replay("inflate", harness::inflate);
}
