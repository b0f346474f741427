//! The chat on several nodes: the `chat` example's page and endpoint, with each room shared by
//! every node through Redis pub/sub, so browsers behind a load balancer share a room whichever
//! node they reach. How and why: `examples/support/chat_cluster.rs`.
//!
//! ```sh
//! redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no &
//! cargo run --release --features tokio,deflate --example chat_cluster -- 127.0.0.1:8081 redis://127.0.0.1:6379/ &
//! cargo run --release --features tokio,deflate --example chat_cluster -- 127.0.0.1:8082 redis://127.0.0.1:6379/ &
//! ```
//!
//! Open <http://127.0.0.1:8081/> in one tab and <http://127.0.0.1:8082/> in another: the two
//! nodes share the room. `/room/NAME` is the page of room `NAME` (its endpoint is
//! `/chat/NAME`; `/` and `/chat` are room `lobby`). A third argument names the node in its
//! logs and `[system]` lines (default: its address).
//!
//! Usage: `chat_cluster LISTEN_ADDR REDIS_URL [NODE_ID]`.

#[path = "support/chat_cluster.rs"]
mod chat_cluster;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    chat_cluster::run(std::env::args().skip(1)).await
}
