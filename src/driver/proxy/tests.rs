//! Proxy selection (a table of environments and destinations), proxy URLs, and the tunnel
//! requests byte by byte against RFC 1928, RFC 1929 and RFC 9110 §9.3.6.

use super::*;
use std::vec;

/// What a proxy URL parses to: kind, host, port, credentials.
type Parsed<'a> = (ProxyKind, &'a str, u16, Option<(&'a str, &'a str)>);

/// A SOCKS case: the proxy, its answers, and the error kind wanted.
type SocksCase<'a> = (&'a Proxy, &'a [&'a [u8]], fn(&ProxyErrorKind) -> bool);

#[test]
fn selection_follows_the_scheme_then_all_proxy_and_no_proxy_decides_alone() {
    let env = ProxyEnv::from_pairs(&[
        ("https_proxy", "http://s:1"),
        ("HTTPS_PROXY", "http://upper:1"),
        ("HTTP_PROXY", "socks5://p:2"),
        ("ALL_PROXY", "socks5h://all:3"),
        (
            "NO_PROXY",
            "direct.example, .corp, 10.0.0.0/8, 192.168.1.1, [::1]:8080, plain:81",
        ),
    ]);
    let table: &[(bool, &str, u16, Option<&str>)] = &[
        (true, "example.com", 443, Some("http://s:1")), // lower case wins
        (false, "example.com", 80, Some("socks5h://p:2")),
        (true, "direct.example", 443, None),
        (true, "ws.direct.example", 443, None),
        (true, "notdirect.example", 443, Some("http://s:1")),
        (true, "corp", 443, None),
        (true, "a.b.corp", 443, None),
        (true, "10.1.2.3", 443, None),
        (true, "11.1.2.3", 443, Some("http://s:1")),
        (true, "192.168.1.1", 443, None),
        (true, "::1", 8080, None),
        (true, "[::1]", 8080, None),
        (true, "::1", 8081, Some("http://s:1")),
        (false, "plain", 81, None),
        (false, "plain", 80, Some("socks5h://p:2")),
        // Loopback is not special: only NO_PROXY sends it direct.
        (true, "127.0.0.1", 443, Some("http://s:1")),
        (true, "localhost", 443, Some("http://s:1")),
    ];
    for &(secure, host, port, want) in table {
        let got = env.proxy_for(secure, host, port).unwrap();
        assert_eq!(
            got.map(|p| p.to_string()),
            want.map(|w| Proxy::parse(w).unwrap().to_string()),
            "{secure} {host}:{port}"
        );
    }
    let only_all = ProxyEnv::from_pairs(&[("all_proxy", "socks5://all:3")]);
    let all = only_all.proxy_for(true, "x", 1).unwrap().unwrap();
    assert_eq!(all.kind(), ProxyKind::Socks5);
    assert_eq!(only_all.proxy_for(false, "x", 1).unwrap(), Some(all));
    assert!(ProxyEnv::empty().proxy_for(true, "x", 1).unwrap().is_none());
}

#[test]
fn empty_values_count_as_unset_and_a_star_bypasses_everything() {
    let env = ProxyEnv::from_pairs(&[("https_proxy", " "), ("HTTPS_PROXY", "http://u:1")]);
    assert_eq!(
        env.proxy_for(true, "x", 443).unwrap(),
        Some(Proxy::http("u", 1))
    );
    let star = ProxyEnv::from_pairs(&[("HTTPS_PROXY", "http://u:1"), ("no_proxy", "*")]);
    assert!(star.proxy_for(true, "anything", 443).unwrap().is_none());
}

#[test]
fn no_proxy_suffixes_match_whole_labels_and_addresses_only_as_addresses() {
    assert!(!no_proxy_matches("example.com", "badexample.com", 443));
    assert!(no_proxy_matches("*.example.com", "a.example.com", 443));
    assert!(no_proxy_matches("Example.COM.", "example.com", 443));
    assert!(no_proxy_matches("::1", "[::1]", 1));
    assert!(no_proxy_matches("fd00::/8", "fd12::1", 1));
    assert!(!no_proxy_matches("fd00::/8", "fe80::1", 1));
    assert!(!no_proxy_matches("10.0.0.0/8", "fd00::1", 1));
    assert!(no_proxy_matches("0.0.0.0/0", "8.8.8.8", 1));
    assert!(!no_proxy_matches("10.0.0.0/33", "10.0.0.1", 1));
    assert!(no_proxy_matches("10.0.0.1/32", "10.0.0.1", 1));
    assert!(!no_proxy_matches("10.0.0.1/32", "10.0.0.2", 1));
    assert!(no_proxy_matches("::1/128", "::1", 1));
    assert!(!no_proxy_matches("10.0.0.1", "10.0.0.10", 1));
    assert!(!no_proxy_matches(".", "example.com", 1));
    assert!(!no_proxy_matches("host:notaport", "host", 1));
}

#[test]
fn an_invalid_proxy_variable_is_an_error_that_names_the_variable_without_the_password() {
    let env = ProxyEnv::from_pairs(&[("HTTPS_PROXY", "socks4://me:secret@p:1080")]);
    let e = env.proxy_for(true, "example.com", 443).unwrap_err();
    assert!(matches!(e.kind(), ProxyErrorKind::InvalidUrl { .. }));
    let text = e.to_string();
    assert!(text.contains("HTTPS_PROXY"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn proxy_urls() {
    let table: &[(&str, Option<Parsed>)] = &[
        (
            "http://p:3128",
            Some((ProxyKind::HttpConnect, "p", 3128, None)),
        ),
        ("http://p", Some((ProxyKind::HttpConnect, "p", 80, None))),
        ("HTTP://p:1/", Some((ProxyKind::HttpConnect, "p", 1, None))),
        ("p:8080", Some((ProxyKind::HttpConnect, "p", 8080, None))),
        ("socks5://p", Some((ProxyKind::Socks5, "p", 1080, None))),
        (
            "socks5h://a:b@p:9",
            Some((ProxyKind::Socks5, "p", 9, Some(("a", "b")))),
        ),
        (
            "http://a%3Ab:c%25d@[fe80::1]:7",
            Some((ProxyKind::HttpConnect, "fe80::1", 7, Some(("a:b", "c%d")))),
        ),
        (
            "http://user@p:1",
            Some((ProxyKind::HttpConnect, "p", 1, Some(("user", "")))),
        ),
        (
            "http://%41b:%25@p:1",
            Some((ProxyKind::HttpConnect, "p", 1, Some(("Ab", "%")))),
        ),
        ("https://p:1", None),
        ("socks4://p:1", None),
        ("http://p:99999", None),
        ("http://p:x", None),
        ("http://:1", None),
        ("http://a%zz@p:1", None),
        ("http://a%+f@p:1", None),
        ("http://[::1", None),
        (
            "http://[::1]",
            Some((ProxyKind::HttpConnect, "::1", 80, None)),
        ),
        ("http://[::1]x:80", None),
        ("http://admin:12/34@proxy:3128", None),
        (
            "http://admin:12%2F34@proxy:3128",
            Some((
                ProxyKind::HttpConnect,
                "proxy",
                3128,
                Some(("admin", "12/34")),
            )),
        ),
    ];
    for &(url, want) in table {
        let got = Proxy::parse(url).ok();
        let got = got
            .as_ref()
            .map(|p| (p.kind(), p.host(), p.port(), p.credentials()));
        assert_eq!(got, want, "{url}");
    }
    let p = Proxy::parse("http://me:hunter2@p:1").unwrap();
    assert!(!std::format!("{p:?} {p}").contains("hunter2"));
    assert_eq!(
        std::format!("{p:?}"),
        r#"Proxy { url: "http://p:1", credentials: Some("<redacted>") }"#
    );
    // An invalid URL's error names it, credentials left out; https:// proxies say why.
    let e = Proxy::parse("socks4://me:hunter2@p:1080").unwrap_err();
    assert_eq!(e.proxy(), "socks4://p:1080");
    let e = Proxy::parse("https://p:443").unwrap_err();
    assert!(e.to_string().contains("TLS to the proxy"), "{e}");
    let e = Proxy::parse("http://admin:hunter2/x@proxy:3128").unwrap_err();
    assert!(!std::format!("{e} {e:?}").contains("hunter2"), "{e}");
    assert_eq!(Proxy::http("::1", 1).to_string(), "http://[::1]:1");
}

/// Runs a tunnel against a scripted proxy: each answer is given when the tunnel asks to
/// read, in pieces of at most what it asks for. Returns what the tunnel wrote, per request.
fn run(tunnel: &mut Tunnel, answers: &[&[u8]]) -> Result<Vec<Vec<u8>>, ProxyError> {
    let mut written = vec![];
    let mut answers = answers.iter();
    let mut pending: &[u8] = &[];
    loop {
        match tunnel.step() {
            TunnelStep::Write => {
                written.push(tunnel.output().to_vec());
                let n = tunnel.output().len();
                tunnel.written(n);
            }
            TunnelStep::Read(room) => {
                if pending.is_empty() {
                    match answers.next() {
                        Some(a) => pending = a,
                        None => return Err(tunnel.closed()),
                    }
                }
                let n = room.min(pending.len()).min(3); // small reads: the state must cope
                let (now, rest) = pending.split_at(n);
                pending = rest;
                tunnel.receive(now)?;
            }
            TunnelStep::Done => {
                assert!(
                    pending.is_empty() && answers.next().is_none(),
                    "unread answers"
                );
                return Ok(written);
            }
        }
    }
}

/// RFC 9110 §9.3.6 and §11.7.1: `CONNECT host:port` with the authority as `Host`, and
/// Basic credentials (RFC 7617) for the proxy.
#[test]
fn http_connect_request_with_basic_credentials() {
    let proxy = Proxy::http("p", 1).with_credentials("Aladdin", "open sesame");
    let mut t = Tunnel::new(&proxy, "::1", 9001).unwrap();
    let written = run(
        &mut t,
        &[b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n"],
    )
    .unwrap();
    assert_eq!(
        written,
        vec![b"CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n".to_vec()]
    );
}

#[test]
fn http_refusals_name_the_status_and_the_proxy() {
    for (answer, status) in [
        (
            &b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"[..],
            407,
        ),
        (b"HTTP/1.1 403 Forbidden\r\n\r\n", 403),
        (b"HTTP/1.0 502 Bad Gateway\r\n\r\n", 502),
    ] {
        let mut t = Tunnel::new(&Proxy::http("p", 3128), "h", 80).unwrap();
        let e = run(&mut t, &[answer]).unwrap_err();
        assert!(matches!(e.kind(), ProxyErrorKind::HttpStatus { status: s, .. } if *s == status));
        assert_eq!(e.proxy(), "http://p:3128");
    }
    let mut t = Tunnel::new(&Proxy::http("p", 1), "h", 80).unwrap();
    let e = run(&mut t, &[b"SSH-2.0-x\r\n\r\n"]).unwrap_err();
    assert!(matches!(e.kind(), ProxyErrorKind::Malformed(_)));
    let mut t = Tunnel::new(&Proxy::http("p", 1), "h", 80).unwrap();
    let e = run(&mut t, &[b"HTTP/1.1 200 OK\r\n"]).unwrap_err();
    assert!(matches!(e.kind(), ProxyErrorKind::Closed));
    // An endless head is refused at 8 KiB, never buffered further.
    let mut t = Tunnel::new(&Proxy::http("p", 1), "h", 80).unwrap();
    let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'a', 9000));
    let e = run(&mut t, &[&long]).unwrap_err();
    assert!(matches!(e.kind(), ProxyErrorKind::Malformed(_)));
}

/// An answer head may take up to 8 KiB (long `Via` or `Set-Cookie` lines), not a byte more.
#[test]
fn http_answer_heads_up_to_8_kib_are_read() {
    let head = |len: usize| {
        let mut head = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        head.resize(len - 4, b'a');
        head.extend_from_slice(b"\r\n\r\n");
        head
    };
    let mut t = Tunnel::new(&Proxy::http("p", 1), "h", 80).unwrap();
    run(&mut t, &[&head(8 * 1024)]).unwrap();
    let mut t = Tunnel::new(&Proxy::http("p", 1), "h", 80).unwrap();
    let e = run(&mut t, &[&head(8 * 1024 + 1)]).unwrap_err();
    assert!(matches!(e.kind(), ProxyErrorKind::Malformed(_)), "{e}");
}

#[test]
fn http_bytes_after_the_answer_are_refused() {
    let mut t = Tunnel::new(&Proxy::http("p", 1), "h", 80).unwrap();
    t.written(t.output().len());
    let e = t.receive(b"HTTP/1.1 200 OK\r\n\r\nextra").unwrap_err();
    assert!(matches!(e.kind(), ProxyErrorKind::Malformed(_)));
}

/// RFC 1928 §3–§6 without credentials: method 0, then CONNECT by domain name (ATYP 3), so
/// the proxy resolves it; the reply's bound address is read to its end (here a name).
#[test]
fn socks5_connect_by_name_without_credentials() {
    let mut t = Tunnel::new(&Proxy::socks5("p", 1080), "example.com", 443).unwrap();
    let written = run(
        &mut t,
        &[
            &[5, 0],
            &[5, 0, 0, 3, 4, b'n', b'a', b'm', b'e', 0x01, 0xbb],
        ],
    )
    .unwrap();
    let mut connect = vec![5, 1, 0, 3, 11];
    connect.extend_from_slice(b"example.com");
    connect.extend_from_slice(&[1, 187]);
    assert_eq!(written, vec![vec![5, 1, 0], connect]);
}

/// RFC 1929: username/password, then CONNECT to an IPv4 (ATYP 1) and an IPv6 (ATYP 4)
/// address as addresses.
#[test]
fn socks5_with_credentials_and_address_destinations() {
    let proxy = Proxy::socks5("p", 1).with_credentials("u", "pw");
    let mut t = Tunnel::new(&proxy, "127.0.0.1", 80).unwrap();
    let written = run(
        &mut t,
        &[&[5, 2], &[1, 0], &[5, 0, 0, 1, 127, 0, 0, 1, 0, 80]],
    )
    .unwrap();
    assert_eq!(
        written,
        vec![
            vec![5, 1, 2],
            vec![1, 1, b'u', 2, b'p', b'w'],
            vec![5, 1, 0, 1, 127, 0, 0, 1, 0, 80]
        ]
    );
    let mut t = Tunnel::new(&proxy, "[::1]", 80).unwrap();
    let mut reply = vec![5, 0, 0, 4];
    reply.extend_from_slice(&[0; 16]);
    reply.extend_from_slice(&[0, 80]);
    let written = run(&mut t, &[&[5, 2], &[1, 0], &reply]).unwrap();
    let mut connect = vec![5, 1, 0, 4];
    connect.extend_from_slice(&core::net::Ipv6Addr::LOCALHOST.octets());
    connect.extend_from_slice(&[0, 80]);
    assert_eq!(written.last(), Some(&connect));
}

#[test]
fn socks5_refusals() {
    let creds = Proxy::socks5("p", 1).with_credentials("u", "bad");
    let plain = Proxy::socks5("p", 1);
    let cases: &[SocksCase] = &[
        (&plain, &[&[5, 0xff]], |k| {
            matches!(k, ProxyErrorKind::SocksNoAcceptableMethod)
        }),
        (&creds, &[&[5, 2], &[1, 1]], |k| {
            matches!(k, ProxyErrorKind::SocksAuthFailed)
        }),
        (&plain, &[&[5, 0], &[5, 5, 0, 1, 0]], |k| {
            matches!(k, ProxyErrorKind::SocksReply(5))
        }),
        (&plain, &[&[5, 0], &[5, 2, 0, 1, 0]], |k| {
            matches!(k, ProxyErrorKind::SocksReply(2))
        }),
        (&plain, &[&[5, 2]], |k| {
            matches!(k, ProxyErrorKind::Malformed(_))
        }),
        (&plain, &[&[4, 0]], |k| {
            matches!(k, ProxyErrorKind::Malformed(_))
        }),
        // RFC 1929: the authentication answer's version is 1.
        (&creds, &[&[5, 2], &[5, 0]], |k| {
            matches!(k, ProxyErrorKind::Malformed(_))
        }),
        (&plain, &[&[5, 0], &[5, 0, 0, 9, 0]], |k| {
            matches!(k, ProxyErrorKind::Malformed(_))
        }),
        (&plain, &[&[5, 0], &[5, 0, 0, 1]], |k| {
            matches!(k, ProxyErrorKind::Closed)
        }),
    ];
    for (i, (proxy, answers, want)) in cases.iter().enumerate() {
        let mut t = Tunnel::new(proxy, "h", 1).unwrap();
        let e = run(&mut t, answers).unwrap_err();
        assert!(want(e.kind()), "case {i}: {e}");
        assert_eq!(e.proxy(), "socks5h://p:1");
        assert!(!e.to_string().contains("bad"));
    }
    let long = "x".repeat(256);
    assert!(Tunnel::new(&plain, &long, 1).is_err());
    assert!(Tunnel::new(&Proxy::socks5("p", 1).with_credentials(&long, ""), "h", 1).is_err());
}

/// httpoxy (CVE-2016-5385): in a CGI program `HTTP_PROXY` may come from the request's
/// `Proxy:` header, so upper case is ignored there, as Go does; lower case and the other
/// variables still count.
#[test]
fn upper_case_http_proxy_is_ignored_in_a_cgi_program() {
    let cgi = [("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")];
    assert!(ProxyEnv::from_pairs(&cgi)
        .proxy_for(false, "h", 80)
        .unwrap()
        .is_none());
    let not_cgi = ProxyEnv::from_pairs(&cgi[..1]);
    assert_eq!(
        not_cgi.proxy_for(false, "h", 80).unwrap(),
        Some(Proxy::http("evil", 1))
    );
    let lower = ProxyEnv::from_pairs(&[("http_proxy", "http://ok:1"), ("REQUEST_METHOD", "GET")]);
    assert_eq!(
        lower.proxy_for(false, "h", 80).unwrap(),
        Some(Proxy::http("ok", 1))
    );
}

proptest::proptest! {
    /// Whatever a proxy answers, in whatever pieces, the tunnel never panics, never takes
    /// more than it asked for, holds at most 8 KiB of answer, and ends in an error or open.
    #[test]
    fn any_answer_in_any_pieces_ends_in_an_error_or_an_open_tunnel(
        socks in proptest::bool::ANY,
        credentials in proptest::bool::ANY,
        answer in proptest::collection::vec(proptest::num::u8::ANY, 0..10_000),
        pieces in proptest::collection::vec(1usize..600, 1..40),
    ) {
        let mut proxy = if socks { Proxy::socks5("p", 1) } else { Proxy::http("p", 1) };
        if credentials {
            proxy = proxy.with_credentials("u", "p");
        }
        let mut tunnel = Tunnel::new(&proxy, "example.com", 443).unwrap();
        let mut rest: &[u8] = &answer;
        let mut pieces = pieces.iter().cycle();
        let mut taken = 0;
        loop {
            match tunnel.step() {
                TunnelStep::Write => {
                    let n = tunnel.output().len();
                    tunnel.written(n);
                }
                TunnelStep::Read(room) => {
                    proptest::prop_assert!(room > 0);
                    if rest.is_empty() {
                        break; // the proxy closed: `closed()` is the error
                    }
                    let n = room.min(rest.len()).min(*pieces.next().unwrap());
                    let (now, later) = rest.split_at(n);
                    rest = later;
                    taken += n;
                    proptest::prop_assert!(taken <= 8 * 1024, "{taken}");
                    if tunnel.receive(now).is_err() {
                        break;
                    }
                }
                TunnelStep::Done => break,
            }
        }
    }
}

/// Nothing that holds a proxy's credentials shows them when debugged: the environment, the
/// tunnel (whose requests carry them), the proxy.
#[test]
fn credentials_never_show_in_debug_output() {
    let env = ProxyEnv::from_pairs(&[("HTTPS_PROXY", "http://me:hunter2@p:1")]);
    let proxy = env.proxy_for(true, "h", 443).unwrap().unwrap();
    let http = Tunnel::new(&proxy, "h", 443).unwrap();
    let socks = Tunnel::new(
        &Proxy::socks5("p", 1).with_credentials("me", "hunter2"),
        "h",
        1,
    )
    .unwrap();
    let shown = std::format!("{env:?} {proxy:?} {http:?} {socks:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    // base64("me:hunter2"), as the Basic credentials would show it.
    assert!(!shown.contains("bWU6aHVudGVyMg"), "{shown}");
    assert!(shown.contains("http://p:1"), "{shown}");
    assert!(
        std::format!("{env:?}").contains("HTTPS_PROXY=http://p:1"),
        "{env:?}"
    );
    assert!(
        std::format!("{http:?}").starts_with("Tunnel { proxy: \"http://p:1\""),
        "{http:?}"
    );
}

/// A destination goes into `CONNECT` verbatim, so one that is not a host cannot be asked:
/// no second request can be smuggled through it.
#[test]
fn a_destination_that_is_not_a_host_is_refused() {
    for host in [
        "",
        "a b",
        "a:443 HTTP/1.1\r\nX: y\r\n\r\nCONNECT internal",
        "a/b",
        "u@h",
    ] {
        for proxy in [Proxy::http("p", 1), Proxy::socks5("p", 1)] {
            let e = Tunnel::new(&proxy, host, 443).unwrap_err();
            assert!(
                matches!(e.kind(), ProxyErrorKind::Unsupported(_)),
                "{host:?}"
            );
        }
    }
    assert!(Tunnel::new(&Proxy::http("p", 1), "[fe80::1%25eth0]", 1).is_ok());
}
