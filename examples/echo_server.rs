//! A blocking echo server on `std::net` and `wsmachine::blocking`, one thread per connection.
//!
//! ```sh
//! cargo run --release --features tokio --example echo_server -- 127.0.0.1:9002
//! cargo run --release --features tokio --example echo_server -- 127.0.0.1:9002 --stats
//! ```
//!
//! Echoes every text and binary message unchanged (up to 16 MiB, fragmented or not), answers
//! pings, echoes the client's close code and reason and then closes TCP, accepts the first
//! subprotocol a client offers, fails invalid UTF-8 with 1007, and answers a plain HTTP
//! request with a short text. Limits are raised for the Autobahn|Testsuite; the connection's
//! deadlines (handshake, keepalive, close) are the defaults.
//!
//! With `--stats` it prints one line per connection when it ends: the peer, the close code and
//! cause, and `Connection::stats()`.

use std::net::TcpListener;

#[path = "support/echo.rs"]
mod echo;

fn main() -> std::io::Result<()> {
    let args = echo::Args::parse();
    let listener = TcpListener::bind(args.get(0, "127.0.0.1:9002"))?;
    println!("listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let stats = args.stats;
        std::thread::spawn(move || {
            let peer = stream.peer_addr().map_or("?".into(), |a| a.to_string());
            let (closed, counters) = echo::serve_blocking(stream, echo::echo_config());
            if stats {
                println!("{}", echo::stats_line(peer, closed.as_ref(), &counters));
            }
        });
    }
    Ok(())
}
