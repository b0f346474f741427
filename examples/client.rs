//! A blocking WebSocket client that checks an echo server.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:9002 &
//! cargo run --release --example client -- ws://127.0.0.1:9002/
//! ```
//!
//! It sends `hello` and checks the echo, sends 1 MiB of binary data and checks it comes back
//! byte for byte, pings and waits for the pong, closes with 1000 and waits for the server's
//! close. Any mismatch, protocol error, unexpected close, or 10 s without an answer prints
//! the reason and exits 1.

#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/clock.rs"]
mod clock;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/std_checks.rs"]
mod std_checks;
#[path = "support/std_client.rs"]
mod std_client;
#[path = "support/std_io.rs"]
mod std_io;

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9002/".to_string());
    match std_checks::run(&url) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("client: {e}");
            std::process::exit(1);
        }
    }
}
