//! One test per vulnerability class that has hit a WebSocket library, where no other test
//! already covers it by name. SECURITY.md maps every class to its test (here or elsewhere)
//! and to what a user must configure.
//!
//! Time bounds below are generous (debug builds, a shared machine): each guards against
//! quadratic behaviour, which would take minutes, not against a slow constant.

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
    let junk = ", ,".repeat(100_000 / 3);
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
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
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
        let _ = req.extensions().count();
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

/// A compressed message made of 200,000 empty deflate blocks (stored blocks of length 0, and
/// empty fixed-Huffman blocks) inflates to nothing in linear time, and takes no memory
/// beyond its own bytes.
#[cfg(feature = "deflate")]
#[test]
fn message_of_200000_empty_deflate_blocks_is_linear() {
    // An empty stored block, not final: BFINAL 0, BTYPE 00, aligned, LEN 0, NLEN 0xFFFF.
    // A message ends with the header byte of a sync flush whose `00 00 ff ff` the sender
    // removed (RFC 7692 §7.2.1); the receiver puts it back.
    let mut stored: Vec<u8> = [0u8, 0, 0, 0xff, 0xff].repeat(200_000);
    stored.push(0);
    // Empty fixed-Huffman blocks: 3 header bits (BFINAL 0, BTYPE 01) and the 7-bit
    // end-of-block code, 10 bits each; 4 blocks fill 5 bytes exactly, then a sync flush.
    let mut fixed = Vec::new();
    for _ in 0..50_000 {
        // Bits, least significant first: 0 10 0000000 (x4) = 40 bits.
        let mut bits: u64 = 0;
        for i in 0..4 {
            bits |= 0b010 << (10 * i);
        }
        fixed.extend_from_slice(&bits.to_le_bytes()[..5]);
    }
    fixed.push(0);
    for payload in [stored, fixed] {
        let config = deflate_config(Config::new());
        let (mut server, deflated) = server_with_deflate(config);
        assert!(deflated);
        let mut frame = vec![0xC2, 0x80 | 127];
        frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        let key = [1, 2, 3, 4];
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        let started = Instant::now();
        let events = feed(&mut server, &frame);
        let elapsed = started.elapsed();
        assert_eq!(events, vec![wsmachine::OwnedEvent::Binary(Vec::new())]);
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
        assert!(server.memory().message < 4096, "{:?}", server.memory());
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
