//! The checks the example clients run against an echo server.

#![allow(dead_code)]

use std::time::Duration;

use wsmachine::{CloseCause, CloseCode, OwnedEvent};

/// The example clients' configuration: defaults, and with the `deflate` feature an offer of
/// permessage-deflate.
pub fn client_config() -> wsmachine::Config {
    let config = wsmachine::Config::new();
    #[cfg(feature = "deflate")]
    let config = config.with_deflate(wsmachine::extensions::deflate::DeflateConfig::new());
    config
}

/// How long any step may wait for an answer.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The 1 MiB binary payload: every byte position differs from its neighbours, so a reordered
/// or dropped chunk cannot go unnoticed.
pub fn big_payload() -> Vec<u8> {
    (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// What the client expects after sending each probe.
pub fn is_text(event: &OwnedEvent, text: &str) -> Result<bool, String> {
    match event {
        OwnedEvent::Text(t) if t == text => Ok(true),
        OwnedEvent::Text(t) => Err(format!("echo mismatch: sent {text:?}, got {t:?}")),
        _ => Ok(false),
    }
}

pub fn is_binary(event: &OwnedEvent, data: &[u8]) -> Result<bool, String> {
    match event {
        OwnedEvent::Binary(b) if b == data => Ok(true),
        OwnedEvent::Binary(b) => {
            let at = b.iter().zip(data).position(|(x, y)| x != y);
            Err(format!(
                "binary echo mismatch: sent {} bytes, got {} bytes (first difference at {at:?})",
                data.len(),
                b.len()
            ))
        }
        _ => Ok(false),
    }
}

pub fn is_pong(event: &OwnedEvent, payload: &[u8]) -> bool {
    matches!(event, OwnedEvent::Pong(p) if p == payload)
}

/// The server's answer to our close: its close frame with our code, then a clean `Closed`.
pub fn is_clean_close(event: &OwnedEvent) -> Result<bool, String> {
    match event {
        OwnedEvent::CloseReceived { code, .. } if *code == CloseCode::NORMAL => Ok(false),
        OwnedEvent::CloseReceived { code, reason } => Err(format!(
            "the server closed with {code} {reason:?} instead of echoing 1000"
        )),
        OwnedEvent::Closed(c) if c.cause == CloseCause::ClosedLocally => Ok(true),
        OwnedEvent::Closed(c) => Err(format!("unclean close: {} {:?}", c.code, c.cause)),
        _ => Ok(false),
    }
}
