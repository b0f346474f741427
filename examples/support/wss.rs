//! WebSocket over TLS (`wss://`) with rustls through tokio-rustls: a self-signed certificate
//! generated with rcgen, the server's accept loop, and a client that trusts exactly that
//! certificate. Uses `echo.rs` as a `super::` module.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Closed, Config, Stats};

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
    Arc::new(rustls::crypto::ring::default_provider())
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

/// A client TLS configuration that trusts exactly the certificate(s) in `pem`.
pub fn client_config(pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("bad PEM certificate: {e}"))?;
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM data".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
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

/// A `wss://` client.
pub type WssClient = wsmachine::tokio::WebSocket<TlsStream<TcpStream>>;

/// Connects to a `wss://` URL: TCP, TLS (verifying the server against `config`'s roots and the
/// URL's host name), then the WebSocket handshake, all within `timeout`.
pub async fn connect(
    url: &str,
    tls: Arc<rustls::ClientConfig>,
    config: Config,
    timeout: Duration,
) -> Result<WssClient, String> {
    let request = ClientRequest::from_uri(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    if !request.is_secure() {
        return Err(format!("{url} is not a wss:// URL"));
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("bad server name {host}: {e}"))?;
    let open = async {
        let tcp = TcpStream::connect((host, request.effective_port()))
            .await
            .map_err(|e| format!("connect to {url}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let tls = TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
        wsmachine::tokio::WebSocket::connect(tls, &request, config)
            .await
            .map(|(ws, _)| ws)
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(timeout, open)
        .await
        .map_err(|_| format!("no connection within {} s", timeout.as_secs()))?
}
