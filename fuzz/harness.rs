//! Fuzz harness bodies, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and by
//! `tests/fuzz_corpus.rs`, which replays every committed corpus file under a plain
//! `cargo test`. Each function takes arbitrary bytes and panics only when an oracle fails.
//!
//! Oracles: no panic inside the crate; buffers within their configured limits; every frame
//! the connection writes re-decodes with the right mask direction; nothing after `Closed`;
//! the same input split differently gives the same events and output; in-order exactly-once
//! delivery between two endpoints.

#![allow(dead_code)]

use wsmachine::frame::{apply_mask, apply_mask_copy, apply_mask_reference, FrameHeader, Status};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::utf8::Utf8Validator;
use wsmachine::{
    Accept, CloseCause, CloseCode, Config, Connection, Delivery, Event, MessageKind, OwnedEvent,
    ProtocolError, Role, Seed, SendError,
};

/// The upgrade request of RFC 6455 §1.2.
pub const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

const SEED: Seed = Seed::new([3; 32]);

/// A small deterministic generator for chunk sizes and payload bytes, seeded by the input.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Small limits, so that the fuzzer reaches them.
fn small_config(flags: u8) -> Config {
    let delivery = if flags & 1 != 0 {
        Delivery::Streaming
    } else {
        Delivery::Assembled
    };
    let config = Config::new()
        .with_max_handshake_bytes(2048)
        .with_max_headers(16)
        .with_max_frame_size(4096)
        .with_max_message_size(8192)
        .with_max_fragments(32)
        .with_max_output_backlog(16384)
        .with_read_sizes(64, 1024)
        .with_delivery(delivery)
        .with_auto_pong(flags & 2 == 0)
        .with_auto_close_reply(flags & 4 == 0)
        .with_accept_legacy_versions(flags & 8 != 0);
    #[cfg(feature = "deflate")]
    let config = if flags & 16 != 0 {
        // Bit 5: context takeover both ways (each connection keeps its own states); without
        // it, the default policy, whose states are shared by every connection of the process.
        let takeover = flags & 32 != 0;
        config.with_deflate(
            wsmachine::extensions::deflate::DeflateConfig::new()
                .with_no_context_takeover(!takeover)
                .with_peer_no_context_takeover(!takeover),
        )
    } else {
        config
    };
    config
}

/// Checks the buffers against the limits of `config`.
fn check_bounds(conn: &Connection, config: &Config) {
    let m = conn.memory();
    // Buffered bytes stay within the limit; a buffer's capacity within twice it. `input`
    // also counts the text of small messages decoded ahead of their events, a buffer of its
    // own bounded by a read's worth of text plus 128 bytes of slack.
    let input_limit = 2
        * (config.max_frame_size + 14 + config.max_read_size)
            .max(2 * config.max_handshake_bytes + 1)
        + config.max_read_size
        + 128;
    assert!(
        m.input <= input_limit,
        "input buffer {} > {input_limit}",
        m.input
    );
    assert!(
        m.message <= 2 * config.max_message_size.next_power_of_two(),
        "message buffer {} for a limit of {}",
        m.message,
        config.max_message_size
    );
    // Automatic replies may pass the backlog limit: at most 16 pongs and one close.
    assert!(
        conn.output_len() <= config.max_output_backlog + 17 * 131 + 4096,
        "output {} over the backlog limit {}",
        conn.output_len(),
        config.max_output_backlog
    );
}

/// Decodes frames written by a connection of `role`; the bytes start after any HTTP head.
fn check_frames(role: Role, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let (header, len) = match FrameHeader::parse(bytes) {
            Ok(Status::Complete(parsed)) => parsed,
            other => panic!("unparsable output frame: {other:?}"),
        };
        assert_eq!(
            header.mask.is_some(),
            role.is_client(),
            "§5.1 mask direction"
        );
        assert_eq!(header.rsv, 0);
        let end = len + header.payload_len as usize;
        assert!(bytes.len() >= end, "truncated output frame");
        bytes = &bytes[end..];
    }
}

/// Output collected from a connection: the HTTP head (if any) and the frames after it.
#[derive(Default, PartialEq, Eq, Debug)]
struct Written {
    bytes: Vec<u8>,
}

impl Written {
    fn take(&mut self, conn: &mut Connection) {
        while conn.wants_write() {
            let out = conn.output();
            self.bytes.extend_from_slice(out);
            let n = out.len();
            conn.consume_output(n);
        }
    }

    /// The frames part (after the first blank line when a head was written).
    fn frames(&self, head_expected: bool) -> &[u8] {
        if !head_expected {
            return &self.bytes;
        }
        match self.bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) if self.bytes.starts_with(b"HTTP/1.1 101") => &self.bytes[i + 4..],
            _ => &[],
        }
    }
}

/// Drains events, answering requests; takes the output into `written`.
fn drain(conn: &mut Connection, events: &mut Vec<OwnedEvent>, written: &mut Written) {
    drain_events(conn, events);
    written.take(conn);
}

/// Drains events, answering requests; asserts nothing follows `Closed`.
fn drain_events(conn: &mut Connection, events: &mut Vec<OwnedEvent>) {
    loop {
        let mut accept = None;
        match conn.poll_event() {
            None => break,
            Some(event) => {
                if let Event::Request(req) = &event {
                    accept = Some(req.is_websocket());
                }
                let owned = event.into_owned();
                if let Some(OwnedEvent::Closed(_)) = events.last() {
                    panic!("event after Closed: {owned:?}");
                }
                events.push(owned);
                assert!(events.len() < 100_000, "runaway events");
            }
        }
        match accept {
            Some(true) => conn.accept(Accept::new()).unwrap(),
            Some(false) => conn.respond(404, &[], b"no").unwrap(),
            None => {}
        }
    }
}

/// Feeds `input` in chunks chosen by `rng` (0: one byte at a time), with an EOF at the end.
///
/// With `consume`, a random part of the output is taken after each chunk (as a transport
/// would write it out); without, output accumulates, so two runs can compare it byte for
/// byte (pong coalescing depends on what was written out when).
fn run_stream(
    mut conn: Connection,
    config: &Config,
    input: &[u8],
    rng: &mut Lcg,
    max_chunk: usize,
    consume: bool,
) -> (Vec<OwnedEvent>, Written) {
    let mut events = Vec::new();
    let mut written = Written::default();
    drain_events(&mut conn, &mut events);
    let mut rest = input;
    let mut stalls = 0;
    while !rest.is_empty() {
        let size = 1 + rng.below(max_chunk);
        let chunk = &rest[..size.min(rest.len())];
        let taken = if rng.below(2) == 0 {
            conn.receive(chunk)
        } else {
            let buf = conn.read_buf();
            let n = buf.len().min(chunk.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            conn.commit_read(n);
            n
        };
        rest = &rest[taken..];
        let before = events.len();
        drain_events(&mut conn, &mut events);
        if consume {
            let n = rng.below(conn.output().len() + 1);
            written.bytes.extend_from_slice(&conn.output()[..n]);
            conn.consume_output(n);
        }
        check_bounds(&conn, config);
        if taken == 0 && events.len() == before {
            stalls += 1;
            assert!(stalls < 3, "no progress: input buffer full and no events");
        } else {
            stalls = 0;
        }
    }
    conn.receive_eof();
    drain(&mut conn, &mut events, &mut written);
    check_bounds(&conn, config);
    let closed = events
        .iter()
        .filter(|e| matches!(e, OwnedEvent::Closed(_)))
        .count();
    assert_eq!(closed, 1, "exactly one Closed after EOF: {events:?}");
    (events, written)
}

/// Messages as delivered, with streamed fragments joined, for comparing deliveries split
/// differently.
fn normalise(events: &[OwnedEvent]) -> Vec<OwnedEvent> {
    let mut out = Vec::new();
    let mut partial: Option<(MessageKind, Vec<u8>)> = None;
    for e in events {
        match e {
            OwnedEvent::Fragment { kind, data, fin } => {
                let p = partial.get_or_insert((*kind, Vec::new()));
                assert_eq!(p.0, *kind, "fragment kinds change within a message");
                if *kind == MessageKind::Text {
                    assert!(std::str::from_utf8(data).is_ok(), "text fragment not UTF-8");
                }
                p.1.extend_from_slice(data);
                if *fin {
                    let (kind, data) = partial.take().unwrap();
                    out.push(OwnedEvent::Fragment {
                        kind,
                        data,
                        fin: true,
                    });
                }
            }
            // Compressed text that is both corrupt and inflates to invalid UTF-8 is reported as
            // either, depending on how much output zlib released before it detected the
            // corruption (which depends on how the input was split); both close with 1007.
            OwnedEvent::Closed(c)
                if c.cause == CloseCause::Failed(ProtocolError::InflateFailed) =>
            {
                out.push(OwnedEvent::Closed(wsmachine::Closed {
                    code: c.code,
                    cause: CloseCause::Failed(ProtocolError::InvalidUtf8),
                }))
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// `frame_header`: anything the parser accepts re-encodes to the same bytes, and every
/// prefix of it is `Partial`.
pub fn frame_header(data: &[u8]) {
    if let Ok(Status::Complete((header, len))) = FrameHeader::parse(data) {
        let mut out = [0u8; wsmachine::frame::MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        assert_eq!(&out[..n], &data[..len], "re-encoding differs");
        assert_eq!(header.encoded_len(), len);
        for cut in 0..len {
            match FrameHeader::parse(&data[..cut]) {
                Ok(Status::Partial) => {}
                // A prefix may already show the error only if the whole would fail too.
                other => panic!("prefix {cut} of a valid header parsed as {other:?}"),
            }
        }
    }
}

/// Splits off the harness's control bytes.
fn controls(data: &[u8], n: usize) -> ([u8; 4], &[u8]) {
    let mut c = [0u8; 4];
    let k = n.min(data.len()).min(4);
    c[..k].copy_from_slice(&data[..k]);
    (c, &data[k..])
}

/// `server_stream`: a server fed arbitrary bytes (after the §1.2 request when the first flag
/// bit says so), split twice differently; both runs must agree.
pub fn server_stream(data: &[u8]) {
    let ([flags, seed, max_chunk, _], body) = controls(data, 3);
    let config = small_config(flags >> 1);
    let mut input = Vec::new();
    if flags & 1 == 0 {
        #[cfg(feature = "deflate")]
        let request = if config.deflate.is_some() {
            REQUEST_DEFLATE
        } else {
            REQUEST
        };
        #[cfg(not(feature = "deflate"))]
        let request = REQUEST;
        input.extend_from_slice(request);
    }
    input.extend_from_slice(body);
    split_runs_agree(
        Role::Server,
        || Connection::server(config),
        &config,
        &input,
        seed,
        max_chunk,
        7,
    );
}

/// Builds a client and the `101` response its request calls for.
fn client_and_response(config: Config) -> (Connection, Vec<u8>) {
    let request = ClientRequest::new("server.example.com", "/chat");
    let mut conn = Connection::client(config, &request, SEED).unwrap();
    let head = conn.output().to_vec();
    let text = String::from_utf8(head).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim()
        .to_string();
    let n = conn.output().len();
    conn.consume_output(n);
    let accept = wsmachine::handshake::accept_key(key.as_bytes());
    let extensions = if text.contains("permessage-deflate") {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extensions}\r\n"
    );
    (conn, response.into_bytes())
}

/// `client_stream`: a client (fixed seed) fed a valid `101` when the first flag bit says so,
/// then arbitrary bytes, split twice differently.
pub fn client_stream(data: &[u8]) {
    let ([flags, seed, max_chunk, _], body) = controls(data, 3);
    let config = small_config(flags >> 1);
    let (_, response) = client_and_response(config);
    let mut input = Vec::new();
    if flags & 1 == 0 {
        input.extend_from_slice(&response);
    }
    input.extend_from_slice(body);
    let client = || client_and_response(config).0;
    split_runs_agree(Role::Client, client, &config, &input, seed, max_chunk, 5);
}

/// Feeds `input` to three connections from `new_conn`: split at random (up to a size from
/// `max_chunk`), split every `fixed_chunk` bytes, and split at random while consuming output
/// as it goes. The events must agree, assembled output must not depend on the split, and
/// every frame written must be valid for `role`.
fn split_runs_agree(
    role: Role,
    mut new_conn: impl FnMut() -> Connection,
    config: &Config,
    input: &[u8],
    seed: u8,
    max_chunk: u8,
    fixed_chunk: usize,
) {
    let max_chunk = 1 + max_chunk as usize * 8;
    let mut rng = Lcg(u64::from(seed));
    let (events_a, written_a) = run_stream(new_conn(), config, input, &mut rng, max_chunk, false);
    let (events_b, written_b) = run_stream(new_conn(), config, input, &mut rng, fixed_chunk, false);
    let (events_c, written_c) = run_stream(new_conn(), config, input, &mut rng, max_chunk, true);
    assert_eq!(
        normalise(&events_a),
        normalise(&events_b),
        "split changed the events"
    );
    assert_eq!(
        normalise(&events_a),
        normalise(&events_c),
        "consuming output changed the events"
    );
    if config.delivery == Delivery::Assembled {
        // Same seed, same masks (for a client): the output is byte-identical.
        assert_eq!(written_a, written_b, "split changed the output");
    }
    // A server's output starts with its HTTP response; a client's request was taken out.
    let head_expected = role == Role::Server;
    check_frames(role, written_a.frames(head_expected));
    check_frames(role, written_c.frames(head_expected));
}

/// `handshake_request`: arbitrary bytes as an HTTP request; the answer is a well-formed
/// response, and what is delivered agrees with the pure validators.
pub fn handshake_request(data: &[u8]) {
    let ([flags, ..], body) = controls(data, 1);
    let config = small_config(flags);
    let mut conn = Connection::server(config);
    let mut events = Vec::new();
    let mut written = Written::default();
    let mut rest = body;
    while !rest.is_empty() {
        let n = conn.receive(rest);
        rest = &rest[n..];
        if let Some(Event::Request(req)) = conn.poll_event() {
            // The pure validator and the connection agree on what is an upgrade.
            let validated = wsmachine::handshake::server::validate_request(
                req.method(),
                req.minor_version(),
                req.headers().collect::<Vec<_>>(),
                config.accept_legacy_versions,
            );
            assert_eq!(
                validated.map(|u| u.is_some()).ok(),
                Some(req.is_websocket())
            );
            for ext in req.extensions().flatten() {
                for _ in ext.params() {}
            }
            let _ = req.subprotocols().count();
            let _ = req.to_owned_request();
            let _ = conn.respond(400, &[], b"");
        }
        drain(&mut conn, &mut events, &mut written);
        if n == 0 {
            break;
        }
    }
    conn.receive_eof();
    drain(&mut conn, &mut events, &mut written);
    if !written.bytes.is_empty() {
        assert!(
            written.bytes.starts_with(b"HTTP/1.1 "),
            "not an HTTP response"
        );
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        assert!(
            matches!(
                response.parse(&written.bytes),
                Ok(httparse::Status::Complete(_))
            ),
            "unparsable response"
        );
    }
}

/// `handshake_response`: arbitrary bytes as the server's answer to a client.
pub fn handshake_response(data: &[u8]) {
    let ([flags, ..], body) = controls(data, 1);
    let config = small_config(flags);
    let (mut conn, _) = client_and_response(config);
    let mut events = Vec::new();
    let mut written = Written::default();
    let mut rest = body;
    while !rest.is_empty() {
        let n = conn.receive(rest);
        rest = &rest[n..];
        drain(&mut conn, &mut events, &mut written);
        if n == 0 {
            break;
        }
    }
    conn.receive_eof();
    drain(&mut conn, &mut events, &mut written);
    assert!(matches!(events.last(), Some(OwnedEvent::Closed(_))));
    for e in &events {
        if let OwnedEvent::Accepted(r) = e {
            assert_eq!(r.status, 101);
        }
    }
    // Anything the extension grammar accepts also parses parameter by parameter.
    if let Ok(text) = std::str::from_utf8(body) {
        for ext in wsmachine::extensions::parse(text).flatten() {
            for p in ext.params() {
                assert!(!p.name.is_empty());
            }
        }
    }
}

/// `utf8`: the streaming validator, fed fuzz-chosen splits, agrees with `core::str::from_utf8`
/// and fails no later than the chunk holding the first byte that cannot start valid text.
pub fn utf8(data: &[u8]) {
    let ([seed, ..], text) = controls(data, 1);
    let mut rng = Lcg(u64::from(seed));
    let expected = std::str::from_utf8(text);
    // Index of the byte at which the input stops being a prefix of valid UTF-8.
    let bad_at = match expected {
        Ok(_) => None,
        Err(e) => e.error_len().map(|len| e.valid_up_to() + len - 1),
    };
    let mut v = Utf8Validator::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut failed_at = None;
    while pos < text.len() {
        let size = 1 + rng.below(17);
        let end = (pos + size).min(text.len());
        match v.feed(&text[pos..end]) {
            Ok(ok) => {
                out.extend_from_slice(ok.joined.as_bytes());
                out.extend_from_slice(ok.body.as_bytes());
            }
            Err(_) => {
                failed_at = Some(end);
                break;
            }
        }
        pos = end;
    }
    let finished = failed_at.is_none() && v.finish().is_ok();
    assert_eq!(
        finished,
        expected.is_ok(),
        "validator disagrees with from_utf8"
    );
    if finished {
        assert_eq!(out, text);
    }
    if let (Some(bad), Some(end)) = (bad_at, failed_at) {
        assert!(bad < end, "failed late");
    }
    if let Some(bad) = bad_at {
        let end = failed_at.expect("invalid input must fail before the end");
        assert!(bad < end);
    }
}

/// `mask`: the word-wise masks equal the byte-wise reference at fuzz-chosen offsets.
pub fn mask(data: &[u8]) {
    let ([k0, k1, k2, k3], rest) = controls(data, 4);
    let key = [k0, k1, k2, k3];
    let offset = rest.first().copied().unwrap_or(0) as usize;
    let payload = rest.get(1..).unwrap_or(&[]);
    let mut reference = payload.to_vec();
    apply_mask_reference(&mut reference, key, offset);
    // The payload at a start address chosen by the input within a 64-byte line: payloads of
    // 256 bytes and more are split at the next 64-byte boundary, then masked by the wide loop
    // (AVX2 where the CPU has it).
    let shift = offset % 64;
    let mut backing = vec![0u8; payload.len() + 64];
    let fast = &mut backing[shift..shift + payload.len()];
    fast.copy_from_slice(payload);
    apply_mask(fast, key, offset);
    assert_eq!(fast, &reference[..], "in place, shifted by {shift}");
    let mut copied = vec![0u8; payload.len() + 64];
    apply_mask_copy(&mut copied[63 - shift..], payload, key, offset);
    assert_eq!(
        &copied[63 - shift..63 - shift + payload.len()],
        &reference[..]
    );
    // The portable loop alone: pieces under 256 bytes, resumed at their offsets.
    let mut portable = payload.to_vec();
    let mut at = 0;
    for piece in portable.chunks_mut(255) {
        apply_mask(piece, key, offset + at);
        at += piece.len();
    }
    assert_eq!(portable, reference, "portable pieces");
    // Resuming at a split point equals masking at once.
    let split = offset % (payload.len() + 1);
    let mut two = payload.to_vec();
    let (a, b) = two.split_at_mut(split);
    apply_mask(a, key, offset);
    apply_mask(b, key, offset + split);
    assert_eq!(two, reference);
}

/// A message sent by one side, as the other must receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Sent {
    Text(String),
    Binary(Vec<u8>),
}

struct Side {
    conn: Connection,
    events: Vec<OwnedEvent>,
    /// Complete messages this side sent, in order.
    sent: Vec<Sent>,
    /// Whether this side has sent its close frame.
    closed_sending: bool,
    /// A fragmented message being sent.
    partial: Option<(MessageKind, Vec<u8>)>,
}

impl Side {
    fn new(conn: Connection) -> Side {
        Side {
            conn,
            events: Vec::new(),
            sent: Vec::new(),
            closed_sending: false,
            partial: None,
        }
    }

    fn drain(&mut self) {
        drain_events(&mut self.conn, &mut self.events);
    }

    fn received(&self) -> Vec<Sent> {
        let mut out = Vec::new();
        let mut partial = Vec::new();
        for e in &self.events {
            match e {
                OwnedEvent::Text(t) => out.push(Sent::Text(t.clone())),
                OwnedEvent::Binary(b) => out.push(Sent::Binary(b.clone())),
                OwnedEvent::Fragment { kind, data, fin } => {
                    partial.extend_from_slice(data);
                    if *fin {
                        let data = std::mem::take(&mut partial);
                        out.push(match kind {
                            MessageKind::Text => Sent::Text(String::from_utf8(data).unwrap()),
                            MessageKind::Binary => Sent::Binary(data),
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Generates valid text of `len` bytes or fewer, with multi-byte characters.
fn text(rng: &mut Lcg, len: usize) -> String {
    let alphabet = ['a', 'é', '€', '😀', ' ', 'z', 'ß', '中'];
    let mut s = String::new();
    while s.len() < len {
        let c = alphabet[rng.below(alphabet.len())];
        if s.len() + c.len_utf8() > len {
            break;
        }
        s.push(c);
    }
    s
}

/// Moves up to `n` bytes (all when `n == 0`) from `from`'s output into `to`.
fn deliver(from: &mut Side, to: &mut Side, n: usize) {
    let out = from.conn.output();
    let n = if n == 0 { out.len() } else { n.min(out.len()) };
    let taken = to.conn.receive(&out[..n]);
    from.conn.consume_output(taken);
    to.drain();
    from.drain();
}

/// The refusals a `pair_ops` script can provoke with a data send: sending after close, a whole
/// message in the middle of a fragmented one, or (a script that sends without delivering)
/// a full backlog. Anything else is a bug.
fn assert_expected_refusal(e: &SendError) {
    assert!(
        matches!(
            e,
            SendError::Closing
                | SendError::Closed
                | SendError::FragmentSequence
                | SendError::OutputFull
        ),
        "{e:?}"
    );
}

/// `pair_ops`: a client and a server driven by a fuzz-chosen script.
pub fn pair_ops(data: &[u8]) {
    let ([flags, seed, ..], script) = controls(data, 2);
    // Bits 0 and 1: streaming delivery on the client, the server. Bits 2 and 3: both sides
    // offer permessage-deflate, with context takeover when bit 3 is set too, so that the
    // delivery model also covers compressed messages and the shared compression states.
    let deflate = (flags & 0b1100) << 2;
    let mut client_config = small_config(flags & 1 | deflate);
    let mut server_config = small_config((flags >> 1) & 1 | deflate);
    // Keep automatic replies on: the model relies on them.
    client_config.auto_pong = true;
    server_config.auto_pong = true;
    client_config.max_output_backlog = 1 << 20;
    server_config.max_output_backlog = 1 << 20;
    let mut rng = Lcg(u64::from(seed));
    let request = ClientRequest::new("example.com", "/");
    let mut client = Side::new(Connection::client(client_config, &request, SEED).unwrap());
    let mut server = Side::new(Connection::server(server_config));
    for _ in 0..4 {
        deliver(&mut client, &mut server, 0);
        deliver(&mut server, &mut client, 0);
    }
    assert!(matches!(
        client.events.first(),
        Some(OwnedEvent::Accepted(_))
    ));
    let mut eofs = [false; 2];
    // The virtual clock both sides are told (deadlines run with the default timeouts).
    let mut now = wsmachine::Timestamp::ZERO;
    for side in [&mut client, &mut server] {
        side.conn.handle_timeout(now);
    }
    for op in script.chunks(2) {
        let (code, arg) = (op[0], op.get(1).copied().unwrap_or(0) as usize);
        let to_server = code & 1 == 0;
        let (a, b) = if to_server {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        match (code >> 1) % 9 {
            0 => {
                let t = text(&mut rng, arg * 4);
                match a.conn.send_text(&t) {
                    Ok(()) => a.sent.push(Sent::Text(t)),
                    Err(e) => assert_expected_refusal(&e),
                }
            }
            1 => {
                let bytes: Vec<u8> = (0..arg * 8).map(|_| rng.next() as u8).collect();
                match a.conn.send_binary(&bytes) {
                    Ok(()) => a.sent.push(Sent::Binary(bytes)),
                    Err(e) => assert_expected_refusal(&e),
                }
            }
            2 => {
                // One fragment of a message; `arg`'s low bit ends it.
                let kind = a.partial.as_ref().map_or(
                    if arg & 2 == 0 {
                        MessageKind::Text
                    } else {
                        MessageKind::Binary
                    },
                    |p| p.0,
                );
                let piece = match kind {
                    MessageKind::Text => text(&mut rng, arg % 16).into_bytes(),
                    MessageKind::Binary => (0..arg % 16).map(|_| rng.next() as u8).collect(),
                };
                let fin = arg & 1 == 1;
                if a.conn.send_fragment(kind, &piece, fin).is_ok() {
                    let p = a.partial.get_or_insert((kind, Vec::new()));
                    p.1.extend_from_slice(&piece);
                    if fin {
                        let (kind, data) = a.partial.take().unwrap();
                        a.sent.push(match kind {
                            MessageKind::Text => Sent::Text(String::from_utf8(data).unwrap()),
                            MessageKind::Binary => Sent::Binary(data),
                        });
                    }
                }
            }
            3 => {
                let _ = a.conn.ping(&[arg as u8; 3]);
            }
            4 => {
                let code = [1000u16, 1001, 3000, 4999][arg % 4];
                if a.conn.close(CloseCode(code), "bye").is_ok() {
                    a.closed_sending = true;
                }
            }
            5 => deliver(a, b, arg * 3),
            6 => {
                // End of stream for `b`, after everything `a` wrote has arrived.
                deliver(a, b, 0);
                b.conn.receive_eof();
                eofs[usize::from(!to_server)] = true;
                b.drain();
            }
            7 => {
                a.conn.release_buffers();
                b.conn.release_buffers();
            }
            _ => {
                // Time passes: up to 64 s, past every default deadline.
                now = now + std::time::Duration::from_millis(arg as u64 * 250);
                for side in [&mut *a, &mut *b] {
                    side.conn.handle_timeout(now);
                    // Whatever fell due was handled: the next wake-up is later.
                    if let Some(next) = side.conn.poll_timeout() {
                        assert!(next > now, "poll_timeout {next:?} not after {now:?}");
                    }
                    side.drain();
                }
            }
        }
        for side in [&client, &server] {
            let config = if side.conn.role().is_client() {
                &client_config
            } else {
                &server_config
            };
            check_bounds(&side.conn, config);
        }
    }
    // Finish: deliver everything both ways, close, and end both transports.
    for _ in 0..4 {
        deliver(&mut client, &mut server, 0);
        deliver(&mut server, &mut client, 0);
    }
    if client.conn.close(CloseCode::NORMAL, "").is_ok() {
        client.closed_sending = true;
    }
    for _ in 0..4 {
        deliver(&mut client, &mut server, 0);
        deliver(&mut server, &mut client, 0);
    }
    client.conn.receive_eof();
    server.conn.receive_eof();
    client.drain();
    server.drain();
    for side in [&client, &server] {
        let closed = side
            .events
            .iter()
            .filter(|e| matches!(e, OwnedEvent::Closed(_)))
            .count();
        assert_eq!(closed, 1, "exactly one Closed: {:?}", side.events);
        assert!(matches!(side.events.last(), Some(OwnedEvent::Closed(_))));
        // Two wsmachine endpoints never break the protocol: the only failure a script can
        // provoke is a receive limit (a fragmented message of too many pieces). A compressed
        // message that does not inflate, among others, fails here even though the delivery
        // check below would accept its unclean end.
        if let Some(OwnedEvent::Closed(c)) = side.events.last() {
            assert!(
                !matches!(
                    c.cause,
                    CloseCause::Failed(e)
                        if !matches!(e, ProtocolError::TooManyFragments | ProtocolError::MessageTooLarge)
                ),
                "{:?} failed between two well-behaved endpoints",
                c.cause
            );
        }
    }
    // In-order, exactly-once delivery: what a side received is a prefix of what the other
    // sent, and all of it when that connection ended cleanly with no early end of stream.
    for (from, to, eof) in [(&client, &server, eofs[1]), (&server, &client, eofs[0])] {
        let got = to.received();
        assert!(got.len() <= from.sent.len(), "more received than sent");
        assert_eq!(
            got,
            from.sent[..got.len()],
            "delivery out of order or altered"
        );
        let clean = to
            .events
            .iter()
            .any(|e| matches!(e, OwnedEvent::Closed(c) if c.is_clean()));
        if clean && !eof {
            assert_eq!(got.len(), from.sent.len(), "messages lost in a clean close");
        }
    }
}

/// The §1.2 request with a permessage-deflate offer.
#[cfg(feature = "deflate")]
const REQUEST_DEFLATE: &[u8] =
    b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// What an independent decoder (flate2 directly) makes of a compressed message.
#[cfg(feature = "deflate")]
enum Reference {
    /// Inflates completely, to these bytes, and ends where RFC 7692 §7.2.1 says a message
    /// ends.
    Data(Vec<u8>),
    /// Inflates without an error, within the limit, but the appended tail is not the end of
    /// an empty stored block: it produced bytes, or left the stream inside a block.
    NotAtBoundary,
    /// Inflates to more than the limit; the first `limit + 1` bytes.
    TooBig(Vec<u8>),
    /// Anything else (corrupt, or a final block): no expectation beyond "no panic, bounded,
    /// one Closed".
    Unclear,
}

/// Inflates `input` on `d` into `out[produced..]`: the bytes produced by then and whether a
/// final block ended the stream, or `None` for an error or no progress.
#[cfg(feature = "deflate")]
fn reference_feed(
    d: &mut flate2::Decompress,
    input: &[u8],
    out: &mut [u8],
    mut produced: usize,
) -> Option<(usize, bool)> {
    use flate2::{FlushDecompress, Status as ZStatus};
    let start = d.total_in() as usize;
    loop {
        let (in0, out0) = (d.total_in() as usize, d.total_out() as usize);
        let status = d
            .decompress(
                &input[in0 - start..],
                &mut out[produced..],
                FlushDecompress::Sync,
            )
            .ok()?;
        produced += d.total_out() as usize - out0;
        if status == ZStatus::StreamEnd {
            return Some((produced, true));
        }
        if d.total_in() as usize - start == input.len() || produced == out.len() {
            return Some((produced, false));
        }
        if d.total_in() as usize == in0 && d.total_out() as usize == out0 {
            return None;
        }
    }
}

/// How many deflate blocks the decoder ends in one message's data with the tail appended
/// (up to where it fails, if it does), counted with miniz_oxide's block-boundary stop (zlib
/// offers no way to count them): the oracle of the block budget.
#[cfg(feature = "deflate")]
fn reference_blocks(compressed: &[u8]) -> u64 {
    use miniz_oxide::inflate::core::inflate_flags::{
        TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY,
    };
    use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
    use miniz_oxide::inflate::TINFLStatus;
    let mut input = compressed.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut decoder = Box::<DecompressorOxide>::default();
    let mut window = vec![0u8; 32 * 1024];
    let (mut at, mut pos, mut blocks) = (0, 0, 0);
    loop {
        let flags = TINFL_FLAG_HAS_MORE_INPUT | TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY;
        let (status, used, produced) =
            decompress(&mut decoder, &input[at..], &mut window, pos, flags);
        at += used;
        pos = (pos + produced) % window.len();
        match status {
            TINFLStatus::BlockBoundary => blocks += 1,
            TINFLStatus::Done => {
                blocks += 1;
                decoder.init();
            }
            TINFLStatus::HasMoreOutput => {}
            _ => return blocks,
        }
        if at == input.len() && status != TINFLStatus::HasMoreOutput {
            return blocks;
        }
    }
}

/// What zlib (flate2) makes of one message's data: inflated with the tail appended (§7.2.2),
/// then probed for the end §7.2.1 requires: the tail must produce nothing and leave the
/// stream on a block boundary. The probe is a final empty stored block (`01 00 00 ff ff`):
/// only on a byte-aligned block boundary does it end the stream exactly, with no output.
#[cfg(feature = "deflate")]
fn reference_inflate(compressed: &[u8], limit: usize) -> Reference {
    if compressed.is_empty() {
        // No data at all is an empty message (RFC 7692 §7.2.3.6 sends one 0x00 byte; some
        // peers send nothing), with nothing to complete.
        return Reference::Data(Vec::new());
    }
    let mut d = flate2::Decompress::new_with_window_bits(false, 15);
    let mut out = vec![0u8; limit + 1];
    let Some((data_out, ended)) = reference_feed(&mut d, compressed, &mut out, 0) else {
        return Reference::Unclear;
    };
    if data_out > limit {
        return Reference::TooBig(out);
    }
    if ended || d.total_in() as usize != compressed.len() {
        return Reference::Unclear;
    }
    // The tail must complete an empty stored block: an error, output or a stop anywhere else
    // means it was taken for something else. (A final empty stored block ends the stream
    // there: nothing is made up, and that is accepted.)
    let tail = [0, 0, 0xff, 0xff];
    let Some((tail_out, ended)) = reference_feed(&mut d, &tail, &mut out, data_out) else {
        return Reference::NotAtBoundary;
    };
    if tail_out != data_out || d.total_in() as usize != compressed.len() + 4 {
        return Reference::NotAtBoundary;
    }
    if ended {
        out.truncate(data_out);
        return Reference::Data(out);
    }
    let mut probe_out = [0u8; 8];
    match reference_feed(&mut d, &[1, 0, 0, 0xff, 0xff], &mut probe_out, 0) {
        Some((0, true)) if d.total_in() as usize == compressed.len() + 9 => {
            out.truncate(data_out);
            Reference::Data(out)
        }
        _ => Reference::NotAtBoundary,
    }
}

/// `inflate`: arbitrary bytes as the compressed payload of one message (split into frames
/// at fuzz-chosen sizes) to a server that negotiated permessage-deflate, with a small
/// message limit. Oracles: the decompressed-size limit holds in both delivery modes (1009 as
/// soon as it is passed), what inflates cleanly and ends on a block boundary (§7.2.1) is
/// delivered byte for byte, what does not end there fails with 1007 (both checked against
/// flate2 directly), and buffers stay bounded.
#[cfg(feature = "deflate")]
pub fn inflate(data: &[u8]) {
    use wsmachine::extensions::deflate::DeflateConfig;
    use wsmachine::{CloseCause, ProtocolError};
    let ([flags, seed, ..], body) = controls(data, 2);
    let limit = 4096;
    let streaming = flags & 1 != 0;
    let text = flags & 2 != 0;
    let config = Config::new()
        .with_max_message_size(limit)
        .with_max_fragments(1 << 20)
        .with_delivery(if streaming {
            Delivery::Streaming
        } else {
            Delivery::Assembled
        })
        .with_deflate(DeflateConfig::new().with_peer_no_context_takeover(flags & 4 != 0));
    let mut conn = Connection::server(config);
    let mut events = Vec::new();
    let mut written = Written::default();
    assert_eq!(conn.receive(REQUEST_DEFLATE), REQUEST_DEFLATE.len());
    drain(&mut conn, &mut events, &mut written);
    assert!(
        conn.deflate().is_some(),
        "permessage-deflate was not negotiated"
    );
    // The body as frames: RSV1 on the first, continuation frames after, FIN on the last.
    let mut rng = Lcg(u64::from(seed));
    let mut input = Vec::new();
    let mut rest = body;
    let mut first = true;
    loop {
        let size = rng.below(rest.len() + 1).min(rest.len());
        let (piece, tail) = rest.split_at(if tail_is_last(&mut rng) {
            rest.len()
        } else {
            size
        });
        rest = tail;
        let fin = rest.is_empty();
        let opcode = if !first {
            0
        } else if text {
            1
        } else {
            2
        };
        let b0 = u8::from(fin) << 7 | if first { 0x40 } else { 0 } | opcode;
        input.extend_from_slice(&masked_frame(b0, piece, [9, 8, 7, 6]));
        first = false;
        if fin {
            break;
        }
    }
    let mut pos = 0;
    while pos < input.len() {
        let n = (1 + rng.below(4096)).min(input.len() - pos);
        let taken = conn.receive(&input[pos..pos + n]);
        pos += taken;
        drain(&mut conn, &mut events, &mut written);
        let m = conn.memory();
        assert!(m.message <= 2 * limit, "message buffer {}", m.message);
        assert!(m.input <= 2 * (config.max_frame_size + 14 + config.max_read_size));
        assert!(
            m.compression <= 512 * 1024,
            "compression state {}",
            m.compression
        );
        if taken == 0 && conn.is_closed() {
            break;
        }
    }
    conn.receive_eof();
    drain(&mut conn, &mut events, &mut written);
    let delivered: Vec<u8> = events
        .iter()
        .flat_map(|e| match e {
            OwnedEvent::Text(t) => t.as_bytes().to_vec(),
            OwnedEvent::Binary(b) => b.clone(),
            OwnedEvent::Fragment { data, .. } => data.clone(),
            _ => Vec::new(),
        })
        .collect();
    let failed = events.iter().find_map(|e| match e {
        OwnedEvent::Closed(c) => match c.cause {
            CloseCause::Failed(e) => Some(e),
            _ => None,
        },
        _ => None,
    });
    let complete = events.iter().any(|e| {
        matches!(
            e,
            OwnedEvent::Text(_) | OwnedEvent::Binary(_) | OwnedEvent::Fragment { fin: true, .. }
        )
    });
    // A message may hold 64 deflate blocks plus one per KiB of the limit; past that it fails
    // with 1009, whatever else is true of it.
    if reference_blocks(body) > 64 + limit as u64 / 1024
        && failed == Some(ProtocolError::MessageTooLarge)
    {
        assert!(!complete, "a message over the block budget was delivered");
    } else {
        match reference_inflate(body, limit) {
            Reference::TooBig(prefix) => {
                // Text that is invalid within the limit may fail as invalid instead: validation
                // and the size check both run piece by piece.
                let invalid_early = text
                    && std::str::from_utf8(&prefix[..limit])
                        .err()
                        .is_some_and(|e| e.error_len().is_some());
                if invalid_early {
                    assert!(matches!(
                        failed,
                        Some(ProtocolError::MessageTooLarge | ProtocolError::InvalidUtf8)
                    ));
                } else {
                    assert_eq!(failed, Some(ProtocolError::MessageTooLarge));
                }
            }
            Reference::Data(expected) => {
                let valid = !text || std::str::from_utf8(&expected).is_ok();
                if valid {
                    assert!(complete, "a valid message was not delivered: {failed:?}");
                    assert_eq!(delivered, expected, "inflated bytes differ");
                } else {
                    assert_eq!(failed, Some(ProtocolError::InvalidUtf8));
                }
            }
            Reference::NotAtBoundary => {
                // Text may fail as invalid first: it is validated as it inflates, and the end is
                // checked last.
                assert!(
                    failed == Some(ProtocolError::InflateFailed)
                        || (text && failed == Some(ProtocolError::InvalidUtf8)),
                    "a message that does not end on a block boundary ended {failed:?}"
                );
                assert!(
                    !complete,
                    "a message that does not end on a block boundary was delivered"
                );
            }
            Reference::Unclear => {}
        }
    }
    // The decompressed size is bounded in both delivery modes.
    assert!(delivered.len() <= limit, "more than the limit delivered");
}

#[cfg(feature = "deflate")]
fn tail_is_last(rng: &mut Lcg) -> bool {
    rng.below(4) == 0
}

#[cfg(feature = "deflate")]
fn masked_frame(b0: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = vec![b0];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}
