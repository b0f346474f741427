//! RFC 6455 §5.5: control frames: the 125-byte limit, ping and pong, automatic pongs and
//! their coalescing, and boundedness under a ping flood.
//!
//! Expected bytes come from the RFC text or from the independent encoder/decoder in
//! `tests/common`, never from the crate's own codec.

mod common;
use common::*;
use wsmachine::{Config, OwnedEvent, ProtocolError, SendError};

/// `(fin, opcode, masked, payload)` of each decoded frame.
fn summary(frames: &[Decoded]) -> Vec<(bool, u8, bool, Vec<u8>)> {
    frames
        .iter()
        .map(|f| (f.fin, f.opcode, f.masked, f.payload.clone()))
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

// ----- §5.5: the 125-byte limit ----------------------------------------------------------------

/// §5.5: "All control frames MUST have a payload length of 125 bytes or less"; a close, ping
/// or pong with 126 bytes fails the connection with 1002.
#[test]
fn control_frame_over_125_bytes_fails_with_1002() {
    for op in [CLOSE, PING, PONG] {
        let mut server = server_open(Config::new());
        let mut payload = close_payload(1000, "");
        payload.resize(126, b'x');
        let events = feed(&mut server, &cframe(true, op, &payload));
        assert_failed(
            &mut server,
            &events,
            ProtocolError::ControlFrameTooLong,
            1002,
        );
    }
}

/// §5.5: an over-long control frame fails as soon as its header says so, without waiting for
/// the payload.
#[test]
fn control_frame_over_125_bytes_fails_at_the_header() {
    let mut client = client_open(Config::new());
    let frame = sframe(true, PING, &pattern(200));
    // 2 bytes and the 16-bit length.
    let events = feed(&mut client, &frame[..4]);
    assert_failed(
        &mut client,
        &events,
        ProtocolError::ControlFrameTooLong,
        1002,
    );
}

/// §5.5: `ping` with more than 125 bytes is refused with `ControlTooLong`, queuing nothing.
#[test]
fn ping_over_125_bytes_is_refused() {
    let mut client = client_open(Config::new());
    assert_eq!(client.ping(&pattern(126)), Err(SendError::ControlTooLong));
    assert!(client.output().is_empty(), "nothing queued");
}

/// §5.5: `pong` with more than 125 bytes is refused with `ControlTooLong`, queuing nothing.
#[test]
fn pong_over_125_bytes_is_refused() {
    let mut server = server_open(Config::new());
    assert_eq!(server.pong(&pattern(126)), Err(SendError::ControlTooLong));
    assert!(server.output().is_empty(), "nothing queued");
}

/// §5.5: a ping with exactly 125 bytes of payload may be sent.
#[test]
fn ping_of_exactly_125_bytes_is_sent() {
    let mut client = client_open(Config::new());
    client.ping(&pattern(125)).unwrap();
    let frames = decode_frames(&take_output(&mut client));
    assert_eq!(summary(&frames), vec![(true, PING, true, pattern(125))]);
}

/// §5.5/§5.5.2: a received ping with exactly 125 bytes is delivered and answered in full.
#[test]
fn ping_of_exactly_125_bytes_is_received_and_answered() {
    let mut server = server_open(Config::new());
    let events = feed(&mut server, &cframe(true, PING, &pattern(125)));
    assert_eq!(events, vec![OwnedEvent::Ping(pattern(125))]);
    assert_eq!(take_output(&mut server), sframe(true, PONG, &pattern(125)));
}

// ----- §5.5.2 / §5.5.3: ping and pong ------------------------------------------------------------

/// §5.5.2/§5.5.3: a server answers a ping with a pong carrying the identical payload, unmasked.
#[test]
fn server_answers_ping_with_identical_pong() {
    let mut server = server_open(Config::new());
    let payload = [0u8, 1, 0x80, 0xFF, b'h', b'i'];
    let events = feed(&mut server, &cframe(true, PING, &payload));
    assert_eq!(events, vec![OwnedEvent::Ping(payload.to_vec())]);
    assert_eq!(take_output(&mut server), sframe(true, PONG, &payload));
}

/// §5.5.2/§5.5.3: a client answers a ping with a masked pong carrying the identical payload.
#[test]
fn client_answers_ping_with_identical_masked_pong() {
    let mut client = client_open(Config::new());
    let events = feed(&mut client, &sframe(true, PING, b"Hello"));
    assert_eq!(events, vec![OwnedEvent::Ping(b"Hello".to_vec())]);
    let frames = decode_frames(&take_output(&mut client));
    assert_eq!(
        summary(&frames),
        vec![(true, PONG, true, b"Hello".to_vec())]
    );
}

/// §5.5.2: a ping with an empty payload is answered with an empty pong.
#[test]
fn empty_ping_is_answered_with_empty_pong() {
    let mut server = server_open(Config::new());
    assert_eq!(
        feed(&mut server, &cframe(true, PING, b"")),
        vec![OwnedEvent::Ping(Vec::new())]
    );
    assert_eq!(take_output(&mut server), sframe(true, PONG, b""));
}

/// §5.5.2: a ping that arrives one byte at a time is answered once, with its whole payload.
#[test]
fn ping_split_across_reads_gets_one_pong() {
    let mut server = server_open(Config::new());
    let events = feed_bytewise(&mut server, &cframe(true, PING, b"split ping"));
    assert_eq!(events, vec![OwnedEvent::Ping(b"split ping".to_vec())]);
    assert_eq!(take_output(&mut server), sframe(true, PONG, b"split ping"));
}

/// §5.5.2: with automatic pongs disabled the ping is still delivered but nothing is sent;
/// the application answers itself.
#[test]
fn auto_pong_can_be_disabled() {
    let mut server = server_open(Config::new().with_auto_pong(false));
    let events = feed(&mut server, &cframe(true, PING, b"Hello"));
    assert_eq!(events, vec![OwnedEvent::Ping(b"Hello".to_vec())]);
    assert!(server.output().is_empty(), "no automatic pong");
    server.pong(b"Hello").unwrap();
    assert_eq!(take_output(&mut server), sframe(true, PONG, b"Hello"));
}

/// §5.5.3: "A Pong frame MAY be sent unsolicited"; one received is delivered as a pong event
/// and not answered.
#[test]
fn unsolicited_pong_is_delivered_as_pong_event() {
    let mut server = server_open(Config::new());
    assert_eq!(
        feed(&mut server, &cframe(true, PONG, b"heartbeat")),
        vec![OwnedEvent::Pong(b"heartbeat".to_vec())]
    );
    assert!(server.output().is_empty(), "a pong is not answered");
}

/// §5.5.3: an application may send an unsolicited pong.
#[test]
fn unsolicited_pong_may_be_sent() {
    let mut client = client_open(Config::new());
    client.pong(b"heartbeat").unwrap();
    let frames = decode_frames(&take_output(&mut client));
    assert_eq!(
        summary(&frames),
        vec![(true, PONG, true, b"heartbeat".to_vec())]
    );
}

/// §5.2 / §5.5.2: each ping gets its own pong while only a few are waiting unsent (peers such
/// as the Autobahn|Testsuite expect one pong per ping).
#[test]
fn each_ping_gets_its_pong_while_few_are_pending() {
    let mut server = server_open(Config::new());
    let bytes = [
        cframe(true, PING, b"one"),
        cframe(true, PING, b"two"),
        cframe(true, PING, b"three"),
    ]
    .concat();
    let events = feed(&mut server, &bytes);
    assert_eq!(
        events,
        vec![
            OwnedEvent::Ping(b"one".to_vec()),
            OwnedEvent::Ping(b"two".to_vec()),
            OwnedEvent::Ping(b"three".to_vec()),
        ]
    );
    assert_eq!(
        take_output(&mut server),
        [
            sframe(true, PONG, b"one"),
            sframe(true, PONG, b"two"),
            sframe(true, PONG, b"three")
        ]
        .concat()
    );
}

/// §5.5.3: once 16 pongs wait unsent, a newer ping's pong replaces the last of them: the
/// endpoint answers only the most recently processed ping.
#[test]
fn pongs_coalesce_beyond_sixteen_pending() {
    let mut client = client_open(Config::new());
    for i in 0..20u8 {
        assert_eq!(
            feed(&mut client, &sframe(true, PING, &[i])),
            vec![OwnedEvent::Ping(vec![i])]
        );
    }
    let frames = decode_frames(&take_output(&mut client));
    let payloads: Vec<u8> = frames.iter().map(|f| f.payload[0]).collect();
    let mut expected: Vec<u8> = (0..15).collect();
    expected.push(19);
    assert_eq!(payloads, expected);
    assert!(frames.iter().all(|f| f.opcode == PONG && f.masked && f.fin));
}

/// §5.5.3: a pong of which some bytes were already written out is not replaced (that would
/// corrupt the stream); the newer ping gets its own pong after it.
#[test]
fn partly_written_pong_is_not_replaced() {
    let mut server = server_open(Config::new());
    feed(&mut server, &cframe(true, PING, b"first"));
    let mut written = server.output()[..3].to_vec();
    server.consume_output(3);
    feed(&mut server, &cframe(true, PING, b"second"));
    written.extend(take_output(&mut server));
    assert_eq!(
        written,
        [sframe(true, PONG, b"first"), sframe(true, PONG, b"second")].concat()
    );
}

/// §5.5.3: a pong already followed by other output is not removed or reordered by a newer
/// ping: the frames queued in between stay intact and the newest pong comes last.
#[test]
fn coalescing_never_drops_other_queued_frames() {
    let mut server = server_open(Config::new());
    feed(&mut server, &cframe(true, PING, b"a"));
    server.send_text("data").unwrap();
    feed(&mut server, &cframe(true, PING, b"b"));
    let frames = decode_frames(&take_output(&mut server));
    let texts: Vec<&Decoded> = frames.iter().filter(|f| f.opcode == TEXT).collect();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].payload, b"data");
    assert_eq!(
        summary(&frames[frames.len() - 1..]),
        vec![(true, PONG, false, b"b".to_vec())]
    );
}

/// §5.5.3 with §10: a peer that floods pings and never reads cannot grow our output: 100,000
/// pings leave at most 16 pending pongs, the last for the latest ping.
#[test]
fn ping_flood_keeps_output_bounded() {
    let mut server = server_open(Config::new());
    let mut max_output = 0;
    let mut pings = 0;
    for chunk in 0..100u32 {
        let bytes: Vec<u8> = (0..1000u32)
            .flat_map(|i| cframe(true, PING, &(chunk * 1000 + i).to_be_bytes()))
            .collect();
        let events = feed(&mut server, &bytes);
        pings += events
            .iter()
            .filter(|e| matches!(e, OwnedEvent::Ping(_)))
            .count();
        assert_eq!(events.len(), 1000);
        max_output = max_output.max(server.output().len());
    }
    assert_eq!(pings, 100_000);
    assert!(max_output < 200, "output grew to {max_output} bytes");
    assert!(
        server.memory().output < 4096,
        "output buffer holds {} bytes",
        server.memory().output
    );
    let frames = decode_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 16);
    assert!(frames.iter().all(|f| f.opcode == PONG));
    assert_eq!(frames[15].payload, 99_999u32.to_be_bytes());
}

/// §5.5.2: a ping is answered unless a close frame was *received*; an endpoint waiting for
/// the reply to its own close still answers (regression from review).
#[test]
fn ping_is_answered_while_waiting_for_the_close_reply() {
    let mut server = server_open(Config::new());
    server.close(wsmachine::CloseCode::NORMAL, "").unwrap();
    let _ = take_output(&mut server);
    let events = feed(&mut server, &cframe(true, PING, b"still there?"));
    assert_eq!(events, vec![OwnedEvent::Ping(b"still there?".to_vec())]);
    assert_eq!(
        take_output(&mut server),
        sframe(true, PONG, b"still there?")
    );
}
