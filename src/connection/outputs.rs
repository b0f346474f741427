//! The connection's outputs: the bytes to write, and the rules for the transport's end
//! (half-close, and when it may be closed).

use super::Connection;

use super::lifecycle::Phase;

impl Connection {
    // ----- outputs ------------------------------------------------------------------------

    /// Bytes waiting to be written to the transport (examples: the [crate docs](crate),
    /// [`stats`](Self::stats)).
    #[must_use]
    #[inline]
    pub fn output(&self) -> &[u8] {
        self.out.output()
    }

    /// All the bytes waiting to be written: [`output`](Self::output) returns the first run
    /// of them (a prepared message's shared frame, written from its shared bytes, comes
    /// before the connection's own buffer), this counts them all. For a driver's high-water
    /// mark.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, PreparedMessage};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// server.send_prepared(&PreparedMessage::text("shared"))?; // not copied
    /// server.send_text("own")?; // copied into the buffer, behind it
    /// assert_eq!(server.output(), b"\x81\x06shared");
    /// assert_eq!(server.output_len(), 8 + 5);
    /// server.consume_output(8);
    /// assert_eq!(server.output(), b"\x81\x03own");
    /// # Ok::<(), wsmachine::SendError>(())
    /// ```
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.out.pending()
    }

    /// The bytes waiting to be written, in order, as two runs for a vectored write: a
    /// prepared message's shared frame (written from its shared bytes, never copied; empty
    /// when there is none) and the connection's own buffer. Write them with
    /// `write_vectored` and report what was taken with
    /// [`consume_output`](Self::consume_output), which takes from the first run, then the
    /// second.
    ///
    /// ```
    /// use std::io::{IoSlice, Write};
    /// use wsmachine::{Config, Connection, PreparedMessage};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// server.send_prepared(&PreparedMessage::text("shared"))?;
    /// server.pong(b"")?;
    /// let mut socket = Vec::new();
    /// let [first, second] = server.output_vectored();
    /// let n = socket.write_vectored(&[IoSlice::new(first), IoSlice::new(second)]).unwrap();
    /// server.consume_output(n);
    /// # while server.wants_write() { let n = socket.write(server.output()).unwrap(); server.consume_output(n); }
    /// assert_eq!(socket, b"\x81\x06shared\x8a\x00");
    /// # Ok::<(), wsmachine::SendError>(())
    /// ```
    #[must_use]
    pub fn output_vectored(&self) -> [&[u8]; 2] {
        self.out.output_vectored()
    }

    /// Marks the first `n` bytes of the output as written: at most the length of
    /// [`output`](Self::output), or of both runs of
    /// [`output_vectored`](Self::output_vectored).
    /// Example on [`send_text`](Self::send_text).
    #[inline]
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Whether there is output to write (example on [`stats`](Self::stats)).
    #[must_use]
    pub fn wants_write(&self) -> bool {
        self.out.wants_write()
    }

    /// Whether to half-close the transport now (a TCP `FIN`, a TLS `close_notify`): all
    /// output is written and nothing more will be: the server completed the closing
    /// handshake (§7.1.1), the connection failed (§7.1.7), a server answered with an HTTP
    /// response, or the connection is over and the peer's end of stream arrived (a TLS
    /// stream then still says `close_notify`). A client that completed the closing
    /// handshake does not: the server closes TCP first, so that the server holds the
    /// `TIME_WAIT` state (§7.1.1). Half-close once, then keep reading until
    /// [`may_close_transport`](Self::may_close_transport). Example in the
    /// [crate docs](crate).
    #[must_use]
    pub fn should_shutdown_write(&self) -> bool {
        self.out.link.should_shutdown() && !self.out.wants_write()
    }

    /// Whether the transport may be closed (dropped) now: the connection is over, nothing is
    /// left to write, and either the transport ended (the peer's end of stream, a transport
    /// error, the close deadline) or this side closes it first (the server after the
    /// closing handshake, §5.5.1: "The server MUST close the underlying TCP connection
    /// immediately"). A client waits for the server's end of stream (§7.1.1), at most until
    /// the close deadline. Half-close first when
    /// [`should_shutdown_write`](Self::should_shutdown_write) says so. The one rule every
    /// driver follows for "this transport may now be closed".
    ///
    /// ```
    /// use wsmachine::{CloseCode, Config, Connection, Timestamp};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// assert!(!server.may_close_transport());
    /// server.receive_eof(); // the peer went away
    /// while server.poll_event().is_some() {}
    /// assert!(server.should_shutdown_write());
    /// assert!(server.may_close_transport());
    /// # let _ = (CloseCode::NORMAL, Timestamp::ZERO);
    /// ```
    #[must_use]
    pub fn may_close_transport(&self) -> bool {
        self.out.link.may_close_transport() && !self.out.wants_write()
    }

    /// Whether to run a close timer: a close frame was sent and the peer's is awaited, the
    /// peer's close frame arrived and our reply is owed (automatic replies off, see
    /// [`is_close_reply_owed`](Self::is_close_reply_owed)), or the connection is over but the
    /// transport is still open. On expiry drop the transport and call
    /// [`receive_eof`](Self::receive_eof).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn close_expected(&self) -> bool {
        matches!(
            self.out.link.phase(),
            Phase::CloseSent | Phase::CloseReceived | Phase::Closed
        ) && !self.out.link.eof()
    }

    /// Whether the peer's close frame arrived and the application owes the reply: with
    /// `Config::auto_close_reply` off, after [`Event::CloseReceived`](crate::Event::CloseReceived), until
    /// [`close`](Self::close) is called (§5.5.1: as soon as practical; a message in progress
    /// may be finished first).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn is_close_reply_owed(&self) -> bool {
        self.out.link.phase() == Phase::CloseReceived
    }
}
