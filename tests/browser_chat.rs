//! The chat demo in a real browser: two headless Chromium pages use the page's own
//! `new WebSocket(...)`, `send()` and `message` event against the wsmachine server, and a
//! page of another origin is refused (RFC 6455 §10.2) (`tests/browser/chat.cjs`, driven by
//! playwright-core).
//!
//! Needs Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and playwright-core
//! (`WSMACHINE_PLAYWRIGHT`: a `node_modules` folder holding it). Without them the test says so
//! and passes, unless `WSMACHINE_REQUIRE_BROWSER=1` (as in `.ci/run`).
#![cfg(feature = "tokio")]

#[path = "../examples/support/chat.rs"]
mod chat;

use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;

#[test]
fn two_browser_pages_chat_through_the_server() {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let playwright = std::env::var_os("WSMACHINE_PLAYWRIGHT").map(PathBuf::from);
    let ready = chromium.exists()
        && playwright
            .as_ref()
            .is_some_and(|p| p.join("playwright-core").exists());
    if !ready {
        assert!(
            std::env::var("WSMACHINE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "Chromium ({}) or playwright-core (WSMACHINE_PLAYWRIGHT) missing",
            chromium.display()
        );
        eprintln!("SKIPPED: Chromium or playwright-core not installed");
        return;
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                chat::serve(listener).await.unwrap();
            });
    });
    let addr = rx.recv().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/chat.cjs");
    let out = Command::new("node")
        .arg(script)
        .arg(format!("http://{addr}/"))
        .env("NODE_PATH", playwright.unwrap())
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser test failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", stdout.trim());
}
