//! A load test on loopback: the tokio driver's echo server beside idiomatic echo servers of
//! tokio-tungstenite, fastwebsockets and tokio-websockets, each in its own process, under the
//! same client load from this process, in one run:
//!
//! ```sh
//! cargo bench --features tokio --bench load                 # about 3 minutes
//! WSMACHINE_LOAD_QUICK=1 cargo bench --features tokio --bench load
//! WSMACHINE_LOAD_SERVERS=wsmachine,fastwebsockets cargo bench --features tokio --bench load
//! ```
//!
//! For each server it prints:
//!
//! - memory per idle connection, as an operator sees it: the resident memory of the server
//!   process (`/proc/<pid>/statm`) holding 10,000 upgraded connections, opened concurrently
//!   (in waves of 500) and then idle for 2.5 s (past every release deadline), minus that of
//!   the same process fresh, before its first connection (no warm-up traffic first), divided
//!   by the count;
//! - server CPU per echoed message for 16 B and 16 KiB messages, 50 connections, every
//!   message of a connection in flight at once (the server's own backpressure paces it): the
//!   CPU time of all the server's threads (`/proc/<pid>/task/*/schedstat`, nanoseconds),
//!   divided by the messages;
//! - round-trip latency p50 and p99 over one connection, one 16 B message at a time;
//! - connections per second for connect, upgrade, one echo, close (8 at a time), and the
//!   server's CPU time per such connection (connections per second move with the machine's
//!   other load; the CPU a server spends on each is its own cost);
//! - open file descriptors of the server before and after everything (no leak).
//!
//! The client is cheap: frames are encoded and masked once, before any timing, and the client
//! only writes them and counts the bytes that come back. Everything talks to 127.0.0.1 only,
//! counts and times are bounded, and each server process ends with the run.

use std::env;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

const SERVERS: [&str; 4] = [
    "wsmachine",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
];

fn main() {
    let args: Vec<String> = env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(&args[i + 1]);
        return;
    }
    // `--echo ADDR LEN COUNT`: only the echo load, on 50 connections, for a profiler
    // attached to a server started with `--serve NAME`.
    if let Some(i) = args.iter().position(|a| a == "--echo") {
        let (addr, len, count) = (&args[i + 1], &args[i + 2], &args[i + 3]);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(echo_load(
            addr,
            len.parse().unwrap(),
            count.parse().unwrap(),
        ));
        return;
    }
    // `--churn ADDR TOTAL`: only the churn, printing connections per second.
    if let Some(i) = args.iter().position(|a| a == "--churn") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let rate = rt.block_on(churn(&args[i + 1], args[i + 2].parse().unwrap()));
        println!("{rate:.0} connections/s");
        return;
    }
    // `cargo bench` passes `--bench`; anything else (a filter) is ignored.
    let quick = env::var_os("WSMACHINE_LOAD_QUICK").is_some();
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // `WSMACHINE_LOAD_SERVERS=wsmachine,fastwebsockets` measures only those (for profiling).
    let only = env::var("WSMACHINE_LOAD_SERVERS").ok();
    let mut rows = Vec::new();
    for name in SERVERS {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == name))
        {
            continue;
        }
        let server = Server::start(name);
        let row = rt.block_on(measure(&server, quick));
        eprintln!("{name}: {row:?}");
        rows.push((name, row));
    }
    print_table(&rows, quick);
}

// ----- the servers (child processes) ------------------------------------------------------

fn raise_fd_limit() {
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard.min(65_536), hard);
    }
}

/// Runs echo server `name` on an ephemeral port; prints the port; ends when stdin closes.
fn serve(name: &str) {
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let name = name.to_string();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        // Ends the process when the parent goes away.
        std::thread::spawn(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            std::process::exit(0);
        });
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            match name.as_str() {
                "wsmachine" => tokio::spawn(wsmachine_echo(stream)),
                "tokio-tungstenite" => tokio::spawn(tungstenite_echo(stream)),
                "fastwebsockets" => tokio::spawn(fastwebsockets_echo(stream)),
                "tokio-websockets" => tokio::spawn(tokio_websockets_echo(stream)),
                other => panic!("unknown server {other}"),
            };
        }
    });
}

/// The tokio driver, echoing each message while it is borrowed (`recv_with`).
async fn wsmachine_echo(stream: TcpStream) {
    use wsmachine::Message;
    let Ok(mut ws) = wsmachine::tokio::WebSocket::accept(stream).await else {
        return;
    };
    while let Ok(Some(_)) = ws
        .recv_with(|message, out| match message {
            Message::Text(t) => out.send_text(t),
            Message::Binary(b) => out.send_binary(b),
        })
        .await
    {}
}

/// tokio-tungstenite as its README's echo server does it: read forwarded to write.
async fn tungstenite_echo(stream: TcpStream) {
    use futures_util::{StreamExt, TryStreamExt};
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (write, read) = ws.split();
    let _ = read
        .try_filter(|m| std::future::ready(m.is_text() || m.is_binary()))
        .forward(write)
        .await;
}

/// fastwebsockets as its echo example does it: hyper's upgrade, a `FragmentCollector`.
async fn fastwebsockets_echo(stream: TcpStream) {
    use fastwebsockets::{FragmentCollector, OpCode};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    async fn upgrade(
        mut req: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<Empty<Bytes>>, fastwebsockets::WebSocketError> {
        let (response, fut) = fastwebsockets::upgrade::upgrade(&mut req)?;
        tokio::spawn(async move {
            let Ok(ws) = fut.await else { return };
            let mut ws = FragmentCollector::new(ws);
            while let Ok(frame) = ws.read_frame().await {
                let done = match frame.opcode {
                    OpCode::Close => true,
                    OpCode::Text | OpCode::Binary => ws.write_frame(frame).await.is_err(),
                    _ => false,
                };
                if done {
                    break;
                }
            }
        });
        Ok(response)
    }
    let io = hyper_util::rt::TokioIo::new(stream);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, hyper::service::service_fn(upgrade))
        .with_upgrades()
        .await;
}

/// tokio-websockets as its README does it.
async fn tokio_websockets_echo(stream: TcpStream) {
    use futures_util::{SinkExt, StreamExt};
    let Ok((_, mut ws)) = tokio_websockets::ServerBuilder::new().accept(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

/// A server process and what /proc says of it.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(name: &str) -> Server {
        let mut child = Command::new(env::current_exe().unwrap())
            .args(["--serve", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server {
            port: line.trim().parse().unwrap(),
            child,
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Resident memory in bytes.
    fn rss(&self) -> u64 {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.child.id())).unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    /// CPU time of all threads, in nanoseconds.
    fn cpu_ns(&self) -> u64 {
        let dir = format!("/proc/{}/task", self.child.id());
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- the client ---------------------------------------------------------------------------

/// A masked client frame (fixed key), encoded once.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65_536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// The length of the server's unmasked frame for a payload of `len`.
fn server_frame_len(len: usize) -> usize {
    len + match len {
        n if n < 126 => 2,
        n if n < 65_536 => 4,
        _ => 10,
    }
}

async fn upgrade(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(REQUEST).await.unwrap();
    // The servers send nothing after the `101` until they get a frame, so the head can be
    // read in whole chunks (a byte at a time would make the client the bottleneck).
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the server closed during the handshake");
        head.extend_from_slice(&chunk[..n]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// Sends `count` copies of `frame` on `stream` while reading their echoes back.
async fn echo_burst(stream: TcpStream, frame: Arc<Vec<u8>>, count: usize, echo_len: usize) {
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        // Whole batches per write: the client stays cheap.
        let batch: Vec<u8> = frame
            .iter()
            .copied()
            .cycle()
            .take(frame.len() * 64.min(count))
            .collect();
        let mut left = count;
        while left > 0 {
            let n = left.min(64);
            write.write_all(&batch[..n * frame.len()]).await.unwrap();
            left -= n;
        }
        write
    });
    let mut expected = count * echo_len;
    let mut buf = vec![0u8; 256 * 1024];
    while expected > 0 {
        let n = read.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed early");
        expected = expected.saturating_sub(n);
    }
    let _ = writer.await;
}

/// How long idle connections are held before their memory is sampled: past every release
/// deadline (wsmachine's `release_buffers_after` is 1 s).
const IDLE_WAIT: Duration = Duration::from_millis(2_500);

/// `n` upgraded connections, opened concurrently in waves of 500 (a burst of clients
/// arriving; the listen backlog takes a wave without dropping SYNs).
async fn open_concurrently(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let wave = (n - conns.len()).min(500);
        let tasks: Vec<_> = (0..wave)
            .map(|_| {
                let addr = addr.to_string();
                tokio::spawn(async move { upgrade(&addr).await })
            })
            .collect();
        for t in tasks {
            conns.push(t.await.unwrap());
        }
    }
    conns
}

/// Connections per second for `total` rounds of connect, upgrade, one echo, close, 8 at a
/// time.
async fn churn(addr: &str, total: usize) -> f64 {
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let addr = addr.to_string();
            tokio::spawn(async move {
                let frame = client_frame(1, b"hello");
                let close = client_frame(8, &1000u16.to_be_bytes());
                for _ in 0..total / 8 {
                    let mut s = upgrade(&addr).await;
                    s.write_all(&frame).await.unwrap();
                    let mut echo = [0u8; 7];
                    s.read_exact(&mut echo).await.unwrap();
                    s.write_all(&close).await.unwrap();
                    // The server's close answer, then its end of the connection.
                    let mut rest = Vec::new();
                    let _ = s.read_to_end(&mut rest).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// 50 connections, each echoing `count` messages of `len` bytes, all in flight.
async fn echo_load(addr: &str, len: usize, count: usize) {
    echo_load_with(addr, len, count, || {}).await;
}

/// [`echo_load`], calling `started` once the connections are up.
async fn echo_load_with(addr: &str, len: usize, count: usize, started: impl FnOnce()) {
    let frame = Arc::new(client_frame(2, &vec![7u8; len]));
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(upgrade(addr).await);
    }
    started();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| {
            tokio::spawn(echo_burst(
                s,
                Arc::clone(&frame),
                count,
                server_frame_len(len),
            ))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Row {
    idle_bytes_per_conn: f64,
    cpu_ns_16b: f64,
    cpu_ns_16k: f64,
    p50_us: f64,
    p99_us: f64,
    churn_per_s: f64,
    churn_cpu_ns: f64,
    fds_before: usize,
    fds_after: usize,
}

async fn measure(server: &Server, quick: bool) -> Row {
    let addr = server.addr();
    let mut row = Row {
        fds_before: server.open_fds(),
        ..Row::default()
    };

    // 1. Memory per idle connection, as an operator sees it: the fresh process (nothing
    //    served yet, no warm-up) against the same process holding N upgraded connections
    //    that arrived concurrently and then stayed idle for longer than every release
    //    deadline (wsmachine gives its empty buffers back after `release_buffers_after`,
    //    1 s by default).
    let idle = if quick { 2_000 } else { 10_000 };
    let before = server.rss();
    let conns = open_concurrently(&addr, idle).await;
    tokio::time::sleep(IDLE_WAIT).await;
    row.idle_bytes_per_conn = server.rss().saturating_sub(before) as f64 / idle as f64;
    drop(conns);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Warm up: a few connections, all the code paths, then gone.
    for _ in 0..20 {
        let s = upgrade(&addr).await;
        echo_burst(
            s,
            Arc::new(client_frame(1, &[b'x'; 16])),
            100,
            server_frame_len(16),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 2. CPU per echoed message, 50 connections, everything in flight.
    for (len, count, slot) in [
        (16usize, if quick { 4_000 } else { 20_000 }, 0),
        (16 * 1024, if quick { 200 } else { 1_000 }, 1),
    ] {
        let mut cpu0 = 0;
        echo_load_with(&addr, len, count, || cpu0 = server.cpu_ns()).await;
        let per = (server.cpu_ns() - cpu0) as f64 / (50 * count) as f64;
        if slot == 0 {
            row.cpu_ns_16b = per;
        } else {
            row.cpu_ns_16k = per;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 3. Latency, one message at a time.
    let mut stream = upgrade(&addr).await;
    let frame = client_frame(1, &[b'x'; 16]);
    let mut echo = [0u8; 18];
    let mut rtts = Vec::new();
    for i in 0..if quick { 2_000 } else { 10_000 } {
        let t = Instant::now();
        stream.write_all(&frame).await.unwrap();
        stream.read_exact(&mut echo).await.unwrap();
        if i >= 100 {
            rtts.push(t.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    rtts.sort_by(|a, b| a.total_cmp(b));
    row.p50_us = rtts[rtts.len() / 2];
    row.p99_us = rtts[rtts.len() * 99 / 100];
    drop(stream);

    // 4. Churn: connect, upgrade, one echo, close; 8 at a time. Connections per second
    //    move with the machine; the server's CPU time per connection is its own cost.
    let total = if quick { 1_000 } else { 4_000 };
    let cpu0 = server.cpu_ns();
    row.churn_per_s = churn(&addr, total).await;
    row.churn_cpu_ns = (server.cpu_ns() - cpu0) as f64 / total as f64;

    // 5. Descriptors after everything was closed.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    row.fds_after = server.open_fds();
    row
}

fn print_table(rows: &[(&str, Row)], quick: bool) {
    println!();
    println!(
        "## Load on loopback ({} idle connections; 50 connections echoing; server CPU from /proc)",
        if quick { "2,000" } else { "10,000" }
    );
    println!();
    println!("| server | idle memory / connection | CPU / 16 B echo | CPU / 16 KiB echo | RTT p50 | RTT p99 | churn (conn/s) | CPU / churned connection | fds before → after |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, r) in rows {
        println!(
            "| {name} | {:.1} KB | {:.3} µs | {:.2} µs | {:.0} µs | {:.0} µs | {:.0} | {:.1} µs | {} → {} |",
            r.idle_bytes_per_conn / 1000.0,
            r.cpu_ns_16b / 1000.0,
            r.cpu_ns_16k / 1000.0,
            r.p50_us,
            r.p99_us,
            r.churn_per_s,
            r.churn_cpu_ns / 1000.0,
            r.fds_before,
            r.fds_after
        );
    }
    if rows.len() < 2 || rows[0].0 != "wsmachine" {
        return;
    }
    let ours = rows[0].1;
    let best = |f: fn(&Row) -> f64, lower: bool| {
        rows[1..]
            .iter()
            .map(|(n, r)| (*n, f(r)))
            .min_by(|a, b| {
                if lower {
                    a.1.total_cmp(&b.1)
                } else {
                    b.1.total_cmp(&a.1)
                }
            })
            .unwrap()
    };
    println!();
    println!(
        "wsmachine ÷ best peer (lower is better for memory, CPU and latency; higher for churn):"
    );
    let (n, v) = best(|r| r.idle_bytes_per_conn, true);
    println!("- idle memory: {:.2}× ({n})", ours.idle_bytes_per_conn / v);
    let (n, v) = best(|r| r.cpu_ns_16b, true);
    println!("- CPU per 16 B echo: {:.2}× ({n})", ours.cpu_ns_16b / v);
    let (n, v) = best(|r| r.cpu_ns_16k, true);
    println!("- CPU per 16 KiB echo: {:.2}× ({n})", ours.cpu_ns_16k / v);
    let (n, v) = best(|r| r.p99_us, true);
    println!("- RTT p99: {:.2}× ({n})", ours.p99_us / v);
    let (n, v) = best(|r| r.churn_per_s, false);
    println!("- churn: {:.2}× ({n})", ours.churn_per_s / v);
    let (n, v) = best(|r| r.churn_cpu_ns, true);
    println!(
        "- CPU per churned connection: {:.2}× ({n})",
        ours.churn_cpu_ns / v
    );
}
