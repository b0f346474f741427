//! The chat across nodes (`examples/chat_cluster.rs`) over real processes: a `redis-server`,
//! two chat nodes, and WebSocket clients of this crate on each node. Every message reaches
//! every client of both nodes exactly once and in order per sender; 1,000 messages from ten
//! clients arrive complete; Redis killed and restarted mid-run crashes no node, disconnects no
//! client, is reported in the room, and delivery resumes within 5 s of Redis being back.
//!
//! Each test starts its own `redis-server` on a free loopback port (it kills and restarts it
//! itself) and its own nodes; every process is killed when the test ends, however it ends. A
//! node is the example's binary when `WSMACHINE_CHAT_CLUSTER` names it (as in `.ci/run`), else
//! this test binary started again as a node (`node_process` below runs the example's own
//! `run`), which is never stale and also exits when the test's end of its stdin closes.
//!
//! Needs `redis-server` (`WSMACHINE_REDIS_SERVER`, else on `PATH`). Without it the tests say
//! `SKIPPED` and pass, unless `WSMACHINE_REQUIRE_REDIS=1` (as in `.ci/run`). The browser test
//! also needs Chromium and playwright-core, as `tests/browser_chat.rs` does, and is required
//! under `WSMACHINE_REQUIRE_BROWSER=1`.
//!
//! The fan-out measurement in README (`fan_out_two_nodes_against_one`) runs only with
//! `WSMACHINE_CLUSTER_FANOUT=1`:
//! `WSMACHINE_CLUSTER_FANOUT=1 cargo test --release --all-features --test chat_cluster fan_out -- --nocapture`.
#![cfg(feature = "tokio")]

#[path = "../examples/support/chat_cluster.rs"]
mod chat_cluster;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use wsmachine::driver::OwnedMessage;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::tokio::{WebSocket, Writer};
use wsmachine::Config;

use chat_cluster::SYSTEM;

/// Set in a node process started by this test binary: the node's command line.
const NODE_ARGS: &str = "WSMACHINE_CLUSTER_NODE";

/// Not a check: the body of a node process when this binary is started as one (see
/// [`Node::start`]); without `WSMACHINE_CLUSTER_NODE` it returns at once.
#[test]
fn node_process() {
    let Ok(args) = std::env::var(NODE_ARGS) else {
        return;
    };
    // The test holds the other end of stdin: when it ends, however it ends, so does the node.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let args: Vec<String> = args.split(' ').map(str::to_owned).collect();
    if let Err(e) = runtime.block_on(chat_cluster::run(args.into_iter())) {
        eprintln!("node failed: {e}");
        std::process::exit(1);
    }
}

/// A child process killed (and reaped) when dropped.
struct Process {
    child: Child,
}

impl Process {
    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The CPU time of every thread of process `pid` so far (`/proc/<pid>/task/*/schedstat`).
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `redis-server`, or `None` after saying why (a failure when it is required).
fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("WSMACHINE_REDIS_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join("redis-server"))
                .find(|p| p.is_file())
        })
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("WSMACHINE_REQUIRE_REDIS").as_deref() != Ok("1"),
            "redis-server not found (WSMACHINE_REDIS_SERVER, PATH): apt-get install redis-server"
        );
        eprintln!("SKIPPED: redis-server not installed (apt-get install redis-server)");
    }
    found
}

/// A `redis-server` on a loopback port of its own, which the test can kill and restart.
struct Redis {
    bin: PathBuf,
    port: u16,
    process: Option<Process>,
}

impl Redis {
    fn start(bin: &Path) -> Redis {
        for _ in 0..5 {
            let port = free_port();
            let mut redis = Redis {
                bin: bin.to_owned(),
                port,
                process: None,
            };
            if redis.launch() {
                return redis;
            }
        }
        panic!("redis-server did not start");
    }

    /// Starts the server on `self.port` and waits until it answers PING; `false` if it exits
    /// (the port was taken meanwhile).
    fn launch(&mut self) -> bool {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--loglevel", "warning"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let mut process = Process { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !process.is_running() {
                return false;
            }
            if ping(self.port) {
                self.process = Some(process);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} never answered PING", self.port);
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL: Redis vanishes as after a crash.
    fn kill(&mut self) {
        drop(self.process.take());
    }

    /// Starts it again on the same port.
    fn restart(&mut self) {
        assert!(self.launch(), "redis-server did not restart on its port");
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether Redis answers PING on `port` (in RESP, by hand).
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A chat node process and what it printed.
struct Node {
    process: Process,
    addr: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Node {
    /// Starts node `id` on a free port against `redis_url` and waits for its `listening on`.
    fn start(id: &str, redis_url: &str) -> Node {
        let args = ["127.0.0.1:0", redis_url, id];
        let mut command = match std::env::var_os("WSMACHINE_CHAT_CLUSTER") {
            Some(bin) => {
                let mut command = Command::new(bin);
                command.args(args);
                command
            }
            None => {
                let mut command = Command::new(std::env::current_exe().unwrap());
                command
                    .args(["node_process", "--exact", "--nocapture", "--test-threads=1"])
                    .env(NODE_ARGS, args.join(" "));
                command
            }
        };
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a chat node");
        let mut process = Process { child };
        let stdout = process.child.stdout.take().unwrap();
        let (tx, log) = mpsc::channel();
        let id = id.to_owned();
        // Reads (and shows) the node's log for as long as it runs, so it never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("  {id}| {line}");
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = log
                .recv_timeout(left)
                .expect("the node never said `listening on`");
            if let Some((_, rest)) = line.split_once("listening on http://") {
                let addr = rest.split('/').next().unwrap().parse().unwrap();
                return Node { process, addr, log };
            }
        }
    }

    /// Waits until the node logs a line containing `text`.
    fn wait_log(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => panic!("the node did not log {text:?} within {within:?}"),
            }
        }
    }
}

/// Redis and two nodes, A and B.
struct Cluster {
    redis: Redis,
    a: Node,
    b: Node,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let bin = redis_server()?;
        raise_open_files();
        let redis = Redis::start(&bin);
        let a = Node::start("A", &redis.url());
        let b = Node::start("B", &redis.url());
        Some(Cluster { redis, a, b })
    }

    fn assert_nodes_running(&mut self) {
        assert!(self.a.process.is_running(), "node A exited");
        assert!(self.b.process.is_running(), "node B exited");
    }
}

/// Enough descriptors for 1,000 connections, in this process and the nodes it starts.
fn raise_open_files() {
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard.min(65_536), hard);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What a client's reader saw: a text, or the end of its connection.
#[derive(Debug)]
enum Seen {
    Text(String),
    Ended(String),
}

/// A browser stand-in in one room of one node: the writer, and what its reader received.
struct Client {
    name: String,
    writer: Writer<tokio::net::TcpStream>,
    seen: UnboundedReceiver<Seen>,
    /// Every text received so far, in order.
    texts: Vec<String>,
}

/// How long any one expected message may take.
const PATIENCE: Duration = Duration::from_secs(20);

impl Client {
    /// Joins `room` on the node at `addr` and waits for its welcome (the node is subscribed
    /// from then on). Odd-numbered clients negotiate permessage-deflate when the feature is on.
    async fn join(name: &str, addr: SocketAddr, room: &str, deflate: bool) -> Client {
        let url = format!("ws://{addr}/chat/{room}");
        let request = ClientRequest::from_uri(&url).unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = stream.set_nodelay(true);
        let config = Config::new().with_max_message_size(1 << 20);
        #[cfg(feature = "deflate")]
        let config = if deflate {
            config.with_deflate(wsmachine::extensions::deflate::DeflateConfig::new())
        } else {
            config
        };
        #[cfg(not(feature = "deflate"))]
        let _ = deflate;
        let (ws, _) = WebSocket::connect(stream, &request, config).await.unwrap();
        let (mut reader, writer) = ws.split();
        let (tx, seen) = unbounded_channel();
        tokio::spawn(async move {
            loop {
                let seen = match reader.recv_owned().await {
                    Ok(Some(OwnedMessage::Text(text))) => Seen::Text(text),
                    Ok(Some(OwnedMessage::Binary(_))) => continue,
                    Ok(None) => Seen::Ended("closed".into()),
                    Err(e) => Seen::Ended(e.to_string()),
                };
                let ended = matches!(seen, Seen::Ended(_));
                if tx.send(seen).is_err() || ended {
                    return;
                }
            }
        });
        let mut client = Client {
            name: name.to_owned(),
            writer,
            seen,
            texts: Vec::new(),
        };
        let welcome = client.next().await;
        assert!(
            welcome.starts_with(&format!("{SYSTEM} joined room {room} on node ")),
            "{name}: {welcome}"
        );
        client
    }

    async fn say(&mut self, text: &str) {
        self.writer.send_text(text).await.unwrap();
    }

    /// The next text; fails on the end of the connection or after `PATIENCE`.
    async fn next(&mut self) -> String {
        match tokio::time::timeout(PATIENCE, self.seen.recv()).await {
            Ok(Some(Seen::Text(text))) => {
                self.texts.push(text.clone());
                text
            }
            Ok(Some(Seen::Ended(why))) => panic!("{}: disconnected: {why}", self.name),
            Ok(None) => panic!("{}: reader gone", self.name),
            Err(_) => panic!(
                "{}: nothing within {PATIENCE:?}; so far {:?}",
                self.name,
                self.texts.iter().rev().take(5).collect::<Vec<_>>()
            ),
        }
    }

    /// Reads until a text satisfying `done` arrives, and returns it.
    async fn until(&mut self, done: impl Fn(&str) -> bool) -> String {
        loop {
            let text = self.next().await;
            if done(&text) {
                return text;
            }
        }
    }

    /// Everything received already, without waiting.
    fn drain(&mut self) {
        while let Ok(seen) = self.seen.try_recv() {
            match seen {
                Seen::Text(text) => self.texts.push(text),
                Seen::Ended(why) => panic!("{}: disconnected: {why}", self.name),
            }
        }
    }

    /// The chat lines received (not the nodes' `[system]` lines).
    fn chat(&self) -> impl Iterator<Item = &str> {
        self.texts
            .iter()
            .map(String::as_str)
            .filter(|t| !t.starts_with(SYSTEM))
    }
}

/// Checks that `client` received the lines of every sender (`"SENDER SEQ ..."`) at most once
/// each and in the order sent, and returns how many it received from each.
fn in_order_per_sender(client: &Client) -> HashMap<String, usize> {
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut counts = HashMap::new();
    for line in client.chat() {
        let mut words = line.split(' ');
        let sender = words.next().unwrap().to_owned();
        let seq: u64 = words.next().and_then(|s| s.parse().ok()).unwrap();
        if let Some(&before) = last.get(&sender) {
            assert!(
                seq > before,
                "{}: {sender} {seq} after {sender} {before} (duplicate or out of order)",
                client.name
            );
        }
        last.insert(sender.clone(), seq);
        *counts.entry(sender).or_default() += 1;
    }
    counts
}

/// Rooms by path: the endpoint `/chat/{room}` (`/chat` for the default room), the page
/// `/room/{room}` (`/` for the default room); names are 1 to 64 of `A-Z a-z 0-9 _ -`.
#[test]
fn rooms_are_named_by_path() {
    use chat_cluster::{route, DEFAULT_ROOM};
    let long = format!("/chat/{}", "r".repeat(64));
    let too_long = format!("/chat/{}", "r".repeat(65));
    let cases: &[(&str, Option<(&str, bool)>)] = &[
        ("/chat", Some((DEFAULT_ROOM, true))),
        ("/chat?token=1", Some((DEFAULT_ROOM, true))),
        ("/chat/dev", Some(("dev", true))),
        ("/chat/Team_2-b", Some(("Team_2-b", true))),
        ("/", Some((DEFAULT_ROOM, false))),
        ("/index.html", Some((DEFAULT_ROOM, false))),
        ("/room/dev", Some(("dev", false))),
        ("/room/dev?x", Some(("dev", false))),
        ("/chat/", None),
        ("/chat/a/b", None),
        ("/chat/a%20b", None),
        ("/chat/ünï", None),
        ("/room/", None),
        ("/chatroom", None),
        ("/favicon.ico", None),
    ];
    for &(target, expected) in cases {
        assert_eq!(route(target), expected, "{target}");
    }
    assert_eq!(route(&long).map(|(r, _)| r.len()), Some(64));
    assert_eq!(route(&too_long), None);
}

#[test]
fn a_message_sent_on_node_a_reaches_every_client_of_both_nodes_exactly_once() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let (a, b) = (cluster.a.addr, cluster.b.addr);
    runtime().block_on(async {
        let mut room = Vec::new();
        for (i, addr) in [a, a, a, b, b, b].into_iter().enumerate() {
            let name = format!("{}{}", if addr == a { 'A' } else { 'B' }, i % 3);
            room.push(Client::join(&name, addr, "hall", i % 2 == 1).await);
        }
        // Other rooms on the same nodes hear nothing of it: another room, and the default room
        // (`/chat`, joined here by name).
        let mut elsewhere = Client::join("A-kitchen", a, "kitchen", false).await;
        let mut lobby = Client::join("B-lobby", b, chat_cluster::DEFAULT_ROOM, false).await;

        room[0].say("A0 1 hello from node A").await;
        for client in &mut room {
            client.until(|t| t == "A0 1 hello from node A").await;
        }
        // A later line from node B closes the window in which a duplicate would have shown.
        room[3].say("B0 1 and back from node B").await;
        elsewhere.say("K 1 only in the kitchen").await;
        lobby.say("L 1 only in the lobby").await;
        for client in &mut room {
            client.until(|t| t == "B0 1 and back from node B").await;
            let chat: Vec<&str> = client.chat().collect();
            assert_eq!(
                chat,
                ["A0 1 hello from node A", "B0 1 and back from node B"],
                "{}",
                client.name
            );
        }
        elsewhere.until(|t| t.starts_with("K 1")).await;
        lobby.until(|t| t.starts_with("L 1")).await;
        assert_eq!(
            elsewhere.chat().collect::<Vec<_>>(),
            ["K 1 only in the kitchen"]
        );
        assert_eq!(lobby.chat().collect::<Vec<_>>(), ["L 1 only in the lobby"]);
    });
    cluster.assert_nodes_running();
}

#[test]
fn a_thousand_messages_from_ten_clients_across_both_nodes_arrive_complete_and_in_order() {
    const CLIENTS: usize = 10;
    const EACH: u64 = 100;
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let (a, b) = (cluster.a.addr, cluster.b.addr);
    runtime().block_on(async {
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let addr = if i % 2 == 0 { a } else { b };
            clients.push(Client::join(&format!("c{i}"), addr, "load", i % 4 < 2).await);
        }
        let started = Instant::now();
        // Every client sends its 100 lines while receiving everyone's.
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                tokio::spawn(async move {
                    let name = client.name.clone();
                    for seq in 1..=EACH {
                        client.say(&format!("{name} {seq} load")).await;
                    }
                    let total = CLIENTS * EACH as usize;
                    while client.chat().count() < total {
                        client.next().await;
                    }
                    client
                })
            })
            .collect();
        for task in tasks {
            let mut client = task.await.unwrap();
            client.drain();
            let counts = in_order_per_sender(&client);
            assert_eq!(counts.len(), CLIENTS, "{}: {counts:?}", client.name);
            assert!(
                counts.values().all(|&n| n == EACH as usize),
                "{}: {counts:?}",
                client.name
            );
            let system: Vec<_> = client.texts.iter().filter(|t| t.starts_with(SYSTEM)).collect();
            assert_eq!(system.len(), 1, "{}: only the welcome: {system:?}", client.name);
        }
        println!(
            "{} messages from {CLIENTS} clients on two nodes, each delivered to all {CLIENTS}: {:?}",
            CLIENTS * EACH as usize,
            started.elapsed()
        );
    });
    cluster.assert_nodes_running();
}

#[test]
fn redis_killed_and_restarted_mid_run_loses_no_client_and_delivery_resumes_within_5_s() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let (a, b) = (cluster.a.addr, cluster.b.addr);
    let rt = runtime();
    let mut clients = rt.block_on(async {
        let mut clients = Vec::new();
        for (name, addr) in [("A0", a), ("A1", a), ("B0", b), ("B1", b)] {
            clients.push(Client::join(name, addr, "gap", name.ends_with('1')).await);
        }
        // Before: everything arrives.
        for seq in 1..=20 {
            clients[0].say(&format!("A0 {seq} before")).await;
        }
        for client in &mut clients {
            client.until(|t| t == "A0 20 before").await;
        }
        clients
    });

    cluster.redis.kill();
    rt.block_on(async {
        // Every client hears from its own node that the bus is gone.
        for client in &mut clients {
            let node = &client.name[..1];
            let lost = format!("{SYSTEM} node {node} lost the message bus");
            client.until(|t| t.starts_with(&lost)).await;
        }
        // A line sent meanwhile is reported lost in the sender's room, on its node.
        clients[0].say("A0 21 during the gap").await;
        for client in &mut clients[..2] {
            client
                .until(|t| t.contains("could not publish a message"))
                .await;
        }
    });
    cluster.a.wait_log("message bus lost", PATIENCE);
    cluster.b.wait_log("message bus lost", PATIENCE);
    // Long enough for the backoff to reach its cap (100 ms doubling to 2 s).
    std::thread::sleep(Duration::from_secs(4));
    cluster.assert_nodes_running();

    cluster.redis.restart();
    let back = Instant::now();
    let resumed = rt.block_on(async {
        // Each side sends a probe every 100 ms until every client has one from both nodes.
        let mut seq = 21;
        let mut heard: Vec<[bool; 2]> = vec![[false; 2]; clients.len()];
        while heard.iter().any(|h| !h[0] || !h[1]) {
            assert!(
                back.elapsed() < Duration::from_secs(10),
                "delivery did not resume: {heard:?}"
            );
            seq += 1;
            clients[0].say(&format!("A0 {seq} probe")).await;
            clients[2].say(&format!("B0 {seq} probe")).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            for (client, heard) in clients.iter_mut().zip(&mut heard) {
                client.drain();
                for line in client.chat() {
                    heard[0] |= line.starts_with("A0 ") && line.ends_with(" probe");
                    heard[1] |= line.starts_with("B0 ") && line.ends_with(" probe");
                }
            }
        }
        let resumed = back.elapsed();
        // Every client hears its node is back.
        for client in &mut clients {
            let node = &client.name[..1];
            let back = format!("{SYSTEM} node {node} reconnected to the message bus");
            if !client.texts.iter().any(|t| t.starts_with(&back)) {
                client.until(|t| t.starts_with(&back)).await;
            }
        }
        // After: everything arrives again, once and in order.
        for n in 1..=20 {
            clients[3].say(&format!("B1 {n} after")).await;
        }
        for client in &mut clients {
            client.until(|t| t == "B1 20 after").await;
            let counts = in_order_per_sender(client);
            assert_eq!(counts.get("B1"), Some(&20), "{}: {counts:?}", client.name);
            assert!(
                counts.get("A0").is_some_and(|&n| n >= 20),
                "{}: {counts:?}",
                client.name
            );
            assert!(
                !client.chat().any(|t| t.contains("during the gap")),
                "{}: a line published while Redis was down arrived",
                client.name
            );
        }
        resumed
    });
    println!("delivery between the nodes resumed {resumed:?} after Redis was back (bound: 5 s)");
    assert!(
        resumed < Duration::from_secs(5),
        "delivery resumed only after {resumed:?}"
    );
    cluster.a.wait_log("message bus connected", PATIENCE);
    cluster.assert_nodes_running();
    rt.block_on(async {
        for client in &mut clients {
            client.drain(); // fails if any connection ended
        }
    });
}

#[test]
fn two_browser_tabs_on_two_nodes_talk() {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let playwright = std::env::var_os("WSMACHINE_PLAYWRIGHT").map(PathBuf::from);
    let ready = chromium.exists()
        && playwright
            .as_ref()
            .is_some_and(|p| p.join("playwright-core").exists());
    if !ready {
        assert!(
            std::env::var("WSMACHINE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "Chromium ({}) or playwright-core (WSMACHINE_PLAYWRIGHT) missing",
            chromium.display()
        );
        eprintln!("SKIPPED: Chromium or playwright-core not installed");
        return;
    }
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/chat_cluster.cjs");
    let out = Command::new("node")
        .arg(script)
        .arg(format!("http://{}/", cluster.a.addr))
        .arg(format!("http://{}/", cluster.b.addr))
        .env("NODE_PATH", playwright.unwrap())
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser test failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", stdout.trim());
    cluster.assert_nodes_running();
}

/// Fan-out throughput: one publisher, 1,000 subscribers all on node A, then split 500/500
/// over A and B; messages per second delivered to all of them, and each node's CPU time for
/// it (README, "The chat on several nodes"). Runs only with `WSMACHINE_CLUSTER_FANOUT=1`, in
/// release.
#[test]
fn fan_out_two_nodes_against_one() {
    const SUBSCRIBERS: usize = 1000;
    const MESSAGES: usize = 500;
    if std::env::var("WSMACHINE_CLUSTER_FANOUT").as_deref() != Ok("1") {
        eprintln!("SKIPPED: the fan-out measurement runs with WSMACHINE_CLUSTER_FANOUT=1");
        return;
    }
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let (a, b) = (cluster.a.addr, cluster.b.addr);
    let pids = [cluster.a.process.child.id(), cluster.b.process.child.id()];
    let rt = runtime();
    let mut rates = Vec::new();
    for (label, room, second) in [("one node ", "fan1", a), ("two nodes", "fan2", b)] {
        let run = rt.block_on(fan_out(a, second, room, SUBSCRIBERS, MESSAGES, pids));
        println!(
            "fan-out, {label}: {MESSAGES} messages × {SUBSCRIBERS} subscribers in {:.2} s: \
             {:.0} messages/s delivered; CPU node A {:.2} s, node B {:.2} s",
            run.elapsed.as_secs_f64(),
            run.rate,
            run.cpu[0].as_secs_f64(),
            run.cpu[1].as_secs_f64(),
        );
        rates.push(run.rate);
    }
    println!("fan-out, two nodes ÷ one node: {:.2}×", rates[1] / rates[0]);
}

/// One fan-out run.
struct FanOut {
    /// Deliveries per second, from the first send to the last delivery.
    rate: f64,
    elapsed: Duration,
    /// The CPU time each node spent meanwhile.
    cpu: [Duration; 2],
}

/// Subscribers alternate between `first` and `second`; a publisher on `first` sends `messages`
/// 64-byte lines as fast as the node takes them.
async fn fan_out(
    first: SocketAddr,
    second: SocketAddr,
    room: &str,
    subscribers: usize,
    messages: usize,
    nodes: [u32; 2],
) -> FanOut {
    let (done_tx, mut done) = unbounded_channel();
    let mut ready = Vec::new();
    for i in 0..subscribers {
        let addr = if i % 2 == 0 { first } else { second };
        let room = room.to_owned();
        let done_tx = done_tx.clone();
        ready.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let url = format!("ws://{addr}/chat/{room}");
            let request = ClientRequest::from_uri(&url).unwrap();
            let (mut ws, _) = WebSocket::connect(stream, &request, Config::new())
                .await
                .unwrap();
            // The welcome: subscribed from here on.
            ws.recv().await.unwrap().unwrap();
            tokio::spawn(async move {
                let mut count = 0;
                while count < messages {
                    match ws.recv().await {
                        Ok(Some(wsmachine::Message::Text(t))) if !t.starts_with(SYSTEM) => {
                            count += 1;
                        }
                        Ok(Some(_)) => {}
                        other => panic!("subscriber ended: {other:?}"),
                    }
                }
                let _ = done_tx.send(Instant::now());
            });
        }));
        // Connect in groups, not all at once into the listen backlog.
        if ready.len() == 50 {
            for task in ready.drain(..) {
                task.await.unwrap();
            }
        }
    }
    for task in ready {
        task.await.unwrap();
    }
    drop(done_tx);
    let mut publisher = Client::join("publisher", first, room, false).await;
    let pad = "x".repeat(48);
    let cpu_before = nodes.map(cpu_time);
    let started = Instant::now();
    for seq in 1..=messages {
        publisher.say(&format!("P {seq:08} {pad}")).await;
    }
    let mut last = started;
    for _ in 0..subscribers {
        last = tokio::time::timeout(Duration::from_secs(120), done.recv())
            .await
            .expect("fan-out did not complete")
            .unwrap();
    }
    let cpu_after = nodes.map(cpu_time);
    let elapsed = last - started;
    FanOut {
        rate: (subscribers * messages) as f64 / elapsed.as_secs_f64(),
        elapsed,
        cpu: [cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]],
    }
}
