//! wsmachine behind hyper 1.x: one port serves a plain HTTP page and a WebSocket endpoint.
//!
//! ```sh
//! cargo run --features http,tokio --example hyper_upgrade -- 127.0.0.1:9004 &
//! curl http://127.0.0.1:9004/                                  # the page
//! cargo run --features tokio --example client_tokio -- ws://127.0.0.1:9004/ws  # the echo checks
//! ```
//!
//! hyper (`http1` with `.with_upgrades()`, through hyper-util's `TokioIo`) parses every
//! request. `GET /` gets a text page; `GET /ws` goes through
//! `wsmachine::handshake::http::upgrade_response`, which validates the upgrade (answering 400,
//! or 426 with `Sec-WebSocket-Version: 13`, when it is not one) and builds the `101`; the route
//! returns it and spawns a task on `hyper::upgrade::on(req)`. Once hyper has written the `101`,
//! the task takes the upgraded I/O back (`Upgraded::downcast` to the `TcpStream`, with the
//! bytes hyper read past the head as the leftover of `Connection::upgraded_server`) and runs
//! the same echo behaviour as `echo_server` on it; on any other I/O (TLS, say) the downcast
//! fails and the echo runs on `Upgraded` itself (which replays those bytes) with the generic
//! `wsmachine::tokio` driver.
//!
//! An axum handler does the same with its `Request` (an `http::Request` carrying hyper's
//! upgrade extension): `upgrade_response(&req, ..)`, `hyper::upgrade::on(&mut req)`, return the
//! `101`.

use tokio::net::TcpListener;

#[path = "support/echo.rs"]
mod echo;
#[path = "support/hyper_ws.rs"]
mod hyper_ws;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9004".to_string());
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("page on http://{local}/, WebSocket echo on ws://{local}/ws");
    hyper_ws::serve(listener).await
}
