//! The example client's checks over a blocking socket.

#![allow(dead_code)]

use wsmachine::{CloseCode, OwnedEvent};

use super::client_checks::*;
use super::std_client::{describe, StdClient};

/// Waits for an event that `check` accepts (Ok(true)); other pongs and pings are skipped,
/// anything else is a failure.
fn wait(
    client: &mut StdClient,
    what: &str,
    mut check: impl FnMut(&OwnedEvent) -> Result<bool, String>,
) -> Result<(), String> {
    loop {
        let event = client
            .next_event(STEP_TIMEOUT)
            .map_err(|e| format!("waiting for {what}: {e}"))?;
        if check(&event)? {
            return Ok(());
        }
        match event {
            OwnedEvent::Ping(_) | OwnedEvent::Pong(_) | OwnedEvent::CloseReceived { .. } => {}
            other => {
                return Err(format!(
                    "waiting for {what}: unexpected {}",
                    describe(&other)
                ))
            }
        }
    }
}

/// Runs the whole conversation against the echo server at `url`; returns a report line.
pub fn run(url: &str) -> Result<String, String> {
    let mut client = StdClient::connect(url, client_config(), STEP_TIMEOUT)?;
    client.conn.send_text("hello").map_err(|e| e.to_string())?;
    wait(&mut client, "the text echo", |e| is_text(e, "hello"))?;
    let payload = big_payload();
    client
        .conn
        .send_binary(&payload)
        .map_err(|e| e.to_string())?;
    wait(&mut client, "the 1 MiB binary echo", |e| {
        is_binary(e, &payload)
    })?;
    client.conn.ping(b"wsmachine").map_err(|e| e.to_string())?;
    wait(&mut client, "the pong", |e| Ok(is_pong(e, b"wsmachine")))?;
    client
        .conn
        .close(CloseCode::NORMAL, "done")
        .map_err(|e| e.to_string())?;
    wait(&mut client, "the server's close", is_clean_close)?;
    client.finish()?;
    Ok(format!(
        "ok: text, 1 MiB binary, ping/pong and close 1000 against {url}"
    ))
}
