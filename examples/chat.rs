//! The classic demo: a chat page and its WebSocket endpoint on one port.
//!
//! ```sh
//! cargo run --release --example chat -- 127.0.0.1:8080
//! ```
//!
//! Open <http://127.0.0.1:8080/> in two browser tabs: the page uses `new WebSocket(...)`,
//! `send()`, and the `message` and `close` events; every message is relayed to every
//! connected browser. The page and the upgrade share the port through the handshake's
//! plain-request path: `GET /` arrives as a plain `Event::Request` and is answered with
//! `respond`, `GET /chat` with `Upgrade: websocket` is accepted.

use tokio::net::TcpListener;

#[path = "support/chat.rs"]
mod chat;
#[path = "support/clock.rs"]
mod clock;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/tokio_io.rs"]
mod tokio_io;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat on http://{}/", listener.local_addr()?);
    chat::serve(listener).await
}
