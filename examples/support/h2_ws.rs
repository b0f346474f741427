//! WebSocket over HTTP/2 (RFC 8441) with the `h2` crate: the extended CONNECT handshake on
//! both sides, and one HTTP/2 stream as an `AsyncRead + AsyncWrite` byte stream that the
//! `wsmachine::tokio` driver runs a connection on. Uses `echo.rs` as a `super::` module.

#![allow(dead_code)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use h2::ext::Protocol;
use h2::server::SendResponse;
use h2::{Ping, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::h2::{
    request_headers, response_headers, validate_extended_connect, validate_response,
};
use wsmachine::tokio::WebSocket;
use wsmachine::{Closed, Config, Role, Stats};

use super::echo::{echo_config, echo_open};

/// HTTP/2 flow-control windows: the defaults (64 KiB) would stop a 1 MiB message every 64 KiB
/// for a round trip.
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 4 << 20;

/// The most output handed to h2 at once.
const MAX_CHUNK: usize = 256 * 1024;

/// One HTTP/2 stream as an `AsyncRead + AsyncWrite` byte stream for the tokio driver:
/// DATA frames in are read (their flow-control capacity released as they are taken), writes
/// become DATA frames within the stream's send capacity, and the half-close is an empty DATA
/// frame with END_STREAM.
pub struct H2Stream {
    pub send: SendStream<Bytes>,
    pub recv: RecvStream,
    /// A DATA payload not read yet.
    pending: Bytes,
}

impl H2Stream {
    pub fn new(send: SendStream<Bytes>, recv: RecvStream) -> H2Stream {
        H2Stream {
            send,
            recv,
            pending: Bytes::new(),
        }
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            match self.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.pending = data;
                }
                // END_STREAM: the end of the transport.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io::Error::other(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.send.reserve_capacity(data.len().min(MAX_CHUNK));
        let capacity = match self.send.capacity() {
            0 => match self.send.poll_capacity(cx) {
                Poll::Ready(Some(Ok(n))) => n,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io::Error::other(e))),
                Poll::Ready(None) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Poll::Pending => return Poll::Pending,
            },
            n => n,
        };
        let n = capacity.min(data.len());
        self.send
            .send_data(Bytes::copy_from_slice(&data[..n]), false)
            .map_err(io::Error::other)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The stream may be reset already: nothing left to tell the peer then.
        let _ = self.send.send_data(Bytes::new(), true);
        Poll::Ready(Ok(()))
    }
}

/// Accepts TCP connections forever and speaks HTTP/2 on each (h2c with prior knowledge);
/// `report` is called with each WebSocket's outcome when it ends.
pub async fn serve<F>(listener: TcpListener, report: F) -> io::Result<()>
where
    F: Fn(Option<Closed>, Stats) + Clone + Send + 'static,
{
    loop {
        let (stream, _) = listener.accept().await?;
        let report = report.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, report).await {
                eprintln!("http/2 connection error: {e}");
            }
        });
    }
}

/// One HTTP/2 connection: SETTINGS_ENABLE_CONNECT_PROTOCOL on, each stream handled in its
/// own task while this one keeps polling the connection.
pub async fn serve_connection<F>(stream: TcpStream, report: F) -> Result<(), h2::Error>
where
    F: Fn(Option<Closed>, Stats) + Clone + Send + 'static,
{
    let _ = stream.set_nodelay(true);
    let mut connection = h2::server::Builder::new()
        .enable_connect_protocol()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(stream)
        .await?;
    while let Some(accepted) = connection.accept().await {
        let (request, respond) = accepted?;
        let report = report.clone();
        tokio::spawn(async move {
            if let Some((closed, stats)) = handle_stream(request, respond).await {
                report(closed, stats);
            }
        });
    }
    Ok(())
}

/// One request stream: an extended CONNECT for `websocket` on `/ws` is answered `200` and
/// echoed on (the outcome is returned when it ends); anything else gets an error status.
pub async fn handle_stream(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) -> Option<(Option<Closed>, Stats)> {
    let (parts, recv) = request.into_parts();
    // The header list RFC 8441 defines, pseudo-headers first, from what h2 parsed: the method
    // and URI parts, and `:protocol`, which h2 keeps as a request extension.
    let mut headers: Vec<(&str, &[u8])> = vec![(":method", parts.method.as_str().as_bytes())];
    if let Some(protocol) = parts.extensions.get::<Protocol>() {
        headers.push((":protocol", protocol.as_str().as_bytes()));
    }
    if let Some(scheme) = parts.uri.scheme_str() {
        headers.push((":scheme", scheme.as_bytes()));
    }
    if let Some(path) = parts.uri.path_and_query() {
        headers.push((":path", path.as_str().as_bytes()));
    }
    if let Some(authority) = parts.uri.authority() {
        headers.push((":authority", authority.as_str().as_bytes()));
    }
    headers.extend(
        parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    );
    let status = match validate_extended_connect(headers.iter().copied()) {
        Ok(connect) if connect.path == "/ws" => None,
        Ok(_) => Some(404),
        Err(e) => Some(e.http_status().unwrap_or(400)),
    };
    if let Some(status) = status {
        let mut response = http::Response::new(());
        *response.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
        let _ = respond.send_response(response, true);
        return None;
    }
    // Like the echo servers: accept the first subprotocol the client offers.
    let subprotocol = parts
        .headers
        .get_all("sec-websocket-protocol")
        .iter()
        .flat_map(|v| wsmachine::handshake::list_items(v.as_bytes()))
        .next()
        .and_then(|p| std::str::from_utf8(p).ok())
        .map(str::to_owned);
    let mut response = http::Response::builder();
    for (name, value) in response_headers(subprotocol.as_deref()) {
        response = match name {
            ":status" => response.status(value),
            _ => response.header(name, value),
        };
    }
    let sent = response
        .body(())
        .map_err(|e| e.to_string())
        .and_then(|r| respond.send_response(r, false).map_err(|e| e.to_string()));
    let send = match sent {
        Ok(send) => send,
        Err(e) => {
            eprintln!("answering the CONNECT: {e}");
            return None;
        }
    };
    let stream = H2Stream::new(send, recv);
    match WebSocket::from_upgraded(stream, Role::Server, echo_config(), &[]) {
        Ok(ws) => Some(echo_open(ws).await),
        Err(_) => None,
    }
}

/// A WebSocket client on an HTTP/2 stream.
pub type H2Client = WebSocket<H2Stream>;

/// Opens an HTTP/2 connection to `addr` (h2c, prior knowledge) and a WebSocket on `path` with
/// an extended CONNECT, within `timeout`.
pub async fn connect(
    addr: &str,
    path: &str,
    config: Config,
    timeout: Duration,
) -> Result<H2Client, String> {
    tokio::time::timeout(timeout, open(addr, path, config))
        .await
        .map_err(|_| {
            format!(
                "no WebSocket on {addr}{path} within {} s",
                timeout.as_secs()
            )
        })?
}

async fn open(addr: &str, path: &str, config: Config) -> Result<H2Client, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (send_request, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(tcp)
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    let mut ping_pong = connection.ping_pong().ok_or("no ping_pong handle")?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("http/2 connection error: {e}");
        }
    });
    // Extended CONNECT may be used only once the server's SETTINGS enabled it (RFC 8441 §3).
    // The server sends its SETTINGS first and h2 applies them before reading further frames,
    // so once a PING is answered they are known.
    ping_pong
        .ping(Ping::opaque())
        .await
        .map_err(|e| format!("waiting for the server's SETTINGS: {e}"))?;
    let mut send_request = send_request
        .ready()
        .await
        .map_err(|e| format!("HTTP/2 connection: {e}"))?;
    if !send_request.is_extended_connect_protocol_enabled() {
        return Err("the server did not enable extended CONNECT (RFC 8441)".into());
    }

    // The header list from wsmachine's RFC 8441 helper, mapped onto http's request parts.
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse().ok()?)))
        .ok_or_else(|| format!("bad address {addr}"))?;
    let ws_request = ClientRequest::new(host, path).with_port(port);
    let mut request = http::Request::builder();
    let mut uri = http::Uri::builder();
    let mut protocol = None;
    for (name, value) in request_headers(&ws_request) {
        match name {
            ":method" => request = request.method(value.as_ref()),
            ":protocol" => protocol = Some(Protocol::from(value.as_ref())),
            ":scheme" => uri = uri.scheme(value.as_ref()),
            ":authority" => uri = uri.authority(value.as_ref()),
            ":path" => uri = uri.path_and_query(value.as_ref()),
            _ => request = request.header(name, value.as_ref()),
        }
    }
    let mut request = request
        .uri(uri.build().map_err(|e| e.to_string())?)
        .body(())
        .map_err(|e| e.to_string())?;
    if let Some(protocol) = protocol {
        request.extensions_mut().insert(protocol);
    }
    let (response, send) = send_request
        .send_request(request, false)
        .map_err(|e| format!("sending the CONNECT: {e}"))?;
    let response = response
        .await
        .map_err(|e| format!("waiting for the answer: {e}"))?;
    let headers: Vec<(&str, &[u8])> = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    validate_response(response.status().as_u16(), headers.iter().copied(), &[])
        .map_err(|e| format!("the server refused: {e}"))?;
    let recv = response.into_body();
    WebSocket::from_upgraded(H2Stream::new(send, recv), Role::Client, config, &[])
        .map_err(|e| e.to_string())
}
