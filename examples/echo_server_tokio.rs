//! The echo server on tokio: one task per connection, reading and writing at the same time,
//! with backpressure (it stops reading while more than 4 MiB of output wait).
//!
//! ```sh
//! cargo run --release --example echo_server_tokio -- 127.0.0.1:9003
//! ```

use tokio::net::TcpListener;

#[path = "support/echo.rs"]
mod echo;
#[path = "support/tokio_io.rs"]
mod tokio_io;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = tokio_io::echo_connection(stream).await {
                eprintln!("connection error: {e}");
            }
        });
    }
}
