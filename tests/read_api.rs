//! The zero-copy input pair, `read_buf` and `commit_read`: how a driver tells "drain events
//! first" from end of stream, and what a `commit_read` that does not directly follow its
//! `read_buf` does (nothing).

mod common;

use common::*;
use wsmachine::{Accept, Config, Connection, Event, Message, OwnedEvent, State};

/// Reads `bytes` into the connection the way a socket would.
fn read(conn: &mut Connection, bytes: &[u8]) -> usize {
    let buf = conn.read_buf();
    let n = buf.len().min(bytes.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    conn.commit_read(n);
    n
}

/// A `commit_read` after another input call (here `poll_event`, which may release or move
/// the buffer) commits nothing: the offer `read_buf` made is void. The bytes written into the
/// old offer are not taken, and the stream goes on correctly from the next `read_buf`.
#[test]
fn commit_read_after_poll_event_takes_nothing() {
    let mut s = server_open(Config::new());
    let first = cframe(true, TEXT, b"one");
    let second = cframe(true, TEXT, b"two");
    assert_eq!(read(&mut s, &first), first.len());
    // The application reads into the buffer, then polls before committing.
    let buf = s.read_buf();
    buf[..second.len()].copy_from_slice(&second);
    assert_eq!(s.poll_event(), Some(Event::Message(Message::Text("one"))));
    s.commit_read(second.len());
    assert!(s.poll_event().is_none(), "a stale commit delivered data");
    // Nothing was lost that the stream still holds: reading it again works.
    assert_eq!(read(&mut s, &second), second.len());
    assert_eq!(drain(&mut s), vec![OwnedEvent::Text("two".into())]);
}

/// The same after `receive` (which appends where the offer pointed): the bytes `receive`
/// copied are kept, the stale commit adds nothing after them.
#[test]
fn commit_read_after_receive_takes_nothing() {
    let mut s = server_open(Config::new());
    let buf = s.read_buf();
    buf[..4].copy_from_slice(b"junk");
    let frame = cframe(true, BINARY, &[1, 2, 3]);
    assert_eq!(s.receive(&frame), frame.len());
    s.commit_read(4);
    assert_eq!(drain(&mut s), vec![OwnedEvent::Binary(vec![1, 2, 3])]);
    assert_eq!(s.state(), State::Open);
}

/// A second `commit_read` for one `read_buf` takes nothing either.
#[test]
fn second_commit_read_takes_nothing() {
    let mut s = server_open(Config::new());
    let frame = cframe(true, BINARY, &[9; 10]);
    assert_eq!(read(&mut s, &frame), frame.len());
    s.commit_read(frame.len());
    assert_eq!(drain(&mut s), vec![OwnedEvent::Binary(vec![9; 10])]);
    assert!(s.poll_event().is_none());
}

/// `read_buf` is empty only while events wait: here a peer's frames fill the input buffer
/// (a small `max_frame_size` bounds it) and the application has not polled. After draining,
/// it has room again. A driver therefore checks for an empty `read_buf` before reading, and
/// drains events instead of reading (a read into an empty buffer returns 0, which is end of
/// stream).
#[test]
fn read_buf_is_empty_only_until_events_are_drained() {
    let config = Config::new()
        .with_max_frame_size(100)
        .with_read_sizes(64, 64);
    let mut s = server_open(config);
    let stream: Vec<u8> = (0..100)
        .flat_map(|_| cframe(true, BINARY, &[5; 100]))
        .collect();
    let mut pos = 0;
    loop {
        let n = read(&mut s, &stream[pos..]);
        if n == 0 {
            break;
        }
        pos += n;
        assert!(pos < stream.len(), "the input buffer never filled");
    }
    let sent = pos / 106;
    assert!(s.read_buf().is_empty());
    let events = drain(&mut s);
    assert_eq!(events.len(), sent);
    assert!(!s.read_buf().is_empty());
}

/// A server whose request waits for its answer does not read frames the client sent behind
/// it as frames; once they fill the handshake's input limit, `read_buf` is empty until the
/// application answers (this is the other case a driver must not take for end of stream).
#[test]
fn read_buf_is_empty_while_a_request_waits_with_a_full_buffer() {
    let config = Config::new().with_max_handshake_bytes(256);
    let mut s = Connection::server(config);
    assert_eq!(s.receive(REQUEST), REQUEST.len());
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    let filler = cframe(true, BINARY, &[1; 100]);
    while read(&mut s, &filler) > 0 {}
    assert!(s.read_buf().is_empty());
    assert!(s.poll_event().is_none());
    s.accept(Accept::new()).unwrap();
    let events = drain(&mut s);
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| *e == OwnedEvent::Binary(vec![1; 100]) || matches!(e, OwnedEvent::Closed(_))),
        "{events:?}"
    );
    assert!(!s.read_buf().is_empty());
}

/// After the connection ended, `read_buf` still offers room (input is dropped), so a driver
/// can read on to end of stream.
#[test]
fn read_buf_has_room_after_the_connection_ended() {
    let mut s = server_open(Config::new());
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(1000, ""))) > 0);
    let _ = drain(&mut s);
    assert!(s.is_closed());
    for _ in 0..3 {
        assert!(read(&mut s, &[0; 4096]) > 0);
    }
    assert!(s.poll_event().is_none());
}
