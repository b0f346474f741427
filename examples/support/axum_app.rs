//! The axum example's routes: a page at `/`, and `/ws` upgraded to a WebSocket echo run by
//! wsmachine through the hyper route (`hyper_ws.rs`, a `super::` module, as is `echo.rs`).

#![allow(dead_code)]

use axum::extract::Request;
use axum::routing::get;
use axum::Router;

/// The page `GET /` gets.
pub const PAGE: &str = "wsmachine behind axum: the WebSocket echo is /ws\n";

/// The routes.
pub fn app() -> Router {
    Router::new().route("/", get(|| async { PAGE })).route(
        "/ws",
        get(|mut req: Request| async move { super::hyper_ws::upgrade(&mut req) }),
    )
}
