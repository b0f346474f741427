//! What an async runtime gives the async driver: a byte stream and a timer. Implement
//! [`Transport`] for a runtime's stream (the crate does for tokio, `wsmachine::tokio`, and
//! for the `futures-io` traits, `wsmachine::futures_io`) and [`WebSocket`](super::WebSocket)
//! drives a [`Connection`](crate::Connection) over it: the same receive, send, backpressure,
//! deadline and finishing steps for every runtime.
//!
//! The contract is that of `AsyncRead`/`AsyncWrite` in both ecosystems: each `poll_*` either
//! makes progress now (`Ready`) or registers the context's waker for when it can and returns
//! `Pending`. The timer works the same way for one deadline at a time.

use core::task::{Context, Poll};
use std::io;

use crate::Timestamp;

/// A byte stream and a timer, for the async driver (examples: the crate's two
/// implementations, `wsmachine::tokio::TokioIo` and `wsmachine::futures_io::FuturesIo`).
///
/// ```
/// use core::task::{Context, Poll};
/// use std::io;
/// use wsmachine::driver::Transport;
/// use wsmachine::Timestamp;
///
/// /// A transport that is always at end of stream and never times out: enough for a test of
/// /// what a driver does at the end.
/// struct Closed;
///
/// impl Transport for Closed {
///     fn poll_read(&mut self, _: &mut Context<'_>, _: &mut [u8]) -> Poll<io::Result<usize>> {
///         Poll::Ready(Ok(0))
///     }
///     fn poll_write(&mut self, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
///         Poll::Ready(Ok(buf.len()))
///     }
///     fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
///         Poll::Ready(Ok(()))
///     }
///     fn poll_shutdown(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
///         Poll::Ready(Ok(()))
///     }
///     fn now(&self) -> Timestamp {
///         Timestamp::ZERO
///     }
///     fn poll_timer(&mut self, _: &mut Context<'_>, _: Timestamp) -> Poll<()> {
///         Poll::Pending
///     }
/// }
/// ```
pub trait Transport: Unpin {
    /// Reads into `buf`: `Ready(Ok(0))` is end of stream (`buf` is never empty).
    ///
    /// # Errors
    ///
    /// The stream's error (a reset, a TLS failure): the connection ends at once.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `buf` (never empty); `Ready(Ok(0))` counts as a failure.
    ///
    /// # Errors
    ///
    /// The stream's error: the connection ends at once.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Writes out what the stream buffers (a TLS record, say).
    ///
    /// # Errors
    ///
    /// The stream's error: the connection ends at once.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Closes the write side: a TCP `FIN`, a TLS `close_notify`.
    ///
    /// # Errors
    ///
    /// The stream's error (ignored: the peer is gone then).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// The time, as a duration since an origin this transport keeps (a monotonic clock:
    /// the connection's deadlines count from it).
    fn now(&self) -> Timestamp;

    /// Waits for `at` (on the clock of [`now`](Self::now)): `Ready` once it passed,
    /// `Pending` with the waker registered for it. Called with the connection's next
    /// deadline, which changes as the connection moves; only the latest one matters.
    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Timestamp) -> Poll<()>;
}
