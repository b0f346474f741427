//! A tokio client on top of `TokioTransport`, and the example checks over it.

#![allow(dead_code)]

use std::time::Duration;

use tokio::net::TcpStream;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{CloseCode, Config, Connection, OwnedEvent, Seed};

use super::client_checks::*;
use super::tokio_io::TokioTransport;

/// A connected tokio client.
pub struct TokioClient {
    pub conn: Connection,
    pub transport: TokioTransport,
}

impl TokioClient {
    /// Opens a TCP connection and completes the opening handshake within `timeout`.
    pub async fn connect(
        url: &str,
        config: Config,
        timeout: Duration,
    ) -> Result<TokioClient, String> {
        let request = ClientRequest::from_uri(url).map_err(|e| format!("bad URL {url}: {e}"))?;
        if request.is_secure() {
            return Err("wss:// needs TLS: see the wss examples".into());
        }
        let host = request.host().trim_start_matches('[').trim_end_matches(']');
        let stream = TcpStream::connect((host, request.effective_port()))
            .await
            .map_err(|e| format!("connect to {url}: {e}"))?;
        let seed = Seed::from_os().map_err(|e| e.to_string())?;
        let conn = Connection::client(config, &request, seed).map_err(|e| e.to_string())?;
        let mut client = TokioClient {
            conn,
            transport: TokioTransport::new(stream, usize::MAX),
        };
        match client.next_event(timeout).await? {
            OwnedEvent::Accepted(_) => Ok(client),
            OwnedEvent::Rejected(r) => {
                Err(format!("the server refused: {} {}", r.status, r.reason))
            }
            other => Err(format!("handshake failed: {other:?}")),
        }
    }

    /// Moves bytes until the next event, at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<OwnedEvent, String> {
        let wait = async {
            loop {
                if let Some(event) = self.conn.poll_event() {
                    return Ok(event.into_owned());
                }
                if self.transport.is_done(&self.conn) {
                    return Err("the connection is closed".to_string());
                }
                self.transport
                    .drive(&mut self.conn)
                    .await
                    .map_err(|e| format!("transport error: {e}"))?;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
    }

    /// Drives the connection until the server has closed the transport.
    pub async fn finish(&mut self) -> Result<(), String> {
        while !self.transport.is_done(&self.conn) {
            while self.conn.poll_event().is_some() {}
            self.transport
                .drive(&mut self.conn)
                .await
                .map_err(|e| format!("transport error: {e}"))?;
        }
        Ok(())
    }

    async fn wait(
        &mut self,
        what: &str,
        mut check: impl FnMut(&OwnedEvent) -> Result<bool, String>,
    ) -> Result<(), String> {
        loop {
            let event = self
                .next_event(STEP_TIMEOUT)
                .await
                .map_err(|e| format!("waiting for {what}: {e}"))?;
            if check(&event)? {
                return Ok(());
            }
            match event {
                OwnedEvent::Ping(_) | OwnedEvent::Pong(_) | OwnedEvent::CloseReceived { .. } => {}
                other => return Err(format!("waiting for {what}: unexpected {other:?}")),
            }
        }
    }
}

/// The example client's conversation, on tokio.
pub async fn run(url: &str) -> Result<String, String> {
    let mut client = TokioClient::connect(url, client_config(), STEP_TIMEOUT).await?;
    client.conn.send_text("hello").map_err(|e| e.to_string())?;
    client
        .wait("the text echo", |e| is_text(e, "hello"))
        .await?;
    let payload = big_payload();
    client
        .conn
        .send_binary(&payload)
        .map_err(|e| e.to_string())?;
    client
        .wait("the 1 MiB binary echo", |e| is_binary(e, &payload))
        .await?;
    client.conn.ping(b"wsmachine").map_err(|e| e.to_string())?;
    client
        .wait("the pong", |e| Ok(is_pong(e, b"wsmachine")))
        .await?;
    client
        .conn
        .close(CloseCode::NORMAL, "done")
        .map_err(|e| e.to_string())?;
    client.wait("the server's close", is_clean_close).await?;
    client.finish().await?;
    Ok(format!(
        "ok: text, 1 MiB binary, ping/pong and close 1000 against {url}"
    ))
}
