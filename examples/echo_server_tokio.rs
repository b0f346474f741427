//! The echo server on tokio and `wsmachine::tokio`: one task per connection, backpressure
//! (no more input is read while output waits for a slow reader), the connection's deadlines
//! on tokio's timers.
//!
//! ```sh
//! cargo run --release --features tokio --example echo_server_tokio -- 127.0.0.1:9003
//! cargo run --release --features tokio --example echo_server_tokio -- 127.0.0.1:9003 --stats
//! ```
//!
//! With `--stats` it prints one line per connection when it ends: the peer, the close code and
//! cause, and `Connection::stats()`.

#[path = "support/echo.rs"]
mod echo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = echo::Args::parse();
    let listener = tokio::net::TcpListener::bind(args.get(0, "127.0.0.1:9003")).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let stats = args.stats;
        tokio::spawn(async move {
            let (closed, counters) = echo::serve_async(stream, echo::echo_config()).await;
            if stats {
                println!("{}", echo::stats_line(peer, closed.as_ref(), &counters));
            }
        });
    }
}
