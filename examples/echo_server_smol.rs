//! The echo server on smol and `wsmachine::futures_io` (the driver for the `futures-io`
//! traits, which smol, async-std and others implement): one task per connection, the same
//! backpressure and deadlines as the tokio driver (the deadlines on `futures-timer`).
//!
//! ```sh
//! cargo run --release --features futures-io --example echo_server_smol -- 127.0.0.1:9004
//! cargo run --release --features futures-io --example echo_server_smol -- 127.0.0.1:9004 --stats
//! ```
//!
//! With `--stats` it prints one line per connection when it ends: the peer, the close code and
//! cause, and `Connection::stats()`.

#[path = "support/echo.rs"]
mod echo;

fn main() -> std::io::Result<()> {
    let args = echo::Args::parse();
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind(args.get(0, "127.0.0.1:9004")).await?;
        println!("listening on ws://{}", listener.local_addr()?);
        loop {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let stats = args.stats;
            smol::spawn(async move {
                let (closed, counters) = echo::serve_futures_io(stream, echo::echo_config()).await;
                if stats {
                    println!("{}", echo::stats_line(peer, closed.as_ref(), &counters));
                }
            })
            .detach();
        }
    })
}
