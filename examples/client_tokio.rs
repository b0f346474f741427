//! The example client on tokio (`wsmachine::tokio`): the same checks as `client`, for
//! `ws://` and `wss://` URLs, through the proxy the environment names (`HTTPS_PROXY` for
//! `wss://`, `HTTP_PROXY` for `ws://`, `ALL_PROXY`, `NO_PROXY`).
//!
//! ```sh
//! cargo run --release --features tokio --example echo_server_tokio -- 127.0.0.1:9003 &
//! cargo run --release --features tokio --example client_tokio -- ws://127.0.0.1:9003/
//! ```
//!
//! Over TLS (feature `rustls`), against `wss_server` and its certificate as a private CA
//! (`--ca FILE`, PEM; without it the default roots of `rustls-native-roots` or
//! `rustls-webpki-roots` are used):
//!
//! ```sh
//! cargo run --features tokio --example wss_server -- 127.0.0.1:9443 /tmp/wsmachine-cert.pem &
//! cargo run --features tokio,rustls --example client_tokio -- wss://localhost:9443/ --ca /tmp/wsmachine-cert.pem
//! HTTPS_PROXY=http://proxy.corp:3128 cargo run --features tokio,rustls-native-roots --example client_tokio -- wss://echo.example/
//! ```
//!
//! Any failure (a refused certificate, a proxy's refusal, a wrong echo) prints the reason and
//! exits 1.

#[path = "support/client_checks.rs"]
mod client_checks;

use wsmachine::driver::Connector;

/// The connector: the example clients' configuration, the environment's proxy, and the
/// private CA of `--ca FILE`.
fn connector(ca: Option<&str>) -> Result<Connector, String> {
    let connector = Connector::new().with_config(client_checks::client_config());
    let Some(path) = ca else {
        return Ok(connector);
    };
    #[cfg(feature = "rustls")]
    {
        let pem = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
        connector
            .with_ca_pem(&pem)
            .map_err(|e| format!("{path}: {e}"))
    }
    #[cfg(not(feature = "rustls"))]
    Err(format!("--ca {path}: TLS needs the feature `rustls`"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut url = "ws://127.0.0.1:9003/".to_string();
    let mut ca = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = args.next(),
            _ => url = arg,
        }
    }
    let result = match connector(ca.as_deref()) {
        Ok(connector) => client_checks::run_tokio_with(&url, &connector).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("client_tokio: {e}");
            std::process::exit(1);
        }
    }
}
