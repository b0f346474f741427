//! The classic demo: a chat page and its WebSocket endpoint on one port, on
//! `wsmachine::tokio`.
//!
//! ```sh
//! cargo run --release --features tokio --example chat -- 127.0.0.1:8080
//! ```
//!
//! Open <http://127.0.0.1:8080/> in two browser tabs: the page uses `new WebSocket(...)`,
//! `send()`, and the `message` and `close` events; every message is relayed to every
//! connected browser through each connection's split halves.

#[path = "support/chat.rs"]
mod chat;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("chat on http://{}/", listener.local_addr()?);
    chat::serve(listener).await
}
