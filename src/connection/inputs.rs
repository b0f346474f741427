//! The connection's inputs: bytes from the transport (copied in, or read in place), the
//! end of the stream, and the transport's failure.

use super::Connection;

use super::lifecycle::{Phase, Step};

impl Connection {
    /// How many bytes the input buffer may hold in this phase, or `None` once input is
    /// discarded (a close frame arrived, or the connection ended).
    pub(super) fn input_limit(&self) -> Option<usize> {
        let config = &self.inb.st.config;
        let phase = self.out.link.phase();
        if !phase.reads_input() {
            return None;
        }
        Some(match phase {
            Phase::ReadingRequest
            | Phase::AwaitingAnswer
            | Phase::ReadingResponse
            | Phase::ReadingRejection => config
                .max_handshake_bytes
                .saturating_mul(2)
                .saturating_add(1),
            _ => config.max_buffered_input(),
        })
    }

    // ----- inputs -------------------------------------------------------------------------

    /// Takes bytes from the transport, copying them into the input buffer (and unmasking
    /// payloads on the way). Returns how many were taken: all of them, unless the input buffer
    /// is at its limit, or a frame of 64 KiB or more just ended with more bytes behind it (so
    /// that the next frame lands in a buffer the application has emptied instead of behind a
    /// large one that would have to be moved). Drain events and pass the rest again.
    ///
    /// After the connection failed or closed, input is discarded (and reported as taken).
    /// Example in the [crate docs](crate).
    #[must_use = "bytes not taken must be passed again after draining events"]
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let limit = self.input_limit();
        let n = self.inb.receive(data, limit);
        self.note_arrivals();
        n
    }

    /// Carries what the input side saw arrive over to the state both sides share.
    #[inline]
    pub(super) fn note_arrivals(&mut self) {
        if self.inb.st.scan.close_arrived() {
            self.out.apply(Step::CloseArrived);
        }
    }

    /// The free space a transport read should fill, for reading without a copy; call
    /// [`commit_read`](Self::commit_read) with the number of bytes read, before any other
    /// call on the connection.
    ///
    /// Its size adapts between `Config::min_read_size` and `Config::max_read_size`. It is
    /// empty only when the input buffer is full: events wait to be drained, or (server) a
    /// request waits for `accept` or `respond`. Right after [`poll_event`](Self::poll_event)
    /// returned `None` on an open connection it never is. A socket read into an empty buffer
    /// returns 0, which looks like end of stream: check `is_empty()` first, and drain events
    /// (or answer the request) instead of reading. Once the connection ended, input is dropped
    /// and the whole buffer is offered again, so a driver can read on to end of stream.
    ///
    /// ```
    /// # use wsmachine::{Config, Connection};
    /// # let mut conn = Connection::upgraded_server(Config::new(), &[]);
    /// # let mut socket: &[u8] = &[];
    /// use std::io::Read;
    /// let buf = conn.read_buf();
    /// if buf.is_empty() {
    ///     // drain `poll_event` (or answer the request) first
    /// } else {
    ///     match socket.read(buf) {
    ///         Ok(0) => conn.receive_eof(),
    ///         Ok(n) => conn.commit_read(n),
    ///         Err(_) => conn.receive_transport_error(),
    ///     }
    /// }
    /// ```
    pub fn read_buf(&mut self) -> &mut [u8] {
        let limit = self.input_limit();
        self.inb.read_buf(limit)
    }

    /// Takes `n` bytes written at the start of [`read_buf`](Self::read_buf): at most the
    /// length it returned.
    /// Example on [`read_buf`](Self::read_buf).
    ///
    /// It must directly follow that `read_buf`: any other input or event call in between
    /// (`receive`, `poll_event`, `release_buffers`, a second `commit_read`) may move the
    /// buffer, so the offer is void and `commit_read` takes nothing.
    pub fn commit_read(&mut self, n: usize) {
        let discard = !self.out.link.phase().reads_input();
        self.inb.commit_read(n, discard);
        self.note_arrivals();
    }

    /// The transport reached end of stream (or was dropped after the close timer). Remaining
    /// input is still decoded; then [`Event::Closed`](crate::Event::Closed) follows, with code 1006 unless a close
    /// frame arrived (§7.1.5). This holds in every phase: a server whose request still waits
    /// for `accept` or `respond` reports `Closed` (cause
    /// [`HandshakeError::Incomplete`](crate::HandshakeError::Incomplete)) on the next poll, since no one is left to read the
    /// answer.
    /// Example on [`poll_event`](Self::poll_event).
    pub fn receive_eof(&mut self) {
        self.out.apply(Step::Eof);
    }

    /// The transport failed: a read or a write returned an error (a reset, a broken pipe, a
    /// TLS failure). Unlike end of stream, this takes effect at once: the connection ends
    /// now ([`is_closed`](Self::is_closed), and every command refuses), what it still wanted
    /// to write is dropped, input not yet decoded is discarded, and the next
    /// [`poll_event`](Self::poll_event) returns [`Event::Closed`](crate::Event::Closed) with code 1006 (or the code
    /// of a close frame that arrived, §7.1.5) and cause [`CloseCause::Abnormal`](crate::CloseCause::Abnormal). Drop the
    /// transport then. A driver reports its own error for everything its application calls
    /// afterwards.
    ///
    /// ```
    /// use wsmachine::{CloseCause, Config, Connection, Event, SendError};
    /// let mut conn = Connection::upgraded_server(Config::new(), &[]);
    /// conn.send_text("never written")?;
    /// conn.receive_transport_error(); // the socket write failed with ECONNRESET
    /// assert!(conn.is_closed() && !conn.wants_write());
    /// assert_eq!(conn.send_text("more"), Err(SendError::Closing));
    /// let Some(Event::Closed(closed)) = conn.poll_event() else { panic!() };
    /// assert_eq!(closed.cause, CloseCause::Abnormal);
    /// assert!(conn.is_drained());
    /// # Ok::<(), SendError>(())
    /// ```
    pub fn receive_transport_error(&mut self) {
        super::recv::abort_transport(&mut self.out);
    }
}
