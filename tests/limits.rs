//! Every buffer has a limit, and memory grows only with bytes that arrived.

mod common;

use common::*;
use wsmachine::{
    CloseCause, CloseCode, Config, Delivery, MessageKind, OwnedEvent, ProtocolError, SendError,
};

/// A client frame header declaring `len` payload bytes (masked, 64-bit length).
fn header_64(opcode: u8, len: u64) -> Vec<u8> {
    let mut h = vec![0x80 | opcode, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[1, 2, 3, 4]);
    h
}

/// A header that declares 2^40 bytes fails with 1009 at once, allocating nothing for it.
#[test]
fn declared_huge_frame_fails_with_1009_without_allocating() {
    for len in [1u64 << 40, (1 << 63) - 1, 16 * 1024 * 1024 + 1] {
        let mut s = server_open(Config::new());
        let events = feed(&mut s, &header_64(BINARY, len));
        let c = closed(&events);
        assert_eq!(c.code, CloseCode::TOO_BIG, "len {len}");
        assert_eq!(c.cause, CloseCause::Failed(ProtocolError::FrameTooLarge));
        assert!(s.memory().total() < 4096, "memory {:?}", s.memory());
    }
}

/// §5.2: the most significant bit of a 64-bit length must be 0: 1002.
#[test]
fn length_with_top_bit_fails_with_1002() {
    let mut s = server_open(Config::new());
    let c = closed(&feed(&mut s, &header_64(BINARY, 1 << 63)));
    assert_eq!(c.cause, CloseCause::Failed(ProtocolError::LengthTopBitSet));
    assert_eq!(c.code, CloseCode::PROTOCOL_ERROR);
}

/// The frame size limit is inclusive.
#[test]
fn frame_size_limit_boundary() {
    let config = Config::new()
        .with_max_frame_size(1000)
        .with_max_message_size(10_000);
    let mut s = server_open(config);
    let events = feed(&mut s, &cframe(true, BINARY, &[7; 1000]));
    assert_eq!(kinds(&events), vec!["binary 1000"]);
    let events = feed(&mut s, &cframe(true, BINARY, &[7; 1001]));
    assert_eq!(
        closed(&events).cause,
        CloseCause::Failed(ProtocolError::FrameTooLarge)
    );
}

/// The message size limit is inclusive and checked at the header that crosses it, before
/// its payload arrives.
#[test]
fn message_size_limit_boundary_across_fragments() {
    let config = Config::new().with_max_message_size(1000);
    let mut s = server_open(config);
    let mut input = cframe(false, TEXT, &[b'a'; 600]);
    input.extend(cframe(true, CONT, &[b'b'; 400]));
    assert_eq!(kinds(&feed(&mut s, &input)), vec!["text 1000"]);
    let _ = feed(&mut s, &cframe(false, TEXT, &[b'a'; 600]));
    let header_only = &cframe(true, CONT, &[b'b'; 401])[..8];
    let events = feed(&mut s, header_only);
    let c = closed(&events);
    assert_eq!(
        (c.code, c.cause),
        (
            CloseCode::TOO_BIG,
            CloseCause::Failed(ProtocolError::MessageTooLarge)
        )
    );
}

/// A fragment count limit bounds messages of endless empty fragments: 1008.
#[test]
fn fragment_count_limit_fails_with_1008() {
    let mut s = server_open(Config::new().with_max_fragments(3));
    let mut input = cframe(false, BINARY, b"a");
    input.extend(cframe(false, CONT, b""));
    input.extend(cframe(true, CONT, b"b"));
    assert_eq!(kinds(&feed(&mut s, &input)), vec!["binary 2"]);
    let mut input = cframe(false, BINARY, b"a");
    for _ in 0..3 {
        input.extend(cframe(false, CONT, b""));
    }
    let c = closed(&feed(&mut s, &input));
    assert_eq!(
        (c.code, c.cause),
        (
            CloseCode::POLICY,
            CloseCause::Failed(ProtocolError::TooManyFragments)
        )
    );
}

/// Streaming delivery passes a message of any number of frames: a peer that streams 10,000
/// frames (past the default `max_fragments` of 4,096) is not failed with 1008, and memory
/// stays bounded by one frame. (Assembled delivery keeps the limit, above.)
#[test]
fn streaming_passes_any_number_of_fragments() {
    let mut s = server_open(Config::new().with_delivery(Delivery::Streaming));
    let mut delivered = 0usize;
    let mut frames = 0;
    let mut peak = 0;
    for i in 0..10_000 {
        let frame = if i == 0 {
            cframe(false, BINARY, &[7; 100])
        } else {
            cframe(i == 9_999, CONT, &[7; 100])
        };
        for event in feed(&mut s, &frame) {
            match event {
                OwnedEvent::Fragment { data, .. } => delivered += data.len(),
                other => panic!("frame {i}: {other:?}"),
            }
        }
        frames += 1;
        peak = peak.max(s.memory().total());
    }
    assert_eq!((frames, delivered), (10_000, 1_000_000));
    assert!(peak < 4096, "memory peaked at {peak} bytes");
    assert_eq!(s.state(), wsmachine::State::Open);
}

/// Streaming delivery passes a message far larger than any buffer limit with bounded memory.
#[test]
fn streaming_passes_a_huge_message_with_bounded_memory() {
    let config = Config::new()
        .with_delivery(Delivery::Streaming)
        .with_max_frame_size(1 << 30)
        .with_max_message_size(1024);
    let mut s = server_open(config);
    let total: u64 = 64 << 20;
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]); // a zero mask leaves the payload as sent
    let _ = feed(&mut s, &header);
    let chunk = vec![0x5a; 64 * 1024];
    let mut seen = 0u64;
    let mut peak = 0;
    while seen < total {
        for e in feed(&mut s, &chunk) {
            match e {
                OwnedEvent::Fragment { kind, data, fin } => {
                    assert_eq!(kind, MessageKind::Binary);
                    assert!(data.iter().all(|&b| b == 0x5a));
                    seen += data.len() as u64;
                    assert_eq!(fin, seen == total);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        peak = peak.max(s.memory().total());
    }
    assert_eq!(seen, total);
    assert!(peak <= 256 * 1024, "peak memory {peak}");
}

/// The output backlog is capped: a send that would exceed it fails with `OutputFull` and
/// queues nothing; writing the output out makes room again.
#[test]
fn output_backlog_limit_refuses_without_queuing() {
    let mut s = server_open(Config::new().with_max_output_backlog(10_000));
    let mut sent = 0;
    loop {
        match s.send_binary(&[1; 1000]) {
            Ok(()) => sent += 1,
            Err(e) => {
                assert_eq!(e, SendError::OutputFull);
                break;
            }
        }
    }
    assert_eq!(sent, 9, "9 frames of 1004 bytes fit in 10,000");
    let len = s.output().len();
    assert_eq!(
        s.send_text("x".repeat(2000).as_str()),
        Err(SendError::OutputFull)
    );
    assert_eq!(s.output().len(), len);
    assert!(s.output().len() <= 10_000);
    take_output(&mut s);
    s.send_binary(&[1; 1000]).unwrap();
}

/// Automatic replies are queued even when the backlog is full, and pongs coalesce so that a
/// peer that pings without reading cannot grow the output.
#[test]
fn auto_replies_bypass_the_backlog_and_pongs_coalesce() {
    let mut s = server_open(Config::new().with_max_output_backlog(1000));
    s.send_binary(&[0; 990]).unwrap();
    assert_eq!(s.send_binary(b"xxxxxxxx"), Err(SendError::OutputFull));
    let before = s.output().len();
    for i in 0..1000u32 {
        let _ = feed(&mut s, &cframe(true, PING, &i.to_be_bytes()));
    }
    let frames = decode_frames(s.output());
    assert_eq!(frames.len(), 1 + 16, "the data frame and 16 pending pongs");
    assert!(frames[1..].iter().all(|f| f.opcode == PONG));
    assert_eq!(frames[16].payload, 999u32.to_be_bytes());
    assert_eq!(s.output().len(), before + 16 * (2 + 4));
}

/// `receive` takes no more than the input buffer's limit; draining events frees room.
#[test]
fn receive_is_bounded_and_resumes_after_draining() {
    let config = Config::new()
        .with_max_frame_size(1024)
        .with_read_sizes(256, 1024);
    let mut s = server_open(config);
    let mut input = Vec::new();
    for i in 0..100u8 {
        input.extend(cframe(true, BINARY, &[i; 1000]));
    }
    let n = s.receive(&input);
    assert!(n < input.len(), "took {n} of {}", input.len());
    // Capacity is at most twice the limit (see `ByteBuf::reserve`).
    assert!(
        s.memory().input <= 2 * (1024 + 14 + 1024),
        "{:?}",
        s.memory()
    );
    let mut events = drain(&mut s);
    events.extend(feed(&mut s, &input[n..]));
    assert_eq!(events.len(), 100);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e, &OwnedEvent::Binary(vec![i as u8; 1000]));
    }
}

/// An idle connection can give all of its buffers back.
#[test]
fn release_buffers_frees_everything_when_idle() {
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_binary(&[3; 100_000]).unwrap();
    p.run();
    assert_eq!(kinds(&p.server_events), vec!["binary 100000"]);
    p.client.release_buffers();
    p.server.release_buffers();
    assert_eq!(p.client.memory().total(), 0);
    assert_eq!(p.server.memory().total(), 0);
    p.client.send_text("again").unwrap();
    p.run();
    assert_eq!(
        p.server_events.last(),
        Some(&OwnedEvent::Text("again".into()))
    );
}

/// A large message does not pin its buffer once traffic is small again.
#[test]
fn buffers_shrink_after_a_large_message() {
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_binary(&vec![9; 4 << 20]).unwrap();
    p.run();
    for _ in 0..3 {
        p.client.send_text("small").unwrap();
        p.run();
    }
    assert!(
        p.server.memory().total() < 64 * 1024,
        "{:?}",
        p.server.memory()
    );
    assert!(
        p.client.memory().total() < 64 * 1024,
        "{:?}",
        p.client.memory()
    );
}

/// Regression (found by the `output_within_backlog` property): automatic replies grew the
/// output buffer's capacity, and the backlog check then only looked at spare capacity, so
/// sends went on succeeding past the limit.
#[test]
fn backlog_limit_holds_after_auto_replies_grew_the_buffer() {
    let mut s = server_open(Config::new().with_max_output_backlog(1024));
    while s.send_binary(&[7]).is_ok() {}
    for i in 0..10u8 {
        let _ = feed(&mut s, &cframe(true, PING, &[i]));
        assert_eq!(s.send_binary(&[7]), Err(SendError::OutputFull));
    }
    assert!(
        s.output().len() <= 1024 + 16 * 131,
        "output {}",
        s.output().len()
    );
}

/// Regression (found by the `message_buffer_within_max_message_size` property): assembling a
/// fragmented message doubled the buffer past `max_message_size`.
#[test]
fn message_buffer_never_exceeds_max_message_size() {
    let config = Config::new()
        .with_max_frame_size(4096)
        .with_max_message_size(8192);
    let mut s = server_open(config);
    let mut input = cframe(false, BINARY, &[1; 3000]);
    input.extend(cframe(false, CONT, &[2; 3001]));
    input.extend(cframe(true, CONT, &[3; 2000]));
    let mut peak = 0;
    let mut events = Vec::new();
    for chunk in input.chunks(500) {
        events.extend(feed(&mut s, chunk));
        peak = peak.max(s.memory().message);
    }
    assert_eq!(kinds(&events), vec!["binary 8001"]);
    assert!(peak <= 8192, "message buffer reached {peak}");
}

/// Regression (review): bytes read past an upgrade done elsewhere are all kept, also after a
/// frame large enough to end a `receive` call early.
#[test]
fn upgraded_connection_keeps_all_leftover_bytes() {
    let mut leftover = cframe(true, BINARY, &vec![5; 70_000]);
    leftover.extend(cframe(true, TEXT, b"hi"));
    let mut s = wsmachine::Connection::upgraded_server(Config::new(), &leftover);
    assert_eq!(kinds(&drain(&mut s)), vec!["binary 70000", "text 2"]);
}

/// A slow reader keeps the backlog near its limit while small messages are queued as room
/// frees: each send must not move the whole backlog (the buffer may grow to twice the limit
/// instead, so moves are paid for by consumed bytes).
#[test]
fn backlog_near_its_limit_stays_cheap() {
    let limit = 4 << 20;
    let mut s = server_open(Config::new().with_max_output_backlog(limit));
    while s.send_binary(&[1; 1000]).is_ok() {}
    let start = std::time::Instant::now();
    for _ in 0..20_000 {
        s.consume_output(1004);
        s.send_binary(&[1; 1000]).unwrap();
    }
    // 20,000 moves of 4 MiB would take many seconds; amortised moves take milliseconds.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(s.memory().output <= 2 * limit);
}

/// A server can send a large message without copying it: the header it returns plus the
/// payload, written together, decode as one frame (the payload never enters the output).
#[test]
fn unbuffered_send_writes_only_the_header() {
    let mut s = server_open(Config::new());
    let payload = vec![9u8; 200_000];
    let header = s
        .encode_unbuffered(wsmachine::Message::Binary(&payload))
        .unwrap();
    assert!(s.output().is_empty());
    let mut wire = header.as_bytes().to_vec();
    wire.extend_from_slice(&payload);
    let frames = decode_frames(&wire);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].opcode, frames[0].fin, frames[0].masked),
        (BINARY, true, false)
    );
    assert_eq!(frames[0].payload, payload);
    assert_eq!(s.stats().sent.largest_message, 200_000);
    // Not possible while output waits, nor for a client (its frames must be masked).
    s.send_text("queued").unwrap();
    assert_eq!(
        s.encode_unbuffered(wsmachine::Message::Text("x")),
        Err(SendError::UnbufferedNotPossible)
    );
    let mut c = client_open(Config::new());
    assert_eq!(
        c.encode_unbuffered(wsmachine::Message::Text("x")),
        Err(SendError::UnbufferedNotPossible)
    );
}

/// `read_buf` never offers more than the input limit leaves, however large the buffer grew
/// before: an application that reads without draining events holds at most one frame plus
/// one read (`receive` has the same bound).
#[test]
fn read_buf_respects_the_input_limit() {
    let config = Config::new()
        .with_max_frame_size(1000)
        .with_max_message_size(100_000)
        .with_read_sizes(256, 512);
    // Frame + largest header + one read.
    let limit = 1000 + 14 + 512;
    let frame = cframe(true, BINARY, &[7; 1000]);
    let stream = frame.repeat(200);
    for warm_up in [0usize, 1, 3] {
        let mut s = server_open(config);
        let mut at = 0;
        // Grow the buffer first: deliver `warm_up` frames while draining events.
        for _ in 0..warm_up {
            let events = feed(&mut s, &frame);
            assert_eq!(kinds(&events), vec!["binary 1000"]);
            at += frame.len();
        }
        // Now read without draining: the offers must run out at the limit.
        let mut held = 0;
        loop {
            let buf = s.read_buf();
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(stream.len() - at);
            buf[..n].copy_from_slice(&stream[at..at + n]);
            s.commit_read(n);
            at += n;
            held += n;
            assert!(held <= limit, "held {held} > {limit} (warm-up {warm_up})");
        }
        assert!(held >= frame.len(), "a whole frame must fit (held {held})");
    }
}

/// Read sizes are the application's to choose: a huge configured size is cut to the input
/// limit, and a read that fills the offer doubles the next one without overflowing.
#[test]
fn huge_configured_read_sizes_are_cut_to_the_limit() {
    let config = Config::new().with_read_sizes(usize::MAX, usize::MAX);
    let mut server = wsmachine::Connection::server(config);
    let mut at = 0;
    while at < REQUEST.len() {
        let buf = server.read_buf();
        assert!(
            !buf.is_empty() && buf.len() <= 2 * 16 * 1024 + 1,
            "{}",
            buf.len()
        );
        // Fill the whole offer (a read that ends the request early would not).
        let n = buf.len().min(REQUEST.len() - at);
        buf[..n].copy_from_slice(&REQUEST[at..at + n]);
        buf[n..].fill(b' ');
        let offered = buf.len();
        server.commit_read(offered);
        at += n;
    }
    assert!(matches!(
        server.poll_event(),
        Some(wsmachine::Event::Request(r)) if r.is_websocket()
    ));
}
