//! A `wss://` client that checks an echo server over TLS, trusting exactly one certificate:
//! the one `wss_server` wrote (no system roots are used).
//!
//! ```sh
//! cargo run --example wss_server -- 127.0.0.1:9443 /tmp/wsmachine-cert.pem &
//! cargo run --example wss_client -- wss://localhost:9443/ /tmp/wsmachine-cert.pem
//! ```
//!
//! Arguments: the URL (default `wss://localhost:9443/`) and the PEM file with the certificate
//! to trust (default `/tmp/wsmachine-cert.pem`). The host in the URL must be one the
//! certificate names (`localhost`, `127.0.0.1` or `::1` for `wss_server`'s).
//!
//! The checks are those of `client`: `hello` and its echo, 1 MiB of binary and its echo, a ping
//! and its pong, a close with 1000 and the server's answer, then the end of the stream. Any
//! failure prints the reason and exits 1.

use std::time::Duration;

use wsmachine::Config;

#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/wss.rs"]
mod wss;

async fn run(url: &str, pem_path: &str) -> Result<String, String> {
    let pem = std::fs::read(pem_path).map_err(|e| format!("reading {pem_path}: {e}"))?;
    let tls = wss::client_config(&pem)?;
    let client = wss::connect(url, tls, Config::new(), Duration::from_secs(10)).await?;
    let report = client_checks::run_async(client, url).await?;
    Ok(format!("{report} over TLS"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "wss://localhost:9443/".to_string());
    let pem_path = args
        .next()
        .unwrap_or_else(|| "/tmp/wsmachine-cert.pem".to_string());
    match run(&url, &pem_path).await {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("wss_client: {e}");
            std::process::exit(1);
        }
    }
}
