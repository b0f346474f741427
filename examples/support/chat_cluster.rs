//! The chat across nodes, on `wsmachine::tokio` and Redis pub/sub: the chat example's page and
//! `/chat` endpoint, with rooms by path (`/chat/{room}`, the page at `/room/{room}`) and any
//! number of nodes behind a load balancer sharing every room.
//!
//! Why a message bus and not a protocol of our own: every production WebSocket stack that
//! outgrew one process joins its nodes through an existing bus (Socket.IO's Redis adapter,
//! Django Channels' Redis layer, ActionCable on Redis, Centrifugo on Redis or NATS), because
//! the bus already solves membership, fan-out between nodes and operations. Each node here
//! subscribes to one Redis channel per room that has a browser on it (and unsubscribes when
//! the last one leaves). A message from a browser is PUBLISHed once and not delivered locally:
//! it comes back through the node's own subscription like everyone else's, so every browser
//! of every node receives each message exactly once, in the order Redis saw it (each
//! browser's messages are published one after the other, so in the order it sent them).
//!
//! On every node, a message from Redis is encoded once as a `PreparedMessage` and handed to
//! that room's local browsers through a `tokio::sync::broadcast` channel, as in the one-node
//! chat: each browser's writer sends the shared frame, and with permessage-deflate (no context
//! takeover, the default) one compression serves them all.
//!
//! When Redis goes away the browsers stay connected: the node says so in every room (a
//! `[system]` line: messages published meanwhile by other nodes are lost for its browsers,
//! and its own browsers' messages are reported as lost to their room), tries again with a
//! backoff that doubles from 100 ms up to 2 s, subscribes every room again and says so. A
//! Redis that stops answering without closing the connection is found by a ping every second.
//!
//! One task per node, the bus task, owns the Redis subscription and the table of rooms:
//! joins, leaves, subscriptions and deliveries happen in one order, so a browser that has been
//! welcomed is subscribed, and an unsubscribe never overtakes a later subscribe.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use wsmachine::driver::{Answer, OwnedMessage};
#[cfg(feature = "deflate")]
use wsmachine::extensions::deflate::DeflateConfig;
use wsmachine::handshake::origin::OriginPolicy;
use wsmachine::tokio::WebSocket;
use wsmachine::{Config, PreparedMessage, Request};

/// The page served at `/`, `/index.html` and `/room/{room}`: the one-node chat's page, which
/// talks in the room named by its own URL.
pub const PAGE: &str = include_str!("chat.html");

/// The room of `/chat` and of the page at `/`.
pub const DEFAULT_ROOM: &str = "lobby";

/// The Redis channel of room `{room}` is `PREFIX{room}`.
pub const CHANNEL_PREFIX: &str = "wsmachine:chat:";

/// What every line a node writes into a room by itself starts with.
pub const SYSTEM: &str = "[system]";

/// Output a browser may leave unread before relaying to it waits (and it misses messages).
const HIGH_WATER: usize = 1 << 20;

/// Messages a room keeps for a browser that is behind; past that it misses some (and is told).
const ROOM_CAPACITY: usize = 1024;

/// The first wait before trying Redis again; it doubles after each failure...
const BACKOFF_START: Duration = Duration::from_millis(100);
/// ...up to this, so delivery resumes within about this long after Redis is back.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// How long connecting to Redis, and any one Redis command, may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the node checks that Redis still answers (a peer that vanished without closing
/// the TCP connection would otherwise look alive until the kernel gives up, minutes later).
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// Runs a node from its command line, `LISTEN_ADDR REDIS_URL [NODE_ID]`, until the listener
/// fails: the example's `main`, and the node process of `tests/chat_cluster.rs`.
///
/// # Errors
///
/// An invalid Redis URL, or the address cannot be bound.
pub async fn run(mut args: impl Iterator<Item = String>) -> io::Result<()> {
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let redis_url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    // Opening a client only parses the URL: Redis need not be up for the node to start.
    let client = redis::Client::open(redis_url.as_str())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // By default a node is known by its address, which tells a reader of the room which node
    // a browser is on (behind a load balancer, give each node a name).
    let id = args.next().unwrap_or_else(|| local.to_string());
    println!("[{id}] chat node listening on http://{local}/ (rooms at /room/NAME), message bus {redis_url}");
    serve(listener, client, id).await
}

/// Serves the page and the chat endpoint on `listener` forever, with the rooms shared through
/// Redis (`client`); `id` names this node in its logs and in the rooms' `[system]` lines.
///
/// # Errors
///
/// None in practice: a failed accept (out of file descriptors) is logged and retried.
pub async fn serve(listener: TcpListener, client: redis::Client, id: String) -> io::Result<()> {
    let (control, requests) = mpsc::unbounded_channel();
    let (publisher_tx, publisher) = watch::channel(None);
    let node = Arc::new(Node {
        id: id.clone(),
        control,
        publisher,
    });
    tokio::spawn(
        Bus {
            id,
            client,
            rooms: HashMap::new(),
            requests,
            publisher: publisher_tx,
        }
        .run(),
    );
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&node)));
            }
            Err(e) => {
                // Out of descriptors, or a connection reset before it was accepted: the node
                // serves its open connections and tries again.
                eprintln!("[{}] accept failed: {e}", node.id);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What the connections of a node share.
struct Node {
    id: String,
    /// Joins and leaves, to the bus task.
    control: mpsc::UnboundedSender<Control>,
    /// The connection to publish on, `None` while Redis is away.
    publisher: watch::Receiver<Option<MultiplexedConnection>>,
}

enum Control {
    /// A browser joins `room`; answered once the node is subscribed (or Redis is away).
    Join {
        room: String,
        reply: oneshot::Sender<Joined>,
    },
    Leave {
        room: String,
    },
}

/// A browser's place in a room.
struct Joined {
    /// The room's messages for this browser.
    updates: broadcast::Receiver<PreparedMessage>,
    /// The room itself, for this node's `[system]` lines about it.
    room: broadcast::Sender<PreparedMessage>,
    /// Whether the node is subscribed through Redis right now.
    bus_up: bool,
}

/// A room with browsers on this node.
struct Room {
    tx: broadcast::Sender<PreparedMessage>,
    members: usize,
}

/// A `[system]` line from node `id`.
fn system(id: &str, text: &str) -> PreparedMessage {
    PreparedMessage::text(&format!("{SYSTEM} node {id} {text}"))
}

/// The room named by a request target (`/chat`, `/chat/{room}`, `/room/{room}`) and whether
/// it is the WebSocket endpoint (`true`) or the page (`false`); `None` for anything else.
/// Room names are 1 to 64 of `A-Z a-z 0-9 _ -`, so that any name is a safe channel name and
/// a safe path.
pub fn route(target: &str) -> Option<(&str, bool)> {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let valid = |room: &str| {
        (1..=64).contains(&room.len())
            && room
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match path {
        "/chat" => Some((DEFAULT_ROOM, true)),
        "/" | "/index.html" => Some((DEFAULT_ROOM, false)),
        _ => {
            if let Some(room) = path.strip_prefix("/chat/") {
                valid(room).then_some((room, true))
            } else if let Some(room) = path.strip_prefix("/room/") {
                valid(room).then_some((room, false))
            } else {
                None
            }
        }
    }
}

/// The page, the chat endpoint of a room, or 404; `room` receives the room of an upgrade.
fn answer(request: &Request<'_>, room: &mut Option<String>) -> Answer {
    match route(request.path()) {
        Some((name, true)) if request.is_websocket() => {
            *room = Some(name.to_owned());
            Answer::accept()
        }
        Some((_, false)) if !request.is_websocket() => {
            Answer::respond(200, PAGE.as_bytes().to_vec())
                .with_header("Content-Type", "text/html; charset=utf-8")
        }
        _ => {
            Answer::respond(404, b"not found\n".to_vec()).with_header("Content-Type", "text/plain")
        }
    }
}

/// Sends the browser's leave to the bus task however its connection ends.
struct Membership {
    node: Arc<Node>,
    room: String,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let room = std::mem::take(&mut self.room);
        let _ = self.node.control.send(Control::Leave { room });
    }
}

async fn connection(stream: TcpStream, node: Arc<Node>) {
    let _ = stream.set_nodelay(true);
    // The page is served from this same address: only its origin may open the chat, so that
    // no other site can talk in it with a visitor's cookies (RFC 6455 §10.2; 403 otherwise).
    let config = Config::new()
        .with_max_message_size(64 * 1024)
        .with_origin_policy(OriginPolicy::SAME_ORIGIN);
    // As in the one-node chat: no context takeover (the default), so one compressed copy of
    // each line serves every browser.
    #[cfg(feature = "deflate")]
    let config = config.with_deflate(DeflateConfig::new());
    let mut room = None;
    let upgraded = WebSocket::accept_with(stream, config, |req| answer(req, &mut room)).await;
    let (Ok(Some(mut ws)), Some(room)) = (upgraded, room) else {
        return;
    };
    ws.set_high_water(HIGH_WATER);
    let (reply, joined) = oneshot::channel();
    let join = Control::Join {
        room: room.clone(),
        reply,
    };
    if node.control.send(join).is_err() {
        return;
    }
    let Ok(joined) = joined.await else { return };
    let membership = Membership {
        node: Arc::clone(&node),
        room,
    };
    let Joined {
        mut updates,
        room: local_room,
        bus_up,
    } = joined;
    let (mut reader, mut writer) = ws.split();
    // The welcome tells the browser (and the tests) that the node is subscribed: from here on
    // it receives every message published to the room.
    let mut welcome = format!(
        "{SYSTEM} joined room {} on node {}",
        membership.room, node.id
    );
    if !bus_up {
        welcome.push_str("; the message bus is down, messages may be lost");
    }
    if writer.send_text(&welcome).await.is_err() {
        return;
    }
    let id = node.id.clone();
    // The writer relays the room to this browser.
    let relay = tokio::spawn(async move {
        loop {
            match updates.recv().await {
                Ok(message) => {
                    if writer.send_prepared(&message).await.is_err() {
                        return;
                    }
                }
                // A browser that fell behind misses some messages; it is told, the chat
                // goes on.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let note = format!("you missed {n} messages (reading too slowly)");
                    if writer.send_prepared(&system(&id, &note)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    // The reader publishes this browser's messages, one at a time (so in order).
    let channel = format!("{CHANNEL_PREFIX}{}", membership.room);
    while let Ok(Some(message)) = reader.recv_owned().await {
        let OwnedMessage::Text(text) = message else {
            continue;
        };
        let publisher = node.publisher.borrow().clone();
        let published = match publisher {
            Some(mut redis) => {
                let mut publish = redis::cmd("PUBLISH");
                publish.arg(&channel).arg(text.as_str());
                let sent = publish.query_async::<i64>(&mut redis);
                matches!(tokio::time::timeout(REDIS_TIMEOUT, sent).await, Ok(Ok(_)))
            }
            None => false,
        };
        if !published {
            let _ = local_room.send(system(
                &node.id,
                "could not publish a message (message bus down): it was lost",
            ));
        }
    }
    relay.abort();
    drop(membership);
}

/// The bus task: the Redis subscription, the rooms of this node, and their deliveries.
struct Bus {
    id: String,
    client: redis::Client,
    /// By Redis channel name.
    rooms: HashMap<String, Room>,
    requests: mpsc::UnboundedReceiver<Control>,
    publisher: watch::Sender<Option<MultiplexedConnection>>,
}

/// A live connection to Redis: the subscription (split in two) and the publisher.
struct Link {
    sink: PubSubSink,
    stream: PubSubStream,
    publisher: MultiplexedConnection,
}

impl Bus {
    async fn run(mut self) {
        let mut backoff = BACKOFF_START;
        let mut was_lost = false;
        loop {
            let link = match self.connect().await {
                Ok(link) => link,
                Err(e) => {
                    println!(
                        "[{}] message bus unreachable ({e}); next try in {} ms",
                        self.id,
                        backoff.as_millis()
                    );
                    if !self.wait(backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            backoff = BACKOFF_START;
            println!(
                "[{}] message bus connected; rooms subscribed: {}",
                self.id,
                self.rooms.len()
            );
            if was_lost {
                self.announce("reconnected to the message bus");
            }
            let Some(why) = self.online(link).await else {
                return;
            };
            was_lost = true;
            self.publisher.send_replace(None);
            println!("[{}] message bus lost: {why}", self.id);
            self.announce("lost the message bus; messages may be lost");
        }
    }

    /// Connects and subscribes to every room this node has; `Err` after `REDIS_TIMEOUT`.
    async fn connect(&mut self) -> redis::RedisResult<Link> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let client = self.client.clone();
        let channels: Vec<String> = self.rooms.keys().cloned().collect();
        let attempt = async move {
            let (mut sink, stream) = client.get_async_pubsub().await?.split();
            if !channels.is_empty() {
                sink.subscribe(&channels).await?;
            }
            let publisher = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            Ok::<_, redis::RedisError>(Link {
                sink,
                stream,
                publisher,
            })
        };
        // Joins and leaves wait meanwhile: one is answered only once its subscription is in
        // place, and the channels subscribed here are the rooms as they were when it started.
        let link = tokio::time::timeout(REDIS_TIMEOUT, attempt)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting to Redis"))??;
        self.publisher.send_replace(Some(link.publisher.clone()));
        Ok(link)
    }

    /// Sleeps for `delay` while answering joins and leaves; `false` once the node is gone.
    async fn wait(&mut self, delay: Duration) -> bool {
        let deadline = tokio::time::sleep(delay);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return true,
                request = self.requests.recv() => match request {
                    Some(request) => {
                        let _ = self.handle(request, None).await;
                    }
                    None => return false,
                },
            }
        }
    }

    /// Delivers Redis messages and answers joins and leaves while `link` lives; returns why
    /// it ended, or `None` once the node is gone.
    async fn online(&mut self, mut link: Link) -> Option<String> {
        let mut health = tokio::time::interval(HEALTH_EVERY);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = link.stream.next() => match message {
                    Some(message) => self.deliver(&message),
                    None => return Some("the subscription connection closed".into()),
                },
                request = self.requests.recv() => {
                    let request = request?;
                    if let Err(e) = self.handle(request, Some(&mut link.sink)).await {
                        return Some(format!("subscription change failed: {e}"));
                    }
                }
                _ = health.tick() => {
                    if let Err(e) = Self::check(&mut link).await {
                        return Some(format!("health check failed: {e}"));
                    }
                }
            }
        }
    }

    /// Both connections answer a PING within `REDIS_TIMEOUT`.
    async fn check(link: &mut Link) -> redis::RedisResult<()> {
        let both = async {
            link.sink.ping::<redis::Value>().await?;
            redis::cmd("PING")
                .query_async::<redis::Value>(&mut link.publisher)
                .await?;
            Ok(())
        };
        tokio::time::timeout(REDIS_TIMEOUT, both)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "PING").into())
            .and_then(|r| r)
    }

    /// One message from Redis: encoded once, for every browser of its room on this node.
    fn deliver(&self, message: &redis::Msg) {
        let Some(room) = self.rooms.get(message.get_channel_name()) else {
            return; // a room left a moment ago
        };
        // Anything may publish on the channel; only text goes to the browsers.
        if let Ok(text) = std::str::from_utf8(message.get_payload_bytes()) {
            // No browser reading right now is not an error.
            let _ = room.tx.send(PreparedMessage::text(text));
        }
    }

    /// A join or a leave, with the subscription change it needs when `sink` is connected.
    async fn handle(
        &mut self,
        request: Control,
        sink: Option<&mut PubSubSink>,
    ) -> redis::RedisResult<()> {
        match request {
            Control::Join { room, reply } => {
                let channel = format!("{CHANNEL_PREFIX}{room}");
                let mut result = Ok(());
                let tx = match self.rooms.get_mut(&channel) {
                    Some(existing) => {
                        existing.members += 1;
                        existing.tx.clone()
                    }
                    None => {
                        if let Some(sink) = sink {
                            result = Self::within(sink.subscribe(&channel)).await;
                        }
                        println!("[{}] room {room} opened on this node", self.id);
                        let (tx, _) = broadcast::channel(ROOM_CAPACITY);
                        self.rooms.insert(
                            channel,
                            Room {
                                tx: tx.clone(),
                                members: 1,
                            },
                        );
                        tx
                    }
                };
                let bus_up = result.is_ok() && self.publisher.borrow().is_some();
                let _ = reply.send(Joined {
                    updates: tx.subscribe(),
                    room: tx,
                    bus_up,
                });
                result
            }
            Control::Leave { room } => {
                let channel = format!("{CHANNEL_PREFIX}{room}");
                let Some(existing) = self.rooms.get_mut(&channel) else {
                    return Ok(());
                };
                existing.members -= 1;
                if existing.members > 0 {
                    return Ok(());
                }
                self.rooms.remove(&channel);
                println!("[{}] room {room} closed on this node", self.id);
                match sink {
                    Some(sink) => Self::within(sink.unsubscribe(&channel)).await,
                    None => Ok(()),
                }
            }
        }
    }

    /// A subscription change, failed after `REDIS_TIMEOUT`.
    async fn within(
        change: impl std::future::Future<Output = redis::RedisResult<()>>,
    ) -> redis::RedisResult<()> {
        match tokio::time::timeout(REDIS_TIMEOUT, change).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "SUBSCRIBE").into()),
        }
    }

    /// A `[system]` line from this node in every room it has.
    fn announce(&self, text: &str) {
        let line = system(&self.id, text);
        for room in self.rooms.values() {
            let _ = room.tx.send(line.clone());
        }
    }
}
