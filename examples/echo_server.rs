//! A blocking echo server on `std::net`, one thread per connection.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:9002
//! cargo run --release --example echo_server -- 127.0.0.1:9002 --stats
//! ```
//!
//! Echoes every text and binary message unchanged (up to 16 MiB, fragmented or not), answers
//! pings, echoes the client's close code and reason and then closes TCP, accepts the first
//! subprotocol a client offers, fails invalid UTF-8 with 1007, and answers a plain HTTP request
//! with a short text. Limits are raised for the Autobahn|Testsuite.
//!
//! With `--stats` it prints one line per connection when it ends: the peer, the close code and
//! cause, and `Connection::stats()` (bytes, frames, messages, pings, pongs each way).

use std::net::TcpListener;

#[path = "support/clock.rs"]
mod clock;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/std_io.rs"]
mod std_io;

fn main() -> std::io::Result<()> {
    let args = echo::Args::parse();
    let addr = args.get(0, "127.0.0.1:9002");
    let listener = TcpListener::bind(&addr)?;
    println!("listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let stats = args.stats;
                std::thread::spawn(move || {
                    let peer = stream
                        .peer_addr()
                        .map_or_else(|_| "?".to_string(), |a| a.to_string());
                    let (result, counters) = std_io::echo_connection_stats(stream);
                    if let Err(e) = &result {
                        eprintln!("connection error: {e}");
                    }
                    if stats {
                        let closed = result.ok().flatten();
                        println!("{}", echo::stats_line(peer, closed.as_ref(), &counters));
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}
