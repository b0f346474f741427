//! The example clients' conversation with an echo server, on either driver: `hello` and its
//! echo, 1 MiB of binary and its echo, a ping and its pong, a close with 1000 and the
//! server's answer, then the end of the transport. Any mismatch is an error string.

#![allow(dead_code)]

use std::net::TcpStream;

use wsmachine::driver::OwnedMessage;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{CloseCause, CloseCode, Closed, Config, Event};

/// The example clients' configuration: defaults, and with the `deflate` feature an offer of
/// permessage-deflate.
pub fn client_config() -> Config {
    let config = Config::new();
    #[cfg(feature = "deflate")]
    let config = config.with_deflate(wsmachine::extensions::deflate::DeflateConfig::new());
    config
}

/// The 1 MiB binary payload: every byte position differs from its neighbours, so a reordered
/// or dropped chunk cannot go unnoticed.
pub fn big_payload() -> Vec<u8> {
    (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn expect_text(got: Option<OwnedMessage>, text: &str) -> Result<(), String> {
    match got {
        Some(OwnedMessage::Text(t)) if t == text => Ok(()),
        other => Err(format!("echo mismatch: sent {text:?}, got {other:?}")),
    }
}

fn expect_binary(got: Option<OwnedMessage>, data: &[u8]) -> Result<(), String> {
    match got {
        Some(OwnedMessage::Binary(b)) if b == data => Ok(()),
        Some(OwnedMessage::Binary(b)) => Err(format!(
            "binary echo mismatch: sent {} bytes, got {} (first difference at {:?})",
            data.len(),
            b.len(),
            b.iter().zip(data).position(|(x, y)| x != y)
        )),
        other => Err(format!("expected the binary echo, got {other:?}")),
    }
}

/// Our close 1000 was answered with 1000: a clean close we started.
fn expect_clean(closed: Option<Closed>) -> Result<(), String> {
    match closed {
        Some(c) if (c.code, c.cause) == (CloseCode::NORMAL, CloseCause::ClosedLocally) => Ok(()),
        other => Err(format!("unclean close: {other:?}")),
    }
}

/// A blocking client for `url` (`ws://`) with `config`.
pub fn connect_blocking(
    url: &str,
    config: Config,
) -> Result<wsmachine::blocking::WebSocket<TcpStream>, String> {
    use wsmachine::blocking::{Hooks, WebSocket};
    let request = ClientRequest::from_uri(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.effective_port()))
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let _ = stream.set_nodelay(true);
    WebSocket::connect(stream, Hooks::tcp(), &request, config)
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

/// The conversation on the blocking driver; returns a report line.
pub fn run_blocking(url: &str) -> Result<String, String> {
    let mut ws = connect_blocking(url, client_config())?;
    let e = |e: wsmachine::driver::Error| e.to_string();
    ws.send_text("hello").map_err(e)?;
    expect_text(ws.recv_owned().map_err(e)?, "hello")?;
    let payload = big_payload();
    ws.send_binary(&payload).map_err(e)?;
    expect_binary(ws.recv_owned().map_err(e)?, &payload)?;
    ws.ping(b"wsmachine").map_err(e)?;
    loop {
        match ws.recv_event().map_err(e)? {
            Some(Event::Pong(p)) if p == b"wsmachine" => break,
            Some(Event::Pong(_) | Event::Ping(_)) => {}
            other => return Err(format!("waiting for the pong: {other:?}")),
        }
    }
    ws.close(CloseCode::NORMAL, "done").map_err(e)?;
    if let Some(m) = ws.recv_owned().map_err(e)? {
        return Err(format!("unexpected message after our close: {m:?}"));
    }
    expect_clean(ws.connection().closed())?;
    Ok(format!(
        "ok: text, 1 MiB binary, ping/pong and close 1000 against {url}"
    ))
}

/// The conversation on the async driver (tokio's or any runtime's) over an open connection;
/// returns a report line.
pub async fn run_async<T: wsmachine::driver::Transport>(
    mut ws: wsmachine::driver::WebSocket<T>,
    url: &str,
) -> Result<String, String> {
    let e = |e: wsmachine::driver::Error| e.to_string();
    ws.send_text("hello").await.map_err(e)?;
    expect_text(ws.recv_owned().await.map_err(e)?, "hello")?;
    let payload = big_payload();
    ws.send_binary(&payload).await.map_err(e)?;
    expect_binary(ws.recv_owned().await.map_err(e)?, &payload)?;
    ws.ping(b"wsmachine").await.map_err(e)?;
    loop {
        match ws.recv_event().await.map_err(e)? {
            Some(Event::Pong(p)) if p == b"wsmachine" => break,
            Some(Event::Pong(_) | Event::Ping(_)) => {}
            other => return Err(format!("waiting for the pong: {other:?}")),
        }
    }
    ws.close(CloseCode::NORMAL, "done").await.map_err(e)?;
    if let Some(m) = ws.recv_owned().await.map_err(e)? {
        return Err(format!("unexpected message after our close: {m:?}"));
    }
    expect_clean(ws.connection().closed())?;
    Ok(format!(
        "ok: text, 1 MiB binary, ping/pong and close 1000 against {url}"
    ))
}

/// A tokio client for `url` (`ws://`) with `config`.
pub async fn connect_tokio(
    url: &str,
    config: Config,
) -> Result<wsmachine::tokio::WebSocket<tokio::net::TcpStream>, String> {
    let (request, address) =
        wsmachine::driver::url_request(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let _ = stream.set_nodelay(true);
    wsmachine::tokio::WebSocket::connect(stream, &request, config)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

/// The conversation on the tokio driver with `connector` (`ws://` or `wss://`, through the
/// connector's proxy).
pub async fn run_tokio_with(
    url: &str,
    connector: &wsmachine::driver::Connector,
) -> Result<String, String> {
    let ws = wsmachine::tokio::connect_with(url, connector)
        .await
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let tls = if ws.transport().is_tls() {
        " over TLS"
    } else {
        ""
    };
    Ok(format!("{}{tls}", run_async(ws, url).await?))
}

/// The conversation on the tokio driver: the example clients' configuration, the proxy of
/// the environment.
pub async fn run_tokio(url: &str) -> Result<String, String> {
    let connector = wsmachine::driver::Connector::new().with_config(client_config());
    run_tokio_with(url, &connector).await
}
