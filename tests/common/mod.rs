//! Test harness shared by the integration tests: a client/server `Pair` driven in memory, and
//! an independent frame encoder/decoder (written from §5.2, not using the crate's codec) so
//! that expected bytes never come from the code under test.
#![allow(dead_code, unreachable_pub)]

use wsmachine::handshake::client::ClientRequest;
use wsmachine::{
    Accept, CloseCause, CloseCode, Closed, Config, Connection, Event, MessageKind, OwnedEvent,
    ProtocolError, Seed,
};

/// The handshake request of RFC 6455 §1.2 (minus the optional headers).
pub const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

pub const SEED: Seed = Seed::new([42; 32]);

/// An in-memory stream pair whose peer end has already sent [`REQUEST`]: the other end is
/// ready for a driver's `accept` (tokio tests).
#[cfg(feature = "tokio")]
pub async fn duplex_with_request(
    capacity: usize,
) -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
    let (mut peer, server) = tokio::io::duplex(capacity);
    tokio::io::AsyncWriteExt::write_all(&mut peer, REQUEST)
        .await
        .unwrap();
    (peer, server)
}

/// Opcodes by number, so tests can also build reserved ones.
pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Encodes a frame per §5.2 (minimal length encoding), masking with `mask` if given.
pub fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    raw_frame(if fin { 0x80 } else { 0 } | opcode, payload, mask)
}

/// Encodes a frame with an arbitrary first byte (FIN, RSV bits, opcode).
pub fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(m | len as u8);
    } else if len < 65536 {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A client frame: masked with a fixed key.
pub fn cframe(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]))
}

/// A server frame: unmasked.
pub fn sframe(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, None)
}

/// A close frame payload.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// A decoded frame, payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// Decodes a byte stream of complete frames per §5.2; panics on anything else.
pub fn decode_frames(mut bytes: &[u8]) -> Vec<Decoded> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "truncated header");
        let b0 = bytes[0];
        let b1 = bytes[1];
        let mut pos = 2;
        let mut len = (b1 & 0x7f) as u64;
        if len == 126 {
            len = u16::from_be_bytes([bytes[2], bytes[3]]) as u64;
            pos = 4;
        } else if len == 127 {
            len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
            pos = 10;
        }
        let masked = b1 & 0x80 != 0;
        let key = if masked {
            let k = [bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]];
            pos += 4;
            Some(k)
        } else {
            None
        };
        let end = pos + len as usize;
        assert!(bytes.len() >= end, "truncated payload");
        let mut payload = bytes[pos..end].to_vec();
        if let Some(k) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        frames.push(Decoded {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0x0f,
            masked,
            payload,
        });
        bytes = &bytes[end..];
    }
    frames
}

/// Takes the whole output of a connection (a prepared message's shared frame, then the
/// connection's own buffer: `output()` returns one run at a time).
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.wants_write() {
        out.extend_from_slice(conn.output());
        conn.consume_output(conn.output().len());
    }
    out
}

/// A copy of all the output waiting, left in place (both runs of `output_vectored`).
pub fn peek_output(conn: &Connection) -> Vec<u8> {
    conn.output_vectored().concat()
}

/// Drains every event.
pub fn drain(conn: &mut Connection) -> Vec<OwnedEvent> {
    let mut events = Vec::new();
    while let Some(e) = conn.poll_event() {
        events.push(e.into_owned());
        assert!(events.len() < 1_000_000, "runaway event stream");
    }
    events
}

/// Feeds all of `bytes` (draining events whenever the input buffer is full) and drains.
pub fn feed(conn: &mut Connection, bytes: &[u8]) -> Vec<OwnedEvent> {
    let mut events = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = conn.receive(rest);
        rest = &rest[n..];
        let more = drain(conn);
        assert!(
            n > 0 || !more.is_empty(),
            "receive made no progress and no events"
        );
        events.extend(more);
    }
    events.extend(drain(conn));
    events
}

/// Feeds `bytes` one byte per call, draining after each.
pub fn feed_bytewise(conn: &mut Connection, bytes: &[u8]) -> Vec<OwnedEvent> {
    let mut events = Vec::new();
    for b in bytes {
        let _ = feed_one(conn, *b, &mut events);
    }
    events
}

fn feed_one(conn: &mut Connection, b: u8, events: &mut Vec<OwnedEvent>) -> usize {
    let n = conn.receive(&[b]);
    events.extend(drain(conn));
    n
}

/// A server that has accepted the §1.2 request.
pub fn server_open(config: Config) -> Connection {
    let mut server = Connection::server(config);
    assert_eq!(server.receive(REQUEST), REQUEST.len());
    match server.poll_event() {
        Some(Event::Request(r)) => assert!(r.is_websocket()),
        other => panic!("expected a request, got {other:?}"),
    }
    server.accept(Accept::new()).unwrap();
    assert!(server.poll_event().is_none());
    take_output(&mut server);
    server
}

/// The `Sec-WebSocket-Key` in a request head.
pub fn request_key(head: &[u8]) -> String {
    let text = std::str::from_utf8(head).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim()
        .to_string()
}

/// A `101` response for a request head.
pub fn switching_response(request_head: &[u8]) -> Vec<u8> {
    let accept = wsmachine::handshake::accept_key(request_key(request_head).as_bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

/// A client that has completed its handshake.
pub fn client_open(config: Config) -> Connection {
    let request = ClientRequest::new("server.example.com", "/chat");
    let mut client = Connection::client(config, &request, SEED).unwrap();
    let head = take_output(&mut client);
    let response = switching_response(&head);
    assert_eq!(client.receive(&response), response.len());
    match client.poll_event() {
        Some(Event::Accepted(r)) => assert_eq!(r.status(), 101),
        other => panic!("expected Accepted, got {other:?}"),
    }
    assert!(client.poll_event().is_none());
    client
}

/// A client and a server wired together in memory.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<OwnedEvent>,
    pub server_events: Vec<OwnedEvent>,
}

impl Pair {
    /// Connects a client and a server (handshake completed, events cleared).
    pub fn new(client_config: Config, server_config: Config) -> Pair {
        let request = ClientRequest::new("example.com", "/");
        let client = Connection::client(client_config, &request, SEED).unwrap();
        let server = Connection::server(server_config);
        let mut pair = Pair {
            client,
            server,
            client_events: Vec::new(),
            server_events: Vec::new(),
        };
        pair.run();
        assert!(matches!(pair.server_events.as_slice(), [OwnedEvent::Request(r)] if r.websocket));
        assert!(matches!(
            pair.client_events.as_slice(),
            [OwnedEvent::Accepted(_)]
        ));
        pair.client_events.clear();
        pair.server_events.clear();
        pair
    }

    /// Moves bytes and drains events until neither side has anything to do. A server
    /// request is accepted automatically. Panics after a bound on rounds (livelock guard).
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            let mut progress = false;
            for (from_client, events) in [(true, 0), (false, 1)] {
                let _ = events;
                let (from, to) = if from_client {
                    (&mut self.client, &mut self.server)
                } else {
                    (&mut self.server, &mut self.client)
                };
                if !from.output().is_empty() {
                    let n = to.receive(from.output());
                    from.consume_output(n);
                    progress |= n > 0;
                }
            }
            while let Some(e) = self.server.poll_event() {
                let e = e.into_owned();
                if let OwnedEvent::Request(r) = &e {
                    if r.websocket {
                        self.server.accept(Accept::new()).unwrap();
                    }
                }
                self.server_events.push(e);
                progress = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e.into_owned());
                progress = true;
            }
            if !progress {
                return;
            }
        }
        panic!("pair did not become idle");
    }

    /// Both sides see end of stream (the transport closed), then run to idle.
    pub fn eof_both(&mut self) {
        self.client.receive_eof();
        self.server.receive_eof();
        self.run();
    }
}

/// The messages among `events` as (kind, bytes), whole or streamed (fragments joined; an
/// unfinished one left out); other events are skipped.
pub fn messages(events: &[OwnedEvent]) -> Vec<(MessageKind, Vec<u8>)> {
    let mut out = Vec::new();
    let mut partial = Vec::new();
    for e in events {
        match e {
            OwnedEvent::Text(t) => out.push((MessageKind::Text, t.clone().into_bytes())),
            OwnedEvent::Binary(b) => out.push((MessageKind::Binary, b.clone())),
            OwnedEvent::Fragment { kind, data, fin } => {
                partial.extend_from_slice(data);
                if *fin {
                    out.push((*kind, std::mem::take(&mut partial)));
                }
            }
            _ => {}
        }
    }
    out
}

/// Event kinds as short strings, to compare transcripts.
pub fn kinds(events: &[OwnedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            OwnedEvent::Request(_) => "request".into(),
            OwnedEvent::Accepted(_) => "accepted".into(),
            OwnedEvent::Rejected(r) => format!("rejected {}", r.status),
            OwnedEvent::Text(t) => format!("text {}", t.len()),
            OwnedEvent::Binary(b) => format!("binary {}", b.len()),
            OwnedEvent::Fragment { kind, data, fin } => {
                format!("fragment {kind:?} {} {fin}", data.len())
            }
            OwnedEvent::Ping(_) => "ping".into(),
            OwnedEvent::Pong(_) => "pong".into(),
            OwnedEvent::CloseReceived { code, .. } => format!("close-received {}", code.0),
            OwnedEvent::Closed(c) => format!("closed {} {:?}", c.code.0, c.cause),
            _ => "other".into(),
        })
        .collect()
}

/// The single `Closed` event among `events`, asserting there is exactly one and it is last.
pub fn closed(events: &[OwnedEvent]) -> wsmachine::Closed {
    let closed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            OwnedEvent::Closed(c) => Some(*c),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 1, "exactly one Closed in {events:?}");
    assert!(
        matches!(events.last(), Some(OwnedEvent::Closed(_))),
        "Closed is last"
    );
    closed[0]
}

/// A frame as the peer of `conn` sends it: masked towards a server, unmasked towards a client.
pub fn peer_frame(conn: &Connection, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    if conn.role().is_server() {
        cframe(fin, opcode, payload)
    } else {
        sframe(fin, opcode, payload)
    }
}

/// Asserts that `conn` failed the connection with `error` (§7.1.7): `Closed` with `code` is the
/// last event, the output holds one close frame with `code` (masked exactly when `conn` is a
/// client) as its last frame, and valid input fed afterwards produces no event and no output.
pub fn assert_failed(
    conn: &mut Connection,
    events: &[OwnedEvent],
    error: ProtocolError,
    code: u16,
) {
    assert_eq!(
        closed(events),
        Closed {
            code: CloseCode(code),
            cause: CloseCause::Failed(error),
        }
    );
    let frames = decode_frames(&take_output(conn));
    let closes: Vec<&Decoded> = frames.iter().filter(|f| f.opcode == CLOSE).collect();
    assert_eq!(closes.len(), 1, "exactly one close frame in {frames:?}");
    assert_eq!(
        frames.last(),
        Some(closes[0]),
        "the close frame is the last frame"
    );
    assert!(closes[0].fin);
    assert_eq!(
        closes[0].masked,
        conn.role().is_client(),
        "mask direction of the close frame"
    );
    assert_eq!(
        closes[0].payload[..2],
        code.to_be_bytes(),
        "close code on the wire"
    );
    let mut more = peer_frame(conn, true, TEXT, b"after");
    more.extend(peer_frame(conn, true, PING, b"p"));
    assert_eq!(
        feed(conn, &more),
        vec![],
        "nothing is delivered after the failure"
    );
    assert!(
        conn.output().is_empty(),
        "nothing is sent after the failure"
    );
}
