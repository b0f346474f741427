//! `connect(url)` for clients over loopback, no internet: `wss://` with a CA made in the test
//! (SNI, ALPN, and clear errors for another CA, another name and an expired certificate),
//! and `ws://` and `wss://` through an HTTP CONNECT proxy and a SOCKS5 proxy written here,
//! with and without credentials, their refusals, `NO_PROXY`, and proxies that are not there
//! or never answer. The proxy environment is always given as an argument
//! ([`ProxyEnv::from_pairs`]), never set on the process: tests run in parallel in one
//! process. Loopback is not special: only `NO_PROXY` sends a destination direct.

#![cfg(all(feature = "tokio", feature = "rustls", feature = "futures-io"))]

mod pki;
mod proxies;

use std::time::Duration;

use pki::Ca;
use proxies::Rule;
use rustls::CertificateError;
use wsmachine::driver::proxy::{ProxyEnv, ProxyErrorKind};
use wsmachine::driver::{self, Connector, Error, OwnedMessage, Transport};
use wsmachine::{CloseCode, Config};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Whether an error kind is the one a case wants.
type KindCheck = fn(&ProxyErrorKind) -> bool;

/// The echo checks every connection here passes: a text, 1 MiB of binary, a clean close.
async fn echo_checks<T: Transport>(mut ws: driver::WebSocket<T>) {
    ws.send_text("hello").await.unwrap();
    assert_eq!(
        ws.recv_owned().await.unwrap(),
        Some(OwnedMessage::Text("hello".into()))
    );
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    assert_eq!(
        ws.recv_owned().await.unwrap(),
        Some(OwnedMessage::Binary(big))
    );
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(ws.recv_owned().await.unwrap(), None);
    assert!(ws.connection().closed().is_some_and(|c| c.is_clean()));
}

fn echo_checks_blocking(mut ws: wsmachine::blocking::WebSocket<wsmachine::blocking::ClientStream>) {
    ws.send_text("hello").unwrap();
    assert_eq!(
        ws.recv_owned().unwrap(),
        Some(OwnedMessage::Text("hello".into()))
    );
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.recv_owned().unwrap(), Some(OwnedMessage::Binary(big)));
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(ws.recv_owned().unwrap(), None);
    assert!(ws.connection().closed().is_some_and(|c| c.is_clean()));
}

fn trusting(ca: &Ca) -> Connector {
    Connector::new()
        .direct()
        .with_ca_pem(ca.pem.as_bytes())
        .unwrap()
}

async fn connect(
    url: &str,
    connector: &Connector,
) -> Result<wsmachine::tokio::ClientWebSocket, Error> {
    tokio::time::timeout(TIMEOUT, wsmachine::tokio::connect_with(url, connector))
        .await
        .expect("connect ends before the test's timeout")
}

/// The rustls error a failed `wss://` connection reports, with the server it names.
async fn certificate_error(url: &str, connector: &Connector) -> CertificateError {
    match connect(url, connector).await {
        Err(Error::Tls(e)) => {
            assert_eq!(e.server(), "localhost");
            let text = Error::Tls(e).to_string();
            assert!(text.starts_with("TLS with localhost: "), "{text}");
            let Error::Tls(e) = connect(url, connector).await.err().unwrap() else {
                unreachable!()
            };
            match e.rustls_error() {
                Some(rustls::Error::InvalidCertificate(c)) => c.clone(),
                other => panic!("not a certificate error: {other:?}"),
            }
        }
        Err(other) => panic!("not a TLS error: {other}"),
        Ok(_) => panic!("connected with a certificate that should be refused"),
    }
}

/// A connector that chooses its proxy from `pairs`, trusting `ca`.
fn with_env(pairs: &[(&str, &str)], ca: &Ca) -> Connector {
    Connector::new()
        .with_proxy_env(ProxyEnv::from_pairs(pairs))
        .with_ca_pem(ca.pem.as_bytes())
        .unwrap()
}

fn proxy_error(result: Result<impl Sized, Error>) -> wsmachine::driver::proxy::ProxyError {
    match result {
        Err(Error::Proxy(e)) => e,
        Err(other) => panic!("not a proxy error: {other}"),
        Ok(_) => panic!("connected through a proxy that should refuse"),
    }
}

#[tokio::test]
async fn wss_with_a_private_ca_passes_the_echo_checks_with_sni_alpn_and_post_quantum_key_exchange()
{
    let ca = Ca::new("test CA");
    let (addr, seen) = pki::wss_echo(ca.leaf(&["localhost"], false)).await;
    let url = format!("wss://localhost:{}/", addr.port());
    let ws = connect(&url, &trusting(&ca)).await.unwrap();
    let session = ws.transport().tls_session().expect("TLS runs under wss://");
    assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    // aws-lc-rs with post-quantum key exchange first.
    let group = session.negotiated_key_exchange_group().map(|g| g.name());
    assert_eq!(group, Some(rustls::NamedGroup::X25519MLKEM768));
    echo_checks(ws).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(Some("localhost".into()), Some(b"http/1.1".to_vec()))]
    );
}

/// The certificate error of a `wss://localhost` connection to a server whose certificate
/// (from the test CA) names `names` (`expired`: valid 2019 to 2020 only), the client trusting
/// the test CA or (`other_ca`) another.
async fn refusal(names: &[&str], expired: bool, other_ca: bool) -> CertificateError {
    let ca = Ca::new("test CA");
    let (addr, _) = pki::wss_echo(ca.leaf(names, expired)).await;
    let url = format!("wss://localhost:{}/", addr.port());
    let trusted = if other_ca { Ca::new("another CA") } else { ca };
    certificate_error(&url, &trusting(&trusted)).await
}

#[tokio::test]
async fn wss_refuses_a_certificate_from_another_ca() {
    let error = refusal(&["localhost"], false, true).await;
    assert_eq!(error, CertificateError::UnknownIssuer);
}

#[tokio::test]
async fn wss_refuses_a_certificate_for_another_name() {
    let error = refusal(&["chat.example"], false, false).await;
    let other_name = matches!(
        error,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    );
    assert!(other_name, "{error:?}");
}

#[tokio::test]
async fn wss_refuses_an_expired_certificate() {
    let error = refusal(&["localhost"], true, false).await;
    let expired = matches!(
        error,
        CertificateError::Expired | CertificateError::ExpiredContext { .. }
    );
    assert!(expired, "{error:?}");
}

#[tokio::test]
async fn wss_to_a_plain_server_is_a_tls_error() {
    let addr = pki::ws_echo().await;
    let url = format!("wss://localhost:{}/", addr.port());
    let ca = Ca::new("test CA");
    match connect(&url, &trusting(&ca)).await {
        Err(Error::Tls(e)) => assert_eq!(e.server(), "localhost"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("TLS with a plain server"),
    }
}

#[tokio::test]
async fn ws_and_wss_through_an_http_proxy_with_and_without_credentials() {
    let ca = Ca::new("test CA");
    let (wss, _) = pki::wss_echo(ca.leaf(&["localhost"], false)).await;
    let ws = pki::ws_echo().await;
    for rule in [Rule::Open, Rule::Credentials("user", "p@ss word")] {
        let (proxy, log) = proxies::http(rule).await;
        let url = match rule {
            Rule::Credentials(..) => format!("http://user:p%40ss%20word@{proxy}"),
            _ => format!("http://{proxy}"),
        };
        let connector = with_env(&[("HTTP_PROXY", &url), ("https_proxy", &url)], &ca);
        echo_checks(connect(&format!("ws://{ws}/"), &connector).await.unwrap()).await;
        let secure = format!("wss://localhost:{}/", wss.port());
        echo_checks(connect(&secure, &connector).await.unwrap()).await;
        let asked = log.lock().unwrap().clone();
        assert_eq!(
            asked,
            vec![ws.to_string(), format!("localhost:{}", wss.port())]
        );
    }
}

#[tokio::test]
async fn http_proxy_refusals_are_errors_that_name_the_proxy() {
    let ca = Ca::new("test CA");
    let ws = pki::ws_echo().await;
    let url = format!("ws://{ws}/");
    let (strict, _) = proxies::http(Rule::Credentials("user", "right")).await;
    for (proxy_url, status) in [
        (format!("http://{strict}"), 407),
        (format!("http://user:wrong@{strict}"), 407),
        (format!("http://{}", proxies::http(Rule::Deny).await.0), 403),
    ] {
        let connector = with_env(&[("ALL_PROXY", &proxy_url)], &ca);
        let e = proxy_error(connect(&url, &connector).await);
        assert!(
            matches!(e.kind(), ProxyErrorKind::HttpStatus { status: s, .. } if *s == status),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.starts_with("proxy http://127.0.0.1:"), "{text}");
        assert!(
            text.contains(&status.to_string()) && !text.contains("wrong"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn ws_and_wss_through_socks5_with_and_without_credentials_resolving_names_at_the_proxy() {
    let ca = Ca::new("test CA");
    let (wss, _) = pki::wss_echo(ca.leaf(&["localhost"], false)).await;
    let ws = pki::ws_echo().await;
    for rule in [Rule::Open, Rule::Credentials("user", "secret")] {
        let (proxy, log) = proxies::socks5(rule).await;
        let url = match rule {
            Rule::Credentials(..) => format!("socks5h://user:secret@{proxy}"),
            _ => format!("socks5://{proxy}"),
        };
        let connector = with_env(&[("ALL_PROXY", &url)], &ca);
        echo_checks(connect(&format!("ws://{ws}/"), &connector).await.unwrap()).await;
        let secure = format!("wss://localhost:{}/", wss.port());
        echo_checks(connect(&secure, &connector).await.unwrap()).await;
        let asked = log.lock().unwrap().clone();
        assert_eq!(
            asked,
            vec![format!("ip {ws}"), format!("name localhost:{}", wss.port())]
        );
    }
}

#[tokio::test]
async fn socks5_refusals_are_errors_that_name_the_proxy() {
    let ca = Ca::new("test CA");
    let ws = pki::ws_echo().await;
    let url = format!("ws://{ws}/");
    let (strict, _) = proxies::socks5(Rule::Credentials("user", "right")).await;
    let (deny, _) = proxies::socks5(Rule::Deny).await;
    let cases: [(String, KindCheck); 3] = [
        (format!("socks5://{strict}"), |k| {
            matches!(k, ProxyErrorKind::SocksNoAcceptableMethod)
        }),
        (format!("socks5://user:wrong@{strict}"), |k| {
            matches!(k, ProxyErrorKind::SocksAuthFailed)
        }),
        (format!("socks5://{deny}"), |k| {
            matches!(k, ProxyErrorKind::SocksReply(2))
        }),
    ];
    for (proxy_url, want) in cases {
        let e = proxy_error(connect(&url, &with_env(&[("ALL_PROXY", &proxy_url)], &ca)).await);
        assert!(want(e.kind()), "{e}");
        assert!(e.proxy().starts_with("socks5h://127.0.0.1:"), "{e}");
        assert!(!e.to_string().contains("wrong"), "{e}");
    }
}

#[tokio::test]
async fn no_proxy_alone_sends_a_destination_direct() {
    let ca = Ca::new("test CA");
    let (wss, _) = pki::wss_echo(ca.leaf(&["localhost"], false)).await;
    let ws = pki::ws_echo().await;
    let (proxy, log) = proxies::http(Rule::Open).await;
    let proxy = format!("http://{proxy}");
    let secure = format!("wss://localhost:{}/", wss.port());
    // NO_PROXY names the host: direct.
    let bypass = with_env(
        &[
            ("HTTPS_PROXY", &proxy),
            ("NO_PROXY", "example.org, localhost"),
        ],
        &ca,
    );
    echo_checks(connect(&secure, &bypass).await.unwrap()).await;
    // NO_PROXY names the address with another port: through the proxy.
    let other_port = format!("127.0.0.1:{}", ws.port().wrapping_add(1));
    let through = with_env(&[("HTTP_PROXY", &proxy), ("no_proxy", &other_port)], &ca);
    echo_checks(connect(&format!("ws://{ws}/"), &through).await.unwrap()).await;
    // And with its port: direct.
    let exact = with_env(
        &[("HTTP_PROXY", &proxy), ("no_proxy", &ws.to_string())],
        &ca,
    );
    echo_checks(connect(&format!("ws://{ws}/"), &exact).await.unwrap()).await;
    // Without NO_PROXY, loopback goes through the proxy like any host.
    let plain = with_env(&[("HTTPS_PROXY", &proxy)], &ca);
    echo_checks(connect(&secure, &plain).await.unwrap()).await;
    let asked = log.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![ws.to_string(), format!("localhost:{}", wss.port())]
    );
}

#[tokio::test]
async fn a_proxy_that_is_not_there_or_never_answers_is_an_error_that_names_it() {
    let ca = Ca::new("test CA");
    let ws = pki::ws_echo().await;
    let url = format!("ws://{ws}/");
    let closed = format!("http://{}", proxies::closed_port().await);
    let e = proxy_error(connect(&url, &with_env(&[("ALL_PROXY", &closed)], &ca)).await);
    assert!(matches!(e.kind(), ProxyErrorKind::Io(_)), "{e}");
    assert_eq!(e.proxy(), closed);
    let silent = format!("socks5://{}", proxies::silent().await);
    let quick = with_env(&[("ALL_PROXY", &silent)], &ca)
        .with_config(Config::new().with_handshake_timeout(Some(Duration::from_millis(300))));
    let e = proxy_error(connect(&url, &quick).await);
    assert!(matches!(e.kind(), ProxyErrorKind::Timeout), "{e}");
    // A proxy that drips its answer a byte at a time meets the same deadline.
    let dripping = format!("http://{}", proxies::dripping().await);
    let slow = with_env(&[("ALL_PROXY", &dripping)], &ca)
        .with_config(Config::new().with_handshake_timeout(Some(Duration::from_millis(300))));
    let started = std::time::Instant::now();
    let e = proxy_error(connect(&url, &slow).await);
    assert!(matches!(e.kind(), ProxyErrorKind::Timeout), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_invalid_proxy_variable_fails_before_connecting() {
    let ca = Ca::new("test CA");
    let connector = with_env(&[("HTTPS_PROXY", "socks4://me:pw@proxy:1080")], &ca);
    let e = proxy_error(connect("wss://localhost:1/", &connector).await);
    assert!(matches!(e.kind(), ProxyErrorKind::InvalidUrl { .. }), "{e}");
    assert!(e.to_string().contains("HTTPS_PROXY") && !e.to_string().contains("pw"));
}

/// A runtime on its own threads for servers and proxies, for clients that are not tokio's.
fn servers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn blocking_clients_get_wss_and_both_proxies() {
    let rt = servers();
    let ca = Ca::new("test CA");
    let (wss, ws, (http, http_log), (socks, socks_log), silent) = rt.block_on(async {
        (
            pki::wss_echo(ca.leaf(&["localhost"], false)).await.0,
            pki::ws_echo().await,
            proxies::http(Rule::Credentials("u", "p")).await,
            proxies::socks5(Rule::Open).await,
            proxies::silent().await,
        )
    });
    let secure = format!("wss://localhost:{}/", wss.port());
    let plain = format!("ws://{ws}/");
    let connect = wsmachine::blocking::connect_with;
    let ws_direct = connect(&secure, &trusting(&ca)).unwrap();
    assert!(ws_direct.get_ref().is_tls());
    echo_checks_blocking(ws_direct);
    let through_http = with_env(&[("ALL_PROXY", &format!("http://u:p@{http}"))], &ca);
    echo_checks_blocking(connect(&plain, &through_http).unwrap());
    echo_checks_blocking(connect(&secure, &through_http).unwrap());
    let through_socks = with_env(&[("ALL_PROXY", &format!("socks5://{socks}"))], &ca);
    echo_checks_blocking(connect(&plain, &through_socks).unwrap());
    echo_checks_blocking(connect(&secure, &through_socks).unwrap());
    assert_eq!(http_log.lock().unwrap().len(), 2);
    assert_eq!(socks_log.lock().unwrap().len(), 2);
    // The refusals and failures, as the async driver reports them.
    let no_credentials = with_env(&[("ALL_PROXY", &format!("http://{http}"))], &ca);
    let e = proxy_error(connect(&plain, &no_credentials));
    assert!(
        matches!(e.kind(), ProxyErrorKind::HttpStatus { status: 407, .. }),
        "{e}"
    );
    let quick = with_env(&[("ALL_PROXY", &format!("http://{silent}"))], &ca)
        .with_config(Config::new().with_handshake_timeout(Some(Duration::from_millis(300))));
    let e = proxy_error(connect(&plain, &quick));
    assert!(matches!(e.kind(), ProxyErrorKind::Timeout), "{e}");
    // A proxy that drips its answer a byte at a time: the deadline counts from the start,
    // not from the last byte.
    let dripping = rt.block_on(proxies::dripping());
    let slow = with_env(&[("ALL_PROXY", &format!("http://{dripping}"))], &ca)
        .with_config(Config::new().with_handshake_timeout(Some(Duration::from_millis(300))));
    let started = std::time::Instant::now();
    let e = proxy_error(connect(&plain, &slow));
    assert!(matches!(e.kind(), ProxyErrorKind::Timeout), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let other = Ca::new("another CA");
    match connect(&secure, &trusting(&other)) {
        Err(Error::Tls(e)) => assert!(matches!(
            e.rustls_error(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        )),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("trusted another CA's certificate"),
    }
    // A TLS connection cannot be split into threads' halves; a plain one can.
    let tls = connect(&secure, &trusting(&ca)).unwrap();
    assert_eq!(
        tls.split().unwrap_err().kind(),
        std::io::ErrorKind::Unsupported
    );
    assert!(connect(&plain, &trusting(&ca)).unwrap().split().is_ok());
}

#[test]
fn futures_io_clients_get_wss_and_both_proxies() {
    let rt = servers();
    let ca = Ca::new("test CA");
    let (wss, ws, (http, _), (socks, _)) = rt.block_on(async {
        (
            pki::wss_echo(ca.leaf(&["localhost"], false)).await.0,
            pki::ws_echo().await,
            proxies::http(Rule::Open).await,
            proxies::socks5(Rule::Credentials("u", "p")).await,
        )
    });
    smol::block_on(async {
        for (proxy, url) in [
            (
                format!("http://{http}"),
                format!("wss://localhost:{}/", wss.port()),
            ),
            (format!("socks5://u:p@{socks}"), format!("ws://{ws}/")),
            (
                format!("socks5://u:p@{socks}"),
                format!("wss://localhost:{}/", wss.port()),
            ),
        ] {
            let connector = with_env(&[("ALL_PROXY", &proxy)], &ca);
            let route = connector.route(&url).unwrap();
            let (host, port) = route.first_hop();
            let stream = smol::net::TcpStream::connect((host, port)).await.unwrap();
            let (ws, response) = wsmachine::futures_io::connect_route(stream, &route, &connector)
                .await
                .unwrap();
            assert_eq!(response.status, 101);
            assert_eq!(ws.transport().is_tls(), url.starts_with("wss"));
            echo_checks(ws).await;
        }
    });
}
