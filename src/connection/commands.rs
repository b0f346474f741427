//! The connection's commands: answering the upgrade request, sending messages, fragments
//! and control frames, closing.

use super::Connection;

pub(super) use super::opening::Accept;

use crate::close::{CloseCode, CloseFrame};
use crate::error::SendError;
use crate::event::{Message, MessageKind};
use crate::utf8;

impl Connection {
    // ----- commands -----------------------------------------------------------------------

    /// Server: accepts the pending upgrade request with a `101` response (§4.2.2). Frames the
    /// client sent behind its request are decoded next.
    /// Example in the [crate docs](crate).
    ///
    /// # Errors
    ///
    /// [`SendError::NoPendingRequest`] if no request waits for an answer,
    /// [`SendError::NotWebSocketRequest`] for a plain HTTP request,
    /// [`SendError::SubprotocolNotOffered`], [`SendError::InvalidHeader`]. Nothing is sent then
    /// and the request still waits.
    pub fn accept(&mut self, accept: Accept<'_>) -> Result<(), SendError> {
        self.inb.accept(&mut self.out, &accept)?;
        // Frames that arrived behind the request are scanned from here on.
        self.note_arrivals();
        Ok(())
    }

    /// Server: answers the pending request with an HTTP response instead (a rejection with any
    /// status, or a page for a plain request) and ends the connection. `Content-Length` (unless
    /// given) and `Connection: close` are added.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Event};
    /// let mut server = Connection::server(Config::new());
    /// let _ = server.receive(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    /// let Some(Event::Request(req)) = server.poll_event() else { panic!() };
    /// assert!(!req.is_websocket()); // a plain request: answer it with a page
    /// server.respond(200, &[("Content-Type", "text/plain")], b"hello\n")?;
    /// assert!(server.output().starts_with(b"HTTP/1.1 200 OK\r\n"));
    /// # Ok::<(), wsmachine::SendError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::NoPendingRequest`], [`SendError::InvalidStatus`] (outside 200-599),
    /// [`SendError::InvalidHeader`].
    pub fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), SendError> {
        self.inb.respond(&mut self.out, status, headers, body)
    }

    /// Queues a text message, split into frames of `Config::outgoing_fragment_size` if set.
    ///
    /// ```
    /// use wsmachine::{CloseCode, Config, Connection, MessageKind, State};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// server.send_text("hello")?;
    /// server.send_binary(&[1, 2, 3])?;
    /// server.send_fragment(MessageKind::Text, b"par", false)?;
    /// server.ping(b"are you there")?; // control frames may come between fragments
    /// server.send_fragment(MessageKind::Text, b"ts", true)?;
    /// server.pong(b"")?; // an unsolicited pong: a one-way heartbeat
    /// let written = server.output().len();
    /// server.consume_output(written); // what a socket write took
    /// server.close(CloseCode::NORMAL, "bye")?;
    /// assert_eq!(server.state(), State::Closing);
    /// assert!(server.close_expected() && !server.is_close_reply_owed());
    /// assert!(!server.is_closed() && server.closed().is_none());
    /// assert_eq!(server.config().max_message_size, 16 << 20);
    /// # Ok::<(), wsmachine::SendError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::NotOpen`], [`SendError::Closing`] after a close frame was sent (§5.5.1),
    /// [`SendError::Closed`], [`SendError::FragmentSequence`] while a fragmented message is
    /// unfinished, [`SendError::OutputFull`]. Nothing is queued then.
    #[inline]
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.out.send_message(MessageKind::Text, text.as_bytes())
    }

    /// Server: the header of a whole message whose payload is not copied into the connection:
    /// write the returned header and then `message`'s bytes yourself, together (a vectored
    /// write), before anything else is written. For large messages this saves the copy into
    /// the output buffer. The message goes out uncompressed.
    ///
    /// ```
    /// # use wsmachine::{Config, Connection, Message};
    /// # let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// let payload = vec![7u8; 1 << 20];
    /// let header = server.encode_unbuffered(Message::Binary(&payload)).unwrap();
    /// // socket.write_vectored(&[IoSlice::new(header.as_bytes()), IoSlice::new(&payload)])
    /// assert_eq!(header.as_bytes(), [0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::UnbufferedNotPossible`] for a client (its frames are masked, which means
    /// copying) or while `output()` is not empty; the state errors of
    /// [`send_text`](Self::send_text).
    pub fn encode_unbuffered(
        &mut self,
        message: Message<'_>,
    ) -> Result<crate::frame::EncodedHeader, SendError> {
        self.out
            .encode_unbuffered(message.kind(), message.as_bytes().len())
    }

    /// Queues a binary message. Errors as [`send_text`](Self::send_text).
    /// Example on [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    #[inline]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.out.send_message(MessageKind::Binary, data)
    }

    /// Queues a [`PreparedMessage`](crate::PreparedMessage), encoded once for any number of
    /// connections. A server whose output is empty puts the shared frame itself at the head
    /// of its output: [`output`](Self::output) then returns the shared bytes (no copy; the
    /// connection holds a reference to the message until they are written, and its close
    /// deadline covers them as any output). With output already waiting, a server copies the
    /// frame behind it; a client masks the shared payload while copying it (§5.3). With
    /// permessage-deflate and no context takeover the compressed encoding is shared too. The
    /// message goes out exactly as [`send_text`](Self::send_text) or
    /// [`send_binary`](Self::send_binary) would send it. Examples on
    /// [`PreparedMessage`](crate::PreparedMessage), [`output_len`](Self::output_len) and
    /// [`output_vectored`](Self::output_vectored).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text), plus [`SendError::CompressionFailed`].
    #[inline]
    pub fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), SendError> {
        self.out.send_prepared(message)
    }

    /// Server: accepts a [`PreparedMessage`](crate::PreparedMessage) and returns the shared
    /// frame for the caller to write to the transport itself, whole and before anything in
    /// [`output`](Self::output) (empty now; what is queued later, an automatic pong or a
    /// close, goes after it). The message is counted as sent and written. Those bytes are
    /// outside the connection: its close deadline cannot abandon them, so a caller writing
    /// to a peer that may stop reading bounds that write itself.
    /// [`send_prepared`](Self::send_prepared) writes the same shared bytes without a copy
    /// and keeps them under the deadlines; prefer it.
    ///
    /// ```
    /// # use wsmachine::{Config, Connection, PreparedMessage};
    /// # let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// let msg = PreparedMessage::text("tick");
    /// let frame = server.send_prepared_unbuffered(&msg).unwrap();
    /// // socket.write_all(frame)?
    /// assert_eq!(frame, b"\x81\x04tick");
    /// assert!(server.output().is_empty());
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::UnbufferedNotPossible`] for a client (its frames are masked), while
    /// `output()` is not empty, where the connection's fragment size splits the message, and
    /// where it compresses the message with an encoding that is not shared lock-free (context
    /// takeover, or a second parameter set): [`send_prepared`](Self::send_prepared) then
    /// sends it. Otherwise as [`send_prepared`](Self::send_prepared). Nothing is counted then.
    pub fn send_prepared_unbuffered<'m>(
        &mut self,
        message: &'m crate::PreparedMessage,
    ) -> Result<&'m [u8], SendError> {
        self.out.send_prepared_unbuffered(message)
    }

    /// Queues one fragment of a message (§5.4): the first call starts a message of `kind`,
    /// later calls continue it, `fin` ends it. Text fragments may split code points, but
    /// together must be valid UTF-8. Control frames may be sent in between.
    /// Example on [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text), plus [`SendError::FragmentSequence`] for a `kind` that
    /// differs from the message's, and [`SendError::InvalidUtf8`].
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.out.send_fragment(kind, data, fin)
    }

    /// Queues a ping (§5.5.2).
    /// Example on [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// [`SendError::ControlTooLong`] over 125 bytes, and the state errors of
    /// [`send_text`](Self::send_text).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.out.send_control(crate::frame::OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong, a one-way heartbeat (§5.5.3).
    /// Example on [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`ping`](Self::ping).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.out.send_control(crate::frame::OpCode::Pong, payload)
    }

    /// Starts the closing handshake, or completes it after [`Event::CloseReceived`](crate::Event::CloseReceived) when
    /// automatic replies are off (§5.5.1, §7). No data frame can be sent afterwards.
    /// Example on [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// [`SendError::CloseCodeNotSendable`] (1005, 1006, 1015 and unassigned codes),
    /// [`SendError::ReasonTooLong`] (over 123 bytes), [`SendError::Closing`] if a close frame
    /// was already sent, [`SendError::Closed`], [`SendError::NotOpen`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.out.close(CloseFrame { code, reason }, false)
    }

    /// Queues a message that is not compressed even when permessage-deflate is in use (data
    /// that is already compressed, or secrets that must not share a compression context with
    /// attacker-chosen text, RFC 7692 §11). Otherwise as [`send_text`](Self::send_text).
    /// Example of sending on [`send_text`](Self::send_text); see [`extensions::deflate`](crate::extensions::deflate) for the compression it skips.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text), plus [`SendError::InvalidUtf8`] for text that is not
    /// UTF-8.
    pub fn send_uncompressed(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), SendError> {
        if kind == MessageKind::Text && utf8::validate(data).is_err() {
            return Err(SendError::InvalidUtf8);
        }
        self.out.send_whole(kind, data, false)
    }
}
