//! One test per vulnerability class that has hit a WebSocket library, where no other test
//! already covers it by name. SECURITY.md maps every class to its test (here or elsewhere)
//! and to what a user must configure.
//!
//! Linear-time claims are checked by comparing an input with one ten times its size in the
//! same run (a linear cost grows tenfold, a quadratic one a hundredfold), not by a wall-clock
//! bound that a loaded machine could break or a regression slip under.

mod common;

use std::time::{Duration, Instant};

use common::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{
    Accept, CloseCause, CloseCode, Config, Connection, Event, HandshakeError, ProtocolError,
};

/// A WebSocket upgrade request with extra header lines.
fn request_with(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A client whose request has gone out; returns it with the `101` head it expects, built by
/// the test (the accept key from the request's key), plus `extra` header lines.
fn client_with_response(
    config: Config,
    protocols: &'static [&'static str],
    extra: &[u8],
) -> (Connection, Vec<u8>) {
    let request = ClientRequest::new("h", "/").with_subprotocols(protocols);
    let mut client = Connection::client(config, &request, SEED).unwrap();
    let head = take_output(&mut client);
    let mut response = switching_response(&head);
    // Insert the extra lines before the blank line.
    response.truncate(response.len() - 2);
    response.extend_from_slice(extra);
    response.extend_from_slice(b"\r\n");
    (client, response)
}

// ----- CVE-2023-26103 class: header-token parsing blow-up ------------------------------------

/// `Connection` and `Upgrade` values of 100 KB of commas and spaces (a regex in another
/// library took exponential time on them) are answered in linear time: the token lists are
/// split in one pass.
#[test]
fn huge_comma_lists_in_connection_and_upgrade_are_linear() {
    let time = |n: usize| {
        let junk = ", ,".repeat(n / 3);
        let request = request_with(&format!(
            "X-Pad: 0\r\nConnection: {junk}upgrade\r\nUpgrade: {junk}websocket\r\n"
        ));
        let config = Config::new().with_max_handshake_bytes(1 << 20);
        let started = Instant::now();
        let mut server = Connection::server(config);
        assert_eq!(server.receive(&request), request.len());
        let Some(Event::Request(req)) = server.poll_event() else {
            panic!("expected the request")
        };
        assert!(req.is_websocket());
        server.accept(Accept::new()).unwrap();
        started.elapsed()
    };
    let _warm = time(20_000);
    let (small, large) = (time(30_000), time(300_000));
    assert_linear(small, large, "comma lists of 30 KB and 300 KB");
}

/// `large` took at most 30 times `small` for ten times the input: linear (10x) with room for
/// noise, far from quadratic (100x). Times are rounded up to 5 ms, under which timer and
/// scheduling noise would dominate the ratio.
fn assert_linear(small: Duration, large: Duration, what: &str) {
    let floor = Duration::from_millis(5);
    let ratio = large.as_secs_f64() / small.max(floor).as_secs_f64();
    assert!(
        ratio < 30.0,
        "{what}: {small:?} against {large:?} ({ratio:.1}x for 10x the input)"
    );
}

// ----- CVE-2026-55517 class: non-ASCII bytes in negotiation headers, both roles --------------

/// Server: non-ASCII and non-UTF-8 bytes in `Sec-WebSocket-Protocol` and
/// `Sec-WebSocket-Extensions` never reach the application as choices and never panic: the
/// subprotocol list holds only tokens, an extension element that does not parse is reported
/// as an error and not negotiated, and the upgrade itself is still accepted.
#[test]
fn server_non_ascii_protocol_and_extension_bytes_are_refused_cleanly() {
    let lines: [&[u8]; 4] = [
        b"Sec-WebSocket-Protocol: x-\xc3\xa9, chat\r\n",
        b"Sec-WebSocket-Protocol: \xff\xfe\r\n",
        b"Sec-WebSocket-Extensions: permessage-deflat\xc3\xa9\r\n",
        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=\xff\r\n",
    ];
    for line in lines {
        let mut request = request_with("").to_vec();
        request.truncate(request.len() - 2);
        request.extend_from_slice(line);
        request.extend_from_slice(b"\r\n");
        let config = deflate_config(Config::new());
        let mut server = Connection::server(config);
        assert_eq!(server.receive(&request), request.len());
        let Some(Event::Request(req)) = server.poll_event() else {
            panic!("expected the request for {line:?}")
        };
        assert!(req
            .subprotocols()
            .all(|p| p.bytes().all(|b| b.is_ascii_graphic())));
        // The extension line's element does not parse: it is reported as an error (and is
        // not negotiated, below); a protocol line offers no extension at all.
        let extensions: Vec<_> = req.extensions().collect();
        if line.starts_with(b"Sec-WebSocket-Extensions") {
            assert!(
                !extensions.is_empty() && extensions.iter().all(Result::is_err),
                "{line:?}: {extensions:?}"
            );
        } else {
            assert!(extensions.is_empty(), "{line:?}: {extensions:?}");
        }
        server.accept(Accept::new()).unwrap();
        let response = take_output(&mut server);
        assert!(response.starts_with(b"HTTP/1.1 101"), "{line:?}");
        // Nothing non-ASCII is echoed back.
        assert!(
            response.is_ascii(),
            "{:?}",
            String::from_utf8_lossy(&response)
        );
        #[cfg(feature = "deflate")]
        assert!(
            !line.starts_with(b"Sec-WebSocket-Extensions") || server.deflate().is_none(),
            "{line:?}"
        );
    }
}

/// Client: a `101` whose `Sec-WebSocket-Protocol` or `Sec-WebSocket-Extensions` holds
/// non-ASCII or non-UTF-8 bytes fails the handshake with a clear error (§4.1: the client
/// MUST fail the connection), never a panic.
#[test]
fn client_non_ascii_protocol_and_extension_bytes_fail_the_handshake() {
    let cases: [(&[u8], HandshakeError); 4] = [
        (
            b"Sec-WebSocket-Protocol: ch\xc3\xa4t\r\n",
            HandshakeError::UnexpectedSubprotocol,
        ),
        (
            b"Sec-WebSocket-Protocol: \xff\r\n",
            HandshakeError::UnexpectedSubprotocol,
        ),
        (
            b"Sec-WebSocket-Extensions: permessage-deflat\xc3\xa9\r\n",
            HandshakeError::UnexpectedExtension,
        ),
        (
            b"Sec-WebSocket-Extensions: \xff\xfe\r\n",
            HandshakeError::UnexpectedExtension,
        ),
    ];
    for (line, error) in cases {
        let (mut client, response) =
            client_with_response(deflate_config(Config::new()), &["chat"], line);
        let events = feed(&mut client, &response);
        let closed = closed(&events);
        assert_eq!(closed.cause, CloseCause::Handshake(error), "{line:?}");
        assert_eq!(closed.code, CloseCode::ABNORMAL);
    }
}

// ----- CVE-2026-2229 class: window bits out of range or malformed, both roles ----------------

/// Server: an offer whose window bits are out of range (7, 16, 255), malformed (`08`, `1a`,
/// empty, quoted garbage) or missing where required is declined: the upgrade is accepted
/// without permessage-deflate (RFC 7692 §5: a server declines an offer it cannot accept),
/// and nothing panics.
#[cfg(feature = "deflate")]
#[test]
fn server_declines_offers_with_bad_window_bits() {
    let offers = [
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=255",
        "permessage-deflate; client_max_window_bits=08",
        "permessage-deflate; client_max_window_bits=1a",
        "permessage-deflate; client_max_window_bits=",
        "permessage-deflate; client_max_window_bits=\"99999999999999999999\"",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=-1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=18446744073709551617",
    ];
    for offer in offers {
        let request = request_with(&format!("Sec-WebSocket-Extensions: {offer}\r\n"));
        let mut server = Connection::server(deflate_config(Config::new()));
        assert_eq!(server.receive(&request), request.len());
        assert!(matches!(server.poll_event(), Some(Event::Request(_))));
        server.accept(Accept::new()).unwrap();
        let response = take_output(&mut server);
        assert!(response.starts_with(b"HTTP/1.1 101"), "{offer}");
        assert!(server.deflate().is_none(), "{offer} was accepted");
        assert!(
            !String::from_utf8_lossy(&response).contains("permessage-deflate"),
            "{offer}"
        );
    }
}

/// Client: a response that sets window bits out of range or malformed fails the handshake
/// (RFC 7692 §7.1.2: the client MUST fail the connection), never a panic.
#[cfg(feature = "deflate")]
#[test]
fn client_fails_responses_with_bad_window_bits() {
    let responses = [
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=x",
        "permessage-deflate; server_max_window_bits=99999999999999999999",
    ];
    for value in responses {
        let line = format!("Sec-WebSocket-Extensions: {value}\r\n");
        let (mut client, response) =
            client_with_response(deflate_config(Config::new()), &[], line.as_bytes());
        let closed = closed(&feed(&mut client, &response));
        assert_eq!(
            closed.cause,
            CloseCause::Handshake(HandshakeError::UnexpectedExtension),
            "{value}"
        );
    }
}

// ----- CVE-2026-128131 class: many empty deflate blocks ---------------------------------------

/// Empty deflate blocks, `n` of each kind: stored blocks of length 0 (5 bytes each), and
/// fixed-Huffman blocks with only an end-of-block code (10 bits each); each ends with the header
/// byte of a sync flush whose `00 00 ff ff` the sender removed (RFC 7692 §7.2.1).
#[cfg(feature = "deflate")]
fn empty_blocks(n: usize) -> [Vec<u8>; 2] {
    // BFINAL 0, BTYPE 00, aligned, LEN 0, NLEN 0xFFFF.
    let mut stored: Vec<u8> = [0u8, 0, 0, 0xff, 0xff].repeat(n);
    stored.push(0);
    // Bits, least significant first: 0 10 0000000, four blocks in 5 bytes.
    let mut fixed = Vec::new();
    for _ in 0..n / 4 {
        let mut bits: u64 = 0;
        for i in 0..4 {
            bits |= 0b010 << (10 * i);
        }
        fixed.extend_from_slice(&bits.to_le_bytes()[..5]);
    }
    fixed.push(0);
    [stored, fixed]
}

/// A server with permessage-deflate, `delivery` and `max_message_size`, fed one compressed
/// binary message of `payload` in reads of `chunk`; the events, how long the reads took, and
/// the largest input and message buffers seen along the way.
#[cfg(feature = "deflate")]
fn feed_compressed(
    payload: &[u8],
    delivery: wsmachine::Delivery,
    max_message_size: usize,
    chunk: usize,
) -> (Vec<wsmachine::OwnedEvent>, Duration, usize) {
    let config = deflate_config(Config::new())
        .with_delivery(delivery)
        .with_max_message_size(max_message_size);
    let (mut server, deflated) = server_with_deflate(config);
    assert!(deflated);
    let frame = raw_frame(0xC2, payload, Some([1, 2, 3, 4]));
    let mut events = Vec::new();
    let mut peak = 0;
    let started = Instant::now();
    for piece in frame.chunks(chunk) {
        events.extend(feed(&mut server, piece));
        let memory = server.memory();
        peak = peak.max(memory.input + memory.message);
    }
    (events, started.elapsed(), peak)
}

/// A compressed message of 200,000 empty deflate blocks (CVE-2026-128131 class: every block
/// costs the decoder work, and a table build for Huffman blocks, while the message stays
/// empty): the block budget of a message (64 blocks plus one per KiB of `max_message_size`,
/// so 16,448 at the default 16 MiB) fails it with 1009 once passed, in both delivery modes
/// and whatever the reads; the bytes behind it are never decoded.
#[cfg(feature = "deflate")]
#[test]
fn message_of_200000_empty_deflate_blocks_fails_at_the_block_budget() {
    use wsmachine::{Delivery, OwnedEvent};
    for payload in empty_blocks(200_000) {
        for delivery in [Delivery::Assembled, Delivery::Streaming] {
            for chunk in [7, 4096, usize::MAX] {
                let (events, _, peak) = feed_compressed(&payload, delivery, 16 << 20, chunk);
                let case = format!("{} bytes, {delivery:?}, reads of {chunk}", payload.len());
                assert!(
                    events
                        .iter()
                        .all(|e| matches!(e, OwnedEvent::Closed(_) | OwnedEvent::Fragment { .. })),
                    "{case}: {events:?}"
                );
                let closed = closed(&events);
                assert_eq!(
                    (closed.code, closed.cause),
                    (
                        CloseCode::TOO_BIG,
                        CloseCause::Failed(ProtocolError::MessageTooLarge)
                    ),
                    "{case}"
                );
                // The frame is inflated as it arrives, not held: at most a read or two of it
                // is buffered at once (the whole of it when it arrives in one piece).
                if chunk <= 4096 {
                    assert!(peak <= 64 * 1024, "{case}: {peak} bytes buffered");
                }
            }
        }
    }
}

/// Below the budget, a message of empty blocks inflates to nothing in linear time: 100,000
/// blocks take at most 30 times as long as 10,000 (ten times the input), in both delivery
/// modes, in small reads.
#[cfg(feature = "deflate")]
#[test]
fn empty_deflate_blocks_inflate_in_linear_time_within_the_budget() {
    use wsmachine::{Delivery, OwnedEvent};
    // Room for 100,000 blocks: 64 + 128 MiB / 1 KiB.
    let limit = 128 << 20;
    let [small_stored, small_fixed] = empty_blocks(10_000);
    let [large_stored, large_fixed] = empty_blocks(100_000);
    for (small, large) in [(small_stored, large_stored), (small_fixed, large_fixed)] {
        for delivery in [Delivery::Assembled, Delivery::Streaming] {
            for chunk in [4096] {
                let _warm = feed_compressed(&small, delivery, limit, chunk);
                let (a, small_time, _) = feed_compressed(&small, delivery, limit, chunk);
                let (b, large_time, _) = feed_compressed(&large, delivery, limit, chunk);
                for events in [&a, &b] {
                    let empty = match delivery {
                        Delivery::Assembled => vec![OwnedEvent::Binary(Vec::new())],
                        _ => vec![OwnedEvent::Fragment {
                            kind: wsmachine::MessageKind::Binary,
                            data: Vec::new(),
                            fin: true,
                        }],
                    };
                    assert_eq!(*events, empty, "{delivery:?}, reads of {chunk}");
                }
                let what = format!(
                    "{} and {} bytes of empty blocks, {delivery:?}, reads of {chunk}",
                    small.len(),
                    large.len()
                );
                assert_linear(small_time, large_time, &what);
            }
        }
    }
}

// ----- 64-bit lengths ----------------------------------------------------------------------

/// §5.2: a declared length over `u32::MAX` (more than `usize` on a 32-bit target) and the
/// largest legal length (2^63 - 1) fail with 1009 at the header, before anything is
/// allocated for them; the comparison is done in 64 bits, never truncated to `usize`.
#[test]
fn lengths_over_32_bits_fail_with_1009_at_the_header() {
    for len in [u64::from(u32::MAX) + 1, (1u64 << 32) + 5, (1 << 63) - 1] {
        let mut server = server_open(Config::new());
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&len.to_be_bytes());
        header.extend_from_slice(&[0; 4]);
        let closed = closed(&feed(&mut server, &header));
        assert_eq!(
            (closed.code, closed.cause),
            (
                CloseCode::TOO_BIG,
                CloseCause::Failed(ProtocolError::FrameTooLarge)
            ),
            "{len}"
        );
        assert!(
            server.memory().total() < 4096,
            "{len}: {:?}",
            server.memory()
        );
    }
}

// ----- helpers ----------------------------------------------------------------------------

#[cfg(feature = "deflate")]
fn deflate_config(config: Config) -> Config {
    config.with_deflate(wsmachine::extensions::deflate::DeflateConfig::new())
}

#[cfg(not(feature = "deflate"))]
fn deflate_config(config: Config) -> Config {
    config
}

/// A server that negotiated permessage-deflate; returns whether it did.
#[cfg(feature = "deflate")]
fn server_with_deflate(config: Config) -> (Connection, bool) {
    let request = request_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    let mut server = Connection::server(config);
    assert_eq!(server.receive(&request), request.len());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    let _ = take_output(&mut server);
    let deflated = server.deflate().is_some();
    (server, deflated)
}
