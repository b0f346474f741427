//! One conformance table for every driver: each driver (and split form) is a row, each
//! scenario a test that runs every row against a peer this file controls byte by byte over
//! loopback TCP (sending what it likes, reading what the driver writes, stopping reading,
//! resetting the connection). A new driver is one line in [`DRIVERS`]; a new scenario is one
//! function.
//!
//! The scenarios: a failed connection writes its close frame (1002, 1007, 1008, 1009, and
//! 1011 from the keepalive timeout) before the transport ends, with every receive method
//! (§7.1.7: "fail the WebSocket connection" sends the close frame first); a subscriber that
//! stops reading in the middle of shared broadcast frames is let go at keepalive interval +
//! timeout + close timeout; a peer that resets the connection makes the next send, and every
//! send after it, fail with `Error::Io`, without a hang.
//!
//! Deadlines here are real and short (hundreds of milliseconds); each bound leaves a second
//! of slack for a loaded machine. Every run has an overall time limit, so that a driver that
//! hangs fails its row instead of the test run.
#![cfg(all(feature = "tokio", feature = "futures-io"))]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{decode_frames, raw_frame, Decoded, CLOSE, PING};
use wsmachine::driver::Error;
use wsmachine::{Config, Message, PreparedMessage};

/// How the application on top of the driver receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receive {
    /// `recv`, the borrowed message.
    Borrowed,
    /// `recv_owned` (for a split driver, its reader's `recv`).
    Owned,
    /// `recv_with`, replying while the message is borrowed.
    With,
    /// `recv_event`, every event.
    Event,
}

/// What the application on top of the driver does with the connection it accepted.
#[derive(Debug, Clone)]
enum Script {
    /// Receives with `Receive` until the receive returns an error or the end, then drops
    /// the connection at once.
    ReceiveUntilEnd(Receive),
    /// Sends this prepared message again and again until a send fails (while a reader keeps
    /// receiving, where the driver has one), then drops the connection.
    Broadcast(PreparedMessage),
    /// Waits, then sends `count` small messages, one after the other, noting each result.
    SendAfter(Duration, usize),
    /// Does nothing for this long after the upgrade, then drops the connection.
    Idle(Duration),
}

/// What a run of a script saw.
#[derive(Debug, Default)]
struct Report {
    /// The errors the calls returned, in order, with the index of the call.
    errors: Vec<(usize, String)>,
    /// Calls that succeeded.
    ok: usize,
    /// How long the script ran after the upgrade.
    elapsed: Duration,
}

impl Report {
    fn note<T>(&mut self, i: usize, result: Result<T, Error>) -> bool {
        match result {
            Ok(_) => {
                self.ok += 1;
                true
            }
            Err(e) => {
                self.errors.push((i, describe(&e)));
                false
            }
        }
    }
}

fn describe(e: &Error) -> String {
    match e {
        Error::Io(io) => format!("Io({:?})", io.kind()),
        other => format!("{other:?}"),
    }
}

/// A driver: runs `script` as the server of `stream` with `config`, on a thread of its own.
type Serve = fn(TcpStream, Config, Script) -> Report;

/// The table: every driver and split form.
const DRIVERS: &[(&str, Serve)] = &[
    ("tokio", tokio_driver::whole),
    ("tokio split", tokio_driver::split),
    ("futures-io (smol)", smol_driver::whole),
    ("futures-io (smol) split", smol_driver::split),
    ("blocking", blocking_driver::whole),
    ("blocking split", blocking_driver::split),
];

mod tokio_driver {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    async fn accept(
        stream: TcpStream,
        config: Config,
    ) -> wsmachine::tokio::WebSocket<tokio::net::TcpStream> {
        stream.set_nonblocking(true).unwrap();
        let stream = tokio::net::TcpStream::from_std(stream).unwrap();
        wsmachine::tokio::WebSocket::accept_with(
            stream,
            config,
            wsmachine::driver::Answer::default_for,
        )
        .await
        .unwrap()
        .unwrap()
    }

    pub(super) fn whole(stream: TcpStream, config: Config, script: Script) -> Report {
        runtime().block_on(async move {
            let ws = accept(stream, config).await;
            async_driver::whole(ws, script, tokio::time::sleep).await
        })
    }

    pub(super) fn split(stream: TcpStream, config: Config, script: Script) -> Report {
        runtime().block_on(async move {
            let ws = accept(stream, config).await;
            async_driver::split(ws, script, tokio::time::sleep).await
        })
    }
}

mod smol_driver {
    use super::*;

    async fn accept(
        stream: TcpStream,
        config: Config,
    ) -> wsmachine::futures_io::WebSocket<smol::net::TcpStream> {
        let stream = smol::net::TcpStream::try_from(stream).unwrap();
        wsmachine::futures_io::WebSocket::accept_with(
            stream,
            config,
            wsmachine::driver::Answer::default_for,
        )
        .await
        .unwrap()
        .unwrap()
    }

    async fn sleep(wait: Duration) {
        smol::Timer::after(wait).await;
    }

    pub(super) fn whole(stream: TcpStream, config: Config, script: Script) -> Report {
        smol::block_on(async move {
            let ws = accept(stream, config).await;
            async_driver::whole(ws, script, sleep).await
        })
    }

    pub(super) fn split(stream: TcpStream, config: Config, script: Script) -> Report {
        smol::block_on(async move {
            let ws = accept(stream, config).await;
            async_driver::split(ws, script, sleep).await
        })
    }
}

/// The scripts on the async driver, whatever the runtime under its transport: the runtime
/// gives the accepted connection and its `sleep`.
mod async_driver {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use wsmachine::driver::{Transport, WebSocket};

    pub(super) async fn whole<T, F, Fut>(mut ws: WebSocket<T>, script: Script, sleep: F) -> Report
    where
        T: Transport,
        F: Fn(Duration) -> Fut,
        Fut: Future<Output = ()>,
    {
        let started = Instant::now();
        let mut report = Report::default();
        match script {
            Script::ReceiveUntilEnd(how) => {
                for i in 0.. {
                    let going = match how {
                        Receive::Borrowed => {
                            report.note(i, ws.recv().await.map(|m| m.map(|_| ())))
                                && ws.connection().closed().is_none()
                        }
                        Receive::Owned => {
                            let r = ws.recv_owned().await;
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::With => {
                            let r = ws.recv_with(|_, _| ()).await;
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::Event => {
                            let r = ws.recv_event().await.map(|e| e.is_some());
                            matches!(r, Ok(true)) && report.note(i, r)
                        }
                    };
                    if !going {
                        break;
                    }
                }
            }
            Script::Broadcast(message) => {
                for i in 0.. {
                    if !report.note(i, ws.send_prepared(&message).await) {
                        break;
                    }
                }
            }
            Script::SendAfter(wait, count) => {
                sleep(wait).await;
                for i in 0..count {
                    report.note(i, ws.send_text("tick").await);
                }
            }
            Script::Idle(wait) => sleep(wait).await,
        }
        report.elapsed = started.elapsed();
        report
    }

    pub(super) async fn split<T, F, Fut>(ws: WebSocket<T>, script: Script, sleep: F) -> Report
    where
        T: Transport,
        F: Fn(Duration) -> Fut,
        Fut: Future<Output = ()>,
    {
        let (mut reader, mut writer) = ws.split();
        let started = Instant::now();
        let mut report = Report::default();
        // Where the writer works, the reader keeps receiving meanwhile (as the chat example
        // does), in the same task: the two halves in use at once.
        let receive_all = |mut reader: wsmachine::driver::Reader<T>| async move {
            while let Ok(Some(_)) = reader.recv_owned().await {}
        };
        match script {
            Script::ReceiveUntilEnd(how) => {
                // A reader cannot lend a message out of the lock the halves share: its
                // borrowed receive is `recv_with`.
                for i in 0.. {
                    let going = match how {
                        Receive::Owned => {
                            let r = reader.recv_owned().await;
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::Borrowed | Receive::With => {
                            let r = reader.recv_with(|_, _| ()).await;
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::Event => {
                            let r = reader.recv_event_with(|_| ()).await.map(|e| e.is_some());
                            matches!(r, Ok(true)) && report.note(i, r)
                        }
                    };
                    if !going {
                        break;
                    }
                }
            }
            Script::Broadcast(message) => {
                let sending = pin!(async {
                    for i in 0.. {
                        if !report.note(i, writer.send_prepared(&message).await) {
                            break;
                        }
                    }
                });
                first(sending, pin!(receive_all(reader))).await;
            }
            Script::SendAfter(wait, count) => {
                let sending = pin!(async {
                    sleep(wait).await;
                    for i in 0..count {
                        report.note(i, writer.send_text("tick").await);
                    }
                });
                first(sending, pin!(receive_all(reader))).await;
            }
            Script::Idle(wait) => {
                sleep(wait).await;
                drop((reader, writer));
            }
        }
        report.elapsed = started.elapsed();
        report
    }

    /// Runs `main` to its end while polling `beside` too (which may end first).
    async fn first<A: Future, B: Future>(
        main: std::pin::Pin<&mut A>,
        beside: std::pin::Pin<&mut B>,
    ) {
        let mut main = main;
        let mut beside = Some(beside);
        std::future::poll_fn(|cx| {
            if let Some(b) = beside.as_mut() {
                if b.as_mut().poll(cx).is_ready() {
                    beside = None;
                }
            }
            main.as_mut().poll(cx)
        })
        .await;
    }
}

mod blocking_driver {
    use super::*;
    use wsmachine::blocking::{Hooks, WebSocket};

    pub(super) fn whole(stream: TcpStream, config: Config, script: Script) -> Report {
        let mut ws = WebSocket::accept_with(
            stream,
            Hooks::tcp(),
            config,
            wsmachine::driver::Answer::default_for,
        )
        .unwrap()
        .unwrap();
        let started = Instant::now();
        let mut report = Report::default();
        match script {
            Script::ReceiveUntilEnd(how) => {
                for i in 0.. {
                    let going = match how {
                        Receive::Borrowed => {
                            report.note(i, ws.recv().map(|m| m.map(|_| ())))
                                && ws.connection().closed().is_none()
                        }
                        Receive::Owned => {
                            let r = ws.recv_owned();
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::With => {
                            let r = ws.recv_with(|_, _| ());
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::Event => {
                            let r = ws.recv_event().map(|e| e.is_some());
                            matches!(r, Ok(true)) && report.note(i, r)
                        }
                    };
                    if !going {
                        break;
                    }
                }
            }
            Script::Broadcast(message) => {
                for i in 0.. {
                    if !report.note(i, ws.send_prepared(&message)) {
                        break;
                    }
                }
            }
            Script::SendAfter(wait, count) => {
                std::thread::sleep(wait);
                for i in 0..count {
                    report.note(i, ws.send(Message::Text("tick")));
                }
            }
            Script::Idle(wait) => std::thread::sleep(wait),
        }
        report.elapsed = started.elapsed();
        report
    }

    pub(super) fn split(stream: TcpStream, config: Config, script: Script) -> Report {
        let ws = WebSocket::accept_with(
            stream,
            Hooks::tcp(),
            config,
            wsmachine::driver::Answer::default_for,
        )
        .unwrap()
        .unwrap();
        let (mut reader, mut writer) = ws.split().unwrap();
        let started = Instant::now();
        let mut report = Report::default();
        // Where the writer works, a reader thread keeps receiving meanwhile: the two halves
        // in use at once.
        let receive_all = |mut reader: wsmachine::blocking::Reader<TcpStream>| {
            std::thread::spawn(move || while let Ok(Some(_)) = reader.recv_owned() {})
        };
        match script {
            Script::ReceiveUntilEnd(how) => {
                for i in 0.. {
                    let going = match how {
                        Receive::Owned => {
                            let r = reader.recv_owned();
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::Borrowed | Receive::With => {
                            let r = reader.recv_with(|_, _| ());
                            matches!(r, Ok(Some(_))) && report.note(i, r)
                        }
                        Receive::Event => {
                            let r = reader.recv_event_with(|_| ()).map(|e| e.is_some());
                            matches!(r, Ok(true)) && report.note(i, r)
                        }
                    };
                    if !going {
                        break;
                    }
                }
            }
            Script::Broadcast(message) => {
                let _receiving = receive_all(reader);
                for i in 0.. {
                    if !report.note(i, writer.send_prepared(&message)) {
                        break;
                    }
                }
            }
            Script::SendAfter(wait, count) => {
                let _receiving = receive_all(reader);
                std::thread::sleep(wait);
                for i in 0..count {
                    report.note(i, writer.send_text("tick"));
                }
            }
            Script::Idle(wait) => {
                std::thread::sleep(wait);
                drop((reader, writer));
            }
        }
        report.elapsed = started.elapsed();
        report
    }
}

// ----- the peer ------------------------------------------------------------------------------

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A driver serving one connection with `script`, and the peer's end of it, upgraded (the
/// `101` read). The report arrives on the receiver when the script ends.
fn start(serve: Serve, config: Config, script: Script) -> (TcpStream, mpsc::Receiver<Report>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = tx.send(serve(stream, config, script));
    });
    let mut peer = TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    peer.write_all(REQUEST).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            peer.read(&mut byte).unwrap(),
            1,
            "the server ended the handshake"
        );
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    (peer, rx)
}

/// How the peer's reading ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// End of stream.
    Eof,
    /// A reset, or another read error.
    Error,
    /// Nothing more within the time limit.
    Timeout,
}

/// Reads everything the driver writes until the transport ends; answers a close frame with
/// one and closes its side, so that the driver can finish at once.
fn read_to_end(peer: &mut TcpStream, limit: Duration) -> (Vec<Decoded>, End) {
    let deadline = Instant::now() + limit;
    let mut bytes = Vec::new();
    let mut answered = false;
    let mut chunk = [0u8; 65536];
    let end = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break End::Timeout;
        }
        peer.set_read_timeout(Some(left)).unwrap();
        match peer.read(&mut chunk) {
            Ok(0) => break End::Eof,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break End::Timeout
            }
            Err(_) => break End::Error,
        }
        if !answered && complete_frames(&bytes).iter().any(|f| f.opcode == CLOSE) {
            answered = true;
            let _ = peer.write_all(&raw_frame(0x88, &[], Some([1, 2, 3, 4])));
            let _ = peer.shutdown(std::net::Shutdown::Write);
        }
    };
    (complete_frames(&bytes), end)
}

/// The whole frames at the front of `bytes` (a frame cut by the transport's end is left out).
fn complete_frames(bytes: &[u8]) -> Vec<Decoded> {
    let mut whole = 0;
    while let Some(len) = frame_len(&bytes[whole..]) {
        whole += len;
    }
    decode_frames(&bytes[..whole])
}

/// The length of the whole frame at the front of `bytes`, if it is all there.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let b1 = *bytes.get(1)?;
    let masked = if b1 & 0x80 != 0 { 4 } else { 0 };
    let (header, len) = match b1 & 0x7f {
        126 => (
            4,
            usize::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
        ),
        127 => (
            10,
            usize::try_from(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)).ok()?,
        ),
        n => (2, usize::from(n)),
    };
    let total = header + masked + len;
    (bytes.len() >= total).then_some(total)
}

/// The report of a script, or a failure naming the driver if it did not end in time.
fn report(driver: &str, rx: &mpsc::Receiver<Report>, limit: Duration) -> Report {
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{driver}: the script did not end within {limit:?}"))
}

/// A masked client frame.
fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, Some([0x37, 0xfa, 0x21, 0x3d]))
}

// ----- scenarios -----------------------------------------------------------------------------

/// A failure the peer can cause, what it sends, and the close code it must read.
struct Failure {
    name: &'static str,
    config: Config,
    wire: Vec<u8>,
    code: u16,
}

fn failures() -> Vec<Failure> {
    let base = Config::new()
        .without_deadlines()
        .with_close_timeout(Some(Duration::from_secs(2)));
    let mut large = vec![b'a'; 20_000];
    large[10_000] = 0xff;
    let mut fragments = client_frame(0x01, b"a");
    fragments.extend(client_frame(0x00, b"b"));
    fragments.extend(client_frame(0x80, b"c"));
    vec![
        Failure {
            name: "reserved opcode (1002)",
            config: base,
            wire: client_frame(0x83, b""),
            code: 1002,
        },
        Failure {
            name: "unmasked client frame (1002)",
            config: base,
            wire: raw_frame(0x81, b"hi", None),
            code: 1002,
        },
        Failure {
            name: "invalid UTF-8, small single frame (1007)",
            config: base,
            wire: client_frame(0x81, b"ok \xff ok"),
            code: 1007,
        },
        Failure {
            name: "a code point split between two small text messages (1007)",
            config: base,
            wire: [client_frame(0x81, b"\xc3"), client_frame(0x81, b"\xa9")].concat(),
            code: 1007,
        },
        Failure {
            name: "invalid UTF-8, large single frame (1007)",
            config: base,
            wire: client_frame(0x81, &large),
            code: 1007,
        },
        Failure {
            name: "too many fragments (1008)",
            config: base.with_max_fragments(2),
            wire: fragments,
            code: 1008,
        },
        Failure {
            name: "message over the limit (1009)",
            config: base.with_max_message_size(1000),
            wire: client_frame(0x82, &[0; 2000]),
            code: 1009,
        },
        Failure {
            name: "silent peer, keepalive timeout (1011)",
            config: base.with_keepalive(
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(100)),
            ),
            wire: Vec::new(),
            code: 1011,
        },
    ]
}

/// §7.1.7: for every failure a peer can cause, in every driver and with every receive
/// method, the peer reads the close frame with the failure's code before the transport
/// ends, even though the application drops the connection as soon as its receive reports
/// the end.
#[test]
fn a_failed_connection_writes_its_close_frame_before_the_transport_ends() {
    let methods = [
        Receive::Borrowed,
        Receive::Owned,
        Receive::With,
        Receive::Event,
    ];
    for (driver, serve) in DRIVERS {
        for failure in failures() {
            for how in methods {
                let case = format!("{driver}, {how:?}, {}", failure.name);
                let (mut peer, rx) = start(*serve, failure.config, Script::ReceiveUntilEnd(how));
                peer.write_all(&failure.wire).unwrap();
                let (frames, end) = read_to_end(&mut peer, Duration::from_secs(5));
                let close = frames.iter().find(|f| f.opcode == CLOSE);
                let code = close
                    .and_then(|f| f.payload.get(..2))
                    .map(|c| u16::from_be_bytes([c[0], c[1]]));
                assert_eq!(
                    code,
                    Some(failure.code),
                    "{case}: read {frames:?}, then {end:?}"
                );
                assert!(
                    frames.iter().all(|f| f.opcode == CLOSE || f.opcode == PING),
                    "{case}: {frames:?}"
                );
                assert_eq!(end, End::Eof, "{case}: the transport ended by {end:?}");
                let report = report(driver, &rx, Duration::from_secs(5));
                // No message arrived; `recv_event` returned the end itself (`Closed`).
                let events = usize::from(how == Receive::Event);
                assert_eq!(report.ok, events, "{case}: {report:?}");
                assert!(
                    report.elapsed < Duration::from_secs(1),
                    "{case}: {report:?}"
                );
            }
        }
    }
}

/// A subscriber that stops reading while shared 60 KiB frames are sent to it (a phone that
/// went into a tunnel) is let go at keepalive interval + timeout + close timeout: the
/// shared frame's unwritten rest waits in the connection's output, under its close deadline,
/// not outside it in the driver.
#[test]
fn a_subscriber_that_stops_reading_is_let_go_at_its_deadlines() {
    let step = Duration::from_millis(300);
    let config = Config::new()
        .without_deadlines()
        .with_keepalive(Some(step), Some(step))
        .with_close_timeout(Some(step));
    let message = PreparedMessage::binary(&[7u8; 60 * 1024]);
    for (driver, serve) in DRIVERS {
        let (peer, rx) = start(*serve, config, Script::Broadcast(message.clone()));
        // The peer reads nothing and says nothing.
        let report = report(driver, &rx, Duration::from_secs(10));
        let bound = 3 * step + Duration::from_secs(1);
        assert!(
            report.elapsed <= bound,
            "{driver}: let go after {:?} (bound {bound:?})",
            report.elapsed
        );
        assert!(
            report.elapsed >= 3 * step - Duration::from_millis(50),
            "{driver}: {report:?}"
        );
        assert_eq!(report.errors.len(), 1, "{driver}: {report:?}");
        drop(peer);
    }
}

/// The peer resets the connection (SO_LINGER 0, then close). Once the driver has seen the
/// reset, the next send returns `Error::Io`, as its documentation says, and so does every
/// send after it: a loop of 1,000 sends ends with that error, not a hang, and nothing after
/// the first failure succeeds.
#[test]
fn after_a_reset_every_send_fails_with_the_transport_error() {
    for (driver, serve) in DRIVERS {
        let (peer, rx) = start(
            *serve,
            Config::new(),
            Script::SendAfter(Duration::from_millis(200), 1_000),
        );
        reset(peer);
        let report = report(driver, &rx, Duration::from_secs(10));
        let first = report.errors.first().map(|(i, _)| *i);
        let Some(first) = first else {
            panic!("{driver}: 1,000 sends after a reset all succeeded");
        };
        assert_eq!(
            report.ok, first,
            "{driver}: a send succeeded after a failure: {report:?}"
        );
        assert_eq!(report.errors.len(), 1_000 - first, "{driver}: {report:?}");
        for (_, error) in &report.errors {
            assert!(
                error == "Io(ConnectionReset)" || error == "Io(BrokenPipe)",
                "{driver}: {error}"
            );
        }
    }
}

/// The `101` is written when the driver accepts, not with the application's first write: a
/// server that accepts and then has nothing to say for a while (a broadcast source, a slow
/// back end) does not keep its client waiting for the upgrade.
#[test]
fn the_upgrade_is_answered_when_the_driver_accepts() {
    for (driver, serve) in DRIVERS {
        let started = Instant::now();
        let (peer, rx) = start(
            *serve,
            Config::new(),
            Script::Idle(Duration::from_millis(1500)),
        );
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(2),
            "{driver}: the 101 came after {waited:?}"
        );
        drop(peer);
        report(driver, &rx, Duration::from_secs(10));
    }
}

/// Resets the connection: SO_LINGER 0, then close.
fn reset(peer: TcpStream) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    peer.set_nonblocking(true).unwrap();
    let peer = tokio::net::TcpStream::from_std(peer).unwrap();
    peer.set_zero_linger().unwrap();
    drop(peer);
}
