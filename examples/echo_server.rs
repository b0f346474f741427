//! A blocking echo server on `std::net`, one thread per connection.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:9002
//! ```
//!
//! Echoes every text and binary message unchanged (up to 16 MiB, fragmented or not), answers
//! pings, echoes the client's close code and reason and then closes TCP, accepts the first
//! subprotocol a client offers, fails invalid UTF-8 with 1007, and answers a plain HTTP request
//! with a short text. Limits are raised for the Autobahn|Testsuite.

use std::net::TcpListener;

#[path = "support/echo.rs"]
mod echo;
#[path = "support/std_io.rs"]
mod std_io;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".to_string());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    if let Err(e) = std_io::echo_connection(stream) {
                        eprintln!("connection error: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}
