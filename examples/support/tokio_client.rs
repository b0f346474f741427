//! A tokio client: `async_io.rs`'s `AsyncClient` over `TokioTransport` (readiness-based), and
//! the example client's conversation over it. Include it next to `async_io.rs`, `tokio_io.rs`,
//! `echo.rs` and `client_checks.rs`.

#![allow(dead_code)]

use std::future::Future;
use std::io;

use tokio::net::TcpStream;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Connection, Seed};

use super::async_io::{AsyncClient, Driver};
use super::client_checks::*;
use super::tokio_io::TokioTransport;

impl Driver for TokioTransport {
    fn drive(&mut self, conn: &mut Connection) -> impl Future<Output = io::Result<()>> {
        TokioTransport::drive(self, conn)
    }

    fn is_done(&self, conn: &Connection) -> bool {
        TokioTransport::is_done(self, conn)
    }
}

/// Opens a TCP connection to `url` and completes the opening handshake.
pub async fn connect(url: &str) -> Result<AsyncClient<TokioTransport>, String> {
    let request = ClientRequest::from_uri(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    if request.is_secure() {
        return Err("wss:// needs TLS: see the wss examples".into());
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.effective_port()))
        .await
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let seed = Seed::from_os().map_err(|e| e.to_string())?;
    let conn = Connection::client(client_config(), &request, seed).map_err(|e| e.to_string())?;
    AsyncClient::open(conn, TokioTransport::new(stream, usize::MAX), STEP_TIMEOUT).await
}

/// The example client's conversation, on tokio.
pub async fn run(url: &str) -> Result<String, String> {
    connect(url).await?.run_checks().await?;
    Ok(format!(
        "ok: text, 1 MiB binary, ping/pong and close 1000 against {url}"
    ))
}
