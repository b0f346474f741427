//! Property tests (DESIGN §9): the codec, masking, the streaming UTF-8 validator, split
//! invariance, fragmentation, a random client/server script, and bounded buffers.
//!
//! Expected values come from independent sources: `core::str::from_utf8`, the byte-at-a-time
//! mask reference, the test harness's own §5.2 encoder and decoder (`tests/common`), and a
//! model of what was sent.

mod common;
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use wsmachine::frame::{
    apply_mask, apply_mask_copy, apply_mask_reference, FrameHeader, OpCode, Status, MAX_HEADER_LEN,
};
use wsmachine::utf8::Utf8Validator;
use wsmachine::{
    CloseCause, CloseCode, Config, Connection, Delivery, MessageKind, OwnedEvent, SendError,
};

// ----- shared helpers ---------------------------------------------------------------------

/// An event with the output bytes the connection produced while delivering it.
type Transcript = Vec<(OwnedEvent, Vec<u8>)>;

/// A transcript with streamed pieces joined into messages.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Logical {
    /// A whole data message (assembled, or the pieces of a streamed one up to `fin`).
    Message(MessageKind, Vec<u8>),
    /// Any other event.
    Other(OwnedEvent),
}

/// Joins streamed pieces into messages (a message cut short by a close, a failure or the end
/// of the stream is dropped), checking on the way that each text piece is whole code points
/// and that a message's pieces share one kind and produce no output.
fn normalize(transcript: &[(OwnedEvent, Vec<u8>)]) -> Vec<(Logical, Vec<u8>)> {
    let mut out = Vec::new();
    let mut acc: Option<(MessageKind, Vec<u8>)> = None;
    for (event, bytes) in transcript {
        match event {
            OwnedEvent::Text(t) => {
                assert!(acc.is_none(), "message inside a streamed message");
                out.push((
                    Logical::Message(MessageKind::Text, t.as_bytes().to_vec()),
                    bytes.clone(),
                ));
            }
            OwnedEvent::Binary(b) => {
                assert!(acc.is_none(), "message inside a streamed message");
                out.push((
                    Logical::Message(MessageKind::Binary, b.clone()),
                    bytes.clone(),
                ));
            }
            OwnedEvent::Fragment { kind, data, fin } => {
                if *kind == MessageKind::Text {
                    assert!(std::str::from_utf8(data).is_ok(), "text piece {data:x?}");
                }
                assert!(bytes.is_empty(), "a data piece produced output");
                let a = acc.get_or_insert_with(|| (*kind, Vec::new()));
                assert_eq!(a.0, *kind, "pieces of one message change kind");
                a.1.extend_from_slice(data);
                if *fin {
                    let (kind, data) = acc.take().unwrap_or((*kind, Vec::new()));
                    out.push((Logical::Message(kind, data), Vec::new()));
                }
            }
            OwnedEvent::CloseReceived { .. } | OwnedEvent::Closed(_) => {
                acc = None;
                out.push((Logical::Other(event.clone()), bytes.clone()));
            }
            other => out.push((Logical::Other(other.clone()), bytes.clone())),
        }
    }
    out
}

/// Polls every event, taking the output after each one.
fn poll_all(conn: &mut Connection, log: &mut Transcript) {
    while let Some(e) = conn.poll_event() {
        let e = e.into_owned();
        let out = take_output(conn);
        log.push((e, out));
        assert!(log.len() < 1_000_000, "runaway event stream");
    }
}

/// Feeds `stream` in chunks of `sizes` (cycled, each at least 1), polling after every
/// `receive`, then signals end of stream. Returns every event with its output.
fn drive(conn: &mut Connection, stream: &[u8], sizes: &[usize]) -> Transcript {
    drive_polling(conn, stream, sizes, true)
}

/// [`drive`], polling after every `receive` when `each` is set, else only when the input
/// buffer is full (so that frames from several `receive` calls wait together).
fn drive_polling(conn: &mut Connection, stream: &[u8], sizes: &[usize], each: bool) -> Transcript {
    let mut log = Vec::new();
    let mut pos = 0;
    for size in sizes.iter().cycle() {
        if pos >= stream.len() {
            break;
        }
        let end = pos.saturating_add(*size.max(&1)).min(stream.len());
        let mut chunk = &stream[pos..end];
        pos = end;
        while !chunk.is_empty() {
            let n = conn.receive(chunk);
            chunk = &chunk[n..];
            if each || n == 0 {
                let before = log.len();
                poll_all(conn, &mut log);
                assert!(n > 0 || log.len() > before, "receive made no progress");
            }
        }
    }
    poll_all(conn, &mut log);
    conn.receive_eof();
    poll_all(conn, &mut log);
    log
}

/// A deterministic masking key per frame, varied by `seed`.
fn key(seed: u32, n: usize) -> [u8; 4] {
    (seed ^ (n as u32).wrapping_mul(0x9E37_79B9))
        .wrapping_mul(0x85EB_CA6B)
        .to_le_bytes()
}

/// Frames as a peer of `to_server`'s connection would send them: masked for a server (§5.3),
/// unmasked for a client.
struct Encoder {
    to_server: bool,
    seed: u32,
    count: usize,
}

impl Encoder {
    fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        self.count += 1;
        let mask = self.to_server.then(|| key(self.seed, self.count));
        frame(fin, opcode, payload, mask)
    }
}

fn opcode_of(kind: MessageKind) -> u8 {
    match kind {
        MessageKind::Text => TEXT,
        MessageKind::Binary => BINARY,
    }
}

fn open(to_server: bool, config: Config) -> Connection {
    if to_server {
        server_open(config)
    } else {
        client_open(config)
    }
}

/// Text with many multi-byte characters (1 to 4 bytes), or any Unicode string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zé€😀κόσμε日本語\u{10FFFF}\u{80}\u{800}]{0,60}",
        2 => any::<String>(),
        1 => "[a😀é]{100,200}",
    ]
}

/// A data message split into fragments, with pings between fragments (§5.4).
#[derive(Clone, Debug)]
struct Msg {
    kind: MessageKind,
    data: Vec<u8>,
    /// Fragment boundaries, sorted; equal boundaries make empty fragments. They may split a
    /// code point.
    cuts: Vec<usize>,
    /// `(i, payload)`: a ping sent just before fragment `i` (1 ≤ i < fragments).
    pings: Vec<(usize, Vec<u8>)>,
}

impl Msg {
    fn fragments(&self) -> Vec<&[u8]> {
        let mut bounds = vec![0];
        bounds.extend_from_slice(&self.cuts);
        bounds.push(self.data.len());
        bounds.windows(2).map(|w| &self.data[w[0]..w[1]]).collect()
    }

    /// Appends the frames to `stream` and the events a receiver must deliver (in assembled
    /// form) to `expected`.
    fn encode(&self, enc: &mut Encoder, stream: &mut Vec<u8>, expected: &mut Vec<Logical>) {
        let fragments = self.fragments();
        for (i, piece) in fragments.iter().enumerate() {
            for (_, p) in self.pings.iter().filter(|(at, _)| *at == i) {
                stream.extend(enc.frame(true, PING, p));
                expected.push(Logical::Other(OwnedEvent::Ping(p.clone())));
            }
            let op = if i == 0 { opcode_of(self.kind) } else { CONT };
            stream.extend(enc.frame(i + 1 == fragments.len(), op, piece));
        }
        expected.push(Logical::Message(self.kind, self.data.clone()));
    }
}

fn msg() -> impl Strategy<Value = Msg> {
    let data = prop_oneof![
        6 => text().prop_map(|s| (MessageKind::Text, s.into_bytes())),
        4 => vec(any::<u8>(), 0..300).prop_map(|b| (MessageKind::Binary, b)),
        // 16-bit and 64-bit length encodings.
        1 => (126usize..70_000, any::<u8>()).prop_map(|(n, b)| (MessageKind::Binary, vec![b; n])),
    ];
    (
        data,
        vec(any::<Index>(), 0..5),
        vec((any::<Index>(), vec(any::<u8>(), 0..126)), 0..4),
    )
        .prop_map(|((kind, data), cuts, pings)| {
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
            cuts.sort_unstable();
            let gaps = cuts.len();
            let pings = if gaps == 0 {
                Vec::new()
            } else {
                pings
                    .into_iter()
                    .map(|(i, p)| (1 + i.index(gaps), p))
                    .collect()
            };
            Msg {
                kind,
                data,
                cuts,
                pings,
            }
        })
}

/// Chunk sizes for splitting a byte stream: mostly small, sometimes large.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![3 => 1usize..8, 2 => 1usize..200, 1 => 1usize..5000],
        1..12,
    )
}

// ----- a. codec round trip ----------------------------------------------------------------

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

fn payload_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=125,
        126u64..=0xFFFF,
        0x1_0000u64..(1 << 63),
        prop::sample::select(vec![0, 125, 126, 0xFFFF, 0x1_0000, (1 << 63) - 1]),
    ]
}

/// Valid headers: control frames are final with at most 125 bytes (§5.5); lengths < 2^63.
fn header() -> impl Strategy<Value = FrameHeader> {
    (
        opcode(),
        any::<bool>(),
        0u8..8,
        any::<Option<[u8; 4]>>(),
        payload_len(),
        0u64..=125,
    )
        .prop_map(|(opcode, fin, rsv, mask, len, control_len)| {
            let control = opcode.is_control();
            FrameHeader {
                fin: fin || control,
                rsv,
                opcode,
                mask,
                payload_len: if control { control_len } else { len },
            }
        })
}

/// The §5.2 wire layout of a header, written independently of the crate.
fn reference_header(h: &FrameHeader) -> Vec<u8> {
    let mut out = vec![(u8::from(h.fin) << 7) | (h.rsv << 4) | h.opcode.as_u8()];
    let m = if h.mask.is_some() { 0x80 } else { 0 };
    match h.payload_len {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    if let Some(k) = h.mask {
        out.extend_from_slice(&k);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// §5.2: every valid header encodes (minimal length encoding, `encoded_len` bytes, the
    /// §5.2 bit layout) and parses back to itself; every proper prefix of it parses as
    /// `Partial`, and bytes after it are not part of it.
    #[test]
    fn codec_round_trip(h in header(), trailing in vec(any::<u8>(), 0..4)) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        prop_assert_eq!(n, h.encoded_len());
        let reference = reference_header(&h);
        prop_assert_eq!(&out[..n], reference.as_slice());
        prop_assert_eq!(FrameHeader::parse(&out[..n]), Ok(Status::Complete((h, n))));
        for k in 0..n {
            prop_assert_eq!(FrameHeader::parse(&out[..k]), Ok(Status::Partial), "prefix {}", k);
        }
        let mut longer = out[..n].to_vec();
        longer.extend_from_slice(&trailing);
        prop_assert_eq!(FrameHeader::parse(&longer), Ok(Status::Complete((h, n))));
    }
}

// ----- b. masking ----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// §5.3: the word-at-a-time `apply_mask` and `apply_mask_copy` equal the byte-at-a-time
    /// reference at every offset and length; masking twice is the identity; masking in two
    /// chunks (the second resumed at the split offset) equals masking at once.
    #[test]
    fn mask_matches_reference(
        data in vec(any::<u8>(), 0..300),
        key in any::<[u8; 4]>(),
        offset in 0usize..8,
        split in any::<Index>(),
        extra in 0usize..9,
    ) {
        let mut reference = data.clone();
        apply_mask_reference(&mut reference, key, offset);
        for (i, (r, d)) in reference.iter().zip(&data).enumerate() {
            prop_assert_eq!(*r, d ^ key[(offset + i) % 4]);
        }

        let mut fast = data.clone();
        apply_mask(&mut fast, key, offset);
        prop_assert_eq!(&fast, &reference);
        apply_mask(&mut fast, key, offset);
        prop_assert_eq!(&fast, &data, "masking twice");

        let mut copied = vec![0xA5; data.len() + extra];
        apply_mask_copy(&mut copied, &data, key, offset);
        prop_assert_eq!(&copied[..data.len()], reference.as_slice());
        prop_assert!(copied[data.len()..].iter().all(|&b| b == 0xA5), "wrote past src");
        let short = data.len().saturating_sub(extra);
        let mut copied = vec![0u8; short];
        apply_mask_copy(&mut copied, &data, key, offset);
        prop_assert_eq!(&copied[..], &reference[..short]);

        let s = split.index(data.len() + 1);
        let mut chunked = data.clone();
        apply_mask(&mut chunked[..s], key, offset);
        apply_mask(&mut chunked[s..], key, offset + s);
        prop_assert_eq!(&chunked, &reference);
        let mut chunked = vec![0u8; data.len()];
        apply_mask_copy(&mut chunked[..s], &data[..s], key, offset);
        apply_mask_copy(&mut chunked[s..], &data[s..], key, offset + s);
        prop_assert_eq!(&chunked, &reference);
    }
}

// ----- c. streaming UTF-8 validation -------------------------------------------------------

/// Bytes at the edges of the RFC 3629 ranges.
const EDGE_BYTES: &[u8] = &[
    0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
    0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF,
];

fn utf8_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..40),
        vec(prop::sample::select(EDGE_BYTES), 0..24),
        text().prop_map(String::into_bytes),
        // Valid text with one byte inserted, replaced, or cut off.
        (text(), any::<Index>(), any::<u8>(), 0..3u8).prop_map(|(s, at, b, how)| {
            let mut v = s.into_bytes();
            let i = at.index(v.len() + 1);
            match how {
                0 => v.insert(i, b),
                1 if i < v.len() => v[i] = b,
                _ => v.truncate(i),
            }
            v
        }),
    ]
}

/// The length of a UTF-8 sequence by its lead byte (for lead bytes of valid prefixes).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// The index of the first byte at which `input` stops being a prefix of valid UTF-8, or
/// `None` if it is valid or only ends inside a code point.
///
/// Computed from `from_utf8` on prefixes: a prefix is a prefix of valid UTF-8 exactly when
/// `from_utf8` accepts it or fails with `error_len() == None` (input ended early). Note that
/// this is not always `valid_up_to() + error_len() - 1`: for `E0 80`, `error_len()` is 1
/// (the maximal subpart is `E0`) but `E0` alone is a valid prefix; the bad byte is `80`.
fn first_bad_byte(input: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(input).err()?;
    let len = e.error_len()?;
    let start = e.valid_up_to();
    let bad = (start..input.len())
        .find(|&i| {
            std::str::from_utf8(&input[start..=i])
                .err()
                .is_some_and(|e| e.error_len().is_some())
        })
        .expect("an error with a length has a bad byte");
    // Either the lead byte itself, or the first byte after the maximal subpart.
    assert!(bad == start + len - 1 || bad == start + len, "{input:x?}");
    Some(bad)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10000))]

    /// §8.1, RFC 3629: the streaming validator fed any bytes split at arbitrary points
    /// (including empty chunks) accepts exactly what `str::from_utf8` accepts; the text it
    /// returns (`joined` then `body`) is the input up to the carried bytes; and on invalid
    /// input it fails on exactly the chunk holding the first byte that makes the input no
    /// longer a prefix of valid UTF-8 (not later: "as soon as"; not earlier: a valid prefix
    /// may still be completed).
    #[test]
    fn utf8_validator_agrees_with_from_utf8(
        input in utf8_input(),
        sizes in vec(0usize..7, 1..8),
        empties in any::<bool>(),
    ) {
        let mut chunks: Vec<(usize, usize)> = Vec::new();
        let mut pos = 0;
        for size in sizes.iter().cycle() {
            if pos >= input.len() {
                break;
            }
            let size = if *size == 0 && !empties { 1 } else { *size };
            let end = (pos + size).min(input.len());
            chunks.push((pos, end));
            pos = end;
            if chunks.len() > 10 * input.len() + 10 {
                break;
            }
        }
        if pos < input.len() {
            chunks.push((pos, input.len()));
        }

        let bad = first_bad_byte(&input);
        let expected_fail = bad.map(|b| {
            chunks.iter().position(|&(s, e)| s <= b && b < e).expect("covered")
        });
        let mut v = Utf8Validator::new();
        let mut text = Vec::new();
        let mut failed = None;
        for (i, &(s, e)) in chunks.iter().enumerate() {
            match v.feed(&input[s..e]) {
                Ok(ok) => {
                    text.extend_from_slice(ok.joined.as_bytes());
                    text.extend_from_slice(ok.body.as_bytes());
                    // The validated text is the input up to the unfinished code point.
                    let valid = match std::str::from_utf8(&input[..e]) {
                        Ok(_) => e,
                        Err(err) => err.valid_up_to(),
                    };
                    prop_assert_eq!(&text[..], &input[..valid], "after chunk {}", i);
                    prop_assert_eq!(ok.at_boundary, valid == e);
                    prop_assert_eq!(v.is_at_boundary(), valid == e);
                    let needed = if valid == e { 0 } else { sequence_len(input[valid]) - (e - valid) };
                    prop_assert_eq!(v.bytes_needed(), needed);
                }
                Err(_) => {
                    failed = Some(i);
                    break;
                }
            }
        }
        prop_assert_eq!(failed, expected_fail, "first bad byte {:?}, chunks {:?}", bad, chunks);
        match std::str::from_utf8(&input) {
            Ok(_) => {
                prop_assert!(v.finish().is_ok());
                prop_assert_eq!(&text, &input);
            }
            Err(e) if e.error_len().is_none() => {
                // Ends inside a code point: only `finish` can tell.
                prop_assert!(v.finish().is_err());
                prop_assert_eq!(&text[..], &input[..e.valid_up_to()]);
            }
            Err(_) => {}
        }
    }
}

// ----- d. split invariance -----------------------------------------------------------------

/// One item of a random stream of frames.
#[derive(Clone, Debug)]
enum Part {
    Msg(Msg),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// How a random stream ends.
#[derive(Clone, Debug)]
enum End {
    /// Nothing more (end of stream follows: 1006).
    Nothing,
    /// A close frame (possibly with an invalid code), then bytes that must be ignored (§7).
    Close(u16, String, Vec<u8>),
    /// A text frame with an invalid byte in the middle (1007, §8.1).
    BadText(String, u8, String),
    /// Arbitrary bytes.
    Garbage(Vec<u8>),
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        Just(End::Nothing),
        (
            prop::sample::select(vec![
                1000u16, 1001, 1003, 1005, 1006, 1011, 3000, 4999, 5000, 999
            ]),
            "[a-zé😀]{0,20}",
            vec(any::<u8>(), 0..40),
        )
            .prop_map(|(c, r, j)| End::Close(c, r, j)),
        (
            text(),
            prop::sample::select(vec![0x80u8, 0xC0, 0xF5, 0xFF]),
            text()
        )
            .prop_map(|(a, b, c)| End::BadText(a, b, c)),
        vec(any::<u8>(), 0..60).prop_map(End::Garbage),
    ]
}

/// Encodes parts and an ending for the connection at `to_server`.
fn encode_stream(parts: &[Part], end: &End, enc: &mut Encoder) -> Vec<u8> {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for part in parts {
        match part {
            Part::Msg(m) => m.encode(enc, &mut stream, &mut expected),
            Part::Ping(p) => stream.extend(enc.frame(true, PING, p)),
            Part::Pong(p) => stream.extend(enc.frame(true, PONG, p)),
        }
    }
    match end {
        End::Nothing => {}
        End::Close(code, reason, junk) => {
            let payload = if *code == 1005 {
                Vec::new()
            } else {
                close_payload(*code, reason)
            };
            stream.extend(enc.frame(true, CLOSE, &payload));
            stream.extend_from_slice(junk);
        }
        End::BadText(a, b, c) => {
            let mut payload = a.clone().into_bytes();
            payload.push(*b);
            payload.extend_from_slice(c.as_bytes());
            stream.extend(enc.frame(true, TEXT, &payload));
        }
        End::Garbage(g) => stream.extend_from_slice(g),
    }
    stream
}

fn parts() -> impl Strategy<Value = Vec<Part>> {
    vec(
        prop_oneof![
            6 => msg().prop_map(Part::Msg),
            1 => vec(any::<u8>(), 0..126).prop_map(Part::Ping),
            1 => vec(any::<u8>(), 0..126).prop_map(Part::Pong),
        ],
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// §5.2, §5.4: a connection fed the same frames split at arbitrary points (at once, one
    /// byte at a time, random chunks) produces the same events and the same output bytes
    /// per event in assembled delivery; in streaming delivery the pieces of each message join
    /// to the same bytes, and both modes agree on every message, control event and output.
    #[test]
    fn split_invariance(
        to_server in any::<bool>(),
        seed in any::<u32>(),
        parts in parts(),
        end in end(),
        sizes in sizes(),
    ) {
        let mut enc = Encoder { to_server, seed, count: 0 };
        let stream = encode_stream(&parts, &end, &mut enc);
        let run = |mode: Delivery, sizes: &[usize]| {
            drive(&mut open(to_server, Config::new().with_delivery(mode)), &stream, sizes)
        };
        let whole = run(Delivery::Assembled, &[usize::MAX]);
        closed(&whole.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
        prop_assert_eq!(&run(Delivery::Assembled, &[1]), &whole, "one byte at a time");
        prop_assert_eq!(&run(Delivery::Assembled, &sizes), &whole, "random chunks");

        let reference = normalize(&whole);
        for sizes in [&[usize::MAX][..], &[1], &sizes] {
            let streamed = run(Delivery::Streaming, sizes);
            prop_assert_eq!(&normalize(&streamed), &reference, "streaming, sizes {:?}", sizes);
        }
    }
}

// ----- e. fragmentation ---------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// §5.4, §5.5.2: messages split into random fragments (code points split anywhere,
    /// empty fragments allowed) with pings between fragments reassemble exactly, in both
    /// delivery modes and for both roles; each ping is delivered in order and answered with
    /// one pong carrying its payload (masked only by a client, §5.3).
    #[test]
    fn fragmented_messages_reassemble(
        to_server in any::<bool>(),
        seed in any::<u32>(),
        msgs in vec(msg(), 1..4),
        sizes in sizes(),
    ) {
        let mut enc = Encoder { to_server, seed, count: 0 };
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for m in &msgs {
            m.encode(&mut enc, &mut stream, &mut expected);
        }
        for mode in [Delivery::Assembled, Delivery::Streaming] {
            let mut conn = open(to_server, Config::new().with_delivery(mode));
            let mut log = drive(&mut conn, &stream, &sizes);
            let last = log.pop();
            prop_assert!(
                matches!(last, Some((OwnedEvent::Closed(c), _)) if c.cause == CloseCause::Abnormal),
                "ends at end of stream"
            );
            if mode == Delivery::Assembled {
                // Assembled: exactly the expected events, nothing more.
                let events: Vec<Logical> = log.iter().map(|(e, _)| match e {
                    OwnedEvent::Text(t) => Logical::Message(MessageKind::Text, t.as_bytes().to_vec()),
                    OwnedEvent::Binary(b) => Logical::Message(MessageKind::Binary, b.clone()),
                    other => Logical::Other(other.clone()),
                }).collect();
                prop_assert_eq!(&events, &expected);
            }
            let got = normalize(&log);
            let logical: Vec<Logical> = got.iter().map(|(l, _)| l.clone()).collect();
            prop_assert_eq!(&logical, &expected, "{:?}", mode);
            for (l, out) in &got {
                let frames = decode_frames(out);
                match l {
                    Logical::Other(OwnedEvent::Ping(p)) => {
                        prop_assert_eq!(frames.len(), 1);
                        prop_assert_eq!(
                            (frames[0].fin, frames[0].opcode, frames[0].masked, &frames[0].payload),
                            (true, PONG, !to_server, p)
                        );
                    }
                    _ => prop_assert!(frames.is_empty()),
                }
            }
        }
    }
}

// ----- f. random script between a client and a server --------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// `send_text` (true: by the client).
    Text(bool, String),
    /// `send_binary`.
    Binary(bool, Vec<u8>),
    /// A whole message with `send_fragment`, cut anywhere (code points included).
    Fragmented(bool, MessageKind, Vec<u8>, Vec<usize>),
    /// One `send_fragment` call of a message that other operations interleave with.
    Frag(bool, MessageKind, String, bool),
    /// `ping`.
    Ping(bool, Vec<u8>),
    /// `Pair::run`: deliver everything both ways until idle.
    Run,
    /// Move up to this many output bytes of one side to the other.
    Deliver(bool, usize),
    /// `close`.
    Close(bool, u16, String),
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(MessageKind::Text), Just(MessageKind::Binary)];
    prop_oneof![
        4 => (any::<bool>(), text()).prop_map(|(c, t)| Op::Text(c, t)),
        3 => (any::<bool>(), vec(any::<u8>(), 0..200)).prop_map(|(c, b)| Op::Binary(c, b)),
        2 => (any::<bool>(), kind.clone(), text(), vec(any::<Index>(), 0..4)).prop_map(
            |(c, k, t, cuts)| {
                let data = t.into_bytes();
                let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
                cuts.sort_unstable();
                Op::Fragmented(c, k, data, cuts)
            }
        ),
        3 => (any::<bool>(), kind, "[a-zé😀]{0,8}", any::<bool>())
            .prop_map(|(c, k, t, fin)| Op::Frag(c, k, t, fin)),
        2 => (any::<bool>(), vec(any::<u8>(), 0..126)).prop_map(|(c, p)| Op::Ping(c, p)),
        3 => Just(Op::Run),
        3 => (any::<bool>(), 0usize..300).prop_map(|(c, n)| Op::Deliver(c, n)),
        1 => (
            any::<bool>(),
            prop::sample::select(vec![1000u16, 1001, 1003, 1005, 1008, 1011, 3000, 4999]),
            prop_oneof![Just(String::new()), "[a-zé😀]{1,20}"],
        )
            .prop_map(|(c, code, r)| Op::Close(c, code, r)),
    ]
}

/// What one side did, for predicting `send_*` results and what the other side receives.
///
/// The model: a side's phase follows from whether it called `close` successfully
/// (`close_sent`) and whether it has received the peer's close frame (a `CloseReceived`
/// event, observed after every delivery): Open; CloseSent (§7.1.2: no more data, so `send_*`
/// fails with `Closing`); CloseReceived (only without `auto_close_reply`: data may still be
/// sent, §5.5.1); Closed (both closes; `send_*` fails with `Closed`).
///
/// Delivery: frames arrive in order (TCP), and a side sends nothing after its own close
/// frame, so every data frame precedes the sender's close on the wire. The receiver discards
/// only what follows the close frame it receives (§1.4, §7.1.1), and it keeps processing
/// data while it waits for the answer to its own close (CloseSent). Hence every message
/// whose final fragment was accepted by `send_*` is delivered exactly once, in order; nothing
/// else is: refused sends are not delivered, and a fragmented message whose final fragment
/// was never sent (its sender closed first, or the peer's close made it reply) is dropped by
/// the receiver when the close frame arrives. Pings are delivered the same way; pongs
/// answering them may be coalesced (§5.5.3), so the pongs a side receives are a subsequence
/// of the pings it sent.
#[derive(Debug, Default)]
struct Model {
    auto_reply: bool,
    close_sent: bool,
    /// `close` succeeded before the peer's close was received: a locally started close.
    closed_first: bool,
    /// The code of the close frame sent with `close`.
    close_code: Option<CloseCode>,
    /// The fragmented message in progress.
    frag: Option<(MessageKind, Vec<u8>)>,
    /// Messages (at their final fragment) and pings, in the order they were sent.
    sent: Vec<Logical>,
    pings: Vec<Vec<u8>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    CloseSent,
    CloseReceived,
    Closed,
}

impl Model {
    fn phase(&self, got_close: bool) -> Phase {
        match (self.close_sent, got_close) {
            (false, false) => Phase::Open,
            (true, false) => Phase::CloseSent,
            (false, true) if !self.auto_reply => Phase::CloseReceived,
            _ => Phase::Closed,
        }
    }

    /// `seen_closed`: the application already received `Event::Closed`; until then a send
    /// on a closed connection is the benign race (`Closing`), after it a use after close.
    fn data_result(&self, got_close: bool, seen_closed: bool) -> Result<(), SendError> {
        match self.phase(got_close) {
            Phase::Open | Phase::CloseReceived => Ok(()),
            Phase::CloseSent => Err(SendError::Closing),
            Phase::Closed if !seen_closed => Err(SendError::Closing),
            Phase::Closed => Err(SendError::Closed),
        }
    }
}

fn seen_closed(events: &[OwnedEvent]) -> bool {
    events.iter().any(|e| matches!(e, OwnedEvent::Closed(_)))
}

fn got_close(events: &[OwnedEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, OwnedEvent::CloseReceived { .. }))
}

/// Moves up to `n` bytes of output from one side to the other and drains the receiver.
fn deliver(p: &mut Pair, from_client: bool, n: usize) {
    let (from, to, events) = if from_client {
        (&mut p.client, &mut p.server, &mut p.server_events)
    } else {
        (&mut p.server, &mut p.client, &mut p.client_events)
    };
    let k = n.min(from.output().len());
    let taken = to.receive(&from.output()[..k]);
    from.consume_output(taken);
    events.extend(drain(to));
}

/// Runs one operation on the pair and checks its result against the model.
fn apply(p: &mut Pair, models: &mut [Model; 2], op: &Op) -> Result<(), TestCaseError> {
    let side = |c: bool| usize::from(!c);
    let got = [got_close(&p.client_events), got_close(&p.server_events)];
    let seen = [seen_closed(&p.client_events), seen_closed(&p.server_events)];
    match op {
        Op::Text(c, t) => {
            let m = &mut models[side(*c)];
            let mut expected = m.data_result(got[side(*c)], seen[side(*c)]);
            if expected.is_ok() && m.frag.is_some() {
                expected = Err(SendError::FragmentSequence);
            }
            let actual = if *c { &mut p.client } else { &mut p.server }.send_text(t);
            prop_assert_eq!(actual, expected, "send_text");
            if actual.is_ok() {
                m.sent
                    .push(Logical::Message(MessageKind::Text, t.as_bytes().to_vec()));
            }
        }
        Op::Binary(c, b) => {
            let m = &mut models[side(*c)];
            let mut expected = m.data_result(got[side(*c)], seen[side(*c)]);
            if expected.is_ok() && m.frag.is_some() {
                expected = Err(SendError::FragmentSequence);
            }
            let actual = if *c { &mut p.client } else { &mut p.server }.send_binary(b);
            prop_assert_eq!(actual, expected, "send_binary");
            if actual.is_ok() {
                m.sent
                    .push(Logical::Message(MessageKind::Binary, b.clone()));
            }
        }
        Op::Fragmented(c, kind, data, cuts) => {
            let mut bounds = vec![0];
            bounds.extend_from_slice(cuts);
            bounds.push(data.len());
            let n = bounds.len() - 1;
            for (i, w) in bounds.windows(2).enumerate() {
                send_fragment(p, models, got, *c, *kind, &data[w[0]..w[1]], i + 1 == n)?;
            }
        }
        Op::Frag(c, kind, t, fin) => {
            send_fragment(p, models, got, *c, *kind, t.as_bytes(), *fin)?;
        }
        Op::Ping(c, payload) => {
            let m = &mut models[side(*c)];
            let expected = m.data_result(got[side(*c)], seen[side(*c)]);
            let actual = if *c { &mut p.client } else { &mut p.server }.ping(payload);
            prop_assert_eq!(actual, expected, "ping");
            if actual.is_ok() {
                m.sent
                    .push(Logical::Other(OwnedEvent::Ping(payload.clone())));
                m.pings.push(payload.clone());
            }
        }
        Op::Run => p.run(),
        Op::Deliver(c, n) => deliver(p, *c, *n),
        Op::Close(c, code, reason) => {
            let m = &mut models[side(*c)];
            let g = got[side(*c)];
            // §7.4.1, §7.4.2: 1005 and other local-only or unassigned codes are never sent.
            let sendable = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            let expected = if !sendable {
                Err(SendError::CloseCodeNotSendable(*code))
            } else {
                match m.phase(g) {
                    Phase::Open | Phase::CloseReceived => Ok(()),
                    Phase::CloseSent => Err(SendError::Closing),
                    Phase::Closed if !seen[side(*c)] => Err(SendError::Closing),
                    Phase::Closed => Err(SendError::Closed),
                }
            };
            let conn = if *c { &mut p.client } else { &mut p.server };
            let actual = conn.close(CloseCode(*code), reason);
            prop_assert_eq!(actual, expected, "close");
            if actual.is_ok() {
                m.close_sent = true;
                m.closed_first = !g;
                m.close_code = Some(CloseCode(*code));
            }
        }
    }
    Ok(())
}

fn send_fragment(
    p: &mut Pair,
    models: &mut [Model; 2],
    got: [bool; 2],
    c: bool,
    kind: MessageKind,
    piece: &[u8],
    fin: bool,
) -> Result<(), TestCaseError> {
    let seen = [seen_closed(&p.client_events), seen_closed(&p.server_events)];
    let m = &mut models[usize::from(!c)];
    let mut expected = m.data_result(got[usize::from(!c)], seen[usize::from(!c)]);
    if expected.is_ok() && m.frag.as_ref().is_some_and(|(k, _)| *k != kind) {
        expected = Err(SendError::FragmentSequence);
    }
    let conn = if c { &mut p.client } else { &mut p.server };
    let actual = conn.send_fragment(kind, piece, fin);
    prop_assert_eq!(actual, expected, "send_fragment {:?} fin {}", kind, fin);
    if actual.is_ok() {
        let (_, data) = m.frag.get_or_insert_with(|| (kind, Vec::new()));
        data.extend_from_slice(piece);
        if fin {
            let (kind, data) = m.frag.take().unwrap_or((kind, Vec::new()));
            m.sent.push(Logical::Message(kind, data));
        }
    }
    Ok(())
}

/// Whether `sub` is a subsequence of `of`.
fn is_subsequence(sub: &[Vec<u8>], of: &[Vec<u8>]) -> bool {
    let mut it = of.iter();
    sub.iter().all(|s| it.any(|o| o == s))
}

fn script_config() -> impl Strategy<Value = (Config, bool)> {
    (
        prop_oneof![Just(Delivery::Assembled), Just(Delivery::Streaming)],
        prop_oneof![Just(0usize), 1usize..16],
        any::<bool>(),
    )
        .prop_map(|(mode, frag, auto)| {
            (
                Config::new()
                    .with_delivery(mode)
                    .with_outgoing_fragment_size(frag)
                    .with_auto_close_reply(auto),
                auto,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// §5.4, §5.5, §7: a client and a server driven by a random script (messages, fragments,
    /// pings, partial deliveries, closes on either side, with and without automatic close
    /// replies) deliver every message accepted by `send_*` exactly once and in order, and no
    /// other (see `Model`); every `send_*`/`close` result matches the model; after a final
    /// close on each side, `run` and end of stream, each side has exactly one
    /// `CloseReceived` and exactly one `Closed`, last, clean, with the peer's code.
    #[test]
    fn random_script_delivers_in_order_exactly_once(
        (client_config, client_auto) in script_config(),
        (server_config, server_auto) in script_config(),
        ops in vec(op(), 0..40),
        final_by_client in any::<bool>(),
        final_code in prop::sample::select(vec![1000u16, 1001, 4000]),
    ) {
        let mut p = Pair::new(client_config, server_config);
        let mut models = [
            Model { auto_reply: client_auto, ..Model::default() },
            Model { auto_reply: server_auto, ..Model::default() },
        ];
        for op in &ops {
            apply(&mut p, &mut models, op)?;
        }
        for c in [final_by_client, !final_by_client] {
            apply(&mut p, &mut models, &Op::Close(c, final_code, "end".into()))?;
            p.run();
        }
        p.eof_both();

        for (c, events) in [(true, &p.client_events), (false, &p.server_events)] {
            let me = &models[usize::from(!c)];
            let peer = &models[usize::from(c)];
            let closed = closed(events);
            prop_assert!(closed.is_clean(), "{:?}", closed);
            let close_received: Vec<CloseCode> = events.iter().filter_map(|e| match e {
                OwnedEvent::CloseReceived { code, .. } => Some(*code),
                _ => None,
            }).collect();
            prop_assert_eq!(close_received.len(), 1);
            // The peer's close frame: its own code, or the echo of ours (automatic reply).
            let peer_code = peer.close_code.or(me.close_code).unwrap_or(CloseCode::NO_STATUS);
            prop_assert_eq!(close_received[0], peer_code);
            prop_assert_eq!(closed.code, peer_code);
            let cause = if me.closed_first { CloseCause::ClosedLocally } else { CloseCause::ClosedByPeer };
            prop_assert_eq!(closed.cause, cause);

            // What the peer sent, delivered here in order exactly once.
            let with_output: Vec<_> = events.iter().map(|e| (e.clone(), Vec::new())).collect();
            let received: Vec<Logical> = normalize(&with_output)
                .into_iter()
                .map(|(l, _)| l)
                .filter(|l| matches!(l, Logical::Message(..) | Logical::Other(OwnedEvent::Ping(_))))
                .collect();
            prop_assert_eq!(&received, &peer.sent, "delivered to the {}", if c { "client" } else { "server" });
            let pongs: Vec<Vec<u8>> = events.iter().filter_map(|e| match e {
                OwnedEvent::Pong(p) => Some(p.clone()),
                _ => None,
            }).collect();
            prop_assert!(is_subsequence(&pongs, &me.pings), "pongs {:?} pings {:?}", pongs, me.pings);
        }
    }
}

// ----- g. bounded buffers --------------------------------------------------------------------

/// How many automatic pongs may wait unsent before a newer ping replaces the last one (the
/// crate's `MAX_PENDING_PONGS`, §5.5.3).
const PENDING_PONGS: usize = 16;

fn small_config(mode: Delivery) -> Config {
    Config::new()
        .with_max_frame_size(4096)
        .with_max_message_size(8192)
        .with_max_handshake_bytes(1024)
        .with_read_sizes(64, 1024)
        .with_max_output_backlog(1024)
        .with_max_fragments(64)
        .with_delivery(mode)
}

/// A frame that looks valid: mostly a known opcode, mostly the right mask direction, random
/// declared lengths around the limits, and a payload that may be cut short.
fn rough_frame(to_server: bool) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0u8, 0, 1, 1, 2, 2, 8, 9, 9, 10, 3, 0xB]),
        any::<bool>(),
        prop_oneof![20 => Just(0u8), 1 => 1u8..8],
        prop_oneof![9 => Just(to_server), 1 => Just(!to_server)],
        prop_oneof![
            4 => 0u64..126,
            3 => 126u64..4200,
            2 => 4000u64..9000,
            1 => any::<u64>(),
        ],
        prop_oneof![4 => Just(u64::MAX), 1 => any::<u64>()],
        prop_oneof![3 => any::<u8>().prop_map(|b| vec![b]), 1 => vec(any::<u8>(), 1..8)],
        any::<[u8; 4]>(),
    )
        .prop_map(|(op, fin, rsv, masked, declared, cut, fill, key)| {
            let b0 = (u8::from(fin || op >= 8) << 7) | (rsv << 4) | op;
            let len = declared.min(cut).min(9000) as usize;
            let payload: Vec<u8> = fill.iter().copied().cycle().take(len).collect();
            // The length as declared (the payload may be shorter).
            let mut f = vec![b0];
            let m = if masked { 0x80 } else { 0 };
            if declared < 126 {
                f.push(m | declared as u8);
            } else if declared < 65536 {
                f.push(m | 126);
                f.extend_from_slice(&(declared as u16).to_be_bytes());
            } else {
                f.push(m | 127);
                f.extend_from_slice(&declared.to_be_bytes());
            }
            if masked {
                f.extend_from_slice(&key);
                f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            } else {
                f.extend_from_slice(&payload);
            }
            f
        })
}

/// A well-formed fragmented message (ASCII text or binary) with fragments of random sizes, its
/// total sometimes over `max_message_size`, between pings.
fn fragmented_message(to_server: bool) -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), vec(0usize..4097, 1..6), any::<u32>()).prop_map(move |(text, sizes, seed)| {
        let mut enc = Encoder {
            to_server,
            seed,
            count: 0,
        };
        let mut out = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            let op = match (i, text) {
                (0, true) => TEXT,
                (0, false) => BINARY,
                _ => CONT,
            };
            out.extend(enc.frame(i + 1 == sizes.len(), op, &vec![b'a'; n]));
            out.extend(enc.frame(true, PING, b"p"));
        }
        out
    })
}

fn rough_input(to_server: bool) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..3000),
        3 => vec(rough_frame(to_server), 0..12).prop_map(|fs| fs.concat()),
        2 => vec(fragmented_message(to_server), 1..3).prop_map(|fs| fs.concat()),
    ]
}

/// Feeds `input` in chunks (through `receive` or `read_buf`/`commit_read`), polling every
/// event and checking the buffer bounds after each step; sometimes writes the output out, and
/// with `sends` sometimes queues messages or pings until the backlog refuses them. Returns
/// the events.
fn drive_bounded(
    conn: &mut Connection,
    input: &[u8],
    sizes: &[usize],
    actions: &[u8],
    max_message: usize,
    sends: bool,
) -> Result<Vec<OwnedEvent>, TestCaseError> {
    let cfg = *conn.config();
    // Buffered input is bounded by this; the buffer's capacity by twice it. `memory().input`
    // also counts the text of small messages decoded ahead of their events: at most a read's
    // worth plus 128 bytes.
    let max_input =
        2 * (cfg.max_frame_size + MAX_HEADER_LEN + cfg.max_read_size) + cfg.max_read_size + 128;
    // Past the backlog only automatic pongs (at most `PENDING_PONGS` unsent) and one close
    // frame are queued, each at most 131 bytes.
    let max_output = cfg.max_output_backlog + (PENDING_PONGS + 1) * 131;
    let mut events: Vec<OwnedEvent> = Vec::new();
    let check = |conn: &Connection| -> Result<(), TestCaseError> {
        let m = conn.memory();
        prop_assert!(
            m.input <= max_input,
            "input buffer {} > {}",
            m.input,
            max_input
        );
        prop_assert!(
            m.message <= max_message,
            "message buffer {} > {}",
            m.message,
            max_message
        );
        prop_assert!(
            conn.output().len() <= max_output,
            "output {} > {}",
            conn.output().len(),
            max_output
        );
        Ok(())
    };
    let poll =
        |conn: &mut Connection, events: &mut Vec<OwnedEvent>| -> Result<usize, TestCaseError> {
            let mut n = 0;
            while let Some(e) = conn.poll_event() {
                let e = e.into_owned();
                prop_assert!(
                    !events.iter().any(|e| matches!(e, OwnedEvent::Closed(_))),
                    "event after Closed: {:?}",
                    e
                );
                events.push(e);
                n += 1;
                check(conn)?;
                prop_assert!(n < 100_000, "runaway events");
            }
            Ok(n)
        };
    let mut pos = 0;
    let mut step = 0;
    while pos < input.len() {
        let size = sizes[step % sizes.len()].max(1);
        let action = actions[step % actions.len()];
        step += 1;
        let end = (pos + size).min(input.len());
        let mut chunk = &input[pos..end];
        pos = end;
        while !chunk.is_empty() {
            let n = if action & 1 == 0 {
                conn.receive(chunk)
            } else {
                let buf = conn.read_buf();
                let n = buf.len().min(chunk.len());
                buf[..n].copy_from_slice(&chunk[..n]);
                conn.commit_read(n);
                n
            };
            chunk = &chunk[n..];
            check(conn)?;
            let polled = poll(conn, &mut events)?;
            prop_assert!(n > 0 || polled > 0, "no progress with a full input buffer");
            // Once events are drained, a read always has room: an empty `read_buf` (which a
            // socket read answers with 0, that is end of stream) only ever means "drain
            // events first".
            prop_assert!(!conn.read_buf().is_empty(), "read_buf empty after draining");
        }
        if action & 2 != 0 {
            take_output(conn);
        }
        if sends && action & 4 != 0 {
            // The application sends until the backlog refuses (`OutputFull`).
            for _ in 0..64 {
                let sent = if action & 8 != 0 {
                    conn.ping(&[1; 125])
                } else {
                    conn.send_binary(&vec![7; usize::from(action >> 4)])
                };
                check(conn)?;
                if sent.is_err() {
                    break;
                }
            }
        }
    }
    conn.receive_eof();
    poll(conn, &mut events)?;
    check(conn)?;
    // More input and more polling after the end produce nothing.
    let _ = conn.receive(input);
    prop_assert!(conn.poll_event().is_none());
    Ok(events)
}

/// Chunk sizes for (g): one byte, small, around a read, around a frame.
fn bounded_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(prop_oneof![1usize..8, 1usize..600, 1usize..6000], 1..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// DESIGN §7, RFC §10.4 (implementation-specific limits): arbitrary bytes, random
    /// valid-looking frames and fragmented messages fed to a server or a client in random
    /// chunks (through `receive` or `read_buf`), with output sometimes written out, never
    /// panic; the input buffer stays within one frame plus one read
    /// (`max_frame_size + 14 + max_read_size`), the output within the unsent pongs allowed
    /// and one close frame, and the message buffer within twice `max_message_size` (the
    /// tight bounds with the application sending are the next two properties); exactly one
    /// `Closed` is produced, and no event after it.
    #[test]
    fn buffers_stay_bounded(
        (to_server, input) in any::<bool>().prop_flat_map(|s| (Just(s), rough_input(s))),
        streaming in any::<bool>(),
        sizes in bounded_sizes(),
        actions in vec(any::<u8>(), 1..10),
    ) {
        let mode = if streaming { Delivery::Streaming } else { Delivery::Assembled };
        let mut conn = open(to_server, small_config(mode));
        let max_message = 2 * conn.config().max_message_size;
        let events = drive_bounded(&mut conn, &input, &sizes, &actions, max_message, false)?;
        closed(&events);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// DESIGN §7, `Delivery::Assembled` ("memory per message is bounded by
    /// `max_message_size`"): assembling fragmented messages that arrive in random chunks
    /// never makes the message buffer exceed `max_message_size` rounded up to a power of two.
    #[test]
    fn message_buffer_within_max_message_size(
        (to_server, input) in any::<bool>().prop_flat_map(|s| {
            (Just(s), vec(fragmented_message(s), 1..3).prop_map(|fs| fs.concat()))
        }),
        sizes in bounded_sizes(),
        actions in vec(any::<u8>(), 1..10),
    ) {
        let mut conn = open(to_server, small_config(Delivery::Assembled));
        let max_message = conn.config().max_message_size.next_power_of_two();
        let events = drive_bounded(&mut conn, &input, &sizes, &actions, max_message, false)?;
        closed(&events);
    }
}

/// Pings from the peer (a peer that sends pings but never reads).
fn ping_flood(to_server: bool) -> impl Strategy<Value = Vec<u8>> {
    (vec(vec(any::<u8>(), 0..126), 1..40), any::<u32>()).prop_map(move |(pings, seed)| {
        let mut enc = Encoder {
            to_server,
            seed,
            count: 0,
        };
        pings
            .iter()
            .flat_map(|p| enc.frame(true, PING, p))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `Config::max_output_backlog` ("`send_*` refuses new frames" past it; automatic pongs
    /// are bounded, §5.5.3): while the peer pings and the application sends messages or pings
    /// until `OutputFull`, the output never exceeds the backlog plus the unsent pongs allowed
    /// and one close frame.
    #[test]
    fn output_within_backlog(
        (to_server, input) in any::<bool>().prop_flat_map(|s| {
            (Just(s), prop_oneof![ping_flood(s), rough_input(s)])
        }),
        streaming in any::<bool>(),
        sizes in bounded_sizes(),
        actions in vec(any::<u8>(), 1..10),
    ) {
        let mode = if streaming { Delivery::Streaming } else { Delivery::Assembled };
        let mut conn = open(to_server, small_config(mode));
        let max_message = 2 * conn.config().max_message_size;
        let events = drive_bounded(&mut conn, &input, &sizes, &actions, max_message, true)?;
        closed(&events);
    }
}

// ----- g. runs of small frames ---------------------------------------------------------------

/// A payload for hostile small frames: valid text (ASCII or multi-byte), half of a code point
/// (valid only with a neighbour), or any bytes.
fn small_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z ]{0,40}".prop_map(String::into_bytes),
        "[a-zé€😀]{0,30}".prop_map(String::into_bytes),
        Just(vec![0xE2, 0x82]),
        Just(vec![0xAC]),
        Just(vec![0xF0, 0x9F]),
        Just(vec![0x98, 0x80]),
        vec(any::<u8>(), 0..126),
        (100usize..=125).prop_map(|n| vec![b'x'; n]),
    ]
}

/// One small frame: its first byte (FIN, RSV bits, opcode), its payload, and whether its
/// masking follows the rule for its direction (§5.1).
fn small_frame() -> impl Strategy<Value = (u8, Vec<u8>, bool)> {
    (
        prop_oneof![
            8 => Just(0x81u8),
            8 => Just(0x82u8),
            1 => Just(0x01u8),
            1 => Just(0x80u8),
            1 => Just(0x00u8),
            1 => Just(0x89u8),
            1 => Just(0x8Au8),
            1 => Just(0xC1u8),
            1 => Just(0x91u8),
            1 => Just(0x88u8),
        ],
        small_payload(),
        prop::bool::weighted(0.97),
    )
}

/// Encodes small frames for the connection at `to_server`; a close frame gets a valid code.
fn encode_small(frames: &[(u8, Vec<u8>, bool)], to_server: bool, seed: u32) -> Vec<u8> {
    let mut stream = Vec::new();
    for (i, (b0, payload, right_mask)) in frames.iter().enumerate() {
        let payload = if b0 & 0x0F == CLOSE {
            close_payload(1000, "")
        } else {
            payload.clone()
        };
        let masked = to_server == *right_mask;
        let mut f = frame(true, b0 & 0x0F, &payload, masked.then(|| key(seed, i)));
        f[0] = *b0;
        stream.extend(f);
    }
    stream
}

/// Feeds `stream` through `read_buf`/`commit_read` (the zero-copy path), at most `sizes` bytes
/// per read (cycled), polling after every read, then signals end of stream.
fn drive_reads(conn: &mut Connection, stream: &[u8], sizes: &[usize]) -> Transcript {
    let mut log = Vec::new();
    let mut pos = 0;
    for size in sizes.iter().cycle() {
        if pos >= stream.len() {
            break;
        }
        let buf = conn.read_buf();
        let n = buf.len().min(*size.max(&1)).min(stream.len() - pos);
        buf[..n].copy_from_slice(&stream[pos..pos + n]);
        conn.commit_read(n);
        pos += n;
        let before = log.len();
        poll_all(conn, &mut log);
        assert!(n > 0 || log.len() > before, "read_buf made no progress");
    }
    poll_all(conn, &mut log);
    conn.receive_eof();
    poll_all(conn, &mut log);
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Runs of small frames take a fast path in `receive` and `commit_read` that decodes and
    /// validates them ahead of the events. Whatever the frames (invalid UTF-8 in any message, a code point
    /// split between two messages, RSV bits, wrong masking, control frames, a fragment, a
    /// close, limits smaller than a payload), the events and replies are those of the
    /// general decoder, which a stream fed one byte at a time goes through (§5.2, §5.4, §8.1).
    #[test]
    fn small_frame_runs_decode_like_single_bytes(
        to_server in any::<bool>(),
        seed in any::<u32>(),
        frames in vec(small_frame(), 0..40),
        sizes in sizes(),
        limit in prop_oneof![Just(usize::MAX), 0usize..130],
        streaming in prop::bool::weighted(0.1),
    ) {
        let stream = encode_small(&frames, to_server, seed);
        let mut config = Config::new().with_delivery(if streaming {
            Delivery::Streaming
        } else {
            Delivery::Assembled
        });
        if limit != usize::MAX {
            config = config.with_max_message_size(limit).with_max_frame_size(limit.max(1));
        }
        // Streamed pieces follow the chunking; their messages do not.
        let view = |t: Transcript| if streaming { normalize(&t) } else { t.into_iter().map(|(e, o)| (Logical::Other(e), o)).collect() };
        let bytes = view(drive(&mut open(to_server, config), &stream, &[1]));
        let whole = view(drive(&mut open(to_server, config), &stream, &[usize::MAX]));
        prop_assert_eq!(&whole, &bytes, "whole");
        let chunked = view(drive(&mut open(to_server, config), &stream, &sizes));
        prop_assert_eq!(&chunked, &bytes, "random chunks");
        let batched = view(drive_polling(&mut open(to_server, config), &stream, &sizes, false));
        prop_assert_eq!(&batched, &bytes, "chunks before polling");
        let read = view(drive_reads(&mut open(to_server, config), &stream, &sizes));
        prop_assert_eq!(&read, &bytes, "read_buf and commit_read");
        let whole_reads = view(drive_reads(&mut open(to_server, config), &stream, &[usize::MAX]));
        prop_assert_eq!(&whole_reads, &bytes, "reads as large as offered");
    }
}
