//! The connection's events: the decide step, the render step, and `poll_event` built on
//! them (with the fast paths for whole messages already in the buffer).

use super::{Connection, Decided};

pub(super) use super::send::Sender;

use super::lifecycle::Phase;
use super::recv::deliver::{render, render_text};
use super::recv::end_of_stream;
use super::recv::lane::{lane_event, lane_next_renders, lane_ready};
use super::recv::Ready;
use crate::error::HandshakeError;
use crate::event::{CloseCause, Event};

impl Connection {
    // ----- events -------------------------------------------------------------------------

    pub(super) fn advance(&mut self) -> Option<Ready> {
        self.inb.settle(self.out.link.phase());
        match self.out.link.phase() {
            Phase::Closed => self.out.link.take_closed().map(Ready::Closed),
            Phase::ReadingRequest => self.inb.advance_request(&mut self.out),
            Phase::ReadingResponse => {
                let ready = self.inb.advance_response(&mut self.out);
                // Frame decoding starts at the `101`, on bytes that arrived with it.
                self.note_arrivals();
                ready
            }
            Phase::ReadingRejection => self.inb.advance_rejection(&mut self.out),
            Phase::Open | Phase::CloseSent => self.inb.advance_frames(&mut self.out),
            Phase::CloseReceived if self.out.link.eof() => {
                end_of_stream(&mut self.out, CloseCause::Abnormal)
            }
            // The request was delivered but the transport ended before the application
            // answered it: nobody is left to read an answer, and a driver waiting for one
            // would wait forever. End of stream in any phase ends the connection.
            Phase::AwaitingAnswer if self.out.link.eof() => end_of_stream(
                &mut self.out,
                CloseCause::Handshake(HandshakeError::Incomplete),
            ),
            Phase::AwaitingAnswer | Phase::CloseReceived => None,
        }
    }

    /// The next event, or `None` when more input (or an answer to a request) is needed.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Event, OwnedEvent};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// // A ping and the text "hi", masked with key 0, as a client sends them.
    /// let taken = server.receive(&[0x89, 0x80, 0, 0, 0, 0, 0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    /// assert_eq!(taken, 14);
    /// assert_eq!(server.poll_event(), Some(Event::Ping(&[]))); // its pong is queued already
    /// let owned = server.poll_event().map(Event::into_owned); // kept past the next call
    /// assert_eq!(owned, Some(OwnedEvent::Text("hi".into())));
    /// assert_eq!(server.poll_event(), None);
    /// server.receive_eof(); // the transport ended without a closing handshake
    /// let Some(Event::Closed(closed)) = server.poll_event() else { panic!() };
    /// assert!(!closed.is_clean());
    /// ```
    ///
    /// Events borrow the connection's buffers until the next call on it. To reply while
    /// holding one, use [`poll_event_with_sender`](Self::poll_event_with_sender).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        if self.inb.lane.bytes > 0 && self.lane_open() {
            return Some(lane_event(&mut self.inb, &mut self.out));
        }
        self.poll_event_decoded()
    }

    /// [`poll_event`](Self::poll_event) without the lane.
    #[inline(never)]
    pub(super) fn poll_event_decoded(&mut self) -> Option<Event<'_>> {
        let ready = self.next_decoded()?;
        if let Ready::Text(range) = ready {
            // Kept out of `render` (a large function) for the most frequent event.
            return Some(render_text(&mut self.inb, &mut self.out, range));
        }
        Some(render(&mut self.inb, &mut self.out, ready))
    }

    /// The decide step of [`poll_event`](Self::poll_event): the next event, decided but not
    /// handed out yet, or `None` when more input (or an answer to a request) is needed.
    /// Everything that can fail about the event happens here (text is validated, a failure
    /// fails the connection and becomes [`Decided::closed`]), so that a driver can act on it
    /// (finish the transport after a failure, skip a ping) before an event borrows the
    /// connection. Hand it to [`render`](Self::render) or
    /// [`render_with_sender`](Self::render_with_sender) before any other call on the
    /// connection; `poll_event` is `decide` then `render`.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Event, Message};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// // A ping, then the text "hi", masked with key 0, as a client sends them.
    /// let _ = server.receive(&[0x89, 0x80, 0, 0, 0, 0, 0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    /// // A driver's receive loop: skip what is not a message (the pong is queued already).
    /// let message = loop {
    ///     let decided = server.decide().expect("both frames are here");
    ///     if let Some(closed) = decided.closed() {
    ///         panic!("ended: {closed:?}"); // a driver finishes the transport first
    ///     }
    ///     if decided.is_message() {
    ///         break server.render(decided);
    ///     }
    ///     let _ = server.render(decided);
    /// };
    /// assert_eq!(message, Event::Message(Message::Text("hi")));
    /// ```
    #[must_use]
    #[inline]
    pub fn decide(&mut self) -> Option<Decided> {
        let ready = self.next_ready()?;
        Some(Decided {
            ready,
            mark: self.inb.buf.mark(),
        })
    }

    /// The render step: the event [`decide`](Self::decide) returned, borrowing the
    /// connection. Rendering cannot fail; a `Decided` that is stale (another call on the
    /// connection came between, which may have moved its bytes) fails the connection with
    /// 1011 ([`ProtocolError::Internal`](crate::ProtocolError::Internal)) instead of handing
    /// out wrong bytes. Example on [`decide`](Self::decide).
    #[inline]
    pub fn render(&mut self, decided: Decided) -> Event<'_> {
        if decided.mark != self.inb.buf.mark() {
            return Event::Closed(self.inb.st.misused(&mut self.out));
        }
        self.render_ready(decided.ready)
    }

    /// [`render`](Self::render) with a [`Sender`] for replying while the event borrows its
    /// payload (an echo without a copy, as
    /// [`poll_event_with_sender`](Self::poll_event_with_sender) gives).
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Event, Message};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// let _ = server.receive(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    /// let decided = server.decide().unwrap();
    /// let (event, mut sender) = server.render_with_sender(decided);
    /// if let Event::Message(Message::Text(text)) = event {
    ///     sender.send_text(text).unwrap(); // the echo, while `text` borrows the input
    /// }
    /// assert_eq!(server.output(), b"\x81\x02hi");
    /// ```
    #[inline]
    pub fn render_with_sender(&mut self, decided: Decided) -> (Event<'_>, Sender<'_>) {
        if decided.mark != self.inb.buf.mark() {
            let closed = self.inb.st.misused(&mut self.out);
            return (Event::Closed(closed), Sender { out: &mut self.out });
        }
        self.render_ready_with_sender(decided.ready)
    }

    /// The decide step without the public wrapper.
    pub(super) fn next_ready(&mut self) -> Option<Ready> {
        if self.inb.lane.bytes > 0 && self.lane_open() {
            if lane_next_renders(&self.inb) {
                return Some(Ready::Lane);
            }
            // A text frame of the lane that is not valid UTF-8 on its own: the failure is
            // decided here, before an event could borrow the connection.
            return Some(Ready::Closed(
                self.inb
                    .st
                    .fail(crate::error::ProtocolError::InvalidUtf8, &mut self.out),
            ));
        }
        self.next_decoded()
    }

    /// The next event decoded from the input buffer (not the lane): a whole message taken
    /// fast, or the general machinery's next step.
    #[inline(always)]
    pub(super) fn next_decoded(&mut self) -> Option<Ready> {
        // With nothing in the input buffer there is no whole message to take fast.
        let fast = if self.inb.buf.is_empty() {
            None
        } else {
            self.fast_message()
        };
        let ready = match fast {
            Some(ready) => ready,
            None => self.advance()?,
        };
        Some(self.inb.decide(ready, &mut self.out))
    }

    /// The event of what [`next_ready`](Self::next_ready) returned.
    pub(super) fn render_ready(&mut self, ready: Ready) -> Event<'_> {
        match ready {
            Ready::Lane => lane_event(&mut self.inb, &mut self.out),
            Ready::Text(range) => render_text(&mut self.inb, &mut self.out, range),
            other => render(&mut self.inb, &mut self.out, other),
        }
    }

    /// [`render_ready`](Self::render_ready) with a [`Sender`].
    pub(super) fn render_ready_with_sender(&mut self, ready: Ready) -> (Event<'_>, Sender<'_>) {
        let Connection { inb, out } = self;
        let event = match ready {
            Ready::Lane => lane_event(inb, out),
            Ready::Text(range) => render_text(inb, out, range),
            other => render(inb, out, other),
        };
        (event, Sender { out })
    }

    /// Whether the frames in the lane can be delivered from it now (after settling what the
    /// previous event owes). If not, `advance` drops the lane and decodes them again.
    #[inline]
    pub(super) fn lane_open(&mut self) -> bool {
        let phase = self.out.link.phase();
        self.inb.settle(phase);
        matches!(phase, Phase::Open | Phase::CloseSent)
            && lane_ready(&self.inb.lane, &self.inb.st, self.inb.buf.start())
    }

    /// The common case without the general machinery: an open connection whose next frame is
    /// a whole one-frame data message already in the buffer. `None` leaves everything to
    /// [`advance`](Self::advance), which would reach the same result.
    #[inline]
    pub(super) fn fast_message(&mut self) -> Option<Ready> {
        let phase = self.out.link.phase();
        if !matches!(phase, Phase::Open | Phase::CloseSent) {
            return None;
        }
        self.inb.fast_message(phase)
    }

    /// The next event together with a [`Sender`], so that a reply can be queued while the
    /// event still borrows its payload: an echo without copying.
    ///
    /// ```
    /// # use wsmachine::{Connection, Event, Message};
    /// # fn echo(conn: &mut Connection) {
    /// while let Some((event, mut sender)) = conn.poll_event_with_sender() {
    ///     match event {
    ///         Event::Message(Message::Text(text)) => { let _ = sender.send_text(text); }
    ///         Event::Message(Message::Binary(data)) => { let _ = sender.send_binary(data); }
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn poll_event_with_sender(&mut self) -> Option<(Event<'_>, Sender<'_>)> {
        // The lane first, inline, as in `poll_event`: the most frequent event.
        if self.inb.lane.bytes > 0 && self.lane_open() {
            let Connection { inb, out } = self;
            return Some((lane_event(inb, out), Sender { out }));
        }
        let ready = self.next_ready()?;
        Some(self.render_ready_with_sender(ready))
    }
}
