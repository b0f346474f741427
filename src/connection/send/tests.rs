//! The send rule's agreement test: every send path driven with the same inputs — sizes
//! around every threshold (125/126 bytes, the fragment size, the compression threshold, the
//! backlog), every phase, a fragmented message in progress, both roles, permessage-deflate
//! on and off — gives the same bytes and the same error as every other path and as the
//! model of the rule written out below, independently of `rule.rs`.

use alloc::vec;
use alloc::vec::Vec;

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::entropy::Seed;
use crate::error::SendError;
use crate::event::{Event, MessageKind};
use crate::handshake::client::ClientRequest;
use crate::prepared::PreparedMessage;
use crate::Accept;

/// Where a connection is when the send is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Connecting,
    Open,
    /// A fragmented message of this kind in progress.
    MidMessage(MessageKind),
    CloseSent,
    CloseReceived,
    /// Closed, the `Closed` event not taken yet.
    ClosedUnreported,
    /// Closed and reported.
    Closed,
}

const PLACES: [Where; 8] = [
    Where::Connecting,
    Where::Open,
    Where::MidMessage(MessageKind::Text),
    Where::MidMessage(MessageKind::Binary),
    Where::CloseSent,
    Where::CloseReceived,
    Where::ClosedUnreported,
    Where::Closed,
];

#[derive(Clone, Copy, Debug)]
struct Setup {
    server: bool,
    deflate: bool,
    fragment_size: usize,
    backlog: usize,
    place: Where,
}

const THRESHOLD: usize = 100;

fn config(s: &Setup) -> Config {
    let config = Config::new()
        .with_max_output_backlog(s.backlog)
        .with_outgoing_fragment_size(s.fragment_size)
        .with_auto_close_reply(false)
        .with_release_buffers_after(None);
    #[cfg(feature = "deflate")]
    if s.deflate {
        let deflate = crate::extensions::deflate::DeflateConfig::new()
            .with_threshold(THRESHOLD)
            .with_no_context_takeover(true);
        return config.with_deflate(deflate);
    }
    config
}

/// A connection of `s`'s role, through a real handshake with a peer, brought to `s.place`.
/// The same `s` gives the same connection (masking keys included).
fn connection(s: &Setup) -> Option<Connection> {
    let config = config(s);
    let mut client =
        Connection::client(config, &ClientRequest::new("h", "/"), Seed::new([7; 32])).unwrap();
    let mut server = Connection::server(config);
    let n = server.receive(client.output());
    assert_eq!(n, client.output().len());
    let taken = client.output().len();
    client.consume_output(taken);
    if s.place == Where::Connecting {
        return Some(if s.server { server } else { client });
    }
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    let _ = client.receive(server.output());
    let taken = server.output().len();
    server.consume_output(taken);
    assert!(matches!(client.poll_event(), Some(Event::Accepted(_))));
    let (mut conn, mut peer) = if s.server {
        (server, client)
    } else {
        (client, server)
    };
    match s.place {
        Where::Connecting | Where::Open => {}
        // Refused only by a backlog too small for it: then not a place this setup reaches.
        Where::MidMessage(kind) => conn.send_fragment(kind, b"ab", false).ok()?,
        Where::CloseSent => conn.close(CloseCode::NORMAL, "").unwrap(),
        Where::CloseReceived | Where::ClosedUnreported | Where::Closed => {
            peer.close(CloseCode::NORMAL, "").unwrap();
            let _ = conn.receive(peer.output());
            while let Some(event) = conn.poll_event() {
                assert!(matches!(event, Event::CloseReceived(_)), "{event:?}");
            }
            if s.place != Where::CloseReceived {
                conn.receive_transport_error();
            }
            if s.place == Where::Closed {
                while conn.poll_event().is_some() {}
            }
        }
    }
    Some(conn)
}

/// The model of the rule, from RFC 6455 and the documented limits: the error a send of a
/// whole message of `len` bytes gets, or the frames it becomes as (first opcode, RSV1,
/// count) — `None` for the count of a compressed message (it depends on the compressor).
fn model(
    s: &Setup,
    kind: MessageKind,
    len: usize,
    buffered: usize,
) -> Result<(u8, bool, Option<usize>), SendError> {
    match s.place {
        Where::Connecting => return Err(SendError::NotOpen),
        Where::CloseSent | Where::ClosedUnreported => return Err(SendError::Closing),
        Where::Closed => return Err(SendError::Closed),
        Where::MidMessage(_) => return Err(SendError::FragmentSequence),
        Where::Open | Where::CloseReceived => {}
    }
    let compress = s.deflate && cfg!(feature = "deflate") && len >= THRESHOLD;
    let header = |n: usize| {
        let base = if n <= 125 {
            2
        } else if n <= 0xFFFF {
            4
        } else {
            10
        };
        base + if s.server { 0 } else { 4 }
    };
    // The payload the frames carry: the message, or the compressor's worst case.
    let carried = if compress { len + len / 256 + 64 } else { len };
    let size = s.fragment_size;
    let pieces: Vec<usize> = if size == 0 || carried <= size {
        vec![carried]
    } else {
        let mut v = vec![size; carried / size];
        if carried % size != 0 {
            v.push(carried % size);
        }
        v
    };
    let total: usize = pieces.iter().map(|&n| header(n) + n).sum();
    if total > s.backlog.saturating_sub(buffered) {
        return Err(SendError::OutputFull);
    }
    let opcode = match kind {
        MessageKind::Text => 1,
        MessageKind::Binary => 2,
    };
    Ok((opcode, compress, (!compress).then_some(pieces.len())))
}

/// The frames in `bytes` as (opcode, RSV1, FIN) each; the bytes must be whole frames.
fn frames(bytes: &[u8]) -> Vec<(u8, bool, bool)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let [b0, b1, tail @ ..] = rest {
        let (masked, len7) = (b1 & 0x80 != 0, usize::from(b1 & 0x7F));
        let (len, tail) = match len7 {
            126 => (
                usize::from(u16::from_be_bytes([tail[0], tail[1]])),
                &tail[2..],
            ),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&tail[..8]);
                (u64::from_be_bytes(n) as usize, &tail[8..])
            }
            n => (n, tail),
        };
        let tail = if masked { &tail[4..] } else { tail };
        out.push((b0 & 0x0F, b0 & 0x40 != 0, b0 & 0x80 != 0));
        rest = &tail[len..];
    }
    assert!(rest.is_empty(), "a partial frame");
    out
}

/// Everything the connection wants written, drained.
fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut all = Vec::new();
    while conn.wants_write() {
        let bytes = conn.output().to_vec();
        conn.consume_output(bytes.len());
        all.extend_from_slice(&bytes);
    }
    all
}

/// What one path did: its name, the bytes already waiting before the send, and the result
/// with the bytes the send queued.
type PathResult = (&'static str, usize, Result<Vec<u8>, SendError>);

/// One send by each path on a fresh connection (its earlier output written out first).
fn each_path(s: &Setup, kind: MessageKind, payload: &[u8]) -> Vec<PathResult> {
    let text = core::str::from_utf8(payload).unwrap_or_default();
    let prepared = match kind {
        MessageKind::Text => PreparedMessage::text(text),
        MessageKind::Binary => PreparedMessage::binary(payload),
    };
    let mut results = Vec::new();
    let mut run = |name: &'static str,
                   waiting: &[u8],
                   f: &dyn Fn(&mut Connection) -> Result<(), SendError>| {
        let Some(mut conn) = connection(s) else {
            return;
        };
        drain(&mut conn);
        // Bytes already waiting: a shared frame can no longer go out as the output's head.
        conn.out.push_raw(waiting);
        let result = f(&mut conn).map(|()| drain(&mut conn).split_off(waiting.len()));
        results.push((name, waiting.len(), result));
    };
    run("send_message (fast path first)", b"", &|c| {
        c.out.send_message(kind, payload)
    });
    run("send_whole (general path)", b"", &|c| {
        c.out.send_whole(kind, payload, true)
    });
    run("send_prepared", b"", &|c| c.out.send_prepared(&prepared));
    run("send_prepared behind other output", b"\0", &|c| {
        c.out.send_prepared(&prepared)
    });
    run("send_message behind other output", b"\0", &|c| {
        c.out.send_message(kind, payload)
    });
    results
}

fn lengths() -> Vec<usize> {
    vec![
        0, 1, 7, 8, 9, 99, 100, 101, 124, 125, 126, 127, 200, 300, 65_535, 65_536, 70_000,
    ]
}

fn setups() -> Vec<Setup> {
    let mut v = Vec::new();
    for server in [true, false] {
        for deflate in [false, true] {
            for fragment_size in [0, 8, 125, 200] {
                for backlog in [0, 100, 131, 140, 400, 66_000, 1 << 20] {
                    for place in PLACES {
                        v.push(Setup {
                            server,
                            deflate,
                            fragment_size,
                            backlog,
                            place,
                        });
                    }
                }
            }
        }
    }
    v
}

#[test]
fn every_send_path_agrees_with_the_rule_and_with_each_other() {
    let mut checked = 0;
    for s in setups() {
        for kind in [MessageKind::Text, MessageKind::Binary] {
            for len in lengths() {
                let payload = vec![b'a' + (len % 26) as u8; len];
                let results = each_path(&s, kind, &payload);
                let mut agreed: Option<Vec<u8>> = None;
                for (name, waiting, result) in results {
                    let case = alloc::format!("{name}: {s:?} {kind:?} {len} bytes");
                    match (model(&s, kind, len, waiting), result) {
                        (Err(e), Err(got)) => assert_eq!(got, e, "{case}"),
                        (Err(e), Ok(_)) => panic!("{case}: admitted, the rule says {e:?}"),
                        (Ok(_), Err(got)) => panic!("{case}: refused with {got:?}"),
                        (Ok((opcode, rsv1, count)), Ok(bytes)) => {
                            let got = frames(&bytes);
                            let Some(&(op0, rsv0, _)) = got.first() else {
                                panic!("{case}: no frame");
                            };
                            assert_eq!((op0, rsv0), (opcode, rsv1), "{case}");
                            assert!(got.last().is_some_and(|f| f.2), "{case}: FIN on the last");
                            assert!(got.iter().skip(1).all(|f| f.0 == 0 && !f.1), "{case}");
                            if let Some(count) = count {
                                assert_eq!(got.len(), count, "{case}: frames");
                            }
                            // Byte for byte what every other admitting path queued.
                            match &agreed {
                                Some(first) => assert_eq!(&bytes, first, "{case}: bytes"),
                                None => agreed = Some(bytes),
                            }
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked} cases");
}

/// A fragment follows the same rule (phase, sequence, backlog), as one frame: continuation
/// within its message, compressed whenever its message is (RFC 7692 §6.1).
#[test]
fn a_fragment_follows_the_same_rule() {
    for s in setups() {
        for kind in [MessageKind::Text, MessageKind::Binary] {
            for len in [0usize, 1, 7, 8, 9, 125, 126, 300] {
                let Some(mut conn) = connection(&s) else {
                    continue;
                };
                drain(&mut conn);
                let payload = vec![b'f'; len];
                let got = conn.out.send_fragment(kind, &payload, true);
                let case = alloc::format!("{s:?} {kind:?} {len}");
                let continuing = s.place == Where::MidMessage(kind);
                let compress = s.deflate && cfg!(feature = "deflate");
                // The same model, for one frame (no fragment size) of what it carries;
                // within its own message a fragment is no sequence error.
                let mut one = s;
                one.fragment_size = 0;
                if continuing {
                    one.place = Where::Open;
                }
                let carried = if compress { len + len / 256 + 64 } else { len };
                let expected = match model(&one, kind, carried, 0) {
                    // The model adds the worst case to a message past the threshold only.
                    Err(SendError::OutputFull) | Ok(_) => {
                        let header = |n: usize| {
                            (if n <= 125 { 2 } else { 4 }) + if s.server { 0 } else { 4 }
                        };
                        if header(carried) + carried > s.backlog {
                            Err(SendError::OutputFull)
                        } else {
                            Ok(())
                        }
                    }
                    Err(e) => Err(e),
                };
                assert_eq!(got, expected, "{case}");
                if got.is_ok() {
                    let bytes = drain(&mut conn);
                    let opcode = if continuing { 0 } else { kind_opcode(kind) };
                    let rsv1 = compress && !continuing;
                    assert_eq!(frames(&bytes), vec![(opcode, rsv1, true)], "{case}");
                }
            }
        }
    }
}

fn kind_opcode(kind: MessageKind) -> u8 {
    match kind {
        MessageKind::Text => 1,
        MessageKind::Binary => 2,
    }
}
