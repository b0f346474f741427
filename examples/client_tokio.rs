//! The example client on tokio (`wsmachine::tokio`): the same checks as `client`.
//!
//! ```sh
//! cargo run --release --example echo_server_tokio -- 127.0.0.1:9003 &
//! cargo run --release --example client_tokio -- ws://127.0.0.1:9003/
//! ```

#[path = "support/client_checks.rs"]
mod client_checks;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9003/".into());
    match client_checks::run_tokio(&url).await {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("client_tokio: {e}");
            std::process::exit(1);
        }
    }
}
