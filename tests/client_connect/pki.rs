//! A certificate authority made in the test (rcgen), leaf certificates it signs, and echo
//! servers over TLS and TCP on loopback.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use wsmachine::Message;

/// A CA: its certificate in PEM (what a client trusts) and its issuer (what signs leaves).
pub struct Ca {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf certificate for `names`, valid from 1975 to 4096, or expired (2019–2020).
    pub fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

pub struct Leaf {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

/// What a TLS server saw of its clients: the SNI name and the ALPN protocol of each.
pub type Seen = Arc<Mutex<Vec<(Option<String>, Option<Vec<u8>>)>>>;

/// A `wss://` echo server with `leaf`, offering ALPN `http/1.1`; returns its address and
/// what it saw of each client that completed TLS.
pub async fn wss_echo(leaf: Leaf) -> (SocketAddr, Seen) {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.cert], leaf.key)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (_, session) = tls.get_ref();
                let sni = session.server_name().map(str::to_string);
                let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
                record.lock().unwrap().push((sni, alpn));
                echo(wsmachine::tokio::WebSocket::accept(tls).await).await;
            });
        }
    });
    (addr, seen)
}

/// A `ws://` echo server; returns its address.
pub async fn ws_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(echo(wsmachine::tokio::WebSocket::accept(tcp).await));
        }
    });
    addr
}

async fn echo<S>(ws: Result<wsmachine::tokio::WebSocket<S>, wsmachine::driver::Error>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(mut ws) = ws else { return };
    while let Ok(Some(sent)) = ws
        .recv_with(|message, out| match message {
            Message::Text(text) => out.send_text(text),
            Message::Binary(data) => out.send_binary(data),
        })
        .await
    {
        if sent.is_err() {
            return;
        }
    }
}
