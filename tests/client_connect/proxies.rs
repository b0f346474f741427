//! An HTTP CONNECT proxy and a SOCKS5 proxy, just enough of each to tunnel loopback
//! connections, with credentials and refusals; each records the destinations it was asked
//! for. They live as long as the test's runtime.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a proxy does with a request.
#[derive(Clone, Copy)]
pub enum Rule {
    /// Tunnels every request.
    Open,
    /// Tunnels requests with this user name and password, refuses others.
    Credentials(&'static str, &'static str),
    /// Refuses every destination (HTTP 403; SOCKS5 reply 2, not allowed by ruleset).
    Deny,
}

/// The destinations a proxy was asked for, as `host:port` (SOCKS5: `name host:port` for a
/// name the proxy resolves, `ip host:port` for an address).
pub type Log = Arc<Mutex<Vec<String>>>;

async fn serve<F, Fut>(handle: F) -> (SocketAddr, Log)
where
    F: Fn(TcpStream, Log) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Log::default();
    let shared = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(handle(client, Arc::clone(&shared)));
        }
    });
    (addr, log)
}

async fn tunnel(mut client: TcpStream, target: &str) -> std::io::Result<()> {
    let mut server = TcpStream::connect(target).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}

/// An HTTP proxy that answers `CONNECT`.
pub async fn http(rule: Rule) -> (SocketAddr, Log) {
    serve(move |mut client, log| async move {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 8192 || client.read_u8().await.map(|b| head.push(b)).is_err() {
                return Ok(());
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut request = httparse::Request::new(&mut headers);
        request.parse(&head).unwrap();
        assert_eq!(request.method, Some("CONNECT"));
        let target = request.path.unwrap().to_string();
        let host = request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host"));
        assert_eq!(
            host.map(|h| h.value),
            Some(target.as_bytes()),
            "Host is the authority"
        );
        let auth = request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("proxy-authorization"))
            .map(|h| String::from_utf8_lossy(h.value).into_owned());
        log.lock().unwrap().push(target.clone());
        let refusal: Option<&[u8]> = match rule {
            Rule::Open => None,
            Rule::Deny => Some(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
            Rule::Credentials(user, password) => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                (auth != Some(format!("Basic {token}"))).then_some(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                )
            }
        };
        if let Some(refusal) = refusal {
            return client.write_all(refusal).await;
        }
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tunnel(client, &target).await
    })
    .await
}

/// A SOCKS5 proxy (RFC 1928, with RFC 1929 username/password).
pub async fn socks5(rule: Rule) -> (SocketAddr, Log) {
    serve(move |mut client, log| async move {
        let mut greeting = [0; 2];
        client.read_exact(&mut greeting).await?;
        assert_eq!(greeting[0], 5);
        let mut methods = vec![0; usize::from(greeting[1])];
        client.read_exact(&mut methods).await?;
        let wanted = if matches!(rule, Rule::Credentials(..)) {
            2
        } else {
            0
        };
        if !methods.contains(&wanted) {
            return client.write_all(&[5, 0xff]).await;
        }
        client.write_all(&[5, wanted]).await?;
        if let Rule::Credentials(user, password) = rule {
            let mut version_and_len = [0; 2];
            client.read_exact(&mut version_and_len).await?;
            assert_eq!(version_and_len[0], 1);
            let mut got_user = vec![0; usize::from(version_and_len[1])];
            client.read_exact(&mut got_user).await?;
            let mut got_password = vec![0; usize::from(client.read_u8().await?)];
            client.read_exact(&mut got_password).await?;
            if got_user != user.as_bytes() || got_password != password.as_bytes() {
                return client.write_all(&[1, 1]).await;
            }
            client.write_all(&[1, 0]).await?;
        }
        let mut request = [0; 4];
        client.read_exact(&mut request).await?;
        assert_eq!(request[..3], [5, 1, 0], "CONNECT");
        let (form, host) = match request[3] {
            1 => {
                let mut ip = [0; 4];
                client.read_exact(&mut ip).await?;
                ("ip", std::net::Ipv4Addr::from(ip).to_string())
            }
            4 => {
                let mut ip = [0; 16];
                client.read_exact(&mut ip).await?;
                ("ip", format!("[{}]", std::net::Ipv6Addr::from(ip)))
            }
            3 => {
                let mut name = vec![0; usize::from(client.read_u8().await?)];
                client.read_exact(&mut name).await?;
                ("name", String::from_utf8(name).unwrap())
            }
            other => panic!("address type {other}"),
        };
        let port = client.read_u16().await?;
        let target = format!("{host}:{port}");
        log.lock().unwrap().push(format!("{form} {target}"));
        if matches!(rule, Rule::Deny) {
            return client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).await;
        }
        client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        tunnel(client, &target).await
    })
    .await
}

/// A proxy that accepts connections and never answers.
pub async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((client, _)) = listener.accept().await {
            held.push(client);
        }
    });
    addr
}

/// An address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A proxy that answers one byte every 100 ms (a valid head that never ends: a header value
/// that goes on), for at most 20 s.
pub async fn dripping() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let head = b"HTTP/1.1 200 OK\r\nX-Slow: ";
                for i in 0..200 {
                    let byte = head.get(i).copied().unwrap_or(b'a');
                    if client.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            });
        }
    });
    addr
}
