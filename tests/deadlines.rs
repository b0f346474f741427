//! Deadlines with a virtual clock: handshake, close, keepalive, idle and the release of an
//! idle connection's buffers. Each fires exactly
//! at its deadline and not a nanosecond before, is pushed back by the activity it watches and
//! only by it, and never fires when turned off. Time is only ever what the test says.

mod common;

use std::time::Duration;

use common::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{
    CloseCause, CloseCode, Config, Connection, Event, HandshakeError, OwnedEvent, Timestamp,
};

fn at(secs: f64) -> Timestamp {
    Timestamp::from_duration(Duration::from_secs_f64(secs))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Ticks `conn` at `t` and returns the events and output that came of it.
fn tick(conn: &mut Connection, t: Timestamp) -> (Vec<OwnedEvent>, Vec<u8>) {
    conn.handle_timeout(t);
    let events = drain(conn);
    (events, take_output(conn))
}

/// Only keepalive (the defaults, the others off), so that tests of one deadline see only it.
fn keepalive_only() -> Config {
    Config::new()
        .with_handshake_timeout(None)
        .with_close_timeout(None)
        .with_release_buffers_after(None)
}

// ----- handshake ----------------------------------------------------------------------------

/// A server that has half a request at the deadline fails with 408 exactly at 10 s; a request
/// trickling in a byte a second (slowloris) does not push it back.
#[test]
fn server_handshake_deadline_answers_408_exactly_on_time() {
    let mut s = Connection::server(Config::new());
    assert_eq!(tick(&mut s, at(0.0)), (vec![], vec![]));
    assert_eq!(s.poll_timeout(), Some(at(10.0)));
    for i in 0..9 {
        assert_eq!(s.receive(&REQUEST[i..=i]), 1);
        let (events, output) = tick(&mut s, at(i as f64 + 1.0));
        assert!(events.is_empty() && output.is_empty());
        assert_eq!(
            s.poll_timeout(),
            Some(at(10.0)),
            "activity must not push it back"
        );
    }
    let (events, output) = tick(&mut s, at(10.0));
    let closed = closed(&events);
    assert_eq!(
        (closed.code, closed.cause),
        (
            CloseCode::ABNORMAL,
            CloseCause::Handshake(HandshakeError::Timeout)
        )
    );
    assert!(
        output.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
        "{output:?}"
    );
    assert!(s.should_shutdown_write());
    // Then the close deadline: the transport is dropped 10 s later.
    assert_eq!(s.poll_timeout(), Some(at(20.0)));
}

#[test]
fn handshake_deadline_does_not_fire_a_nanosecond_early() {
    let mut s = Connection::server(Config::new());
    tick(&mut s, at(0.0));
    let just_before = Timestamp::from_nanos(at(10.0).as_nanos() - 1);
    let (events, output) = tick(&mut s, just_before);
    assert!(events.is_empty() && output.is_empty());
    assert_eq!(s.state(), wsmachine::State::Connecting);
    assert!(!tick(&mut s, at(10.0)).0.is_empty());
}

/// A client without an answer fails at the deadline (no response to write).
#[test]
fn client_handshake_deadline_fails_the_connection() {
    let request = ClientRequest::new("h", "/");
    let mut c = Connection::client(Config::new(), &request, SEED).unwrap();
    let _ = take_output(&mut c);
    tick(&mut c, at(5.0));
    let (events, output) = tick(&mut c, at(14.999_999_999));
    assert!(events.is_empty() && output.is_empty());
    let (events, output) = tick(&mut c, at(15.0));
    assert_eq!(
        closed(&events).cause,
        CloseCause::Handshake(HandshakeError::Timeout)
    );
    assert!(output.is_empty());
}

/// A refusal without `Content-Length` used to wait for its body until the server closed:
/// the deadline delivers it with what arrived.
#[test]
fn client_refusal_without_length_ends_at_the_deadline() {
    let request = ClientRequest::new("h", "/");
    let mut c = Connection::client(Config::new(), &request, SEED).unwrap();
    let _ = take_output(&mut c);
    tick(&mut c, at(0.0));
    let response = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nnot you";
    assert_eq!(c.receive(response), response.len());
    assert!(drain(&mut c).is_empty(), "the body may go on");
    let (events, _) = tick(&mut c, at(10.0));
    match events.as_slice() {
        [OwnedEvent::Rejected(r), OwnedEvent::Closed(closed)] => {
            assert_eq!((r.status, r.body.as_slice()), (403, &b"not you"[..]));
            assert_eq!(
                closed.cause,
                CloseCause::Handshake(HandshakeError::Rejected(403))
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A request waiting for the application's answer has no handshake deadline: the peer is
/// not the one late.
#[test]
fn no_handshake_deadline_while_the_application_answers() {
    let mut s = Connection::server(Config::new());
    tick(&mut s, at(0.0));
    assert_eq!(s.receive(REQUEST), REQUEST.len());
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    assert_eq!(s.poll_timeout(), None);
    let (events, output) = tick(&mut s, at(3600.0));
    assert!(events.is_empty() && output.is_empty());
}

#[test]
fn handshake_deadline_off_means_never() {
    let mut s = Connection::server(Config::new().with_handshake_timeout(None));
    tick(&mut s, at(0.0));
    assert_eq!(s.poll_timeout(), None);
    let (events, output) = tick(&mut s, at(1e9));
    assert!(events.is_empty() && output.is_empty());
}

// ----- close --------------------------------------------------------------------------------

/// Our close unanswered: at exactly 10 s the transport is to be dropped, `Closed` reports
/// 1006 (abnormal), pending output is abandoned and the connection is drained.
#[test]
fn unanswered_close_ends_at_the_close_deadline() {
    let mut s = server_open(Config::new().with_keepalive(None, None));
    tick(&mut s, at(1.0));
    s.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(s.poll_timeout(), Some(at(11.0)));
    // Data from the peer does not push it back.
    assert!(s.receive(&cframe(true, TEXT, b"late")) > 0);
    let (events, _) = tick(&mut s, at(10.999_999_999));
    assert_eq!(events, vec![OwnedEvent::Text("late".into())]);
    assert!(s.send_binary(&[1; 100]).is_err());
    let (events, output) = tick(&mut s, at(11.0));
    let closed = closed(&events);
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::ABNORMAL, CloseCause::Abnormal)
    );
    assert!(output.is_empty());
    assert!(s.is_drained());
    assert_eq!(s.poll_timeout(), None);
}

/// A client's clean close whose transport does not end (the server never closes TCP): the
/// client waits for the server to close first (§5.5.1 "the client SHOULD wait for the server
/// to close the connection"), and at the deadline the connection is drained, with no second
/// `Closed`.
#[test]
fn clean_close_waiting_for_the_transport_ends_at_the_deadline() {
    let mut c = client_open(keepalive_only().with_close_timeout(Some(secs(10))));
    tick(&mut c, at(0.0));
    assert!(c.receive(&sframe(true, CLOSE, &close_payload(1000, ""))) > 0);
    // The close frame is decoded (and answered) after the report of 2 s.
    let (events, output) = tick(&mut c, at(2.0));
    assert!(closed(&events).is_clean());
    assert!(!output.is_empty());
    assert!(!c.is_drained(), "waiting for the server's end of stream");
    assert_eq!(c.poll_timeout(), Some(at(12.0)));
    let (events, _) = tick(&mut c, at(11.999_999_999));
    assert!(events.is_empty() && !c.is_drained());
    let (events, _) = tick(&mut c, at(12.0));
    assert!(events.is_empty(), "{events:?}");
    assert!(c.is_drained());
}

/// §5.5.1: "The server MUST close the underlying TCP connection immediately" after the
/// closing handshake: once its close reply is written the server is drained (half-close,
/// then drop), without waiting for the client's end of stream; a server whose reply is not
/// written yet is not.
#[test]
fn server_closes_the_transport_right_after_the_closing_handshake_s5_5_1() {
    let mut s = server_open(keepalive_only().with_close_timeout(Some(secs(10))));
    tick(&mut s, at(0.0));
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(1000, ""))) > 0);
    s.handle_timeout(at(1.0));
    let events = drain(&mut s);
    assert!(closed(&events).is_clean());
    assert!(s.wants_write());
    assert!(!s.is_drained(), "its close reply is not written yet");
    let reply = take_output(&mut s);
    assert_eq!(decode_frames(&reply).len(), 1);
    assert!(s.should_shutdown_write());
    assert!(
        s.is_drained(),
        "the server must not wait for the client's end of stream"
    );

    // The same when the server started the closing handshake.
    let mut s = server_open(keepalive_only().with_close_timeout(Some(secs(10))));
    tick(&mut s, at(0.0));
    s.close(CloseCode::NORMAL, "").unwrap();
    let _ = take_output(&mut s);
    assert!(!s.is_drained(), "the client's close reply is awaited");
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(1000, ""))) > 0);
    let events = drain(&mut s);
    assert!(closed(&events).is_clean());
    assert!(s.should_shutdown_write() && s.is_drained());
}

/// With automatic replies off, a close reply owed and never given ends at the deadline with
/// the peer's code (§7.1.5) and cause abnormal.
#[test]
fn owed_close_reply_ends_at_the_deadline() {
    let config = keepalive_only()
        .with_close_timeout(Some(secs(5)))
        .with_auto_close_reply(false);
    let mut s = server_open(config);
    tick(&mut s, at(0.0));
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(4001, ""))) > 0);
    let (events, _) = tick(&mut s, at(1.0));
    assert!(matches!(
        events.as_slice(),
        [OwnedEvent::CloseReceived { .. }]
    ));
    assert!(s.is_close_reply_owed());
    let (events, _) = tick(&mut s, at(5.999_999_999));
    assert!(events.is_empty());
    let (events, _) = tick(&mut s, at(6.0));
    let closed = closed(&events);
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode(4001), CloseCause::Abnormal)
    );
}

#[test]
fn close_deadline_off_means_never() {
    let mut s = server_open(keepalive_only());
    tick(&mut s, at(0.0));
    s.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), None);
    let (events, _) = tick(&mut s, at(1e9));
    assert!(events.is_empty());
    assert!(!s.is_closed());
}

// ----- keepalive ----------------------------------------------------------------------------

/// A silent peer: a ping exactly at 20 s, then 1011 exactly 20 s later.
#[test]
fn silent_peer_is_pinged_then_failed_with_1011() {
    let mut s = server_open(keepalive_only());
    tick(&mut s, at(0.0));
    assert_eq!(s.poll_timeout(), Some(at(20.0)));
    let (_, output) = tick(&mut s, at(19.999_999_999));
    assert!(output.is_empty());
    let (events, output) = tick(&mut s, at(20.0));
    assert!(events.is_empty());
    let frames = decode_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0].opcode, frames[0].payload.len()), (PING, 4));
    assert_eq!(s.poll_timeout(), Some(at(40.0)));
    let (events, _) = tick(&mut s, at(39.999_999_999));
    assert!(events.is_empty());
    let (events, output) = tick(&mut s, at(40.0));
    let closed = closed(&events);
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::INTERNAL_ERROR, CloseCause::KeepaliveTimeout)
    );
    let frames = decode_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, CLOSE);
    assert_eq!(&frames[0].payload[..2], &1011u16.to_be_bytes());
    assert!(s.should_shutdown_write());
}

/// Anything from the peer pushes the ping back: the interval counts from the last bytes
/// heard. Sending does not (our own traffic says nothing about the peer).
#[test]
fn traffic_from_the_peer_pushes_the_ping_back() {
    let mut s = server_open(keepalive_only());
    tick(&mut s, at(0.0));
    s.send_text("ours").unwrap();
    let (_, _) = tick(&mut s, at(5.0));
    assert_eq!(s.poll_timeout(), Some(at(20.0)), "sending does not count");
    assert!(s.receive(&cframe(true, BINARY, b"x")) > 0);
    let (events, _) = tick(&mut s, at(10.0));
    assert_eq!(events.len(), 1);
    assert_eq!(s.poll_timeout(), Some(at(30.0)));
}

/// Any frame after the ping counts as an answer (a busy peer's pong may wait behind a large
/// message); the pong itself measures the latency.
#[test]
fn any_frame_after_a_ping_keeps_the_connection() {
    let mut s = server_open(keepalive_only());
    tick(&mut s, at(0.0));
    let (_, output) = tick(&mut s, at(20.0));
    let ping = decode_frames(&output).remove(0).payload;
    assert!(s.receive(&cframe(false, BINARY, &[0; 1000])) > 0);
    tick(&mut s, at(25.0));
    assert_eq!(
        s.poll_timeout(),
        Some(at(45.0)),
        "next ping 20 s after the data"
    );
    assert!(s.receive(&cframe(true, PONG, &ping)) > 0);
    let (events, _) = tick(&mut s, at(26.5));
    assert_eq!(events, vec![OwnedEvent::Pong(ping)]);
    // Decoded at the time last reported (26.5 s): a round trip of 6.5 s.
    assert_eq!(s.latency(), Some(Duration::from_millis(6500)));
    assert_eq!(s.stats().latency, Some(Duration::from_millis(6500)));
}

/// Pongs with payloads we never sent, unsolicited ones, change nothing (§5.5.3).
#[test]
fn unknown_pongs_are_ignored() {
    let mut s = server_open(keepalive_only());
    tick(&mut s, at(0.0));
    let _ = tick(&mut s, at(20.0));
    assert!(s.receive(&cframe(true, PONG, b"not ours")) > 0);
    let (events, _) = tick(&mut s, at(21.0));
    assert_eq!(events, vec![OwnedEvent::Pong(b"not ours".to_vec())]);
    assert_eq!(s.latency(), None);
}

/// A ping the application sends with a payload of its choosing is timed by its pong.
#[test]
fn application_ping_latency() {
    let mut c = client_open(keepalive_only());
    tick(&mut c, at(1.0));
    c.ping(b"mine").unwrap();
    let _ = take_output(&mut c);
    assert!(c.receive(&sframe(true, PONG, b"mine")) > 0);
    tick(&mut c, at(1.25));
    assert_eq!(c.latency(), Some(Duration::from_millis(250)));
}

/// The keepalive ping never displaces what the application queued: its own ping, and the
/// pongs owed to the peer (even past the 16 that may be coalesced).
#[test]
fn keepalive_ping_displaces_nothing() {
    let mut s = server_open(keepalive_only());
    s.handle_timeout(at(0.0));
    s.ping(b"app").unwrap();
    for i in 0..20u8 {
        assert!(s.receive(&cframe(true, PING, &[i])) > 0);
    }
    assert_eq!(drain(&mut s).len(), 20);
    // Heard at 1 s: the keepalive ping falls due at 21 s, with everything still unwritten.
    s.handle_timeout(at(1.0));
    s.handle_timeout(at(21.0));
    let frames = decode_frames(&take_output(&mut s));
    let pings: Vec<_> = frames
        .iter()
        .filter(|f| f.opcode == PING)
        .map(|f| f.payload.clone())
        .collect();
    assert_eq!(pings.len(), 2, "{pings:?}");
    assert_eq!(pings[0], b"app");
    assert_eq!(pings[1].len(), 4);
    // The 16 pongs the coalescing keeps (the last of them answering the newest ping).
    let pongs: Vec<_> = frames.iter().filter(|f| f.opcode == PONG).collect();
    assert_eq!(pongs.len(), 16);
    assert_eq!(pongs[15].payload, [19]);
    assert_eq!(frames.last().unwrap().opcode, PING);
}

#[test]
fn keepalive_off_means_never() {
    let mut s = server_open(keepalive_only().with_keepalive(None, Some(secs(1))));
    tick(&mut s, at(0.0));
    assert_eq!(s.poll_timeout(), None);
    let (events, output) = tick(&mut s, at(1e9));
    assert!(events.is_empty() && output.is_empty());
}

/// Without a keepalive timeout, pings keep going every interval of silence and the
/// connection never fails.
#[test]
fn keepalive_without_timeout_pings_forever() {
    let mut s = server_open(keepalive_only().with_keepalive(Some(secs(10)), None));
    tick(&mut s, at(0.0));
    for i in 1..=5 {
        let (events, output) = tick(&mut s, at(10.0 * i as f64));
        assert!(events.is_empty());
        assert_eq!(decode_frames(&output).len(), 1, "ping {i}");
    }
    assert_eq!(s.state(), wsmachine::State::Open);
}

/// A pair whose peer answers pings never fails by keepalive, however long it stays quiet
/// otherwise.
#[test]
fn answering_peer_never_fails() {
    let config = keepalive_only().with_keepalive(Some(secs(20)), Some(secs(20)));
    let mut p = Pair::new(config, config);
    for step in 0..200 {
        let t = at(step as f64 * 7.0);
        p.client.handle_timeout(t);
        p.server.handle_timeout(t);
        p.run();
        // Time passes in both after the exchange too.
        p.client.handle_timeout(t);
        p.server.handle_timeout(t);
    }
    assert!(!p
        .client_events
        .iter()
        .any(|e| matches!(e, OwnedEvent::Closed(_))));
    assert!(!p
        .server_events
        .iter()
        .any(|e| matches!(e, OwnedEvent::Closed(_))));
    assert!(p.client.latency().is_some() && p.server.latency().is_some());
}

// ----- idle ---------------------------------------------------------------------------------

#[test]
fn idle_is_off_by_default() {
    assert_eq!(Config::new().idle_timeout, None);
}

/// No message either way for the idle timeout: a close with 1001; pings do not count as
/// messages, messages push it back; the peer's answer ends it as `IdleTimeout`.
#[test]
fn idle_connection_is_closed_with_1001() {
    let config = keepalive_only()
        .with_keepalive(Some(secs(10)), None)
        .with_idle_timeout(Some(secs(60)));
    let mut s = server_open(config);
    tick(&mut s, at(0.0));
    assert!(s.receive(&cframe(true, TEXT, b"hi")) > 0);
    tick(&mut s, at(30.0));
    assert!(s.receive(&cframe(true, PING, b"")) > 0);
    let _ = tick(&mut s, at(50.0));
    let (_, output) = tick(&mut s, at(89.999));
    assert!(decode_frames(&output).iter().all(|f| f.opcode != CLOSE));
    let (_, output) = tick(&mut s, at(90.0));
    let close = decode_frames(&output)
        .into_iter()
        .find(|f| f.opcode == CLOSE)
        .unwrap();
    assert_eq!(&close.payload[..2], &1001u16.to_be_bytes());
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(1001, ""))) > 0);
    let (events, _) = tick(&mut s, at(90.5));
    let closed = closed(&events);
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::GOING_AWAY, CloseCause::IdleTimeout)
    );
    assert!(closed.is_clean());
}

// ----- the clock ----------------------------------------------------------------------------

/// Until the driver reports a time, no deadline runs; a time earlier than one reported
/// counts as that one.
#[test]
fn no_clock_no_deadlines_and_time_never_runs_backwards() {
    let mut s = Connection::server(Config::new());
    assert_eq!(s.poll_timeout(), None);
    tick(&mut s, at(100.0));
    assert_eq!(s.poll_timeout(), Some(at(110.0)));
    let (events, _) = tick(&mut s, at(1.0));
    assert!(events.is_empty());
    assert_eq!(s.poll_timeout(), Some(at(110.0)));
}

// ----- buffer release -----------------------------------------------------------------------

/// Only the buffer release runs.
fn release_only(after: Option<Duration>) -> Config {
    Config::new()
        .without_deadlines()
        .with_release_buffers_after(after)
}

/// An open connection with nothing moving gives its empty buffers back exactly at the
/// deadline (1 s by default), once, and traffic pushes it back; then an idle server holds no
/// heap, and `Connection` plus its heap fit in 1 KiB.
#[test]
fn an_idle_connection_gives_its_buffers_back_on_time() {
    assert_eq!(Config::new().release_buffers_after, Some(secs(1)));
    let mut s = server_open(release_only(Some(secs(1))));
    tick(&mut s, at(0.0));
    // Traffic at 0.5 s: a message each way, which sizes the buffers.
    let hello = cframe(true, TEXT, b"hello");
    assert_eq!(s.receive(&hello), hello.len());
    tick(&mut s, at(0.5));
    s.send_text("hello").unwrap();
    take_output(&mut s);
    assert!(s.memory().total() > 0);
    assert_eq!(s.poll_timeout(), Some(at(1.5)));
    tick(&mut s, at(1.499));
    assert!(s.memory().total() > 0, "released early");
    tick(&mut s, at(1.5));
    assert_eq!(s.memory().total(), 0, "{:?}", s.memory());
    assert!(std::mem::size_of::<Connection>() + s.memory().total() <= 1024);
    // Once: nothing more to wake for until something moves.
    assert_eq!(s.poll_timeout(), None);
    // The next message works, grows the buffers again, and restarts the wait.
    let events = feed(&mut s, &cframe(true, TEXT, b"again"));
    assert_eq!(events, vec![OwnedEvent::Text("again".into())]);
    tick(&mut s, at(3.0));
    assert!(s.memory().total() > 0);
    assert_eq!(s.poll_timeout(), Some(at(4.0)));
}

/// Bytes that wait are never dropped: output a peer has not taken stays, and the release
/// frees only what is empty. Off means never.
#[test]
fn the_release_keeps_waiting_bytes_and_off_means_never() {
    let mut s = server_open(release_only(Some(secs(1))));
    tick(&mut s, at(0.0));
    s.send_binary(&[7; 3000]).unwrap();
    let waiting = s.output().to_vec();
    // (Not `tick`, which takes the output as a driver would write it.)
    s.handle_timeout(at(5.0));
    assert_eq!(s.output(), waiting);
    let mut off = server_open(release_only(None));
    tick(&mut off, at(0.0));
    let _ = feed(&mut off, &cframe(true, TEXT, b"x"));
    tick(&mut off, at(0.1));
    let held = off.memory().total();
    assert!(held > 0);
    assert_eq!(off.poll_timeout(), None);
    tick(&mut off, at(1e6));
    assert_eq!(off.memory().total(), held);
}
