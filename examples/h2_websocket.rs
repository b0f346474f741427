//! WebSocket over HTTP/2 (RFC 8441) with the `h2` crate, server and client in one program.
//!
//! ```sh
//! cargo run --features tokio --example h2_websocket -- 127.0.0.1:9005
//! ```
//!
//! The server speaks HTTP/2 over plain TCP (h2c, prior knowledge) with
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL` on. A client opens a WebSocket as one stream: `CONNECT`
//! with `:protocol = websocket` (h2's `ext::Protocol` request extension). The server rebuilds
//! the RFC 8441 header list from h2's request (method, URI scheme/authority/path, the protocol
//! extension, the headers), checks it with `wsmachine::handshake::h2::validate_extended_connect`,
//! answers `200` with `handshake::h2::response_headers`, and runs
//! `wsmachine::tokio::WebSocket::from_upgraded` on the stream, in both roles.
//! Frames travel in DATA frames: received bytes go to `Connection::receive` and their
//! flow-control capacity is released as the connection takes them; output goes out with
//! `SendStream::send_data` within reserved capacity; END_STREAM plays the part of the TCP
//! half-close.
//!
//! This program starts the server on the address (default `127.0.0.1:9005`), runs the checks
//! of `client` against it (text, 1 MiB binary, ping, close 1000), reports, and keeps serving;
//! `--serve` only serves, `--client` only runs the checks against a server already there,
//! `--stats` prints each WebSocket's statistics when it ends:
//!
//! ```sh
//! cargo run --features tokio --example h2_websocket -- 127.0.0.1:9005 --serve --stats &
//! cargo run --features tokio --example h2_websocket -- 127.0.0.1:9005 --client
//! ```

use std::time::Duration;

use tokio::net::TcpListener;
use wsmachine::Config;

#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/h2_ws.rs"]
mod h2_ws;

async fn check(addr: &str) -> Result<String, String> {
    let client = h2_ws::connect(addr, "/ws", Config::new(), Duration::from_secs(10)).await?;
    client_checks::run_async(client, addr).await?;
    Ok(format!(
        "ok: text, 1 MiB binary, ping/pong and close 1000 over HTTP/2 at {addr}/ws"
    ))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = echo::Args::parse();
    let addr = args.get(0, "127.0.0.1:9005");
    let serve = !args.has("--client");
    let client = !args.has("--serve");
    let server = if serve {
        let listener = TcpListener::bind(&addr).await?;
        println!("HTTP/2 WebSocket echo on {}/ws", listener.local_addr()?);
        let stats = args.stats;
        Some(tokio::spawn(h2_ws::serve(
            listener,
            move |closed, counters| {
                if stats {
                    println!("{}", echo::stats_line("stream", closed.as_ref(), &counters));
                }
            },
        )))
    } else {
        None
    };
    if client {
        match check(&addr).await {
            Ok(report) => println!("{report}"),
            Err(e) => {
                eprintln!("h2_websocket: {e}");
                std::process::exit(1);
            }
        }
    }
    match server {
        Some(task) => task.await.map_err(std::io::Error::other)?,
        None => Ok(()),
    }
}
