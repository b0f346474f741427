//! The drivers' `tracing` events (feature `tracing`): the upgrade and the end of each
//! connection, with its code and cause, on both sides; a dropped transport as a failure.

#![cfg(all(feature = "tracing", feature = "tokio"))]

mod common;

use std::fmt::{Debug, Write as _};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{span, Event, Metadata, Subscriber};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::tokio::WebSocket;
use wsmachine::{CloseCode, Config};

/// Records each event of target `wsmachine` as "LEVEL field=value ...".
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "wsmachine"
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

impl Collect {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn upgrade_and_clean_end_on_both_sides() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let mut ws = WebSocket::accept(server_io).await.unwrap();
        while let Some(message) = ws.recv_owned().await.unwrap() {
            ws.send(message.as_message()).await.unwrap();
        }
    });
    let request = ClientRequest::new("x", "/");
    let (mut ws, _) = WebSocket::connect(client_io, &request, Config::new())
        .await
        .unwrap();
    ws.send_text("hi").await.unwrap();
    assert!(ws.recv().await.unwrap().is_some());
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(ws.recv().await.unwrap().is_none());
    drop(ws);
    server.await.unwrap();
    let lines = collect.lines();
    let upgraded: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("websocket upgraded"))
        .collect();
    assert_eq!(upgraded.len(), 2, "{lines:#?}");
    assert!(upgraded.iter().any(|l| l.contains("role=Server")));
    assert!(upgraded.iter().any(|l| l.contains("role=Client")));
    let ended: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("websocket ended"))
        .collect();
    assert_eq!(ended.len(), 2, "{lines:#?}");
    for (role, cause) in [("Client", "ClosedLocally"), ("Server", "ClosedByPeer")] {
        assert!(
            ended.iter().any(|l| l.starts_with("DEBUG")
                && l.contains(&format!("role={role}"))
                && l.contains("code=1000")
                && l.contains(&format!("cause={cause}"))),
            "{lines:#?}"
        );
    }
}

/// A peer that vanishes mid-conversation: the end is reported with code 1006 (abnormal).
#[tokio::test]
async fn a_vanished_peer_is_an_abnormal_end() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let (peer, server_io) = common::duplex_with_request(64 * 1024).await;
    let mut ws = WebSocket::accept(server_io).await.unwrap();
    drop(peer);
    assert!(ws.recv().await.is_err());
    drop(ws);
    let lines = collect.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("websocket ended") && l.contains("code=1006")),
        "{lines:#?}"
    );
}

/// The blocking driver reports the same lifecycle, from each side's own thread.
#[test]
fn blocking_driver_reports_upgrade_and_end() {
    let collect = Collect::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server_collect = collect.clone();
    let server = std::thread::spawn(move || {
        let _guard = tracing::subscriber::set_default(server_collect);
        let (stream, _) = listener.accept().unwrap();
        let mut ws = wsmachine::blocking::accept(stream).unwrap();
        while let Some(message) = ws.recv_owned().unwrap() {
            ws.send(message.as_message()).unwrap();
        }
    });
    {
        let _guard = tracing::subscriber::set_default(collect.clone());
        let mut ws = wsmachine::blocking::connect(&url).unwrap();
        ws.send_text("hi").unwrap();
        assert!(ws.recv().unwrap().is_some());
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert!(ws.recv().unwrap().is_none());
    }
    server.join().unwrap();
    let lines = collect.lines();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("websocket upgraded"))
            .count(),
        2,
        "{lines:#?}"
    );
    for role in ["Client", "Server"] {
        assert!(
            lines.iter().any(|l| l.contains("websocket ended")
                && l.contains(&format!("role={role}"))
                && l.contains("code=1000")),
            "{lines:#?}"
        );
    }
}
