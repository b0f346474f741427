//! The echo server on tokio: one task per connection, reading and writing at the same time,
//! with backpressure (it stops reading while more than 4 MiB of output wait).
//!
//! ```sh
//! cargo run --release --example echo_server_tokio -- 127.0.0.1:9003
//! cargo run --release --example echo_server_tokio -- 127.0.0.1:9003 --stats
//! ```
//!
//! With `--stats` it prints one line per connection when it ends: the peer, the close code and
//! cause, and `Connection::stats()` (bytes, frames, messages, pings, pongs each way).

use tokio::net::TcpListener;

#[path = "support/clock.rs"]
mod clock;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/tokio_io.rs"]
mod tokio_io;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = echo::Args::parse();
    let addr = args.get(0, "127.0.0.1:9003");
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        let stats = args.stats;
        tokio::spawn(async move {
            let (closed, counters) = tokio_io::echo_connection_stats(stream).await;
            if stats {
                println!("{}", echo::stats_line(peer, closed.as_ref(), &counters));
            }
        });
    }
}
