//! RFC 9220 (WebSocket over HTTP/3): the extended CONNECT handshake of RFC 8441 carried by
//! HTTP/3, checked against hand-built header lists (the `h3` crate's latest release cannot
//! carry `:protocol = websocket` yet; see `wsmachine::handshake::h3`), then a WebSocket run on
//! the request stream's bytes in memory.

mod common;

use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::h3;
use wsmachine::{Config, Connection, Event, HandshakeError, Message, Seed};

/// A header list, as hand-built for the tests.
type Headers = Vec<(&'static str, &'static [u8])>;

/// One line of the refusal table: its name, how it spoils a valid request, the error.
type Case = (&'static str, fn(&mut Headers), HandshakeError);

/// A valid request: the five pseudo-headers and the version (RFC 9220 §3, RFC 8441 §4, §5).
fn valid() -> Headers {
    vec![
        (":method", b"CONNECT"),
        (":protocol", b"websocket"),
        (":scheme", b"https"),
        (":path", b"/chat?room=1"),
        (":authority", b"example.com:4433"),
        ("sec-websocket-version", b"13"),
        ("origin", b"https://example.com"),
    ]
}

fn check(
    headers: &[(&'static str, &'static [u8])],
) -> Result<h3::ExtendedConnect<'static>, HandshakeError> {
    let owned: &'static [(&'static str, &'static [u8])] =
        Box::leak(headers.to_vec().into_boxed_slice());
    h3::validate_extended_connect(owned.iter().copied())
}

/// RFC 9220 §3: the request the RFC describes is accepted, and its parts come out.
#[test]
fn a_valid_extended_connect_is_accepted_s3() {
    let connect = check(&valid()).unwrap();
    assert_eq!(connect.scheme, "https");
    assert_eq!(connect.authority, "example.com:4433");
    assert_eq!(connect.path, "/chat?room=1");
    assert_eq!(connect.origin, Some("https://example.com"));
}

/// RFC 9220 §3 (by RFC 8441 §4, §5 and RFC 9114 §4.2): every rule the server applies, one
/// line each: the method, the protocol, each pseudo-header present exactly once, no
/// connection-specific headers, version 13.
#[test]
fn invalid_extended_connects_are_refused_s3() {
    let cases: &[Case] = &[
        ("GET", |h| h[0].1 = b"GET", HandshakeError::MethodNotGet),
        (
            "no :protocol",
            |h| {
                h.remove(1);
            },
            HandshakeError::MalformedHttp,
        ),
        (
            "other protocol",
            |h| h[1].1 = b"webtransport",
            HandshakeError::MissingUpgrade,
        ),
        (
            "no :scheme",
            |h| {
                h.remove(2);
            },
            HandshakeError::MalformedHttp,
        ),
        (
            "no :path",
            |h| {
                h.remove(3);
            },
            HandshakeError::MalformedHttp,
        ),
        (
            "no :authority",
            |h| {
                h.remove(4);
            },
            HandshakeError::MalformedHttp,
        ),
        (
            "two :path",
            |h| h.push((":path", b"/other")),
            HandshakeError::MalformedHttp,
        ),
        (
            "connection header",
            |h| h.push(("connection", b"upgrade")),
            HandshakeError::MalformedHttp,
        ),
        (
            "upgrade header",
            |h| h.push(("upgrade", b"websocket")),
            HandshakeError::MalformedHttp,
        ),
        (
            "transfer-encoding",
            |h| h.push(("transfer-encoding", b"chunked")),
            HandshakeError::MalformedHttp,
        ),
        (
            "keep-alive",
            |h| h.push(("keep-alive", b"timeout=5")),
            HandshakeError::MalformedHttp,
        ),
        (
            "no version",
            |h| {
                h.remove(5);
            },
            HandshakeError::UnsupportedVersion,
        ),
        (
            "version 8",
            |h| h[5].1 = b"8",
            HandshakeError::UnsupportedVersion,
        ),
        (
            "two versions",
            |h| h.push(("sec-websocket-version", b"13")),
            HandshakeError::UnsupportedVersion,
        ),
    ];
    for (name, edit, want) in cases {
        let mut headers = valid();
        edit(&mut headers);
        assert_eq!(check(&headers).err(), Some(*want), "{name}");
    }
}

/// RFC 9220 §3: the server answers with a 2xx status (200) and at most one offered
/// subprotocol; anything else is a refusal the client reports.
#[test]
fn the_answer_is_a_2xx_with_an_offered_subprotocol_s3() {
    let answer: Vec<_> = h3::response_headers(None).collect();
    assert_eq!(answer, [(":status", "200")]);
    let ok = h3::validate_response(
        200,
        [("sec-websocket-protocol", &b"chat"[..])],
        &["chat", "v2"],
    );
    assert_eq!(ok.unwrap().subprotocol, Some("chat"));
    assert!(h3::validate_response(204, [], &[]).is_ok());
    assert_eq!(
        h3::validate_response(404, [], &[]).err(),
        Some(HandshakeError::Rejected(404))
    );
    assert_eq!(
        h3::validate_response(200, [("sec-websocket-protocol", &b"other"[..])], &["chat"]).err(),
        Some(HandshakeError::UnexpectedSubprotocol)
    );
}

/// RFC 9220 §3: the client's request carries the pseudo-headers for an `https` URI (HTTP/3
/// runs over QUIC, always secured), no key and no HTTP/1.1 upgrade headers.
#[test]
fn the_client_request_has_the_pseudo_headers_and_no_key_s3() {
    let request = ClientRequest::new("example.com", "/chat")
        .with_secure(true)
        .with_port(4433)
        .with_subprotocols(&["chat", "v2"]);
    let headers: Vec<(&str, String)> = h3::request_headers(&request)
        .map(|(n, v)| (n, v.into_owned()))
        .collect();
    let get = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get(":method"), ["CONNECT"]);
    assert_eq!(get(":protocol"), ["websocket"]);
    assert_eq!(get(":scheme"), ["https"]);
    assert_eq!(get(":path"), ["/chat"]);
    assert_eq!(get(":authority"), ["example.com:4433"]);
    assert_eq!(get("sec-websocket-version"), ["13"]);
    assert_eq!(get("sec-websocket-protocol"), ["chat", "v2"]);
    for absent in ["sec-websocket-key", "connection", "upgrade", "host"] {
        assert!(get(absent).is_empty(), "{absent}");
    }
    // What the client sends, the server accepts.
    let connect =
        h3::validate_extended_connect(headers.iter().map(|(n, v)| (*n, v.as_bytes()))).unwrap();
    assert_eq!(connect.authority, "example.com:4433");
    assert_eq!(h3::SETTINGS_ENABLE_CONNECT_PROTOCOL, 0x08);
}

/// After the handshake the request stream carries the WebSocket's bytes (RFC 9220 §3, RFC
/// 8441 §5): a client and a server connection made with `upgraded_*` talk over it, masking
/// and closing as over TCP.
#[test]
fn the_request_stream_carries_the_websocket_s3() {
    let mut client = Connection::upgraded_client(Config::new(), Seed::new([3; 32]), &[]);
    let mut server = Connection::upgraded_server(Config::new(), &[]);
    client.send_text("over QUIC").unwrap();
    let wire = common::take_output(&mut client);
    assert!(
        common::decode_frames(&wire)[0].masked,
        "§5.3: the client masks"
    );
    assert_eq!(server.receive(&wire), wire.len());
    assert_eq!(
        server.poll_event(),
        Some(Event::Message(Message::Text("over QUIC")))
    );
    server.send_binary(&[1, 2, 3]).unwrap();
    let wire = common::take_output(&mut server);
    assert_eq!(client.receive(&wire), wire.len());
    assert_eq!(
        client.poll_event(),
        Some(Event::Message(Message::Binary(&[1, 2, 3])))
    );
    client.close(wsmachine::CloseCode::NORMAL, "").unwrap();
    let wire = common::take_output(&mut client);
    assert_eq!(server.receive(&wire), wire.len());
    assert!(matches!(server.poll_event(), Some(Event::CloseReceived(_))));
    assert!(matches!(server.poll_event(), Some(Event::Closed(c)) if c.is_clean()));
}
