//! The example client on tokio: the same checks as `client.rs`.
//!
//! ```sh
//! cargo run --release --example echo_server_tokio -- 127.0.0.1:9003 &
//! cargo run --release --example client_tokio -- ws://127.0.0.1:9003/
//! ```

#[path = "support/async_io.rs"]
mod async_io;
#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/clock.rs"]
mod clock;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/tokio_client.rs"]
mod tokio_client;
#[path = "support/tokio_io.rs"]
mod tokio_io;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9003/".to_string());
    match tokio_client::run(&url).await {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("client_tokio: {e}");
            std::process::exit(1);
        }
    }
}
