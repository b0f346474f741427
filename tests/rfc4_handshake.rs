//! RFC 6455 §4: the opening handshake, for both roles, driven through `Connection`; plus the
//! RFC 8441 (WebSocket over HTTP/2) helpers.
//!
//! Responses and requests written by the code under test are parsed with `httparse` and
//! checked field by field, never compared as whole byte strings.

mod common;
use common::*;

use std::time::{Duration, Instant};

use proptest::prelude::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::h2;
use wsmachine::{
    Accept, CloseCause, CloseCode, Closed, Config, Connection, Event, HandshakeError, OwnedEvent,
    OwnedRequest, OwnedResponse, Seed, SendError, State,
};

// ----- helpers ---------------------------------------------------------------------------

/// The §1.3 accept value for the §1.2 key `dGhlIHNhbXBsZSBub25jZQ==`.
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The header lines of the §1.2 request, in order.
const BASE: [&str; 5] = [
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// A head from a start line and header lines.
fn head(start: &str, lines: &[&str]) -> Vec<u8> {
    let mut out = format!("{start}\r\n");
    for line in lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The §1.2 request with the header `name` replaced by `line`, or removed when `None`.
fn replacing(name: &str, line: Option<&str>) -> Vec<u8> {
    let prefix = format!("{name}:");
    let lines: Vec<&str> = BASE
        .iter()
        .filter_map(|l| {
            if l.starts_with(&prefix) {
                line
            } else {
                Some(*l)
            }
        })
        .collect();
    head("GET /chat HTTP/1.1", &lines)
}

/// The §1.2 request with extra header lines after the standard ones.
fn adding(extra: &[&str]) -> Vec<u8> {
    let mut lines = BASE.to_vec();
    lines.extend_from_slice(extra);
    head("GET /chat HTTP/1.1", &lines)
}

/// An HTTP response written by a server, parsed.
#[derive(Debug)]
struct Http {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Http {
    /// Every value of the header `name` (case-insensitive), in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of the header `name`; panics if it is missing or repeated.
    fn one(&self, name: &str) -> &str {
        match self.all(name).as_slice() {
            [v] => v,
            other => panic!("expected one {name} header, got {other:?} in {self:?}"),
        }
    }
}

/// Parses a complete HTTP/1.1 response; everything after the head is the body.
fn parse_response(bytes: &[u8]) -> Http {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut storage);
    let len = match res.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!(
            "not a complete response ({other:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    };
    assert_eq!(res.version, Some(1), "HTTP/1.1");
    Http {
        status: res.code.unwrap(),
        reason: res.reason.unwrap().to_string(),
        headers: res
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect(),
        body: bytes[len..].to_vec(),
    }
}

/// A request head written by a client, parsed.
#[derive(Debug)]
struct ParsedRequest {
    method: String,
    path: String,
    version: u8,
    headers: Vec<(String, String)>,
}

impl ParsedRequest {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, name: &str) -> &str {
        match self.all(name).as_slice() {
            [v] => v,
            other => panic!("expected one {name} header, got {other:?} in {self:?}"),
        }
    }
}

/// Parses a complete request head, which must be all of `bytes`.
fn parse_request(bytes: &[u8]) -> ParsedRequest {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut storage);
    let len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!(
            "not a complete request ({other:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    };
    assert_eq!(len, bytes.len(), "nothing after the request head");
    ParsedRequest {
        method: req.method.unwrap().to_string(),
        path: req.path.unwrap().to_string(),
        version: req.version.unwrap(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect(),
    }
}

/// Decodes standard padded base64 (RFC 4648 §4), written here so the expectation does not
/// come from the crate's own dependency.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let s = s.as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for &c in chunk {
            n <<= 6;
            if c == b'=' {
                pad += 1;
            } else if pad > 0 {
                return None;
            } else {
                n |= ALPHABET.iter().position(|&a| a == c)? as u32;
            }
        }
        if pad > 2 {
            return None;
        }
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

/// The request the §1.2 bytes must produce.
fn rfc_request() -> OwnedRequest {
    OwnedRequest {
        method: "GET".into(),
        path: "/chat".into(),
        websocket: true,
        headers: BASE
            .iter()
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap();
                (n.to_string(), v.as_bytes().to_vec())
            })
            .collect(),
    }
}

/// Feeds `bytes` to a fresh server and expects exactly one `Request`.
fn server_with_request(config: Config, bytes: &[u8]) -> (Connection, OwnedRequest) {
    let mut server = Connection::server(config);
    let events = feed(&mut server, bytes);
    match events.as_slice() {
        [OwnedEvent::Request(r)] => {
            let r = r.clone();
            (server, r)
        }
        other => panic!("expected one Request, got {other:?}"),
    }
}

/// Feeds `bytes` to a fresh server, expects a request, accepts it and returns the response.
fn accepted_response(config: Config, bytes: &[u8]) -> Http {
    let (mut server, req) = server_with_request(config, bytes);
    assert!(req.websocket, "a WebSocket upgrade: {req:?}");
    server.accept(Accept::new()).unwrap();
    parse_response(&take_output(&mut server))
}

/// Feeds `bytes` to a fresh server that must refuse them: checks the driver contract around
/// the refusal and returns the queued response and the `Closed` event.
fn refusal(config: Config, bytes: &[u8]) -> (Http, Closed) {
    let mut server = Connection::server(config);
    let events = feed(&mut server, bytes);
    let closed = match events.as_slice() {
        [OwnedEvent::Closed(c)] => *c,
        other => panic!("expected only Closed, got {other:?}"),
    };
    assert!(server.wants_write(), "an error response is queued");
    assert!(
        !server.should_shutdown_write(),
        "no shutdown before the response is written"
    );
    let response = parse_response(&take_output(&mut server));
    assert!(
        server.should_shutdown_write(),
        "shutdown once the response is written"
    );
    assert_eq!(server.state(), State::Closed);
    assert!(server.poll_event().is_none(), "Closed is delivered once");
    (response, closed)
}

/// Asserts that the server refuses `bytes` with `status` for `error`.
fn assert_refused(bytes: &[u8], status: u16, error: HandshakeError) -> Http {
    let (response, closed) = refusal(Config::new(), bytes);
    assert_eq!(closed.cause, CloseCause::Handshake(error), "cause");
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert_eq!(response.status, status, "status for {error:?}");
    assert_eq!(response.one("Connection"), "close");
    response
}

/// Feeds `chunks` to a fresh server in order, accepting the request as soon as it arrives.
/// Returns every event and all output.
fn serve_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<OwnedEvent>, Vec<u8>) {
    let mut server = Connection::server(Config::new());
    let mut events = Vec::new();
    for chunk in chunks {
        let new = feed(&mut server, chunk);
        let request = new.iter().any(|e| matches!(e, OwnedEvent::Request(_)));
        events.extend(new);
        if request {
            server.accept(Accept::new()).unwrap();
            events.extend(drain(&mut server));
        }
    }
    (events, take_output(&mut server))
}

/// Splits `bytes` into chunks of the given sizes (cycled), the last one taking the rest.
fn chunked<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = bytes;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (a, b) = rest.split_at(size.clamp(1, rest.len()));
        chunks.push(a);
        rest = b;
    }
    chunks
}

/// A client for `request` and the request head it queued.
fn client_for(request: &ClientRequest<'_>) -> (Connection, Vec<u8>) {
    let mut client = Connection::client(Config::new(), request, SEED).unwrap();
    let head = take_output(&mut client);
    (client, head)
}

/// The client of the plain `ws://server.example.com/chat` request and its head.
fn plain_client() -> (Connection, Vec<u8>) {
    client_for(&ClientRequest::new("server.example.com", "/chat"))
}

/// The correct `Sec-WebSocket-Accept` for a client's request head.
fn accept_for(request_head: &[u8]) -> String {
    wsmachine::handshake::accept_key(request_key(request_head).as_bytes()).to_string()
}

/// A `101` for the client's head with the given status line and header lines; `{accept}` in a
/// line is replaced by the correct accept value.
fn response_to(request_head: &[u8], start: &str, lines: &[&str]) -> Vec<u8> {
    let accept = accept_for(request_head);
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.replace("{accept}", &accept))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    head(start, &lines)
}

/// Feeds a response to a client that must fail, and returns the handshake error.
fn client_failure(client: &mut Connection, response: &[u8]) -> HandshakeError {
    let events = feed(client, response);
    let closed = match events.as_slice() {
        [OwnedEvent::Closed(c)] => *c,
        other => panic!("expected only Closed, got {other:?}"),
    };
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(client.output().is_empty(), "a failed client writes nothing");
    assert!(client.should_shutdown_write());
    match closed.cause {
        CloseCause::Handshake(e) => e,
        other => panic!("expected a handshake failure, got {other:?}"),
    }
}

/// The standard valid `101` header lines (with the `{accept}` placeholder).
const OK_101: [&str; 3] = [
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: {accept}",
];

// ----- server: the valid request ---------------------------------------------------------

/// §1.2, §4.2.1: the example request of §1.2 is a valid WebSocket upgrade, reported as such.
#[test]
fn server_delivers_rfc_example_request() {
    let (_, req) = server_with_request(Config::new(), REQUEST);
    assert_eq!(req, rfc_request());
}

/// §1.2: the borrowed `Request` exposes method, path, version and host of the example.
#[test]
fn server_request_accessors_report_rfc_example() {
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(REQUEST), REQUEST.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    assert_eq!(req.method(), "GET");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.minor_version(), 1);
    assert_eq!(req.host(), Some("server.example.com"));
    assert_eq!(
        req.header("sec-websocket-key"),
        Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..])
    );
    assert!(req.is_websocket());
    assert_eq!(req.origin(), None);
}

/// §1.3, §4.2.2 (5.4): the 101 carries the accept value of the §1.3 example.
#[test]
fn server_101_has_rfc_accept_value() {
    let res = accepted_response(Config::new(), REQUEST);
    assert_eq!(res.one("Sec-WebSocket-Accept"), RFC_ACCEPT);
}

/// §4.2.2 (5.1): the server's answer is a `101` status line.
#[test]
fn server_101_status_line() {
    let res = accepted_response(Config::new(), REQUEST);
    assert_eq!(res.status, 101);
    assert_eq!(res.reason, "Switching Protocols");
    assert!(res.body.is_empty(), "nothing follows the head");
}

/// §4.2.2 (5.2, 5.3): the 101 has `Upgrade: websocket` and `Connection: Upgrade`.
#[test]
fn server_101_has_upgrade_and_connection() {
    let res = accepted_response(Config::new(), REQUEST);
    assert!(res.one("Upgrade").eq_ignore_ascii_case("websocket"));
    assert!(res.one("Connection").eq_ignore_ascii_case("upgrade"));
}

/// §4.2.2 /subprotocol/: without a chosen subprotocol no `Sec-WebSocket-Protocol` is sent.
#[test]
fn server_101_without_subprotocol_omits_protocol_header() {
    let res = accepted_response(Config::new(), &adding(&["Sec-WebSocket-Protocol: chat"]));
    assert!(res.all("Sec-WebSocket-Protocol").is_empty(), "{res:?}");
}

/// §4.2.2: once the 101 is queued the connection is OPEN.
#[test]
fn server_is_open_after_accept() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    assert_eq!(server.state(), State::Connecting);
    server.accept(Accept::new()).unwrap();
    assert_eq!(server.state(), State::Open);
    assert!(!server.should_shutdown_write());
}

/// §4.2.2 step 2-3: extra headers (cookies, auth) given to `accept` are sent in the 101.
#[test]
fn server_101_carries_extra_headers() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    server
        .accept(Accept::new().with_headers(&[("Set-Cookie", "id=1"), ("X-Server", "demo")]))
        .unwrap();
    let res = parse_response(&take_output(&mut server));
    assert_eq!(res.one("Set-Cookie"), "id=1");
    assert_eq!(res.one("X-Server"), "demo");
}

/// §4.2.2: an extra header with CR/LF cannot be sent; nothing is written and the request
/// still waits for an answer.
#[test]
fn server_accept_refuses_header_injection() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    let err = server.accept(Accept::new().with_headers(&[("X", "a\r\nSet-Cookie: evil")]));
    assert_eq!(err, Err(SendError::InvalidHeader));
    assert!(server.output().is_empty());
    server.accept(Accept::new()).unwrap();
    assert_eq!(parse_response(&take_output(&mut server)).status, 101);
}

/// §4.2.2: a request can be answered only once.
#[test]
fn server_accept_twice_is_refused() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    server.accept(Accept::new()).unwrap();
    assert_eq!(
        server.accept(Accept::new()),
        Err(SendError::NoPendingRequest)
    );
}

/// §4.2.2: nothing can be accepted before a request arrived.
#[test]
fn server_accept_without_request_is_refused() {
    let mut server = Connection::server(Config::new());
    assert_eq!(
        server.accept(Accept::new()),
        Err(SendError::NoPendingRequest)
    );
    let partial = &REQUEST[..20];
    assert!(feed(&mut server, partial).is_empty());
    assert_eq!(
        server.accept(Accept::new()),
        Err(SendError::NoPendingRequest)
    );
    assert!(server.output().is_empty());
}

/// §4.2.1 (1): the Request-URI may be an absolute http URI; it is reported as sent.
#[test]
fn server_accepts_absolute_request_uri() {
    let bytes = head("GET http://server.example.com/chat HTTP/1.1", &BASE);
    let (_, req) = server_with_request(Config::new(), &bytes);
    assert!(req.websocket);
    assert_eq!(req.path, "http://server.example.com/chat");
}

/// §4.2.1: the order of header fields is not important.
#[test]
fn server_accepts_headers_in_any_order() {
    let mut lines = BASE.to_vec();
    lines.reverse();
    let res = accepted_response(Config::new(), &head("GET /chat HTTP/1.1", &lines));
    assert_eq!(res.one("Sec-WebSocket-Accept"), RFC_ACCEPT);
}

/// §4.2.1 (3): `Upgrade` is compared case-insensitively (`WebSocket`).
#[test]
fn server_accepts_mixed_case_upgrade_value() {
    let bytes = replacing("Upgrade", Some("Upgrade: WebSocket"));
    assert_eq!(accepted_response(Config::new(), &bytes).status, 101);
}

/// §4.2.1 (4): `Connection` may list other tokens besides `Upgrade`.
#[test]
fn server_accepts_connection_keep_alive_upgrade() {
    let bytes = replacing("Connection", Some("Connection: keep-alive, Upgrade"));
    assert_eq!(accepted_response(Config::new(), &bytes).status, 101);
}

/// §4.2.1 (4): the `Upgrade` token is compared case-insensitively (`UPGRADE`).
#[test]
fn server_accepts_uppercase_connection_token() {
    let bytes = replacing("Connection", Some("Connection: keep-alive, UPGRADE"));
    assert_eq!(accepted_response(Config::new(), &bytes).status, 101);
}

/// §4.2.1 (4), RFC 7230 §3.2.2: the `Upgrade` token may be in a second `Connection` line.
#[test]
fn server_accepts_connection_token_on_second_line() {
    let mut lines = BASE.to_vec();
    lines[2] = "Connection: keep-alive";
    lines.push("Connection: Upgrade");
    let res = accepted_response(Config::new(), &head("GET /chat HTTP/1.1", &lines));
    assert_eq!(res.status, 101);
}

/// §4.2.1: header names are case-insensitive.
#[test]
fn server_accepts_lowercase_header_names() {
    let lines: Vec<String> = BASE
        .iter()
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            format!("{}: {v}", n.to_ascii_lowercase())
        })
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let res = accepted_response(Config::new(), &head("GET /chat HTTP/1.1", &lines));
    assert_eq!(res.one("Sec-WebSocket-Accept"), RFC_ACCEPT);
}

// ----- server: refusals ------------------------------------------------------------------

/// §4.2.1 (1): an upgrade request MUST be a GET; a POST is refused with 400.
#[test]
fn server_refuses_non_get_upgrade_with_400() {
    let bytes = head("POST /chat HTTP/1.1", &BASE);
    assert_refused(&bytes, 400, HandshakeError::MethodNotGet);
}

/// §4.2.1 (1): an upgrade request MUST be HTTP/1.1 or higher; HTTP/1.0 is refused with 400.
#[test]
fn server_refuses_http_1_0_with_400() {
    let bytes = head("GET /chat HTTP/1.0", &BASE);
    assert_refused(&bytes, 400, HandshakeError::HttpVersion);
}

/// §4.2.1 (2): the request MUST contain a |Host| header field.
#[test]
fn server_refuses_missing_host_with_400() {
    assert_refused(&replacing("Host", None), 400, HandshakeError::MissingHost);
}

/// §4.2.1 (4): a |Connection| header without the `Upgrade` token is refused with 400.
#[test]
fn server_refuses_connection_without_upgrade_token_with_400() {
    let bytes = replacing("Connection", Some("Connection: keep-alive"));
    assert_refused(&bytes, 400, HandshakeError::MissingConnectionUpgrade);
}

/// §4.2.1 (4): a request with no |Connection| header at all is refused with 400.
#[test]
fn server_refuses_missing_connection_header_with_400() {
    let bytes = replacing("Connection", None);
    assert_refused(&bytes, 400, HandshakeError::MissingConnectionUpgrade);
}

/// §4.2.1 (5): a request without |Sec-WebSocket-Key| is refused with 400.
#[test]
fn server_refuses_missing_key_with_400() {
    let bytes = replacing("Sec-WebSocket-Key", None);
    assert_refused(&bytes, 400, HandshakeError::MissingKey);
}

/// §4.2.1 (5): a key that decodes to 15 bytes is refused with 400.
#[test]
fn server_refuses_15_byte_key_with_400() {
    let bytes = replacing(
        "Sec-WebSocket-Key",
        Some("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j"),
    );
    assert_eq!(base64_decode("dGhlIHNhbXBsZSBub25j").unwrap().len(), 15);
    assert_refused(&bytes, 400, HandshakeError::InvalidKey);
}

/// §4.2.1 (5): a key that decodes to 17 bytes is refused with 400.
#[test]
fn server_refuses_17_byte_key_with_400() {
    let bytes = replacing(
        "Sec-WebSocket-Key",
        Some("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE="),
    );
    assert_eq!(base64_decode("dGhlIHNhbXBsZSBub25jZSE=").unwrap().len(), 17);
    assert_refused(&bytes, 400, HandshakeError::InvalidKey);
}

/// §4.2.1 (5): a key that is not base64 is refused with 400.
#[test]
fn server_refuses_non_base64_key_with_400() {
    let bytes = replacing(
        "Sec-WebSocket-Key",
        Some("Sec-WebSocket-Key: @@@@@@@@@@@@@@@@@@@@@@=="),
    );
    assert_refused(&bytes, 400, HandshakeError::InvalidKey);
}

/// §4.2.1 (5): two |Sec-WebSocket-Key| headers are refused with 400.
#[test]
fn server_refuses_two_key_headers_with_400() {
    let bytes = adding(&["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="]);
    assert_refused(&bytes, 400, HandshakeError::MissingKey);
}

/// §4.2.2 /version/, §4.4: version 8 is refused with 426 and `Sec-WebSocket-Version: 13`.
#[test]
fn server_refuses_version_8_with_426_advertising_13() {
    let bytes = replacing("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 8"));
    let res = assert_refused(&bytes, 426, HandshakeError::UnsupportedVersion);
    assert_eq!(res.one("Sec-WebSocket-Version"), "13");
}

/// §4.2.1 (6), §4.4: a request without |Sec-WebSocket-Version| is refused with 426 and
/// `Sec-WebSocket-Version: 13`.
#[test]
fn server_refuses_missing_version_with_426_advertising_13() {
    let bytes = replacing("Sec-WebSocket-Version", None);
    let res = assert_refused(&bytes, 426, HandshakeError::UnsupportedVersion);
    assert_eq!(res.one("Sec-WebSocket-Version"), "13");
}

/// §4.2.1: bytes that are not an HTTP request are refused with 400, without a panic.
#[test]
fn server_refuses_malformed_http_with_400() {
    assert_refused(
        b"\x00\x01 not http\r\n\r\n",
        400,
        HandshakeError::MalformedHttp,
    );
}

/// §4.2.1: the refusal body says why, and its length is declared.
#[test]
fn server_refusal_has_content_length_matching_body() {
    let res = assert_refused(&replacing("Host", None), 400, HandshakeError::MissingHost);
    assert_eq!(res.one("Content-Length"), res.body.len().to_string());
    assert_eq!(res.body, HandshakeError::MissingHost.reason().as_bytes());
}

/// §4.2.1: after a refusal, further input (here frames) is discarded, not decoded.
#[test]
fn server_discards_input_after_refusal() {
    let mut bytes = replacing("Host", None);
    bytes.extend(cframe(true, TEXT, b"ignored"));
    let (_, closed) = refusal(Config::new(), &bytes);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::MissingHost)
    );
}

// ----- server: legacy versions -----------------------------------------------------------

/// §4.4: with legacy versions enabled, a version 8 request is accepted with a 101.
#[test]
fn server_legacy_config_accepts_version_8() {
    let bytes = replacing("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 8"));
    let res = accepted_response(Config::new().with_accept_legacy_versions(true), &bytes);
    assert_eq!(res.status, 101);
    assert_eq!(res.one("Sec-WebSocket-Accept"), RFC_ACCEPT);
}

/// §4.4, §10.2: a version 8 client's `Sec-WebSocket-Origin` is reported as the origin.
#[test]
fn server_legacy_request_reports_sec_websocket_origin() {
    let mut lines = BASE.to_vec();
    lines[4] = "Sec-WebSocket-Version: 8";
    lines.push("Sec-WebSocket-Origin: http://example.com");
    let bytes = head("GET /chat HTTP/1.1", &lines);
    let mut server = Connection::server(Config::new().with_accept_legacy_versions(true));
    assert_eq!(server.receive(&bytes), bytes.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    assert!(req.is_websocket());
    assert_eq!(req.origin(), Some("http://example.com"));
}

/// §4.4: with legacy versions enabled, version 13 is still accepted.
#[test]
fn server_legacy_config_still_accepts_version_13() {
    let res = accepted_response(Config::new().with_accept_legacy_versions(true), REQUEST);
    assert_eq!(res.status, 101);
}

/// §4.4: a refused version gets a |Sec-WebSocket-Version| listing ALL versions the server is
/// willing to use: 13 and 8 when legacy versions are enabled.
#[test]
fn server_legacy_426_advertises_both_versions() {
    let bytes = replacing("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 7"));
    let (res, closed) = refusal(Config::new().with_accept_legacy_versions(true), &bytes);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::UnsupportedVersion)
    );
    assert_eq!(res.status, 426);
    let mut advertised: Vec<String> = res
        .all("Sec-WebSocket-Version")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .collect();
    advertised.sort();
    assert_eq!(advertised, ["13", "8"], "{res:?}");
}

/// §10.2: `Origin` is reported by `origin()` for version 13 clients.
#[test]
fn server_reports_origin_header() {
    let bytes = adding(&["Origin: http://example.com"]);
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(&bytes), bytes.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    assert_eq!(req.origin(), Some("http://example.com"));
}

// ----- server: limits --------------------------------------------------------------------

/// The §1.2 request padded with an `X-Pad` header to exactly `total` bytes.
fn padded_request(total: usize) -> Vec<u8> {
    let prefix = &REQUEST[..REQUEST.len() - 2];
    let fixed = prefix.len() + "X-Pad: ".len() + 2 + 2;
    let mut out = prefix.to_vec();
    out.extend_from_slice(b"X-Pad: ");
    out.extend(std::iter::repeat_n(b'a', total - fixed));
    out.extend_from_slice(b"\r\n\r\n");
    assert_eq!(out.len(), total);
    out
}

/// The §1.2 request with `fillers` extra header lines placed before the standard ones.
fn request_with_fillers_first(fillers: usize) -> Vec<u8> {
    let filler: Vec<String> = (0..fillers).map(|i| format!("X-Filler-{i}: {i}")).collect();
    let mut lines: Vec<&str> = filler.iter().map(String::as_str).collect();
    lines.extend_from_slice(&BASE);
    head("GET /chat HTTP/1.1", &lines)
}

/// §4.2.1, Config: a head of exactly `max_handshake_bytes` (16 KiB) is accepted.
#[test]
fn server_accepts_head_of_exactly_max_handshake_bytes() {
    let bytes = padded_request(16 * 1024);
    assert_eq!(accepted_response(Config::new(), &bytes).status, 101);
}

/// §4.2.1, Config: a head one byte over `max_handshake_bytes` is refused with 431.
#[test]
fn server_refuses_head_over_max_handshake_bytes_with_431() {
    let bytes = padded_request(16 * 1024 + 1);
    assert_refused(&bytes, 431, HandshakeError::HeadTooLarge);
}

/// §4.2.1, Config: a head that never ends is refused with 431 once past the limit.
#[test]
fn server_refuses_unterminated_head_over_limit_with_431() {
    let mut bytes = b"GET /chat HTTP/1.1\r\nX-Long: ".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 20 * 1024));
    assert_refused(&bytes, 431, HandshakeError::HeadTooLarge);
}

/// §4.2.1, Config: a custom smaller `max_handshake_bytes` is honoured.
#[test]
fn server_honours_custom_max_handshake_bytes() {
    let (res, closed) = refusal(Config::new().with_max_handshake_bytes(100), REQUEST);
    assert!(REQUEST.len() > 100);
    assert_eq!(res.status, 431);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::HeadTooLarge)
    );
}

/// §4.2.1, Config: exactly `max_headers` (64) header lines are accepted.
#[test]
fn server_accepts_exactly_max_headers() {
    let bytes = request_with_fillers_first(64 - BASE.len());
    assert_eq!(accepted_response(Config::new(), &bytes).status, 101);
}

/// §4.2.1, Config: one header line over `max_headers` (64) is refused with 431.
#[test]
fn server_refuses_one_header_over_max_headers_with_431() {
    let bytes = request_with_fillers_first(65 - BASE.len());
    assert_refused(&bytes, 431, HandshakeError::TooManyHeaders);
}

/// §4.2.1, Config: too many headers is 431 even when the required headers come after the
/// limit (the refusal is not a 400 for "missing" headers).
#[test]
fn server_refuses_too_many_headers_before_required_ones_with_431() {
    let bytes = request_with_fillers_first(100);
    assert_refused(&bytes, 431, HandshakeError::TooManyHeaders);
}

/// §4.2.1, Config: thousands of tiny header lines within the byte limit give 431, no panic.
#[test]
fn server_refuses_thousands_of_tiny_headers_with_431() {
    let mut bytes = b"GET /chat HTTP/1.1\r\n".to_vec();
    for _ in 0..3000 {
        bytes.extend_from_slice(b"a:b\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    assert!(bytes.len() < 16 * 1024);
    assert_refused(&bytes, 431, HandshakeError::TooManyHeaders);
}

/// §4.2.1, Config: a custom `max_headers` is honoured.
#[test]
fn server_honours_custom_max_headers() {
    let (res, closed) = refusal(Config::new().with_max_headers(4), REQUEST);
    assert_eq!(res.status, 431);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::TooManyHeaders)
    );
}

/// §4.2.1, Config: heads fed one byte per `receive` are scanned in linear time (only new
/// bytes are looked at for the end of the head; a parser that restarts from the first byte
/// would scan half a terabyte for a 1 MiB head): with the largest head limit there is
/// (1 MiB), a 160 KB head takes at most 30 times as long as a 16 KB one (a rescan makes it
/// a hundred times, and a minute). A head over the
/// limit is refused with 431, fed byte by byte too, and every byte after the refusal is
/// taken and discarded.
#[test]
fn server_refuses_1_mib_header_fed_bytewise_in_linear_time() {
    let config = Config::new().with_max_handshake_bytes(1 << 20);
    // The upgrade request with a header line of `pad` bytes more.
    let head = |pad: usize| {
        let mut bytes = REQUEST[..REQUEST.len() - 2].to_vec();
        bytes.extend_from_slice(b"X-Big: ");
        bytes.extend(std::iter::repeat_n(b'a', pad));
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes
    };
    let feed_bytewise = |bytes: &[u8]| {
        let mut server = Connection::server(config);
        let mut events = Vec::new();
        let started = Instant::now();
        for b in bytes {
            assert_eq!(
                server.receive(std::slice::from_ref(b)),
                1,
                "every byte is taken"
            );
            events.extend(drain(&mut server));
        }
        (server, events, started.elapsed())
    };
    let _warm = feed_bytewise(&head(16_000));
    let (_, small_events, small) = feed_bytewise(&head(16_000));
    let (_, large_events, large) = feed_bytewise(&head(160_000));
    for events in [&small_events, &large_events] {
        assert!(
            matches!(events.as_slice(), [OwnedEvent::Request(r)] if r.websocket),
            "{:?}",
            events.first()
        );
    }
    let ratio = large.as_secs_f64() / small.max(Duration::from_millis(5)).as_secs_f64();
    assert!(
        ratio < 30.0,
        "16 KB in {small:?}, 160 KB in {large:?}: {ratio:.1}x for 10x the bytes"
    );
    // Over the limit: refused.
    let (mut server, events, _) = feed_bytewise(&head(1 << 20));
    let closed = closed(&events);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::HeadTooLarge)
    );
    assert_eq!(parse_response(&take_output(&mut server)).status, 431);
    assert!(server.should_shutdown_write());
}

// ----- server: plain HTTP requests -------------------------------------------------------

/// A plain `GET /index.html` request.
const PLAIN: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: server.example.com\r\nAccept: text/html\r\n\r\n";

/// §4.2.1 (3): a request without `Upgrade: websocket` is delivered as a plain request.
#[test]
fn server_delivers_plain_request_as_not_websocket() {
    let (_, req) = server_with_request(Config::new(), PLAIN);
    assert!(!req.websocket);
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/index.html")
    );
}

/// §4.2.2: a plain request cannot be upgraded; nothing is written.
#[test]
fn server_accept_on_plain_request_is_refused() {
    let (mut server, _) = server_with_request(Config::new(), PLAIN);
    assert_eq!(
        server.accept(Accept::new()),
        Err(SendError::NotWebSocketRequest)
    );
    assert!(server.output().is_empty());
}

/// §4.2.2 / RFC 7230: `respond` writes a complete response with `Content-Length` and
/// `Connection: close`.
#[test]
fn server_respond_writes_full_http_response() {
    let (mut server, _) = server_with_request(Config::new(), PLAIN);
    server
        .respond(200, &[("Content-Type", "text/html")], b"<html>")
        .unwrap();
    let res = parse_response(&take_output(&mut server));
    assert_eq!(res.status, 200);
    assert_eq!(res.one("Content-Type"), "text/html");
    assert_eq!(res.one("Content-Length"), "6");
    assert_eq!(res.one("Connection"), "close");
    assert_eq!(res.body, b"<html>");
}

/// §4.2.2: after `respond` the connection ends with `Closed { cause: Responded }` and the
/// write side is shut once the response is written.
#[test]
fn server_respond_then_closed_responded() {
    let (mut server, _) = server_with_request(Config::new(), PLAIN);
    server
        .respond(200, &[("Content-Type", "text/html")], b"<html>")
        .unwrap();
    let events = drain(&mut server);
    assert_eq!(closed(&events).cause, CloseCause::Responded);
    assert_eq!(events.len(), 1);
    assert!(!server.should_shutdown_write());
    take_output(&mut server);
    assert!(server.should_shutdown_write());
}

/// §4.2.2 step 4 /origin/: a WebSocket request can be refused with 403 through `respond`.
#[test]
fn server_respond_403_refuses_upgrade() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    server.respond(403, &[], b"").unwrap();
    let res = parse_response(&take_output(&mut server));
    assert_eq!(res.status, 403);
    assert!(res.all("Sec-WebSocket-Accept").is_empty());
    assert_eq!(closed(&drain(&mut server)).cause, CloseCause::Responded);
}

/// §4.2.2: 101 is reserved for `accept`; `respond(101)` is refused and nothing is written.
#[test]
fn server_respond_with_101_is_refused() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    assert_eq!(
        server.respond(101, &[], b""),
        Err(SendError::InvalidStatus(101))
    );
    assert!(server.output().is_empty());
}

// ----- server: subprotocols and extensions -----------------------------------------------

/// §4.2.2 /subprotocol/: a subprotocol the client did not offer cannot be chosen; nothing is
/// written.
#[test]
fn server_accept_with_unoffered_subprotocol_fails() {
    let (mut server, _) = server_with_request(
        Config::new(),
        &adding(&["Sec-WebSocket-Protocol: chat, superchat"]),
    );
    let err = server.accept(Accept::new().with_subprotocol("v9"));
    assert_eq!(err, Err(SendError::SubprotocolNotOffered));
    assert!(server.output().is_empty());
    assert_eq!(server.state(), State::Connecting);
    assert_eq!(server.subprotocol(), None);
}

/// §4.2.2 /subprotocol/: with no `Sec-WebSocket-Protocol` offered, any choice fails.
#[test]
fn server_accept_with_subprotocol_when_none_offered_fails() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    let err = server.accept(Accept::new().with_subprotocol("chat"));
    assert_eq!(err, Err(SendError::SubprotocolNotOffered));
    assert!(server.output().is_empty());
}

/// §4.2.2 (5.5): an offered subprotocol is sent in the 101 and recorded on the connection.
#[test]
fn server_accept_with_offered_subprotocol() {
    let (mut server, _) = server_with_request(
        Config::new(),
        &adding(&["Sec-WebSocket-Protocol: chat, superchat"]),
    );
    server
        .accept(Accept::new().with_subprotocol("superchat"))
        .unwrap();
    let res = parse_response(&take_output(&mut server));
    assert_eq!(res.one("Sec-WebSocket-Protocol"), "superchat");
    assert_eq!(server.subprotocol(), Some("superchat"));
}

/// §4.2.1 (8): offers from several `Sec-WebSocket-Protocol` lines are listed in order.
#[test]
fn server_request_lists_subprotocols_across_lines_in_order() {
    let bytes = adding(&[
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Protocol: v3",
    ]);
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(&bytes), bytes.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    let offered: Vec<&str> = req.subprotocols().collect();
    assert_eq!(offered, ["chat", "superchat", "v3"]);
}

/// §4.2.2 /subprotocol/: an offer from a second `Sec-WebSocket-Protocol` line can be chosen.
#[test]
fn server_accept_subprotocol_from_second_line() {
    let bytes = adding(&["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: v3"]);
    let (mut server, _) = server_with_request(Config::new(), &bytes);
    server.accept(Accept::new().with_subprotocol("v3")).unwrap();
    assert_eq!(server.subprotocol(), Some("v3"));
}

/// §4.2.1 (9), §9.1: `Sec-WebSocket-Extensions` offers are parsed with their parameters.
#[test]
fn server_request_parses_extension_offers() {
    let bytes = adding(&[
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a=\"b\"",
    ]);
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(&bytes), bytes.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    let exts: Vec<_> = req.extensions().collect::<Result<_, _>>().unwrap();
    assert_eq!(exts.len(), 2);
    assert_eq!(exts[0].name(), "permessage-deflate");
    let p0: Vec<_> = exts[0].params().collect();
    assert_eq!(p0.len(), 1);
    assert_eq!(
        (p0[0].name, p0[0].value.as_deref()),
        ("client_max_window_bits", None)
    );
    assert_eq!(exts[1].name(), "x-foo");
    let p1: Vec<_> = exts[1].params().collect();
    assert_eq!(p1.len(), 1);
    assert_eq!((p1[0].name, p1[0].value.as_deref()), ("a", Some("b")));
}

/// §9.1: extension offers on several header lines are listed in order.
#[test]
fn server_request_lists_extensions_across_lines() {
    let bytes = adding(&[
        "Sec-WebSocket-Extensions: x-one",
        "Sec-WebSocket-Extensions: x-two; p=1",
    ]);
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(&bytes), bytes.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    let names: Vec<&str> = req.extensions().map(|e| e.unwrap().name()).collect();
    assert_eq!(names, ["x-one", "x-two"]);
}

// ----- server: chunking and pipelining ---------------------------------------------------

/// §4.2.2: "the server may begin sending (and receiving) data": a client frame sent in the
/// same bytes as the request is delivered after `accept`.
#[test]
fn server_delivers_frame_pipelined_with_request() {
    let mut bytes = REQUEST.to_vec();
    bytes.extend(cframe(true, TEXT, b"hello"));
    let (events, _) = serve_chunks([&bytes[..]]);
    assert_eq!(
        events,
        [
            OwnedEvent::Request(rfc_request()),
            OwnedEvent::Text("hello".into())
        ]
    );
}

/// §4.2.2: a pipelined client frame is not lost wherever the input is split.
#[test]
fn server_delivers_pipelined_frame_for_every_split() {
    let mut bytes = REQUEST.to_vec();
    bytes.extend(cframe(true, TEXT, b"hello"));
    for split in 0..=bytes.len() {
        let (events, out) = serve_chunks([&bytes[..split], &bytes[split..]]);
        assert_eq!(
            events,
            [
                OwnedEvent::Request(rfc_request()),
                OwnedEvent::Text("hello".into())
            ],
            "split {split}"
        );
        assert_eq!(parse_response(&out).one("Sec-WebSocket-Accept"), RFC_ACCEPT);
    }
}

/// §4.2.1: the request split at every byte position gives the same request and 101.
#[test]
fn server_request_split_anywhere_gives_same_result() {
    let (whole_events, whole_out) = serve_chunks([REQUEST]);
    assert_eq!(whole_events, [OwnedEvent::Request(rfc_request())]);
    for split in 0..=REQUEST.len() {
        let (events, out) = serve_chunks([&REQUEST[..split], &REQUEST[split..]]);
        assert_eq!(events, whole_events, "split {split}");
        assert_eq!(out, whole_out, "split {split}");
    }
}

/// §4.2.1: the request fed one byte per call gives the same request and 101.
#[test]
fn server_request_fed_bytewise_gives_same_result() {
    let (whole_events, whole_out) = serve_chunks([REQUEST]);
    let (events, out) = serve_chunks(REQUEST.chunks(1));
    assert_eq!(events, whole_events);
    assert_eq!(out, whole_out);
}

proptest! {
    /// §4.2.1, §4.2.2: any chunking of request plus pipelined frame gives the same request,
    /// the same 101 and the frame.
    #[test]
    fn server_request_random_chunking(sizes in proptest::collection::vec(1usize..48, 1..24)) {
        let mut bytes = REQUEST.to_vec();
        bytes.extend(cframe(true, TEXT, b"hello"));
        let (_, whole_out) = serve_chunks([REQUEST]);
        let (events, out) = serve_chunks(chunked(&bytes, &sizes));
        prop_assert_eq!(
            events,
            vec![OwnedEvent::Request(rfc_request()), OwnedEvent::Text("hello".into())]
        );
        prop_assert_eq!(out, whole_out);
    }
}

// ----- server: end of stream -------------------------------------------------------------

/// §4.2.1: the transport ending mid-head ends the connection with `Incomplete`.
#[test]
fn server_eof_mid_head_is_incomplete() {
    let mut server = Connection::server(Config::new());
    assert!(feed(&mut server, &REQUEST[..30]).is_empty());
    server.receive_eof();
    let events = drain(&mut server);
    let closed = closed(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::Incomplete)
    );
    assert_eq!(closed.code, CloseCode::ABNORMAL);
}

/// §4.2.1: a bare connect-and-close (no bytes at all) ends with `Incomplete`, no panic.
#[test]
fn server_eof_without_bytes_is_incomplete() {
    let mut server = Connection::server(Config::new());
    server.receive_eof();
    let events = drain(&mut server);
    assert_eq!(
        closed(&events).cause,
        CloseCause::Handshake(HandshakeError::Incomplete)
    );
    assert_eq!(events.len(), 1);
}

/// End of stream while the server's request waits for its answer ends the connection on
/// the next poll: nobody is left to read a `101`, and a driver waiting for the application
/// would otherwise wait forever (a spinning loop once EOF was seen).
#[test]
fn server_eof_while_awaiting_answer_reports_closed_on_the_next_poll() {
    let (mut server, _) = server_with_request(Config::new(), REQUEST);
    server.receive_eof();
    let events = drain(&mut server);
    assert_eq!(events.len(), 1, "{events:?}");
    let closed = closed(&events);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::Incomplete)
    );
    assert_eq!(server.accept(Accept::new()), Err(SendError::Closed));
    assert_eq!(server.respond(403, &[], b"no"), Err(SendError::Closed));
    assert!(server.output().is_empty());
}

/// A request whose `Sec-WebSocket-Protocol` offers a value that is not an HTTP token (here
/// `x-é`, bytes `78 2d c3 a9`) never hands that value to the application: a `101` could not
/// carry it (§4.1 requires the chosen value to be one of the offered tokens, RFC 9110 §5.6.2).
#[test]
fn subprotocols_yield_only_tokens() {
    let request = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: x-\xc3\xa9, chat, a b, \"q\", v1.json\r\n\r\n";
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(request), request.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    assert!(req.is_websocket());
    let offered: Vec<&str> = req.subprotocols().collect();
    assert_eq!(offered, ["chat", "v1.json"]);
}

/// The chain that pinned a CPU: a request offering only `x-é`, an application that picks
/// "the first offered subprotocol", the client gone. The application has no non-token value
/// to pick; a failed `accept` leaves the request answerable; and the end of stream ends the
/// connection.
#[test]
fn non_token_subprotocol_then_eof_reaches_closed() {
    let request = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: x-\xc3\xa9\r\n\r\n";
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(request), request.len());
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("expected a request")
    };
    assert_eq!(req.subprotocols().next(), None);
    // An application that insists on the raw value gets an error and may still answer.
    assert_eq!(
        server.accept(Accept::new().with_subprotocol("x-é")),
        Err(SendError::SubprotocolNotOffered)
    );
    assert!(server.output().is_empty());
    assert_eq!(server.state(), State::Connecting);
    server.receive_eof();
    let events = drain(&mut server);
    assert_eq!(closed(&events).code, CloseCode::ABNORMAL);
    assert!(server.is_closed());
    assert!(server.poll_event().is_none());
}

/// §4.2.1, §4.2.2: a request that carries `Sec-WebSocket-Key` or `Sec-WebSocket-Version`
/// but no `Upgrade: websocket` is a broken upgrade: 400, not a plain request the application
/// would answer with a page (a broken WebSocket client must not see `200`). A request with
/// none of the WebSocket headers stays a plain request.
#[test]
fn websocket_headers_without_upgrade_get_400() {
    let broken = [
        &b"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"[..],
        b"GET /chat HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 13\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    ];
    for request in broken {
        let (response, closed) = refusal(Config::new(), request);
        assert_eq!(
            response.status,
            400,
            "{:?}",
            String::from_utf8_lossy(request)
        );
        assert_eq!(
            closed.cause,
            CloseCause::Handshake(HandshakeError::MissingUpgrade)
        );
    }
    let (_, plain) = server_with_request(
        Config::new(),
        b"GET /index.html HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
    );
    assert!(!plain.websocket);
}

/// RFC 9110 §8.6, §15.3.5, §15.4.5: 204 and 304 carry no content: `respond` adds no
/// `Content-Length` to them and refuses a body.
#[test]
fn respond_204_and_304_have_no_content_length() {
    for status in [204u16, 304] {
        let plain = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let (mut server, _) = server_with_request(Config::new(), plain);
        assert_eq!(
            server.respond(status, &[], b"body"),
            Err(SendError::BodyNotAllowed(status))
        );
        server.respond(status, &[("ETag", "\"x\"")], b"").unwrap();
        let response = parse_response(&take_output(&mut server));
        assert_eq!(response.status, status);
        assert!(
            !response
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length")),
            "{response:?}"
        );
    }
    // Other statuses keep their length.
    let (mut server, _) = server_with_request(Config::new(), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    server.respond(200, &[], b"").unwrap();
    let response = parse_response(&take_output(&mut server));
    assert_eq!(response.one("content-length"), "0");
}

// ----- client: the request ---------------------------------------------------------------

/// §4.1: the request head is queued as soon as the client connection is created.
#[test]
fn client_request_is_queued_immediately() {
    let client = Connection::client(
        Config::new(),
        &ClientRequest::new("server.example.com", "/chat"),
        SEED,
    )
    .unwrap();
    assert!(client.wants_write());
    assert_eq!(client.state(), State::Connecting);
    let req = parse_request(client.output());
    assert_eq!(req.path, "/chat");
}

/// §4.1 (2): the method is GET and the version HTTP/1.1.
#[test]
fn client_request_is_get_http_1_1() {
    let (_, head) = plain_client();
    let req = parse_request(&head);
    assert_eq!((req.method.as_str(), req.version), ("GET", 1));
    assert_eq!(req.path, "/chat");
}

/// §4.1 (4): |Host| carries the host, without the port when none is given.
#[test]
fn client_request_host_without_port() {
    let (_, head) = plain_client();
    assert_eq!(parse_request(&head).one("Host"), "server.example.com");
}

/// §4.1 (4): a non-default port is appended to |Host|.
#[test]
fn client_request_host_with_non_default_port() {
    let (_, head) = client_for(&ClientRequest::new("example.com", "/").with_port(8080));
    assert_eq!(parse_request(&head).one("Host"), "example.com:8080");
}

/// §4.1 (4): the default port (80 for ws, 443 for wss) is omitted from |Host|.
#[test]
fn client_request_host_omits_default_ports() {
    let (_, head) = client_for(&ClientRequest::new("example.com", "/").with_port(80));
    assert_eq!(parse_request(&head).one("Host"), "example.com");
    let secure = ClientRequest::new("example.com", "/")
        .with_secure(true)
        .with_port(443);
    let (_, head) = client_for(&secure);
    assert_eq!(parse_request(&head).one("Host"), "example.com");
}

/// §4.1 (4): port 80 is not the default for wss and is kept in |Host|.
#[test]
fn client_request_host_keeps_port_80_for_wss() {
    let secure = ClientRequest::new("example.com", "/")
        .with_secure(true)
        .with_port(80);
    let (_, head) = client_for(&secure);
    assert_eq!(parse_request(&head).one("Host"), "example.com:80");
}

/// §4.1 (4), §3: an IPv6 host keeps its brackets in |Host|, with the port.
#[test]
fn client_request_host_ipv6_with_port() {
    let uri = ClientRequest::from_uri("ws://[::1]:9002/chat").unwrap();
    let (_, head) = client_for(&uri);
    assert_eq!(parse_request(&head).one("Host"), "[::1]:9002");
}

/// §4.1 (5, 6): `Upgrade: websocket` and `Connection: Upgrade`.
#[test]
fn client_request_has_upgrade_and_connection() {
    let (_, head) = plain_client();
    let req = parse_request(&head);
    assert_eq!(req.one("Upgrade"), "websocket");
    assert_eq!(req.one("Connection"), "Upgrade");
}

/// §4.1 (9): `Sec-WebSocket-Version: 13`.
#[test]
fn client_request_has_version_13() {
    let (_, head) = plain_client();
    assert_eq!(parse_request(&head).one("Sec-WebSocket-Version"), "13");
}

/// §4.1 (7): the key is base64 of 16 bytes.
#[test]
fn client_request_key_decodes_to_16_bytes() {
    let (_, head) = plain_client();
    let key = parse_request(&head).one("Sec-WebSocket-Key").to_string();
    assert_eq!(key.len(), 24);
    assert_eq!(base64_decode(&key).map(|k| k.len()), Some(16), "key {key}");
}

/// §4.1 (7): the nonce comes from the seed: different seeds give different keys.
#[test]
fn client_request_key_differs_with_seed() {
    let request = ClientRequest::new("example.com", "/");
    let keys: Vec<String> = [[1u8; 32], [2u8; 32], [3u8; 32]]
        .into_iter()
        .map(|s| {
            let mut c = Connection::client(Config::new(), &request, Seed::new(s)).unwrap();
            request_key(&take_output(&mut c))
        })
        .collect();
    assert_ne!(keys[0], keys[1]);
    assert_ne!(keys[1], keys[2]);
    assert_ne!(keys[0], keys[2]);
}

/// §4.1 (10): offered subprotocols are sent in order of preference.
#[test]
fn client_request_offers_subprotocols() {
    let request = ClientRequest::new("example.com", "/").with_subprotocols(&["chat.v2", "chat"]);
    let (_, head) = client_for(&request);
    let req = parse_request(&head);
    let offered: Vec<&str> = req
        .all("Sec-WebSocket-Protocol")
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    assert_eq!(offered, ["chat.v2", "chat"]);
}

/// §4.1 (10): without subprotocols no `Sec-WebSocket-Protocol` header is sent.
#[test]
fn client_request_without_subprotocols_has_no_protocol_header() {
    let (_, head) = plain_client();
    assert!(parse_request(&head)
        .all("Sec-WebSocket-Protocol")
        .is_empty());
}

/// §4.1 (8): the |Origin| is sent when set.
#[test]
fn client_request_has_origin() {
    let request = ClientRequest::new("example.com", "/").with_origin("http://www.example.com");
    let (_, head) = client_for(&request);
    assert_eq!(parse_request(&head).one("Origin"), "http://www.example.com");
}

/// §4.1 (11): an extension offer is sent as `Sec-WebSocket-Extensions`.
#[test]
fn client_request_offers_extensions() {
    let request = ClientRequest::new("example.com", "/").with_extensions("x-foo; a=1");
    let (_, head) = client_for(&request);
    assert_eq!(
        parse_request(&head).one("Sec-WebSocket-Extensions"),
        "x-foo; a=1"
    );
}

/// §4.1 (12): extra headers (cookies, authorization) are sent.
#[test]
fn client_request_has_extra_headers() {
    let request = ClientRequest::new("example.com", "/")
        .with_headers(&[("Cookie", "id=1"), ("Authorization", "Bearer x")]);
    let (_, head) = client_for(&request);
    let req = parse_request(&head);
    assert_eq!(req.one("Cookie"), "id=1");
    assert_eq!(req.one("Authorization"), "Bearer x");
}

/// §4.1 (1): a header that would break the HTTP syntax fails the connection up front.
#[test]
fn client_refuses_header_injection() {
    let request = ClientRequest::new("example.com", "/").with_headers(&[("X", "a\r\nEvil: 1")]);
    let result = Connection::client(Config::new(), &request, SEED);
    assert_eq!(result.err(), Some(HandshakeError::InvalidRequest));
}

/// §4.1: the client MUST wait for the response before sending any further data.
#[test]
fn client_cannot_send_before_response() {
    let (mut client, _) = plain_client();
    assert_eq!(client.send_text("early"), Err(SendError::NotOpen));
    assert!(client.output().is_empty());
}

// ----- client: URIs (§3) -----------------------------------------------------------------

/// §3: `ws://host/path` gives host, no port, path, not secure.
#[test]
fn uri_ws_with_path() {
    let r = ClientRequest::from_uri("ws://example.com/chat").unwrap();
    assert_eq!(
        (r.host(), r.port(), r.path(), r.is_secure()),
        ("example.com", None, "/chat", false)
    );
    assert_eq!(r.effective_port(), 80);
}

/// §3: `wss://` sets the secure flag and defaults to port 443.
#[test]
fn uri_wss_is_secure_port_443() {
    let r = ClientRequest::from_uri("wss://example.com/").unwrap();
    assert!(r.is_secure());
    assert_eq!(r.effective_port(), 443);
}

/// §3: the scheme is matched case-insensitively.
#[test]
fn uri_scheme_is_case_insensitive() {
    assert!(ClientRequest::from_uri("WSS://example.com/")
        .unwrap()
        .is_secure());
    assert!(!ClientRequest::from_uri("Ws://example.com/")
        .unwrap()
        .is_secure());
}

/// §3: an explicit port is parsed.
#[test]
fn uri_with_port() {
    let r = ClientRequest::from_uri("ws://example.com:8080/chat").unwrap();
    assert_eq!(r.port(), Some(8080));
    assert_eq!(r.effective_port(), 8080);
}

/// §3: the resource name is "/" when the path is empty.
#[test]
fn uri_empty_path_is_slash() {
    assert_eq!(
        ClientRequest::from_uri("ws://example.com").unwrap().path(),
        "/"
    );
}

/// §3: the query is part of the resource name.
#[test]
fn uri_query_is_kept_in_resource_name() {
    let r = ClientRequest::from_uri("ws://example.com/chat?room=1&x=y").unwrap();
    assert_eq!(r.path(), "/chat?room=1&x=y");
}

/// §3: with an empty path and a query, the resource name is "/" + "?" + query.
#[test]
fn uri_query_without_path_gets_slash() {
    let r = ClientRequest::from_uri("ws://example.com?room=1").unwrap();
    let mut head = Vec::new();
    r.write(b"dGhlIHNhbXBsZSBub25jZQ==", &mut head).unwrap();
    assert!(head.starts_with(b"GET /?room=1 HTTP/1.1\r\n"));
}

/// §3: an IPv6 literal host in brackets, with and without a port.
#[test]
fn uri_ipv6_host() {
    let r = ClientRequest::from_uri("ws://[2001:db8::1]:9002/x").unwrap();
    assert_eq!(
        (r.host(), r.port(), r.path()),
        ("[2001:db8::1]", Some(9002), "/x")
    );
    let r = ClientRequest::from_uri("wss://[::1]/").unwrap();
    assert_eq!((r.host(), r.port()), ("[::1]", None));
}

/// §3, RFC 3986 §3.2.3: an empty port (`ws://h:/`) is allowed and means the default port,
/// with and without brackets.
#[test]
fn uri_empty_port_is_the_default() {
    let r = ClientRequest::from_uri("ws://example.com:/chat").unwrap();
    assert_eq!(
        (r.host(), r.port(), r.path()),
        ("example.com", None, "/chat")
    );
    assert_eq!(r.effective_port(), 80);
    let r = ClientRequest::from_uri("wss://[::1]:/").unwrap();
    assert_eq!(
        (r.host(), r.port(), r.effective_port()),
        ("[::1]", None, 443)
    );
    let r = ClientRequest::from_uri("ws://h:").unwrap();
    assert_eq!((r.host(), r.port(), r.path()), ("h", None, "/"));
    assert!(ClientRequest::from_uri("ws://h:x/").is_err());
    assert!(ClientRequest::from_uri("ws://:80/").is_err());
}

/// §3 (RFC 3986 §3.2.2): an IPv6 literal without brackets is not a valid host.
#[test]
fn uri_unbracketed_ipv6_is_refused() {
    assert_eq!(
        ClientRequest::from_uri("ws://::1/").err(),
        Some(HandshakeError::InvalidRequest)
    );
}

/// §3: schemes other than ws and wss are refused.
#[test]
fn uri_bad_schemes_are_refused() {
    for uri in [
        "http://example.com/",
        "https://example.com/",
        "ftp://example.com/",
        "example.com/chat",
        "wss:/example.com/",
    ] {
        assert_eq!(
            ClientRequest::from_uri(uri).err(),
            Some(HandshakeError::InvalidRequest),
            "{uri}"
        );
    }
}

/// §3: fragment identifiers MUST NOT be used on WebSocket URIs.
#[test]
fn uri_fragment_is_refused() {
    for uri in [
        "ws://example.com/chat#frag",
        "ws://example.com#x",
        "wss://example.com/?q=1#f",
    ] {
        assert_eq!(
            ClientRequest::from_uri(uri).err(),
            Some(HandshakeError::InvalidRequest),
            "{uri}"
        );
    }
}

/// §3: a missing host, user info, or a port out of range is refused.
#[test]
fn uri_bad_authority_is_refused() {
    for uri in [
        "ws:///chat",
        "ws://user@example.com/",
        "ws://example.com:99999/",
        "ws://example.com:port/",
        "ws://example.com:+80/",
        "ws://[::1]:+80/",
    ] {
        assert_eq!(
            ClientRequest::from_uri(uri).err(),
            Some(HandshakeError::InvalidRequest),
            "{uri}"
        );
    }
}

// ----- client: the response --------------------------------------------------------------

/// §4.1: a valid 101 gives `Accepted` and the connection is OPEN.
#[test]
fn client_accepts_valid_101() {
    let (mut client, head) = plain_client();
    let events = feed(&mut client, &switching_response(&head));
    match events.as_slice() {
        [OwnedEvent::Accepted(r)] => {
            assert_eq!(r.status, 101);
            assert!(r.body.is_empty());
        }
        other => panic!("expected Accepted, got {other:?}"),
    }
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.subprotocol(), None);
}

/// §4.1, §4.2.2 (5.1): any reason phrase is accepted and reported.
#[test]
fn client_accepts_any_reason_phrase() {
    let (mut client, head) = plain_client();
    let response = response_to(&head, "HTTP/1.1 101 WebSocket Protocol Handshake", &OK_101);
    match feed(&mut client, &response).as_slice() {
        [OwnedEvent::Accepted(r)] => assert_eq!(r.reason, "WebSocket Protocol Handshake"),
        other => panic!("expected Accepted, got {other:?}"),
    }
}

/// §4.1 validation (2, 3): names and tokens are compared case-insensitively.
#[test]
fn client_accepts_case_insensitive_tokens() {
    let (mut client, head) = plain_client();
    let response = response_to(
        &head,
        "HTTP/1.1 101 Switching Protocols",
        &[
            "upgrade: WebSocket",
            "CONNECTION: keep-alive, UPGRADE",
            "sec-websocket-accept: {accept}",
        ],
    );
    let events = feed(&mut client, &response);
    assert!(
        matches!(events.as_slice(), [OwnedEvent::Accepted(_)]),
        "{events:?}"
    );
}

/// §4.1 validation (4): whitespace around the accept value is ignored.
#[test]
fn client_accepts_accept_value_with_whitespace() {
    let (mut client, head) = plain_client();
    let response = response_to(
        &head,
        "HTTP/1.1 101 Switching Protocols",
        &[
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept: \t {accept} \t",
        ],
    );
    let events = feed(&mut client, &response);
    assert!(
        matches!(events.as_slice(), [OwnedEvent::Accepted(_)]),
        "{events:?}"
    );
}

/// §4.1 validation (4): a wrong `Sec-WebSocket-Accept` fails the connection.
#[test]
fn client_fails_on_wrong_accept() {
    let (mut client, head) = plain_client();
    // The §1.3 value belongs to another key than this client's.
    assert_ne!(accept_for(&head), RFC_ACCEPT);
    let response = head_with_accept(RFC_ACCEPT);
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::AcceptMismatch
    );
}

/// A 101 with the given accept value.
fn head_with_accept(accept: &str) -> Vec<u8> {
    let line = format!("Sec-WebSocket-Accept: {accept}");
    head(
        "HTTP/1.1 101 Switching Protocols",
        &["Upgrade: websocket", "Connection: Upgrade", &line],
    )
}

/// §4.1 validation (4): a missing `Sec-WebSocket-Accept` fails the connection.
#[test]
fn client_fails_on_missing_accept() {
    let (mut client, _) = plain_client();
    let response = head(
        "HTTP/1.1 101 Switching Protocols",
        &["Upgrade: websocket", "Connection: Upgrade"],
    );
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::AcceptMismatch
    );
}

/// §4.1 validation (4): the accept value is compared exactly (not case-insensitively).
#[test]
fn client_fails_on_accept_with_wrong_case() {
    let (mut client, head) = plain_client();
    let wrong = accept_for(&head).to_ascii_lowercase();
    assert_ne!(wrong, accept_for(&head));
    assert_eq!(
        client_failure(&mut client, &head_with_accept(&wrong)),
        HandshakeError::AcceptMismatch
    );
}

/// §4.1 validation (2): a response without |Upgrade| fails the connection.
#[test]
fn client_fails_on_missing_upgrade() {
    let (mut client, head) = plain_client();
    let response = response_to(
        &head,
        "HTTP/1.1 101 Switching Protocols",
        &["Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"],
    );
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::MissingUpgrade
    );
}

/// §4.1 validation (2): an |Upgrade| that is not "websocket" fails the connection.
#[test]
fn client_fails_on_wrong_upgrade_value() {
    let (mut client, head) = plain_client();
    let response = response_to(
        &head,
        "HTTP/1.1 101 Switching Protocols",
        &[
            "Upgrade: h2c",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept: {accept}",
        ],
    );
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::MissingUpgrade
    );
}

/// §4.1 validation (3): a response without |Connection| fails the connection.
#[test]
fn client_fails_on_missing_connection() {
    let (mut client, head) = plain_client();
    let response = response_to(
        &head,
        "HTTP/1.1 101 Switching Protocols",
        &["Upgrade: websocket", "Sec-WebSocket-Accept: {accept}"],
    );
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::MissingConnectionUpgrade
    );
}

/// §4.1 validation (3): a |Connection| without the `Upgrade` token fails the connection.
#[test]
fn client_fails_on_connection_without_upgrade_token() {
    let (mut client, head) = plain_client();
    let response = response_to(
        &head,
        "HTTP/1.1 101 Switching Protocols",
        &[
            "Upgrade: websocket",
            "Connection: keep-alive",
            "Sec-WebSocket-Accept: {accept}",
        ],
    );
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::MissingConnectionUpgrade
    );
}

/// §4.1 validation (6): a subprotocol that was offered is agreed.
#[test]
fn client_accepts_offered_subprotocol() {
    let request = ClientRequest::new("example.com", "/").with_subprotocols(&["chat", "superchat"]);
    let (mut client, head) = client_for(&request);
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Protocol: superchat");
    let events = feed(
        &mut client,
        &response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines),
    );
    assert!(
        matches!(events.as_slice(), [OwnedEvent::Accepted(_)]),
        "{events:?}"
    );
    assert_eq!(client.subprotocol(), Some("superchat"));
}

/// §4.1 validation (6): a subprotocol that was not offered fails the connection.
#[test]
fn client_fails_on_unoffered_subprotocol() {
    let request = ClientRequest::new("example.com", "/").with_subprotocols(&["chat"]);
    let (mut client, head) = client_for(&request);
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Protocol: superchat");
    let response = response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines);
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::UnexpectedSubprotocol
    );
}

/// §4.1 validation (6): any subprotocol fails the connection when none was offered.
#[test]
fn client_fails_on_subprotocol_when_none_offered() {
    let (mut client, head) = plain_client();
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Protocol: chat");
    let response = response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines);
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::UnexpectedSubprotocol
    );
}

/// §4.2.2 /subprotocol/ (a single token): a list of several subprotocols fails the connection.
#[test]
fn client_fails_on_several_subprotocols() {
    let request = ClientRequest::new("example.com", "/").with_subprotocols(&["chat", "superchat"]);
    let (mut client, head) = client_for(&request);
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Protocol: chat, superchat");
    let response = response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines);
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::UnexpectedSubprotocol
    );
}

/// §4.1 validation (5): an extension that was not offered fails the connection.
#[test]
fn client_fails_on_unoffered_extension() {
    let (mut client, head) = plain_client();
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Extensions: permessage-deflate");
    let response = response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines);
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::UnexpectedExtension
    );
}

/// §4.1 validation (5): an extension other than the ones offered fails the connection.
#[test]
fn client_fails_on_extension_other_than_offered() {
    let request = ClientRequest::new("example.com", "/").with_extensions("x-foo");
    let (mut client, head) = client_for(&request);
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Extensions: x-bar");
    let response = response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines);
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::UnexpectedExtension
    );
}

/// §4.1 validation (5): an extension that was offered is accepted.
#[test]
fn client_accepts_offered_extension() {
    let request = ClientRequest::new("example.com", "/").with_extensions("x-foo; a=1");
    let (mut client, head) = client_for(&request);
    let mut lines = OK_101.to_vec();
    lines.push("Sec-WebSocket-Extensions: x-foo");
    let events = feed(
        &mut client,
        &response_to(&head, "HTTP/1.1 101 Switching Protocols", &lines),
    );
    match events.as_slice() {
        [OwnedEvent::Accepted(r)] => {
            let exts: Vec<(String, Vec<u8>)> = r
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                .cloned()
                .collect();
            assert_eq!(exts.len(), 1);
        }
        other => panic!("expected Accepted, got {other:?}"),
    }
}

/// §4.1 validation (1): a non-101 response is reported with status, headers and body, then
/// `Closed` with `Rejected(status)`.
#[test]
fn client_reports_rejection_with_body() {
    let (mut client, _) = plain_client();
    let response = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nX-Why: origin\r\n\r\nnope!";
    let events = feed(&mut client, response);
    assert_eq!(events.len(), 2, "{events:?}");
    let expected = OwnedResponse {
        status: 403,
        reason: "Forbidden".into(),
        headers: vec![
            ("Content-Length".into(), b"5".to_vec()),
            ("X-Why".into(), b"origin".to_vec()),
        ],
        body: b"nope!".to_vec(),
    };
    assert_eq!(events[0], OwnedEvent::Rejected(expected));
    let closed = closed(&events);
    assert_eq!(
        closed.cause,
        CloseCause::Handshake(HandshakeError::Rejected(403))
    );
    assert!(client.should_shutdown_write());
}

/// §4.1 validation (1): a rejection whose body is still in flight waits for
/// `Content-Length` bytes.
#[test]
fn client_rejection_waits_for_content_length_body() {
    let response = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!";
    for split in 0..=response.len() {
        let (mut client, _) = plain_client();
        let mut events = feed(&mut client, &response[..split]);
        if split < response.len() {
            assert!(events.is_empty(), "split {split}: {events:?}");
        }
        events.extend(feed(&mut client, &response[split..]));
        match events.as_slice() {
            [OwnedEvent::Rejected(r), OwnedEvent::Closed(_)] => {
                assert_eq!(r.body, b"nope!", "split {split}")
            }
            other => panic!("split {split}: {other:?}"),
        }
    }
}

/// §4.1 validation (1), RFC 7230 §3.3.3: without `Content-Length` the body runs until EOF.
#[test]
fn client_rejection_body_until_eof_without_content_length() {
    let (mut client, _) = plain_client();
    let response = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ntry later";
    assert!(feed(&mut client, response).is_empty(), "body still open");
    client.receive_eof();
    let events = drain(&mut client);
    match events.as_slice() {
        [OwnedEvent::Rejected(r), OwnedEvent::Closed(c)] => {
            assert_eq!(r.status, 503);
            assert_eq!(r.body, b"try later");
            assert_eq!(
                c.cause,
                CloseCause::Handshake(HandshakeError::Rejected(503))
            );
        }
        other => panic!("expected Rejected then Closed, got {other:?}"),
    }
}

/// §4.1 validation (1): a redirect (3xx) is reported as a rejection with its `Location`.
#[test]
fn client_reports_redirect_as_rejection() {
    let (mut client, _) = plain_client();
    let response =
        b"HTTP/1.1 302 Found\r\nLocation: ws://other.example.com/\r\nContent-Length: 0\r\n\r\n";
    let events = feed(&mut client, response);
    match events.as_slice() {
        [OwnedEvent::Rejected(r), OwnedEvent::Closed(c)] => {
            assert_eq!(r.status, 302);
            assert!(r
                .headers
                .contains(&("Location".into(), b"ws://other.example.com/".to_vec())));
            assert_eq!(
                c.cause,
                CloseCause::Handshake(HandshakeError::Rejected(302))
            );
        }
        other => panic!("expected Rejected then Closed, got {other:?}"),
    }
}

/// §4.1: the transport ending before the response head completes gives `Incomplete`.
#[test]
fn client_eof_mid_response_is_incomplete() {
    let (mut client, head) = plain_client();
    let response = switching_response(&head);
    assert!(feed(&mut client, &response[..20]).is_empty());
    client.receive_eof();
    let events = drain(&mut client);
    assert_eq!(
        closed(&events).cause,
        CloseCause::Handshake(HandshakeError::Incomplete)
    );
    assert_eq!(events.len(), 1);
}

/// §4.1: a response head over `max_handshake_bytes` fails the client, no panic.
#[test]
fn client_fails_on_oversized_response_head() {
    let (mut client, _) = plain_client();
    let mut response = b"HTTP/1.1 101 Switching Protocols\r\nX-Big: ".to_vec();
    response.extend(std::iter::repeat_n(b'a', 20 * 1024));
    response.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        client_failure(&mut client, &response),
        HandshakeError::HeadTooLarge
    );
}

/// §4.1: frames the server sends in the same read as its 101 are delivered after `Accepted`.
#[test]
fn client_delivers_frame_pipelined_with_101() {
    let (mut client, head) = plain_client();
    let mut bytes = switching_response(&head);
    bytes.extend(sframe(true, TEXT, b"hi"));
    let events = feed(&mut client, &bytes);
    assert!(
        matches!(events.as_slice(), [OwnedEvent::Accepted(_), OwnedEvent::Text(t)] if t == "hi"),
        "{events:?}"
    );
}

/// §4.1: the 101 plus a pipelined frame split at every position gives the same events.
#[test]
fn client_delivers_pipelined_frame_for_every_split() {
    let (mut whole, head) = plain_client();
    let mut bytes = switching_response(&head);
    bytes.extend(sframe(true, TEXT, b"hi"));
    let expected = feed(&mut whole, &bytes);
    assert_eq!(expected.len(), 2);
    for split in 0..=bytes.len() {
        let (mut client, _) = plain_client();
        let mut events = feed(&mut client, &bytes[..split]);
        events.extend(feed(&mut client, &bytes[split..]));
        assert_eq!(events, expected, "split {split}");
    }
    let (mut client, _) = plain_client();
    assert_eq!(feed_bytewise(&mut client, &bytes), expected);
}

// ----- RFC 8441 helpers ------------------------------------------------------------------

/// A valid extended CONNECT header list (RFC 8441 §4, §5).
const H2_CONNECT: [(&str, &[u8]); 7] = [
    (":method", b"CONNECT"),
    (":protocol", b"websocket"),
    (":scheme", b"https"),
    (":path", b"/chat"),
    (":authority", b"server.example.com"),
    ("sec-websocket-version", b"13"),
    ("origin", b"http://www.example.com"),
];

/// `H2_CONNECT` with the header `name` replaced by `value`, or removed when `None`.
fn h2_with(name: &str, value: Option<&'static [u8]>) -> Vec<(&'static str, &'static [u8])> {
    H2_CONNECT
        .iter()
        .filter_map(|&(n, v)| {
            if n == name {
                value.map(|value| (n, value))
            } else {
                Some((n, v))
            }
        })
        .collect()
}

/// RFC 8441 §4, §5: a valid extended CONNECT is accepted and its fields reported.
#[test]
fn h2_valid_extended_connect() {
    let c = h2::validate_extended_connect(H2_CONNECT).unwrap();
    assert_eq!(c.path, "/chat");
    assert_eq!(c.authority, "server.example.com");
    assert_eq!(c.scheme, "https");
    assert_eq!(c.origin, Some("http://www.example.com"));
}

/// RFC 8441 §4: `:method` MUST be CONNECT.
#[test]
fn h2_refuses_wrong_method() {
    let headers = h2_with(":method", Some(b"GET"));
    assert_eq!(
        h2::validate_extended_connect(headers).err(),
        Some(HandshakeError::MethodNotGet)
    );
}

/// RFC 8441 §4: `:protocol` must be `websocket`.
#[test]
fn h2_refuses_wrong_protocol() {
    let headers = h2_with(":protocol", Some(b"h2c"));
    assert_eq!(
        h2::validate_extended_connect(headers).err(),
        Some(HandshakeError::MissingUpgrade)
    );
}

/// RFC 8441 §4: `:protocol`, `:scheme`, `:path` and `:authority` MUST be present.
#[test]
fn h2_refuses_missing_pseudo_headers() {
    for name in [":method", ":protocol", ":scheme", ":path", ":authority"] {
        assert_eq!(
            h2::validate_extended_connect(h2_with(name, None)).err(),
            Some(HandshakeError::MalformedHttp),
            "without {name}"
        );
    }
}

/// RFC 9113 §8.2.2: connection-specific headers are malformed over HTTP/2.
#[test]
fn h2_refuses_connection_specific_headers() {
    for (name, value) in [
        ("connection", &b"Upgrade"[..]),
        ("upgrade", b"websocket"),
        ("keep-alive", b"timeout=5"),
        ("transfer-encoding", b"chunked"),
    ] {
        let mut headers = H2_CONNECT.to_vec();
        headers.push((name, value));
        assert_eq!(
            h2::validate_extended_connect(headers).err(),
            Some(HandshakeError::MalformedHttp),
            "with {name}"
        );
    }
}

/// RFC 8441 §5, RFC 6455 §4.1 (9): `sec-websocket-version` must be 13.
#[test]
fn h2_refuses_wrong_or_missing_version() {
    assert_eq!(
        h2::validate_extended_connect(h2_with("sec-websocket-version", Some(b"8"))).err(),
        Some(HandshakeError::UnsupportedVersion)
    );
    assert_eq!(
        h2::validate_extended_connect(h2_with("sec-websocket-version", None)).err(),
        Some(HandshakeError::UnsupportedVersion)
    );
}

/// RFC 8441 §5: the accepting response is `:status 200` plus the chosen subprotocol.
#[test]
fn h2_response_headers() {
    let none: Vec<_> = h2::response_headers(None).collect();
    assert_eq!(none, [(":status", "200")]);
    let chat: Vec<_> = h2::response_headers(Some("chat")).collect();
    assert_eq!(
        chat,
        [(":status", "200"), ("sec-websocket-protocol", "chat")]
    );
}

/// RFC 8441 §4, §5: the request header list carries the pseudo-headers, version 13, origin,
/// offered subprotocols and extra headers.
#[test]
fn h2_request_headers() {
    let request = ClientRequest::new("server.example.com", "/chat")
        .with_secure(true)
        .with_origin("http://www.example.com")
        .with_subprotocols(&["chat", "superchat"])
        .with_headers(&[("cookie", "id=1")]);
    let headers: Vec<_> = h2::request_headers(&request).collect();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    assert_eq!(
        headers,
        [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "server.example.com"),
            ("sec-websocket-version", "13"),
            ("origin", "http://www.example.com"),
            ("sec-websocket-protocol", "chat"),
            ("sec-websocket-protocol", "superchat"),
            ("cookie", "id=1"),
        ]
    );
}

/// RFC 8441 §4, RFC 9113 §8.3.1: `:authority` carries the port when it is not the default.
#[test]
fn h2_request_authority_includes_non_default_port() {
    let request = ClientRequest::new("server.example.com", "/chat")
        .with_secure(true)
        .with_port(8443);
    let authority = h2::request_headers(&request)
        .find(|(n, _)| *n == ":authority")
        .map(|(_, v)| v.into_owned());
    assert_eq!(authority.as_deref(), Some("server.example.com:8443"));
}

/// RFC 8441 §4, §5: the request list built by `request_headers` passes
/// `validate_extended_connect`.
#[test]
fn h2_request_headers_validate() {
    let request = ClientRequest::new("server.example.com", "/chat").with_secure(true);
    let owned: Vec<_> = h2::request_headers(&request).collect();
    let headers: Vec<(&str, &[u8])> = owned.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    let c = h2::validate_extended_connect(headers).unwrap();
    assert_eq!((c.path, c.scheme), ("/chat", "https"));
}

/// RFC 8441 §5: a 2xx answer is a success; a subprotocol must be one offered.
#[test]
fn h2_validate_response_success() {
    let none = h2::validate_response(200, [], &["chat"]).unwrap();
    assert_eq!(none.subprotocol, None);
    let chat =
        h2::validate_response(200, [("sec-websocket-protocol", &b"chat"[..])], &["chat"]).unwrap();
    assert_eq!(chat.subprotocol, Some("chat"));
}

/// RFC 8441 §5: a non-2xx answer is a rejection.
#[test]
fn h2_validate_response_rejects_non_2xx() {
    assert_eq!(
        h2::validate_response(403, [], &[]).err(),
        Some(HandshakeError::Rejected(403))
    );
}

/// RFC 8441 §5, RFC 6455 §4.1 validation (6): an unoffered or repeated subprotocol fails.
#[test]
fn h2_validate_response_rejects_unoffered_subprotocol() {
    assert_eq!(
        h2::validate_response(200, [("sec-websocket-protocol", &b"v9"[..])], &["chat"]).err(),
        Some(HandshakeError::UnexpectedSubprotocol)
    );
    assert_eq!(
        h2::validate_response(
            200,
            [("sec-websocket-protocol", &b"chat, v2"[..])],
            &["chat", "v2"]
        )
        .err(),
        Some(HandshakeError::UnexpectedSubprotocol)
    );
}
