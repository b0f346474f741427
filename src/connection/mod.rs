//! The [`Connection`]: one WebSocket endpoint as a state machine.

mod compress;
mod deadlines;
mod inflate;
mod lifecycle;
mod opening;
mod recv;
mod send;

use alloc::vec::Vec;

use base64::Engine as _;

pub use lifecycle::State;
pub use opening::Accept;
pub use send::Sender;

use crate::close::{CloseCode, CloseFrame};
use crate::config::Config;
use crate::entropy::{MaskRng, Seed};
use crate::error::{HandshakeError, SendError};
use crate::event::{CloseCause, Event, Message, MessageKind};
use crate::handshake::accept_key;
use crate::handshake::client::ClientRequest;
use crate::role::Role;
use crate::stats::{Memory, Stats};
use crate::utf8;
use lifecycle::{Phase, Step};
use opening::Opening;
use recv::deliver::{render, render_text};
use recv::lane::{lane_event, lane_next_renders, lane_ready};
use recv::Ready;
use recv::{end_of_stream, Inbound, Stage};
use send::Outbound;

/// A WebSocket endpoint, client or server, from the first handshake byte to the end of the
/// closing handshake, as a pure state machine: bytes in, events and bytes out.
/// Examples: the [crate docs](crate) (a client and a server in memory), [`send_text`](Self::send_text) (commands), [`poll_event`](Self::poll_event) (events), [`handle_timeout`](Self::handle_timeout) (time).
///
/// # The driver contract
///
/// Make the connection, then tell it the time with
/// [`handle_timeout`](Self::handle_timeout) (that starts its deadlines). After any input
/// ([`receive`](Self::receive), [`commit_read`](Self::commit_read),
/// [`receive_eof`](Self::receive_eof)) or command (`send_*`, [`close`](Self::close),
/// [`accept`](Self::accept), [`respond`](Self::respond)):
///
/// 1. after a read, tell the time: [`handle_timeout(now)`](Self::handle_timeout);
/// 2. drain events with [`poll_event`](Self::poll_event) until it returns `None`;
/// 3. while [`wants_write`](Self::wants_write), write [`output`](Self::output) to the
///    transport and call [`consume_output`](Self::consume_output) with what was written
///    (one run of bytes at a time: a prepared message's shared frame, then the buffer;
///    [`output_vectored`](Self::output_vectored) gives both). A read or write that fails:
///    [`receive_transport_error`](Self::receive_transport_error), which ends the
///    connection at once;
/// 4. when [`should_shutdown_write`](Self::should_shutdown_write) is true, half-close the
///    transport (keep reading until drained, so that nothing is reset);
/// 5. arm a timer for [`poll_timeout()`](Self::poll_timeout); when it fires, call
///    `handle_timeout(now)` and go back to 2. Once [`is_drained`](Self::is_drained), drop
///    the transport: after end of stream or the close deadline, and for a server right
///    after a completed closing handshake (§5.5.1: the server closes at once).
///
/// Keep reading until the transport reports end of stream, then call `receive_eof` and drain
/// once more: the last event is always [`Event::Closed`]. A driver that never tells the time
/// gets no deadlines (no handshake, close, keepalive or idle timeouts): it must then bound
/// those waits itself, using [`close_expected`](Self::close_expected).
///
/// Methods fall into six groups: inputs (`receive*`, `read_buf`/`commit_read`), time
/// (`handle_timeout`, `poll_timeout`), events (`poll_event*`), commands (`send_*`, `ping`,
/// `pong`, `close`, `accept`, `respond`), outputs (`output`, `consume_output`) and getters. Inputs only store bytes: what they mean (a close
/// frame, a violation, the end of stream) takes effect, in order, as `poll_event` reaches it,
/// so `state()`, `close_expected()` and the answers of `send_*` change when events are
/// drained. Commands take effect at once.
#[derive(Debug)]
pub struct Connection {
    inb: Inbound,
    out: Outbound,
}

/// An event that [`Connection::decide`] decided and [`Connection::render`] hands out: what
/// it is can be asked before it borrows the connection. Example on
/// [`Connection::decide`].
#[derive(Debug)]
#[must_use = "render it, or the event is lost"]
pub struct Decided {
    ready: Ready,
    /// The input buffer as the decision left it: rendering checks that nothing moved it.
    mark: [usize; 3],
}

impl Decided {
    /// Whether it renders as [`Event::Message`].
    #[must_use]
    #[inline]
    pub fn is_message(&self) -> bool {
        self.ready.is_message()
    }

    /// The end of the connection, if it renders as [`Event::Closed`]: a driver finishes the
    /// transport first (writes a failure's close frame, waits for the peer's end or the close
    /// deadline), then reports it.
    #[must_use]
    pub fn closed(&self) -> Option<crate::event::Closed> {
        self.ready.closed()
    }
}

impl Connection {
    /// A server that starts by reading the client's HTTP request, §4.2 (example in the
    /// [crate docs](crate)).
    #[must_use]
    pub fn server(config: Config) -> Connection {
        let config = config.validated();
        Connection {
            inb: Inbound::new(Role::Server, config, Stage::Handshake(Opening::server())),
            out: Outbound::new(Role::Server, &config, None, Phase::ReadingRequest),
        }
    }

    /// A client whose request head is queued as output right away (§4.1). `seed` provides the
    /// handshake key and the masking keys (§5.3); see [`Seed`].
    /// Example in the [crate docs](crate).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidRequest`] if the request cannot be sent as HTTP.
    pub fn client(
        config: Config,
        request: &ClientRequest<'_>,
        seed: Seed,
    ) -> Result<Connection, HandshakeError> {
        let config = config.validated();
        let mut out = Outbound::new(
            Role::Client,
            &config,
            Some(MaskRng::new(seed)),
            Phase::ReadingResponse,
        );
        let mut nonce = [0u8; 16];
        out.fill_random(&mut nonce);
        let mut key = [0u8; 24];
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(nonce, &mut key);
        // permessage-deflate: offer it first, before any extensions of the application's.
        #[cfg(feature = "deflate")]
        let offer;
        #[cfg(feature = "deflate")]
        let request = &match config.deflate {
            Some(policy) => {
                let own = crate::extensions::deflate::client_offer(&policy);
                offer = match request.extensions() {
                    Some(more) => alloc::format!("{own}, {more}"),
                    None => own,
                };
                request.with_extensions(&offer)
            }
            None => *request,
        };
        let mut head = Vec::new();
        request.write(&key, &mut head)?;
        out.push_raw(&head);
        let protocols = request.subprotocols().join(", ").into_bytes();
        let extensions = request.extensions().unwrap_or("").as_bytes().to_vec();
        let opening = Opening::client(accept_key(&key), protocols, extensions);
        Ok(Connection {
            inb: Inbound::new(Role::Client, config, Stage::Handshake(opening)),
            out,
        })
    }

    /// A server connection whose handshake was done elsewhere (hyper or axum upgrades, an
    /// RFC 8441 HTTP/2 stream), already open. `leftover` holds bytes read past the handshake.
    /// Examples: [`stats`](Self::stats), the [`h3`](crate::handshake::h3) module.
    #[must_use]
    pub fn upgraded_server(config: Config, leftover: &[u8]) -> Connection {
        Connection::upgraded(Role::Server, config, None, leftover)
    }

    /// A client connection whose handshake was done elsewhere, already open; `seed` provides
    /// the masking keys (§5.3). Example: the [`h3`](crate::handshake::h3) module.
    #[must_use]
    pub fn upgraded_client(config: Config, seed: Seed, leftover: &[u8]) -> Connection {
        Connection::upgraded(Role::Client, config, Some(MaskRng::new(seed)), leftover)
    }

    fn upgraded(role: Role, config: Config, rng: Option<MaskRng>, leftover: &[u8]) -> Connection {
        let config = config.validated();
        let mut conn = Connection {
            inb: Inbound::new(role, config, Stage::Frames),
            out: Outbound::new(role, &config, rng, Phase::Open),
        };
        conn.inb.start_frames(0);
        // The leftover is already in memory: take all of it whatever the limit (`receive`
        // may stop early after a large frame, so loop).
        let mut rest = leftover;
        while let Some(tail) = rest.get(conn.inb.receive(rest, Some(usize::MAX))..) {
            if tail.len() == rest.len() {
                break;
            }
            rest = tail;
        }
        conn.note_arrivals();
        conn
    }

    /// How many bytes the input buffer may hold in this phase, or `None` once input is
    /// discarded (a close frame arrived, or the connection ended).
    fn input_limit(&self) -> Option<usize> {
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
    fn note_arrivals(&mut self) {
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
    /// input is still decoded; then [`Event::Closed`] follows, with code 1006 unless a close
    /// frame arrived (§7.1.5). This holds in every phase: a server whose request still waits
    /// for `accept` or `respond` reports `Closed` (cause
    /// [`HandshakeError::Incomplete`]) on the next poll, since no one is left to read the
    /// answer.
    /// Example on [`poll_event`](Self::poll_event).
    pub fn receive_eof(&mut self) {
        self.out.apply(Step::Eof);
    }

    /// The transport failed: a read or a write returned an error (a reset, a broken pipe, a
    /// TLS failure). Unlike end of stream, this takes effect at once: the connection ends
    /// now ([`is_closed`](Self::is_closed), and every command refuses), what it still wanted
    /// to write is dropped, input not yet decoded is discarded, and the next
    /// [`poll_event`](Self::poll_event) returns [`Event::Closed`] with code 1006 (or the code
    /// of a close frame that arrived, §7.1.5) and cause [`CloseCause::Abnormal`]. Drop the
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
        recv::abort_transport(&mut self.out);
    }

    // ----- events -------------------------------------------------------------------------

    fn advance(&mut self) -> Option<Ready> {
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
    fn poll_event_decoded(&mut self) -> Option<Event<'_>> {
        let fast = if self.inb.buf.is_empty() {
            None
        } else {
            self.fast_message()
        };
        let ready = match fast {
            Some(ready) => ready,
            None => self.advance()?,
        };
        let ready = self.inb.decide(ready, &mut self.out);
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
    fn next_ready(&mut self) -> Option<Ready> {
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
    fn render_ready(&mut self, ready: Ready) -> Event<'_> {
        match ready {
            Ready::Lane => lane_event(&mut self.inb, &mut self.out),
            Ready::Text(range) => render_text(&mut self.inb, &mut self.out, range),
            other => render(&mut self.inb, &mut self.out, other),
        }
    }

    /// [`render_ready`](Self::render_ready) with a [`Sender`].
    fn render_ready_with_sender(&mut self, ready: Ready) -> (Event<'_>, Sender<'_>) {
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
    fn lane_open(&mut self) -> bool {
        let phase = self.out.link.phase();
        self.inb.settle(phase);
        matches!(phase, Phase::Open | Phase::CloseSent)
            && lane_ready(&self.inb.lane, &self.inb.st, self.inb.buf.start())
    }

    /// The common case without the general machinery: an open connection whose next frame is
    /// a whole one-frame data message already in the buffer. `None` leaves everything to
    /// [`advance`](Self::advance), which would reach the same result.
    #[inline]
    fn fast_message(&mut self) -> Option<Ready> {
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

    /// Starts the closing handshake, or completes it after [`Event::CloseReceived`] when
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
        let link = &self.out.link;
        (link.shutdown() || (link.eof() && self.is_closed())) && !self.out.wants_write()
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
        let link = &self.out.link;
        self.is_closed() && (link.eof() || link.closes_transport()) && !self.out.wants_write()
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
    /// `Config::auto_close_reply` off, after [`Event::CloseReceived`], until
    /// [`close`](Self::close) is called (§5.5.1: as soon as practical; a message in progress
    /// may be finished first).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn is_close_reply_owed(&self) -> bool {
        self.out.link.phase() == Phase::CloseReceived
    }

    // ----- getters ------------------------------------------------------------------------

    /// Client or server (example on [`stats`](Self::stats)).
    #[must_use]
    pub fn role(&self) -> Role {
        self.out.role()
    }

    /// The phase of the connection (example on [`stats`](Self::stats)).
    #[must_use]
    pub fn state(&self) -> State {
        self.out.link.phase().state()
    }

    /// How the connection ended, once it did: the same value as its [`Event::Closed`]
    /// (available from the moment the end is decided, and after the event was delivered).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn closed(&self) -> Option<crate::event::Closed> {
        self.out.link.outcome()
    }

    /// Whether the connection is over ([`Event::Closed`] is due or delivered).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.out.link.phase() == Phase::Closed
    }

    /// The subprotocol agreed in the handshake (example in the [crate docs](crate)).
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.inb.protocol.as_deref()
    }

    /// The permessage-deflate parameters agreed in the handshake (feature `deflate`; example
    /// in [`extensions::deflate`](crate::extensions::deflate)).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(&self) -> Option<crate::extensions::deflate::DeflateParams> {
        self.inb.compression.params()
    }

    /// Turns on permessage-deflate with parameters agreed by a handshake done elsewhere (see
    /// [`extensions::deflate::server_accept`](crate::extensions::deflate::server_accept) and
    /// [`client_accept`](crate::extensions::deflate::client_accept)), for connections made with
    /// [`upgraded_server`](Self::upgraded_server) or [`upgraded_client`](Self::upgraded_client).
    /// Call it before feeding any frame; `policy` supplies the level and threshold.
    /// The negotiation it follows has its example in [`extensions::deflate`](crate::extensions::deflate).
    #[cfg(feature = "deflate")]
    pub fn set_deflate(
        &mut self,
        params: crate::extensions::deflate::DeflateParams,
        policy: &crate::extensions::deflate::DeflateConfig,
    ) {
        self.inb.enable_deflate(&mut self.out, params, policy);
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

    /// The configuration in use: the one the connection was made with, every value clamped
    /// into its valid range ([`Config::validated`]).
    /// Example on [`send_text`](Self::send_text).
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inb.st.config
    }

    /// Counters of bytes, frames, messages, pings and pongs in each direction, and the
    /// largest message. Always kept; a handful of integer additions per frame.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Role, State};
    /// let mut server = Connection::upgraded_server(Config::new(), &[]);
    /// assert_eq!((server.role(), server.state()), (Role::Server, State::Open));
    /// assert!(server.role().is_server() && !server.role().is_client());
    /// server.send_text("hello").unwrap();
    /// assert!(server.wants_write());
    /// let stats = server.stats();
    /// assert_eq!((stats.sent.messages, stats.sent.frames), (1, 1));
    /// assert!(server.memory().output > 0);
    /// let n = server.output().len();
    /// server.consume_output(n);
    /// server.release_buffers(); // idle now: the output buffer goes
    /// assert_eq!(server.memory().total(), 0);
    /// ```
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            received: self.inb.st.stats,
            sent: self.out.stats,
            latency: self.latency(),
        }
    }

    /// Heap bytes held by the buffers (example on [`stats`](Self::stats)).
    #[must_use]
    pub fn memory(&self) -> Memory {
        Memory {
            input: self.inb.buf.capacity() + self.inb.lane.text.capacity(),
            message: self.inb.msg.capacity(),
            output: self.out.buf.capacity(),
            compression: self.inb.compression.memory() + self.out.compression.memory(),
            from_pool: self.inb.compression.memory_from_pool()
                + self.out.compression.memory_from_pool(),
        }
    }

    /// Frees every buffer that holds no data, for connections that go idle: an idle open
    /// connection then holds no heap memory beyond the subprotocol name and, when
    /// permessage-deflate was used, the compression state (which must survive between
    /// messages with context takeover). Example on [`stats`](Self::stats); the connection
    /// does this itself after [`Config::release_buffers_after`].
    pub fn release_buffers(&mut self) {
        self.inb.settle(self.out.link.phase());
        self.inb.buf.release();
        self.inb.lane.release();
        if self.inb.msg.capacity() > 0 && !self.inb.msg_in_use() {
            self.inb.msg = recv::MessageBuf::Bytes(Vec::new());
        }
        self.out.buf.release();
    }
}
