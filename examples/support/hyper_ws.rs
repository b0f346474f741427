//! A hyper 1.x server whose `/ws` route upgrades to a WebSocket run by wsmachine: hyper parses
//! HTTP, `wsmachine::handshake::http::upgrade_response` checks the request and builds the
//! `101`, and `wsmachine::tokio::WebSocket::from_upgraded` runs the frames on the upgraded
//! I/O. Uses `echo.rs` as a `super::` module.

#![allow(dead_code)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use wsmachine::handshake::http::{check_origin, upgrade_response};
use wsmachine::handshake::list_items;
use wsmachine::handshake::origin::OriginPolicy;
use wsmachine::tokio::WebSocket;
use wsmachine::{Closed, Role, Stats};

use super::echo::{echo_config, echo_open};

/// The page `GET /` gets.
pub const PAGE: &str = "wsmachine behind hyper: the WebSocket echo endpoint is /ws\n";

/// Accepts connections forever, each served by hyper's HTTP/1.1 connection with upgrades.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve_connection(TokioIo::new(stream)).await {
                eprintln!("http connection error: {e}");
            }
        });
    }
}

/// Serves one HTTP/1.1 connection on any I/O hyper can use.
pub async fn serve_connection<I>(io: I) -> hyper::Result<()>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    http1::Builder::new()
        .serve_connection(io, service_fn(route))
        .with_upgrades()
        .await
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn route(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match req.uri().path() {
        "/" => text(StatusCode::OK, PAGE),
        "/ws" => upgrade(&mut req),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// Answers an upgrade request with the `101` (or the error status), and hands the upgraded
/// connection to a task once hyper has written the `101`. Any body type: hyper's own
/// requests, and axum's (an axum handler returns this response as it is).
pub fn upgrade<B>(req: &mut Request<B>) -> Response<Full<Bytes>> {
    // Like the echo servers: accept the first subprotocol the client offers.
    let subprotocol = req
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| list_items(v.as_bytes()))
        .next()
        .and_then(|p| std::str::from_utf8(p).ok())
        .map(str::to_owned);
    // Only pages of this server may open the socket (RFC 6455 §10.2): 403 for others.
    let checked = check_origin(req, &OriginPolicy::SAME_ORIGIN);
    let response = match checked.and_then(|()| upgrade_response(req, subprotocol.as_deref())) {
        Ok(response) => response,
        Err(e) => {
            let status = e.http_status().unwrap_or(400);
            let mut response = text(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                format!("{}\n", e.reason()),
            );
            if status == 426 {
                // §4.4: tell the client which version we speak.
                response
                    .headers_mut()
                    .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            return response;
        }
    };
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                run(upgraded).await;
            }
            Err(e) => eprintln!("upgrade failed: {e}"),
        }
    });
    response.map(|()| Full::new(Bytes::new()))
}

/// Echoes on an upgraded connection until it is over, with the tokio driver.
pub async fn run(upgraded: hyper::upgrade::Upgraded) -> (Option<Closed>, Stats) {
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        // Our own TcpStream back: bytes hyper read past the request head (frames a client
        // sent right behind it) are in `read_buf`.
        Ok(parts) => {
            let stream = parts.io.into_inner();
            match WebSocket::from_upgraded(stream, Role::Server, echo_config(), &parts.read_buf) {
                Ok(ws) => echo_open(ws).await,
                Err(_) => (None, Stats::default()),
            }
        }
        // Any other I/O (TLS, a test transport): `Upgraded` replays those bytes itself on its
        // first reads, so there is no leftover to pass.
        Err(upgraded) => {
            let stream = TokioIo::new(upgraded);
            match WebSocket::from_upgraded(stream, Role::Server, echo_config(), &[]) {
                Ok(ws) => echo_open(ws).await,
                Err(_) => (None, Stats::default()),
            }
        }
    }
}
