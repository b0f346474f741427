//! `futures` [`Stream`] and [`Sink`] (feature `futures`) for a [`WebSocket`] and its halves,
//! on [`OwnedMessage`]s, for combinators such as `StreamExt::forward`; `recv` (borrowed, no
//! copy) stays the fast path.
//!
//! As a `Stream`, a connection yields each message, then ends: `None` after a clean close
//! (once the transport is finished), or one `Err` and then `None`. As a `Sink`, `poll_ready`
//! waits for output at or below the high-water mark, `start_send` queues the message,
//! `poll_flush` writes everything, and `poll_close` starts the closing handshake (1000)
//! and writes it; the end of the handshake arrives on the receiving side.

use core::pin::Pin;
use core::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::Stream;
use futures_sink::Sink;

use super::io::Io;
use super::split::{READER, WRITER};
use super::{Reader, WebSocket, Writer};
use crate::driver::{Error, OwnedMessage};
use crate::{CloseCode, Message, State};

/// The next item of `io` as a stream: fused after the end or an error.
fn poll_next_item<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<S>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<OwnedMessage, Error>>> {
    if io.stream_ended {
        return Poll::Ready(None);
    }
    let item = match io.poll_recv_owned(cx) {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(result) => result.transpose(),
    };
    if !matches!(item, Some(Ok(_))) {
        io.stream_ended = true;
    }
    Poll::Ready(item)
}

/// Ready once output is at or below the high-water mark (reading nothing meanwhile).
fn poll_room<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<S>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Error>> {
    io.poll_command(
        cx,
        true,
        &mut None::<fn(&mut crate::Connection) -> Result<(), crate::SendError>>,
    )
}

fn queue<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<S>,
    message: Message<'_>,
) -> Result<(), Error> {
    io.failure()?;
    match message {
        Message::Text(t) => io.conn.send_text(t),
        Message::Binary(b) => io.conn.send_binary(b),
    }
    .map_err(Error::Send)
}

/// Starts the closing handshake (unless it started already) and writes it out.
fn poll_close_out<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<S>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Error>> {
    if io.conn.state() == State::Open {
        io.conn.close(CloseCode::NORMAL, "").map_err(Error::Send)?;
    }
    io.poll_flush_out(cx)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = Result<OwnedMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_next_item(&mut self.get_mut().io, cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for Reader<S> {
    type Item = Result<OwnedMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared.poll_with(READER, cx, poll_next_item)
    }
}

/// `Sink<OwnedMessage>` on a type whose connection `$with` reaches. One item type only, so
/// that `SinkExt::close` and `flush` need no annotation (borrowed messages go through the
/// inherent `send`).
macro_rules! sink {
    ($ty:ident, |$this:ident, $cx:ident, $f:ident| $with:expr) => {
        impl<S: AsyncRead + AsyncWrite + Unpin> Sink<OwnedMessage> for $ty<S> {
            type Error = Error;

            fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                let ($this, $cx, $f) = (self.get_mut(), cx, poll_room);
                $with
            }

            fn start_send(self: Pin<&mut Self>, item: OwnedMessage) -> Result<(), Error> {
                self.get_mut().with_io(|io| queue(io, item.as_message()))
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                let ($this, $cx, $f) = (self.get_mut(), cx, Io::poll_flush_out);
                $with
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                let ($this, $cx, $f) = (self.get_mut(), cx, poll_close_out);
                $with
            }
        }
    };
}

sink!(WebSocket, |this, cx, f| f(&mut this.io, cx));
sink!(Writer, |this, cx, f| this.shared.poll_with(WRITER, cx, f));

impl<S> WebSocket<S> {
    fn with_io<R>(&mut self, f: impl FnOnce(&mut Io<S>) -> R) -> R {
        f(&mut self.io)
    }
}

impl<S> Writer<S> {
    fn with_io<R>(&mut self, f: impl FnOnce(&mut Io<S>) -> R) -> R {
        f(&mut self.shared.lock())
    }
}
