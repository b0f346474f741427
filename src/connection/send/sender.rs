//! [`Sender`]: sending on a connection while an event borrowed from it is alive.

use super::Outbound;
use crate::close::{CloseCode, CloseFrame};
use crate::error::SendError;
use crate::event::MessageKind;
use crate::frame::OpCode;

/// Sends on a connection while an event borrowed from it is still alive.
/// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender).
///
/// Returned by [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender):
/// the event borrows the input side and the sender the output side, so an echo can pass a
/// received payload straight to `send_*` without copying it first.
#[derive(Debug)]
pub struct Sender<'a> {
    pub(crate) out: &'a mut Outbound,
}

impl Sender<'_> {
    /// Bytes waiting to be written, as [`Connection::output`](crate::Connection::output): a
    /// blocking driver can write them out while it still holds the event.
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    #[must_use]
    pub fn output(&self) -> &[u8] {
        self.out.output()
    }

    /// Marks output as written, as
    /// [`Connection::consume_output`](crate::Connection::consume_output).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Queues a text message. See [`Connection::send_text`](crate::Connection::send_text).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_text`](crate::Connection::send_text).
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.out.send_message(MessageKind::Text, text.as_bytes())
    }

    /// Queues a binary message. See [`Connection::send_binary`](crate::Connection::send_binary).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_binary`](crate::Connection::send_binary).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.out.send_message(MessageKind::Binary, data)
    }

    /// Queues a prepared message. See
    /// [`Connection::send_prepared`](crate::Connection::send_prepared).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_prepared`](crate::Connection::send_prepared).
    pub fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), SendError> {
        self.out.send_prepared(message)
    }

    /// Queues one fragment. See [`Connection::send_fragment`](crate::Connection::send_fragment).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_fragment`](crate::Connection::send_fragment).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.out.send_fragment(kind, data, fin)
    }

    /// Queues a ping. See [`Connection::ping`](crate::Connection::ping).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::ping`](crate::Connection::ping).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.out.send_control(OpCode::Ping, payload)
    }

    /// Queues a pong. See [`Connection::pong`](crate::Connection::pong).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::pong`](crate::Connection::pong).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.out.send_control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake. See [`Connection::close`](crate::Connection::close).
    /// Example on [`Connection::poll_event_with_sender`](crate::Connection::poll_event_with_sender) (a `Sender` echoing) and on [`Connection::send_text`](crate::Connection::send_text).
    ///
    /// # Errors
    ///
    /// As [`Connection::close`](crate::Connection::close).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.out.close(CloseFrame { code, reason }, false)
    }
}
