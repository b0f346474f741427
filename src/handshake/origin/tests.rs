//! Table tests for the origin matcher (RFC 6455 §10.2, §4.2.2; RFC 6454 §6.2 for the
//! serialised form).

use super::*;

const LISTED: OriginPolicy = OriginPolicy::allow(&[
    "https://example.com",
    "http://localhost:8080",
    "http://[::1]:3000",
    "null",
]);

fn with_origin<'a>(host: &'a str, origin: &'a str) -> [(&'a str, &'a [u8]); 2] {
    [("Host", host.as_bytes()), ("Origin", origin.as_bytes())]
}

/// (origin, allowed by `LISTED`).
const ALLOW_TABLE: &[(&str, bool)] = &[
    // Exact, and the same origin written differently.
    ("https://example.com", true),
    ("HTTPS://EXAMPLE.COM", true),
    ("https://Example.Com:443", true),
    (" https://example.com ", true),
    // Another scheme, host or port.
    ("http://example.com", false),
    ("https://example.com:8443", false),
    ("wss://example.com", false),
    ("https://www.example.com", false),
    // Suffix and prefix tricks: never substring matching.
    ("https://evil-example.com", false),
    ("https://example.com.evil.net", false),
    ("https://notexample.com", false),
    ("https://example.co", false),
    ("https://example.com@evil.net", false),
    ("https://evil.net/https://example.com", false),
    ("https://example.com/", false),
    ("https://example.com/path", false),
    // Default ports normalised.
    ("http://localhost:8080", true),
    ("http://localhost", false),
    ("http://localhost:80", false),
    // IPv6 literals.
    ("http://[::1]:3000", true),
    ("http://[::1]", false),
    ("http://[::2]:3000", false),
    ("http://[::1:3000", false),
    // `null` only when listed, and only as itself.
    ("null", true),
    ("NULL", true),
    // Garbage.
    ("", false),
    ("example.com", false),
    ("https://", false),
    ("https://example.com:", false),
    ("https://example.com:99999", false),
    ("https://example.com:44a", false),
    ("1https://example.com", false),
];

#[test]
fn rfc6455_10_2_the_allowlist_matches_exact_origins_only() {
    for &(origin, allowed) in ALLOW_TABLE {
        let got = LISTED.check(with_origin("example.com", origin));
        assert_eq!(got.is_ok(), allowed, "{origin:?}");
        if !allowed {
            assert_eq!(got, Err(HandshakeError::ForbiddenOrigin));
        }
    }
}

#[test]
fn null_passes_only_when_listed() {
    let unlisted = OriginPolicy::allow(&["https://example.com"]);
    assert!(unlisted.check(with_origin("example.com", "null")).is_err());
    assert!(OriginPolicy::SAME_ORIGIN
        .check(with_origin("example.com", "null"))
        .is_err());
}

/// (Host, Origin, same origin).
const SAME_TABLE: &[(&str, &str, bool)] = &[
    ("example.com", "https://example.com", true),
    ("example.com", "http://example.com", true),
    ("EXAMPLE.com", "https://example.COM", true),
    ("example.com:443", "https://example.com", true),
    ("example.com:80", "http://example.com:80", true),
    ("example.com:8080", "http://example.com:8080", true),
    ("example.com:8080", "http://example.com", false),
    ("example.com", "http://example.com:8080", false),
    ("example.com", "https://evil-example.com", false),
    ("example.com", "https://example.com.evil.net", false),
    ("example.com", "https://sub.example.com", false),
    ("example.com", "ws://example.com", false),
    ("example.com", "ftp://example.com", false),
    ("[::1]:3000", "http://[::1]:3000", true),
    ("[::1]:3000", "http://[::1]:3001", false),
    ("127.0.0.1:9000", "http://127.0.0.1:9000", true),
    ("127.0.0.1:9000", "http://localhost:9000", false),
    ("", "https://example.com", false),
];

#[test]
fn rfc6455_4_2_2_same_origin_compares_with_the_requests_host() {
    for &(host, origin, same) in SAME_TABLE {
        let got = OriginPolicy::SAME_ORIGIN.check(with_origin(host, origin));
        assert_eq!(got.is_ok(), same, "Host {host:?}, Origin {origin:?}");
    }
}

#[test]
fn several_origin_headers_are_refused() {
    let headers = [
        ("Host", &b"example.com"[..]),
        ("Origin", b"https://example.com"),
        ("origin", b"https://example.com"),
    ];
    assert_eq!(
        OriginPolicy::SAME_ORIGIN.check(headers),
        Err(HandshakeError::ForbiddenOrigin)
    );
    assert_eq!(LISTED.check(headers), Err(HandshakeError::ForbiddenOrigin));
    // Several `Host` headers: no same origin either.
    let hosts = [
        ("Host", &b"example.com"[..]),
        ("Host", b"example.com"),
        ("Origin", b"https://example.com"),
    ];
    assert!(OriginPolicy::SAME_ORIGIN.check(hosts).is_err());
}

/// §10.2 (and hybi-08): version 8 clients send `Sec-WebSocket-Origin`, checked the same way.
#[test]
fn rfc6455_10_2_the_legacy_sec_websocket_origin_is_checked_the_same_way() {
    let legacy = |origin: &'static str| {
        [
            ("Host", &b"example.com"[..]),
            ("Sec-WebSocket-Origin", origin.as_bytes()),
        ]
    };
    assert!(LISTED.check(legacy("https://example.com")).is_ok());
    assert!(LISTED.check(legacy("https://evil.example")).is_err());
    assert!(OriginPolicy::SAME_ORIGIN
        .check(legacy("https://evil.example"))
        .is_err());
}

#[test]
fn a_request_without_origin_passes_unless_one_is_required() {
    let none = [("Host", &b"example.com"[..])];
    assert!(LISTED.check(none).is_ok());
    assert!(OriginPolicy::SAME_ORIGIN.check(none).is_ok());
    assert_eq!(
        OriginPolicy::SAME_ORIGIN.requiring_origin().check(none),
        Err(HandshakeError::ForbiddenOrigin)
    );
    // `ANY` checks nothing, whatever the headers.
    assert!(OriginPolicy::ANY
        .check(with_origin("example.com", "https://evil.example"))
        .is_ok());
    assert!(OriginPolicy::ANY.is_any() && !LISTED.is_any());
    assert_eq!(OriginPolicy::default(), OriginPolicy::ANY);
}

/// RFC 8441 §4 (and RFC 9220): an extended CONNECT has no `Host`; its `:authority` is the
/// request's own origin.
#[test]
fn same_origin_takes_the_authority_of_an_extended_connect() {
    let headers = |origin: &'static str| {
        [
            (":method", &b"CONNECT"[..]),
            (":protocol", b"websocket"),
            (":authority", b"chat.example.com"),
            ("origin", origin.as_bytes()),
        ]
    };
    assert!(OriginPolicy::SAME_ORIGIN
        .check(headers("https://chat.example.com"))
        .is_ok());
    assert!(OriginPolicy::SAME_ORIGIN
        .check(headers("https://evil.example"))
        .is_err());
}
