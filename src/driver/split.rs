//! The two halves of a split [`WebSocket`](super::WebSocket): a [`Reader`] and a [`Writer`]
//! for two tasks. Both share the connection and its stream behind a lock that is held only
//! within a poll, never across an await. Either half moves output when polled (so pongs
//! and the close reply go out while only the reader runs), the reader also reads, and the
//! waker they hand the stream wakes both halves: whichever task waits is woken when the
//! stream can move.

use core::future::poll_fn;
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Wake;

use super::engine::Io;
use super::transport::Transport;
use super::{Error, OwnedMessage};
use crate::{Connection, Event, Message, SendError, Sender};

/// The receiving half. See [`WebSocket::split`](super::WebSocket::split).
/// Example on [`WebSocket::split`](super::WebSocket::split).
#[derive(Debug)]
pub struct Reader<T> {
    pub(super) shared: Arc<Shared<T>>,
}

/// The sending half. See [`WebSocket::split`](super::WebSocket::split).
/// Example on [`WebSocket::split`](super::WebSocket::split).
#[derive(Debug)]
pub struct Writer<T> {
    pub(super) shared: Arc<Shared<T>>,
}

#[derive(Debug)]
pub(crate) struct Shared<T> {
    io: Mutex<Io<T>>,
    wakers: Arc<Wakers>,
}

/// The wakers of the two halves' tasks; waking it wakes both.
#[derive(Debug, Default)]
struct Wakers {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let taken =
            core::mem::take(&mut *self.slots.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in taken.into_iter().flatten() {
            waker.wake();
        }
    }
}

pub(super) const READER: usize = 0;
pub(super) const WRITER: usize = 1;

pub(super) fn split<T>(io: Io<T>) -> (Reader<T>, Writer<T>) {
    let shared = Arc::new(Shared {
        io: Mutex::new(io),
        wakers: Arc::new(Wakers::default()),
    });
    (
        Reader {
            shared: Arc::clone(&shared),
        },
        Writer { shared },
    )
}

impl<T> Shared<T> {
    /// Runs `f` on the connection with a context whose waker wakes both halves; `half`'s
    /// own waker is registered first.
    pub(super) fn poll_with<R>(
        &self,
        half: usize,
        cx: &Context<'_>,
        f: impl FnOnce(&mut Io<T>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        {
            let mut slots = self
                .wakers
                .slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = slots.get_mut(half) {
                match slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
        }
        let waker = Waker::from(Arc::clone(&self.wakers));
        let mut both = Context::from_waker(&waker);
        let mut io = self.lock();
        f(&mut io, &mut both)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Io<T>> {
        self.io.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Transport> Reader<T> {
    /// The next message, copied out of the connection (the halves share it behind a lock,
    /// so a message cannot stay borrowed from it: [`recv_with`](Self::recv_with) reads one
    /// without copying). Pings are answered and skipped. `Ok(None)` once the connection
    /// closed cleanly and its transport is finished. Cancel-safe.
    /// Example on [`WebSocket::split`](super::WebSocket::split).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv`](super::WebSocket::recv).
    pub async fn recv_owned(&mut self) -> Result<Option<OwnedMessage>, Error> {
        poll_fn(|cx| self.shared.poll_with(READER, cx, Io::poll_recv_owned)).await
    }

    /// The next message, handed borrowed to `reply` with a [`Sender`] that queues frames on
    /// this connection (an echo without a copy), as
    /// [`WebSocket::recv_with`](super::WebSocket::recv_with). `reply` runs under the lock the
    /// halves share: keep it short. Cancel-safe.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv`](super::WebSocket::recv).
    pub async fn recv_with<R>(
        &mut self,
        reply: impl FnOnce(Message<'_>, &mut Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        let mut reply = Some(reply);
        poll_fn(|cx| {
            self.shared
                .poll_with(READER, cx, |io, cx| io.poll_recv_with(cx, &mut reply))
        })
        .await
    }

    /// The next event of any kind (streamed fragments, pings, pongs, the peer's close frame,
    /// and last `Closed`, once the transport is finished), handed borrowed to `f`, as
    /// [`WebSocket::recv_event`](super::WebSocket::recv_event) returns them; `Ok(None)` after
    /// `Closed`. `f` runs under the lock the halves share. Cancel-safe.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv_event`](super::WebSocket::recv_event).
    pub async fn recv_event_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        let mut f = Some(f);
        poll_fn(|cx| {
            self.shared
                .poll_with(READER, cx, |io, cx| io.poll_event_with(cx, &mut f))
        })
        .await
    }

    /// The connection's statistics and state, read under the lock (see
    /// [`Connection::stats`] for an example of the getters).
    pub fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(self.shared.lock().conn())
    }
}

impl<T: Transport> Writer<T> {
    crate::driver::send_commands!(async, "on [`WebSocket::split`](super::WebSocket::split)");

    /// Writes all pending output. Cancel-safe.
    /// Example on [`WebSocket::split`](super::WebSocket::split); the whole connection's method of the same name has one on [`WebSocket`](super::WebSocket).
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.shared.poll_with(WRITER, cx, Io::poll_flush_out)).await
    }

    /// The connection's statistics and state, read under the lock (see
    /// [`Connection::stats`] for an example of the getters).
    pub fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(self.shared.lock().conn())
    }

    /// Queues a command once there is room (for data), in the poll that completes.
    async fn command(
        &mut self,
        data: bool,
        command: impl FnOnce(&mut Connection) -> Result<(), SendError>,
    ) -> Result<(), Error> {
        let mut command = Some(command);
        poll_fn(|cx| {
            self.shared
                .poll_with(WRITER, cx, |io, cx| io.poll_command(cx, data, &mut command))
        })
        .await
    }
}
