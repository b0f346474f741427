//! wsmachine behind axum: axum serves the routes, and `/ws` is upgraded to a WebSocket run by
//! the tokio driver.
//!
//! ```sh
//! cargo run --features http,tokio --example axum_upgrade -- 127.0.0.1:9005 &
//! curl http://127.0.0.1:9005/                                  # a plain route
//! cargo run --features tokio --example client_tokio -- ws://127.0.0.1:9005/ws
//! ```
//!
//! axum's own `WebSocketUpgrade` runs tungstenite. Here the `/ws` handler takes the plain
//! `Request` (an `http::Request` carrying hyper's upgrade extension, since `axum::serve`
//! serves connections with upgrades) and gives it to the same route as the hyper example:
//! `wsmachine::handshake::http::upgrade_response` checks the request and builds the `101`,
//! `hyper::upgrade::on` yields the upgraded I/O once it is written, and
//! `wsmachine::tokio::WebSocket::from_upgraded` runs the echo on it.

#[path = "support/axum_app.rs"]
mod axum_app;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/hyper_ws.rs"]
mod hyper_ws;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9005".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("page on http://{local}/, WebSocket echo on ws://{local}/ws");
    axum::serve(listener, axum_app::app()).await
}
