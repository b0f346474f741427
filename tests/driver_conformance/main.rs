//! One conformance table for every driver: each driver and split form is a row (the tokio
//! and futures-io async drivers, the blocking driver, their split forms, and a driver
//! written in this file from the public API alone), each scenario a test that runs every
//! row against a peer this file controls byte by byte over loopback TCP. A new driver is one
//! line in [`rows::DRIVERS`]; a new scenario is one function.
//!
//! The scenarios: echo in both roles with every receive method; a clean close from either
//! side; a failed connection writes its close frame (1002, 1007, 1008, 1009, and 1011 from
//! the keepalive timeout: a silent peer dropped) before the transport ends (§7.1.7); a peer
//! that never reads meets backpressure and is let go at the deadlines, with plain sends and
//! with shared broadcast frames half written; a reset makes every later send fail; end of
//! stream in the middle of a frame ends the connection with 1006; the `101` is written at
//! accept; and on the async rows, cancellation at every await point of receiving and
//! sending loses nothing and sends nothing twice or in part. Split rows run their reader and
//! writer at once wherever a script sends.
//!
//! Deadlines here are real and short (hundreds of milliseconds); each bound leaves a second
//! of slack for a loaded machine. Every run has an overall time limit, so that a driver that
//! hangs fails its row instead of the test run.
#![cfg(all(feature = "tokio", feature = "futures-io"))]

#[path = "../common/mod.rs"]
mod common;

mod async_rows;
mod blocking_rows;
mod handmade;
mod peer;
mod rows;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{close_payload, CLOSE, PING};
use peer::{close_code, start, End};
use rows::{numbered, Report, Script, DRIVERS, RECEIVES};
use wsmachine::{Config, PreparedMessage, Role};

/// The report of a script, or a failure naming the case if it did not end in time.
fn report(case: &str, rx: &mpsc::Receiver<Report>, limit: Duration) -> Report {
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{case}: the script did not end within {limit:?}"))
}

/// A failure the peer can cause, what it sends, and the close code it must read.
struct Failure {
    name: &'static str,
    config: Config,
    /// The frames the peer sends: first byte and payload (masked by the peer as a client).
    frames: Vec<(u8, Vec<u8>)>,
    /// Bytes sent as they are (an unmasked frame from a client).
    raw: Vec<u8>,
    code: u16,
}

fn failures() -> Vec<Failure> {
    let base = Config::new()
        .without_deadlines()
        .with_close_timeout(Some(Duration::from_secs(2)));
    let mut large = vec![b'a'; 20_000];
    large[10_000] = 0xff;
    let failure = |name, config, frames: Vec<(u8, &[u8])>, code| Failure {
        name,
        config,
        frames: frames.into_iter().map(|(b, p)| (b, p.to_vec())).collect(),
        raw: Vec::new(),
        code,
    };
    vec![
        failure("reserved opcode (1002)", base, vec![(0x83, b"")], 1002),
        Failure {
            raw: common::raw_frame(0x81, b"hi", None),
            ..failure("unmasked client frame (1002)", base, vec![], 1002)
        },
        failure(
            "invalid UTF-8, small single frame (1007)",
            base,
            vec![(0x81, b"ok \xff ok")],
            1007,
        ),
        failure(
            "a code point split between two small text messages (1007)",
            base,
            vec![(0x81, b"\xc3"), (0x81, b"\xa9")],
            1007,
        ),
        failure(
            "invalid UTF-8, large single frame (1007)",
            base,
            vec![(0x81, &large)],
            1007,
        ),
        failure(
            "too many fragments (1008)",
            base.with_max_fragments(2),
            vec![(0x01, b"a"), (0x00, b"b"), (0x80, b"c")],
            1008,
        ),
        failure(
            "message over the limit (1009)",
            base.with_max_message_size(1000),
            vec![(0x82, &[0; 2000])],
            1009,
        ),
        failure(
            "silent peer, keepalive timeout (1011)",
            base.with_keepalive(
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(100)),
            ),
            vec![],
            1011,
        ),
    ]
}

/// §7.1.7: for every failure a peer can cause, in every driver and with every receive
/// method, the peer reads the close frame with the failure's code before the transport
/// ends, even though the application drops the connection as soon as its receive reports
/// the end; and the receive reports that code.
#[test]
fn a_failed_connection_writes_its_close_frame_before_the_transport_ends() {
    for row in DRIVERS {
        for failure in failures() {
            for how in RECEIVES {
                let case = format!("{}, {how:?}, {}", row.name, failure.name);
                let (mut peer, rx) = start(
                    row,
                    Role::Server,
                    failure.config,
                    Script::ReceiveUntilEnd(how),
                );
                for (b0, payload) in &failure.frames {
                    peer.send(*b0, payload);
                }
                std::io::Write::write_all(&mut peer.stream, &failure.raw).unwrap();
                let (frames, end) = peer.read_to_end(Duration::from_secs(5));
                assert_eq!(
                    close_code(&frames),
                    Some(failure.code),
                    "{case}: read {frames:?}, then {end:?}"
                );
                assert!(
                    frames.iter().all(|f| f.opcode == CLOSE || f.opcode == PING),
                    "{case}: {frames:?}"
                );
                assert_eq!(end, End::Eof, "{case}: the transport ended by {end:?}");
                let report = report(&case, &rx, Duration::from_secs(5));
                assert_eq!(
                    report.end,
                    Some(format!("Closed({})", failure.code)),
                    "{case}: {report:?}"
                );
                assert_eq!(report.ok, 0, "{case}: {report:?}");
                assert!(
                    report.elapsed < Duration::from_secs(1),
                    "{case}: {report:?}"
                );
            }
        }
    }
}

/// Echo in both roles with every receive method: a text, a 70,000-byte binary (a 64-bit
/// length, §5.2) and a multi-byte text come back unchanged and in order; then the peer's
/// closing handshake is answered with its code (§5.5.1) and the receive ends cleanly.
#[test]
fn echo_in_both_roles_then_the_peer_closes_cleanly() {
    let sent: Vec<(u8, Vec<u8>)> = vec![
        (0x81, b"hello".to_vec()),
        (0x82, (0..70_000u32).map(|i| i as u8).collect()),
        (0x81, "é, ü".as_bytes().to_vec()),
    ];
    for row in DRIVERS {
        for role in [Role::Server, Role::Client] {
            for how in RECEIVES {
                let case = format!("{}, {role:?}, {how:?}", row.name);
                let (mut peer, rx) = start(row, role, Config::new(), Script::Echo(how));
                for (b0, payload) in &sent {
                    peer.send(*b0, payload);
                }
                let (frames, _) =
                    peer.read_until(Duration::from_secs(5), |f| f.len() >= sent.len());
                let echoed: Vec<(u8, Vec<u8>)> = frames
                    .iter()
                    .map(|f| (0x80 | f.opcode, f.payload.clone()))
                    .collect();
                assert_eq!(echoed, sent, "{case}");
                assert!(
                    frames.iter().all(|f| f.masked == (role == Role::Client)),
                    "{case}: §5.1"
                );
                // The peer closes: as the server (the driver a client), it closes TCP once
                // the reply arrives (§7.1.1); as the client, it waits for the server to.
                peer.send(0x88, &close_payload(1000, "done"));
                let (frames, end) = if role == Role::Client {
                    let (frames, _) = peer.read_until(Duration::from_secs(5), |f| {
                        f.iter().any(|f| f.opcode == CLOSE)
                    });
                    peer.stream.shutdown(std::net::Shutdown::Write).unwrap();
                    let (_, end) = peer.read_to_end(Duration::from_secs(5));
                    (frames, end)
                } else {
                    peer.read_to_end(Duration::from_secs(5))
                };
                assert_eq!(close_code(&frames), Some(1000), "{case}: {frames:?}");
                assert_eq!(end, End::Eof, "{case}");
                let report = report(&case, &rx, Duration::from_secs(5));
                assert_eq!(report.end.as_deref(), Some("clean"), "{case}: {report:?}");
                assert_eq!(report.messages.len(), 3, "{case}: {report:?}");
                assert!(report.errors.is_empty(), "{case}: {report:?}");
            }
        }
    }
}

/// The driver closes first, in both roles: its close frame (1000) goes out, the peer's
/// answer completes the handshake, and the receive ends cleanly, promptly (§7.1.2–§7.1.4).
#[test]
fn the_driver_closes_cleanly_in_both_roles() {
    for row in DRIVERS {
        for role in [Role::Server, Role::Client] {
            for how in RECEIVES {
                let case = format!("{}, {role:?}, {how:?}", row.name);
                let (mut peer, rx) = start(row, role, Config::new(), Script::CloseThenReceive(how));
                let (frames, end) = peer.read_to_end(Duration::from_secs(5));
                assert_eq!(close_code(&frames), Some(1000), "{case}: {frames:?}");
                assert_eq!(end, End::Eof, "{case}");
                let report = report(&case, &rx, Duration::from_secs(5));
                assert_eq!(report.end.as_deref(), Some("clean"), "{case}: {report:?}");
                assert!(report.errors.is_empty(), "{case}: {report:?}");
                assert!(
                    report.elapsed < Duration::from_secs(2),
                    "{case}: {report:?}"
                );
            }
        }
    }
}

/// The peer's end of stream arrives in the middle of a frame (its header says 100 bytes,
/// 10 came): the connection ends abnormally (1006, §7.1.5: no close frame could be
/// exchanged), every receive method says so, and the driver closes its side.
#[test]
fn end_of_stream_in_the_middle_of_a_frame_ends_with_1006() {
    for row in DRIVERS {
        for how in RECEIVES {
            let case = format!("{}, {how:?}", row.name);
            let (mut peer, rx) = start(
                row,
                Role::Server,
                Config::new(),
                Script::ReceiveUntilEnd(how),
            );
            let frame = peer.frame(0x82, &[1; 100]);
            std::io::Write::write_all(&mut peer.stream, &frame[..16]).unwrap();
            peer.stream.shutdown(std::net::Shutdown::Write).unwrap();
            let (frames, end) = peer.read_to_end(Duration::from_secs(5));
            assert!(
                frames.iter().all(|f| f.opcode == PING),
                "{case}: {frames:?}"
            );
            assert_eq!(end, End::Eof, "{case}");
            let report = report(&case, &rx, Duration::from_secs(5));
            assert_eq!(
                report.end.as_deref(),
                Some("Closed(1006)"),
                "{case}: {report:?}"
            );
        }
    }
}

/// Deadlines for [`a_peer_that_never_reads`] scenarios: keepalive 300 ms + 300 ms, close
/// 300 ms.
const STEP: Duration = Duration::from_millis(300);

fn stalled_config() -> Config {
    Config::new()
        .without_deadlines()
        .with_keepalive(Some(STEP), Some(STEP))
        .with_close_timeout(Some(STEP))
}

/// Checks a script that sent until a peer that never reads was let go: at keepalive
/// interval + timeout + close timeout, with one failed send.
fn let_go_at_the_deadlines(case: &str, report: &Report) {
    let bound = 3 * STEP + Duration::from_secs(1);
    assert!(
        report.elapsed <= bound,
        "{case}: let go after {:?} (bound {bound:?})",
        report.elapsed
    );
    assert!(
        report.elapsed >= 3 * STEP - Duration::from_millis(50),
        "{case}: {report:?}"
    );
    assert_eq!(report.errors.len(), 1, "{case}: {report:?}");
}

/// A subscriber that stops reading while shared 60 KiB frames are sent to it (a phone that
/// went into a tunnel) is let go at its deadlines: the shared frame's unwritten rest waits
/// in the connection's output, under its close deadline, not outside it in the driver.
#[test]
fn a_subscriber_that_stops_reading_is_let_go_at_its_deadlines() {
    let message = PreparedMessage::binary(&[7u8; 60 * 1024]);
    for row in DRIVERS {
        let (peer, rx) = start(
            row,
            Role::Server,
            stalled_config(),
            Script::Broadcast(message.clone()),
        );
        // The peer reads nothing and says nothing.
        let report = report(row.name, &rx, Duration::from_secs(10));
        let_go_at_the_deadlines(row.name, &report);
        drop(peer);
    }
}

/// A peer that never reads: sends wait once output passes the high-water mark
/// (backpressure: no more than the socket buffers and the mark are taken), and the
/// connection is let go at its deadlines.
#[test]
fn a_peer_that_never_reads_meets_backpressure_and_deadlines() {
    let size = 64 * 1024;
    for row in DRIVERS {
        let (peer, rx) = start(row, Role::Server, stalled_config(), Script::SendLoop(size));
        let report = report(row.name, &rx, Duration::from_secs(10));
        let_go_at_the_deadlines(row.name, &report);
        // Loopback socket buffers hold a few MiB; the driver keeps at most its mark beyond.
        assert!(
            report.ok * size <= 64 << 20,
            "{}: {} sends taken",
            row.name,
            report.ok
        );
        drop(peer);
    }
}

/// The peer resets the connection (SO_LINGER 0, then close). Once the driver has seen the
/// reset, the next send returns `Error::Io`, as its documentation says, and so does every
/// send after it: a loop of 1,000 sends ends with that error, not a hang, and nothing after
/// the first failure succeeds.
#[test]
fn after_a_reset_every_send_fails_with_the_transport_error() {
    for row in DRIVERS {
        let (peer, rx) = start(
            row,
            Role::Server,
            Config::new(),
            Script::SendAfter(Duration::from_millis(200), 1_000),
        );
        peer.reset();
        let report = report(row.name, &rx, Duration::from_secs(10));
        let first = report.errors.first().map(|(i, _)| *i);
        let Some(first) = first else {
            panic!("{}: 1,000 sends after a reset all succeeded", row.name);
        };
        assert_eq!(
            report.ok, first,
            "{}: a send succeeded after a failure: {report:?}",
            row.name
        );
        assert_eq!(
            report.errors.len(),
            1_000 - first,
            "{}: {report:?}",
            row.name
        );
        for (_, error) in &report.errors {
            assert!(
                error == "Io(ConnectionReset)" || error == "Io(BrokenPipe)",
                "{}: {error}",
                row.name
            );
        }
    }
}

/// The `101` is written when the driver accepts, not with the application's first write: a
/// server that accepts and then has nothing to say for a while (a broadcast source, a slow
/// back end) does not keep its client waiting for the upgrade.
#[test]
fn the_upgrade_is_answered_when_the_driver_accepts() {
    for row in DRIVERS {
        let started = Instant::now();
        let (peer, rx) = start(
            row,
            Role::Server,
            Config::new(),
            Script::Idle(Duration::from_millis(1500)),
        );
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(2),
            "{}: the 101 came after {waited:?}",
            row.name
        );
        drop(peer);
        report(row.name, &rx, Duration::from_secs(10));
    }
}

/// Async rows: every receive method, polled once and dropped whenever it is pending (a
/// `select!` that another branch keeps winning), loses no message and reorders none.
#[test]
fn a_cancelled_receive_loses_nothing() {
    let count = 40;
    for row in DRIVERS.iter().filter(|r| r.is_async) {
        for how in RECEIVES {
            let case = format!("{}, {how:?}", row.name);
            let (mut peer, rx) = start(
                row,
                Role::Server,
                Config::new(),
                Script::CancelledReceives(how, count),
            );
            for i in 0..count {
                peer.send(0x81, format!("m{i}").as_bytes());
                std::thread::sleep(Duration::from_millis(2));
            }
            let report = report(&case, &rx, Duration::from_secs(10));
            let got: Vec<String> = report
                .messages
                .iter()
                .map(|m| String::from_utf8_lossy(m.as_message().as_bytes()).into_owned())
                .collect();
            let expected: Vec<String> = (0..count).map(|i| format!("m{i}")).collect();
            assert_eq!(got, expected, "{case}");
            assert!(report.cancelled > 0, "{case}: no receive was cancelled");
        }
    }
}

/// Async rows: sends polled once and dropped whenever they are pending (output above a
/// 1 KiB high-water mark while the peer does not read yet): a cancelled send sent nothing,
/// a completed one sent its message whole, once, in order.
#[test]
fn a_cancelled_send_sends_nothing_and_a_completed_one_everything() {
    let (count, size) = (300, 64 * 1024);
    for row in DRIVERS.iter().filter(|r| r.is_async) {
        let (mut peer, rx) = start(
            row,
            Role::Server,
            Config::new(),
            Script::CancelledSends(count, size),
        );
        // Not reading for a while: the socket buffers fill and sends wait.
        std::thread::sleep(Duration::from_millis(500));
        let (frames, _) = peer.read_until(Duration::from_secs(20), |f| f.len() >= count);
        let report = report(row.name, &rx, Duration::from_secs(10));
        assert_eq!(
            report.completed,
            (0..count as u32).collect::<Vec<_>>(),
            "{}",
            row.name
        );
        assert_eq!(frames.len(), count, "{}", row.name);
        assert!(report.cancelled > 0, "{}: no send was cancelled", row.name);
        for (i, frame) in frames.iter().enumerate() {
            assert_eq!(frame.opcode, 0x2, "{}: frame {i}", row.name);
            assert!(
                frame.payload == numbered(i as u32, size),
                "{}: frame {i} differs",
                row.name
            );
        }
    }
}

/// RFC 6455 §10.2, §4.2.2: a server whose origin policy refuses the request's `Origin`
/// answers `403` and no connection starts (the application sees the handshake error, never
/// an upgrade); a request from the same origin, and one without `Origin` (not a browser),
/// upgrade. Every driver.
#[test]
fn rfc6455_10_2_a_cross_origin_upgrade_gets_403_and_no_connection() {
    use wsmachine::handshake::origin::OriginPolicy;
    let config = Config::new().with_origin_policy(OriginPolicy::SAME_ORIGIN);
    let cases = [
        (Some("http://evil.example"), false),
        (Some("http://x.evil.example"), false),
        (Some("http://x"), true),
        (None, true),
    ];
    for row in DRIVERS {
        for (origin, upgrades) in cases {
            let request = format!(
                "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{}\r\n",
                origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default()
            );
            let script = Script::ReceiveUntilEnd(rows::Receive::Owned);
            let (stream, head, rx) = peer::answer(row, config, request.as_bytes(), script);
            let head = String::from_utf8_lossy(&head).into_owned();
            let case = format!("{}, Origin {origin:?}", row.name);
            if upgrades {
                assert!(head.starts_with("HTTP/1.1 101"), "{case}: {head}");
            } else {
                assert!(head.starts_with("HTTP/1.1 403"), "{case}: {head}");
            }
            drop(stream);
            let report = report(&case, &rx, Duration::from_secs(10));
            let refused = report.end.as_deref() == Some("Handshake(ForbiddenOrigin)");
            assert_eq!(refused, !upgrades, "{case}: {:?}", report.end);
            assert!(report.messages.is_empty(), "{case}");
        }
    }
}

/// A message, a frame that fails the connection and more bytes, all in one write (Autobahn
/// 4.1.3): the message is delivered and echoed, then the close frame (1002, §7.1.7) follows,
/// whatever the driver read them into. Every driver, every receive method.
#[test]
fn a_message_then_a_failing_frame_in_one_read_delivers_the_message_then_closes() {
    for row in DRIVERS {
        for how in RECEIVES {
            let case = format!("{}, {how:?}", row.name);
            let (mut peer, rx) = start(row, Role::Server, Config::new(), Script::Echo(how));
            let mut bytes = peer.frame(0x81, b"Hello, world!");
            bytes.extend(peer.frame(0x85, b""));
            bytes.extend(peer.frame(0x89, b""));
            std::io::Write::write_all(&mut peer.stream, &bytes).unwrap();
            let (frames, end) = peer.read_to_end(Duration::from_secs(5));
            let texts: Vec<&[u8]> = frames
                .iter()
                .filter(|f| f.opcode == 1)
                .map(|f| f.payload.as_slice())
                .collect();
            assert_eq!(texts, [&b"Hello, world!"[..]], "{case}: {frames:?}");
            assert_eq!(close_code(&frames), Some(1002), "{case}: {frames:?}");
            assert_eq!(end, End::Eof, "{case}");
            let report = report(&case, &rx, Duration::from_secs(5));
            assert_eq!(
                report.end.as_deref(),
                Some("Closed(1002)"),
                "{case}: {report:?}"
            );
        }
    }
}
