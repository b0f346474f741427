//! The echo server over TLS (`wss://`): rustls through tokio-rustls, with a self-signed
//! certificate generated at start-up (rcgen; no files to prepare, nothing downloaded).
//!
//! ```sh
//! cargo run --features tokio --example wss_server -- 127.0.0.1:9443 /tmp/wsmachine-cert.pem &
//! cargo run --features tokio,rustls --example client_tokio -- wss://localhost:9443/ --ca /tmp/wsmachine-cert.pem
//! ```
//!
//! Arguments: the address to listen on (default `127.0.0.1:9443`), then a path to write the
//! certificate to in PEM (without it the PEM is printed to stdout), and `--stats` to print
//! each connection's statistics when it ends. The certificate is valid for `localhost`,
//! `127.0.0.1` and `::1`; a new one is made at each start, so clients re-read it.
//!
//! Each connection gets the TLS handshake, then the same echo behaviour as `echo_server`
//! (messages echoed unchanged, the client's close echoed and the stream shut down with a TLS
//! close_notify), run by `wsmachine::tokio` over tokio-rustls's `TlsStream` (the server side
//! of TLS stays the application's: the crate's `rustls` feature is for clients).

use tokio::net::TcpListener;

#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/wss.rs"]
mod wss;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = echo::Args::parse();
    let addr = args.get(0, "127.0.0.1:9443");
    let cert = wss::self_signed(&["localhost", "127.0.0.1", "::1"])?;
    match args.positional.get(1) {
        Some(path) => {
            std::fs::write(path, &cert.pem)?;
            println!("certificate written to {path}");
        }
        None => print!("{}", cert.pem),
    }
    let config = wss::server_config(&cert)?;
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on wss://{}", listener.local_addr()?);
    let stats = args.stats;
    wss::serve(listener, config, move |peer, closed, counters| {
        if stats {
            println!("{}", echo::stats_line(peer, closed.as_ref(), &counters));
        }
    })
    .await?;
    Ok(())
}
