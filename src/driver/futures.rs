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

use futures_core::Stream;
use futures_sink::Sink;

use super::engine::Io;
use super::split::{READER, WRITER};
use super::transport::Transport;
use super::{Error, OwnedMessage, Reader, WebSocket, Writer};
use crate::{CloseCode, Message, State};

/// The next item of `io` as a stream: fused after the end or an error.
fn poll_next_item<T: Transport>(
    io: &mut Io<T>,
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
fn poll_room<T: Transport>(io: &mut Io<T>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    io.poll_command(
        cx,
        true,
        &mut None::<fn(&mut crate::Connection) -> Result<(), crate::SendError>>,
    )
}

fn queue<T: Transport>(io: &mut Io<T>, message: Message<'_>) -> Result<(), Error> {
    io.session.command(|conn| match message {
        Message::Text(t) => conn.send_text(t),
        Message::Binary(b) => conn.send_binary(b),
    })
}

/// Starts the closing handshake (unless it started already) and writes it out.
fn poll_close_out<T: Transport>(io: &mut Io<T>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    if io.conn().state() == State::Open {
        io.session
            .command(|conn| conn.close(CloseCode::NORMAL, ""))?;
    }
    io.poll_flush_out(cx)
}

impl<T: Transport> Stream for WebSocket<T> {
    type Item = Result<OwnedMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_next_item(&mut self.get_mut().io, cx)
    }
}

impl<T: Transport> Stream for Reader<T> {
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
        impl<T: Transport> Sink<OwnedMessage> for $ty<T> {
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

impl<T> WebSocket<T> {
    fn with_io<R>(&mut self, f: impl FnOnce(&mut Io<T>) -> R) -> R {
        f(&mut self.io)
    }
}

impl<T> Writer<T> {
    fn with_io<R>(&mut self, f: impl FnOnce(&mut Io<T>) -> R) -> R {
        f(&mut self.shared.lock())
    }
}
