//! Interoperability with implementations nobody here wrote: Python `websockets` and node `ws`
//! as clients of the blocking echo server, and as servers for the blocking example client;
//! both negotiate permessage-deflate when the `deflate` feature is on.
//!
//! The peers come from `../shared/autobahn/install.sh --with-peers` (Python venv and node
//! modules under `/opt/autobahn/peers`, or `WSMACHINE_PEERS` elsewhere). Without them the tests
//! say so and pass, unless `WSMACHINE_REQUIRE_INTEROP=1` (as in `.ci/run`) makes that a failure.
#![cfg(feature = "tokio")]

#[path = "../examples/support/client_checks.rs"]
mod client_checks;
#[path = "../examples/support/echo.rs"]
mod echo;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn peers() -> PathBuf {
    std::env::var_os("WSMACHINE_PEERS")
        .map_or_else(|| PathBuf::from("/opt/autobahn/peers"), PathBuf::from)
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// The peer's interpreter and its environment, or `None` (after saying why) when the peer is
/// not installed and not required.
fn peer(python: bool) -> Option<Command> {
    let (program, exists) = if python {
        let p = peers().join("venv/bin/python");
        (p.clone(), p.exists())
    } else {
        (
            PathBuf::from("node"),
            peers().join("node/node_modules/ws").exists(),
        )
    };
    if !exists {
        let what = if python {
            "Python websockets"
        } else {
            "node ws"
        };
        assert!(
            std::env::var("WSMACHINE_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "{what} is not installed under {} (run ../shared/autobahn/install.sh --with-peers)",
            peers().display()
        );
        eprintln!("SKIPPED: {what} not installed under {}", peers().display());
        return None;
    }
    let mut cmd = Command::new(program);
    if !python {
        cmd.env("NODE_PATH", peers().join("node/node_modules"));
    }
    Some(cmd)
}

/// The blocking echo server on an ephemeral port.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            std::thread::spawn(move || echo::serve_blocking(stream, echo::echo_config()));
        }
    });
    url
}

/// Starts a peer server script and reads the port it prints.
struct PeerServer(Child);

impl PeerServer {
    fn start(mut cmd: Command, script_name: &str) -> (PeerServer, String) {
        let mut child = cmd
            .arg(script(script_name))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the peer server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .expect("the peer server prints its port");
        (PeerServer(child), format!("ws://127.0.0.1:{port}/"))
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_client(mut cmd: Command, script_name: &str, url: &str) {
    let out = cmd
        .arg(script(script_name))
        .arg(url)
        .output()
        .expect("run the peer client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script_name} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", text.trim());
}

#[test]
fn python_websockets_client_with_our_server() {
    if let Some(python) = peer(true) {
        run_client(python, "python_client.py", &echo_server());
    }
}

#[test]
fn our_client_with_python_websockets_server() {
    if let Some(python) = peer(true) {
        let (_server, url) = PeerServer::start(python, "python_server.py");
        println!("{}", client_checks::run_blocking(&url).unwrap());
    }
}

#[test]
fn node_ws_client_with_our_server() {
    if let Some(node) = peer(false) {
        run_client(node, "node_client.cjs", &echo_server());
    }
}

#[test]
fn our_client_with_node_ws_server() {
    if let Some(node) = peer(false) {
        let (_server, url) = PeerServer::start(node, "node_server.cjs");
        println!("{}", client_checks::run_blocking(&url).unwrap());
    }
}
