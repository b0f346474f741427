//! The server side of WebSocket over TLS (`wss://`) with rustls through tokio-rustls: a
//! self-signed certificate generated with rcgen and the server's accept loop (clients use the
//! crate's own `wss://`: `Connector::with_ca_pem` trusts that certificate). Uses `echo.rs` as
//! a `super::` module.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use wsmachine::{Closed, Stats};

use super::echo::{echo_config, serve_async};

/// A TLS handshake that takes longer than this is abandoned.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A self-signed certificate and its private key, generated in memory.
pub struct SelfSigned {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    /// The certificate in PEM, what a client needs to trust it.
    pub pem: String,
}

/// Generates a self-signed certificate for `names` (DNS names or IP addresses).
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, String> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    Ok(SelfSigned {
        pem: generated.cert.pem(),
        cert: generated.cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()).into(),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server's TLS configuration: that certificate, no client authentication.
pub fn server_config(cert: &SelfSigned) -> Result<Arc<rustls::ServerConfig>, String> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.clone()], cert.key.clone_key())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// Accepts connections forever: TLS handshake, then the echo server on the TLS stream.
/// `report` is called with each connection's outcome when it ends.
pub async fn serve<F>(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    report: F,
) -> std::io::Result<()>
where
    F: Fn(SocketAddr, Option<Closed>, Stats) + Clone + Send + 'static,
{
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let report = report.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return eprintln!("{peer}: TLS handshake failed: {e}"),
                Err(_) => return eprintln!("{peer}: TLS handshake timed out"),
            };
            let (closed, stats) = serve_async(tls, echo_config()).await;
            report(peer, closed, stats);
        });
    }
}
