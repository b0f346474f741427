//! A blocking WebSocket client (`wsmachine::blocking`) that checks an echo server.
//!
//! ```sh
//! cargo run --release --features tokio --example echo_server -- 127.0.0.1:9002 &
//! cargo run --release --features tokio --example client -- ws://127.0.0.1:9002/
//! ```
//!
//! It sends `hello` and checks the echo, sends 1 MiB of binary data and checks it comes back
//! byte for byte, pings and waits for the pong, closes with 1000 and waits for the server's
//! close. Any mismatch or protocol error prints the reason and exits 1 (after the close frame
//! the failure queued went out, §7.1.7).

#[path = "support/client_checks.rs"]
mod client_checks;

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9002/".into());
    match client_checks::run_blocking(&url) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("client: {e}");
            std::process::exit(1);
        }
    }
}
