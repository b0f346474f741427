//! The sans-IO steps of a driver, written once for every driver: a [`Session`] is a
//! [`Connection`] and what its driver knows of the transport (ended, failed, half-closed),
//! and each step is a method that takes what the transport did (and the time) and says what
//! to do next. The crate's drivers (async over any [`Transport`](super::Transport), and
//! blocking) are their I/O around these steps; a driver for another executor can be too.

use std::boxed::Box;
use std::io;
use std::string::String;

use super::{trace_end, trace_transport_error, Answer, Error, OwnedMessage};
use crate::{
    CloseCause, CloseCode, Closed, Config, Connection, Decided, Event, Message, OwnedResponse,
    ProtocolError, Request, Role, Seed, Timestamp,
};

/// A connection and what its driver knows of the transport: the state every driver step
/// reads and changes.
///
/// The loop every driver runs (the crate docs' "driver contract", with the transport's own
/// calls where the comments say):
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Instant;
/// use wsmachine::driver::{Answer, Handshake, Next, OwnedMessage, Session};
/// use wsmachine::{Config, Connection, Timestamp};
///
/// /// Serves one connection over a blocking stream: echoes until it ends.
/// fn serve(mut stream: impl Read + Write) -> Result<(), wsmachine::driver::Error> {
///     let origin = Instant::now();
///     let now = || Timestamp::since(origin, Instant::now());
///     let mut session = Session::new(Connection::server(Config::new()), now());
///     let mut answer = Some(Answer::default_for);
///     loop {
///         match session.accept_step(&mut answer) {
///             Handshake::Wait => turn(&mut session, &mut stream, now()),
///             Handshake::Done(true) => break,
///             // Answered with an HTTP response (a real driver writes it out first).
///             Handshake::Done(false) => return Ok(()),
///             Handshake::Failed(e) => return Err(e),
///         }
///     }
///     loop {
///         match session.next_message() {
///             Next::Message(ready) => {
///                 let echo = OwnedMessage::from(session.render_message(ready)?);
///                 session.command(|c| match &echo {
///                     OwnedMessage::Text(text) => c.send_text(text),
///                     OwnedMessage::Binary(data) => c.send_binary(data),
///                 })?;
///             }
///             Next::Ended(closed) => {
///                 // Finish the transport (the half-close, the peer's end of stream), then
///                 // report how it ended: a failure's close frame is written by then.
///                 while !session.is_done() {
///                     turn(&mut session, &mut stream, now());
///                 }
///                 return session.outcome(closed).map(|_: Option<()>| ());
///             }
///             Next::Wait => turn(&mut session, &mut stream, now()),
///         }
///     }
/// }
///
/// /// One turn of I/O: output out, the half-close, input in, the time told.
/// fn turn(session: &mut Session, stream: &mut (impl Read + Write), now: Timestamp) {
///     while session.wants_write() {
///         let written = stream.write(session.connection().output());
///         session.on_write(written, now);
///     }
///     if session.should_shutdown() {
///         session.on_shutdown(); // a TcpStream would `shutdown(Write)` here
///     }
///     if session.wants_read() {
///         let buf = session.read_buf();
///         if !buf.is_empty() {
///             let read = stream.read(buf);
///             session.on_read(read, now);
///         }
///     }
/// }
/// # let (a, b) = (std::net::TcpListener::bind("127.0.0.1:0")?, ());
/// # let addr = a.local_addr()?;
/// # let t = std::thread::spawn(move || serve(a.accept().unwrap().0));
/// # let mut ws = wsmachine::blocking::connect(&format!("ws://{addr}/"))?;
/// # ws.send_text("hi")?;
/// # assert!(ws.recv()?.is_some());
/// # ws.close(wsmachine::CloseCode::NORMAL, "")?;
/// # while ws.recv()?.is_some() {}
/// # t.join().unwrap()?;
/// # let _ = b;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Session {
    conn: Connection,
    /// The transport reported end of stream, or failed.
    eof: bool,
    /// The transport failed: nothing more is written to it, and every later call reports this.
    failure: Option<Failure>,
    /// The write side was half-closed (or the attempt made).
    shut_down: bool,
    /// `recv_event`: the connection's `Closed` event, taken from it and held until the
    /// transport is finished.
    ended: Option<Closed>,
}

impl Drop for Session {
    fn drop(&mut self) {
        trace_end(&self.conn);
    }
}

/// What a receive does next ([`Session::next_message`]).
#[derive(Debug)]
pub enum Next {
    /// A message is ready: render it ([`Session::render_message`]).
    Message(Decided),
    /// The connection ended: finish the transport (until [`Session::is_done`]), then report
    /// [`Session::outcome`] of this.
    Ended(Closed),
    /// Nothing yet: move bytes (or wait for the next deadline).
    Wait,
}

/// What an event receive does next ([`Session::next_event`]).
#[derive(Debug)]
pub enum NextEvent {
    /// An event is ready: render it ([`Connection::render`]).
    Event(Decided),
    /// The connection ended: finish the transport (until [`Session::is_done`]), then
    /// deliver `Event::Closed` with this (held by the session meanwhile, so a cancelled
    /// receive loses nothing; [`Session::take_ended`]).
    Ended(Closed),
    /// The end was delivered: finish the transport, then report the end of events.
    Over,
    /// Nothing yet: move bytes (or wait for the next deadline).
    Wait,
}

/// What a handshake step found ([`Session::accept_step`], [`Session::connect_step`]).
#[derive(Debug)]
pub enum Handshake<T> {
    /// Nothing yet: move bytes.
    Wait,
    /// The handshake is over: for a server, whether it upgraded (`false`: it answered the
    /// request with an HTTP response; write what is left and half-close, then drop the
    /// transport); for a client, the server's `101` response.
    Done(T),
    /// The handshake failed (the error to report): write what is left (a server's error
    /// status) and half-close, then drop the transport.
    Failed(Error),
}

impl Session {
    /// A session for `conn` at `now` (the connection's deadlines start then).
    #[must_use]
    pub fn new(conn: Connection, now: Timestamp) -> Session {
        let mut session = Session {
            conn,
            eof: false,
            failure: None,
            shut_down: false,
            ended: None,
        };
        session.tick(now);
        session
    }

    /// The connection (its getters, and commands a driver runs itself).
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection, to run commands on (prefer [`command`](Self::command), which refuses
    /// once the transport failed).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Tells the connection the time.
    pub fn tick(&mut self, now: Timestamp) {
        self.conn.handle_timeout(now);
    }

    // ----- I/O results -------------------------------------------------------------------

    /// Whether to read: the transport has not ended.
    #[must_use]
    pub fn wants_read(&self) -> bool {
        !self.eof
    }

    /// Where to read to ([`Connection::read_buf`]); empty when the input buffer is full
    /// (drain events first).
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.conn.read_buf()
    }

    /// A read into [`read_buf`](Self::read_buf) returned `result` at `now`: bytes, the end
    /// of stream (`Ok(0)`), nothing yet (`WouldBlock`, `TimedOut`, `Interrupted`: a read
    /// timeout that serves a deadline), or the transport's failure.
    pub fn on_read(&mut self, result: io::Result<usize>, now: Timestamp) {
        match result {
            Ok(0) => {
                self.eof = true;
                self.conn.receive_eof();
            }
            Ok(n) => self.conn.commit_read(n),
            Err(e) if is_transient(&e) => {}
            // A reset, or a TLS failure.
            Err(e) => self.lost(&e),
        }
        self.tick(now);
    }

    /// Bytes a driver read into a buffer of its own arrived at `now` (a split reader reads
    /// without holding the connection): they are copied in, as many as the input buffer
    /// takes ([`Connection::receive`]); returns how many. Report the end of stream and
    /// errors with [`on_read`](Self::on_read).
    pub fn on_received(&mut self, bytes: &[u8], now: Timestamp) -> usize {
        let taken = self.conn.receive(bytes);
        self.tick(now);
        taken
    }

    /// Whether there is output to write (and the transport can still take it).
    #[must_use]
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write() && self.failure.is_none()
    }

    /// A write of [`Connection::output`] returned `result` at `now`: bytes taken, nothing
    /// yet (`WouldBlock`, `TimedOut`, `Interrupted`: the close deadline then abandons what
    /// a peer never reads), or the transport's failure (`Ok(0)` counts as one).
    pub fn on_write(&mut self, result: io::Result<usize>, now: Timestamp) {
        match result {
            Ok(0) => self.lost(&io::ErrorKind::WriteZero.into()),
            Ok(n) => self.conn.consume_output(n),
            Err(e) if is_transient(&e) => self.tick(now),
            Err(e) => self.lost(&e),
        }
    }

    /// A flush returned `result`.
    pub fn on_flush(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            if !is_transient(&e) {
                self.lost(&e);
            }
        }
    }

    /// Whether to half-close the write side now (once):
    /// [`Connection::should_shutdown_write`], unless the transport failed or it was done.
    #[must_use]
    pub fn should_shutdown(&self) -> bool {
        !self.shut_down && self.failure.is_none() && self.conn.should_shutdown_write()
    }

    /// The half-close was made (or attempted: its error means the peer is gone already).
    pub fn on_shutdown(&mut self) {
        self.shut_down = true;
    }

    /// The transport failed with `error` outside a read or write (connecting, a TLS layer):
    /// the connection ends at once ([`Connection::receive_transport_error`]), and every later
    /// call reports the failure.
    pub fn on_transport_error(&mut self, error: &io::Error) {
        self.lost(error);
    }

    fn lost(&mut self, error: &io::Error) {
        self.eof = true;
        trace_transport_error(error);
        self.conn.receive_transport_error();
        if self.failure.is_none() {
            self.failure = Some(Failure {
                kind: error.kind(),
                message: std::format!("the transport failed: {error}"),
            });
        }
    }

    /// Whether the transport ended (end of stream, or a failure).
    #[must_use]
    pub fn transport_ended(&self) -> bool {
        self.eof
    }

    /// Whether the driver may drop the transport now: [`Connection::may_close_transport`],
    /// after the half-close it asked for (or a failure, which has none).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.conn.may_close_transport() && (self.shut_down || self.failure.is_some())
    }

    /// The transport's failure, if it failed: what every call reports from then on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] with the failure (same kind and text each time).
    pub fn failure(&self) -> Result<(), Error> {
        match &self.failure {
            Some(failure) => Err(failure.error()),
            None => Ok(()),
        }
    }

    // ----- commands ----------------------------------------------------------------------

    /// Runs a command on the connection (a send, a ping, the close), unless the transport
    /// failed. Write the output out after it.
    ///
    /// # Errors
    ///
    /// The transport's failure; [`Error::Send`] with the connection's refusal.
    pub fn command(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        self.failure()?;
        f(&mut self.conn).map_err(Error::Send)
    }

    // ----- receiving ---------------------------------------------------------------------

    /// The receive step: answers and skips pings, pongs and the peer's close frame, and
    /// says whether a message is ready, the connection ended, or bytes must move first.
    #[inline]
    pub fn next_message(&mut self) -> Next {
        loop {
            match self.conn.decide() {
                Some(decided) if decided.is_message() => return Next::Message(decided),
                Some(decided) => {
                    let _ = self.conn.render(decided);
                }
                None => {
                    return match self.conn.closed() {
                        Some(closed) => Next::Ended(closed),
                        None => Next::Wait,
                    }
                }
            }
        }
    }

    /// A message ready with [`Next::Message`] ([`next_ready`](Self::next_ready) for a
    /// driver that skips the rest itself), rendered: the message, or (text that is not
    /// UTF-8 after all) the failure it caused.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] with the failure.
    pub fn render_message(&mut self, ready: Decided) -> Result<Message<'_>, Error> {
        message_of(self.conn.render(ready))
    }

    /// [`render_message`](Self::render_message) with a [`Sender`](crate::Sender) for
    /// answers queued while the message is borrowed.
    ///
    /// # Errors
    ///
    /// As [`render_message`](Self::render_message).
    #[inline]
    pub fn render_message_with_sender(
        &mut self,
        ready: Decided,
    ) -> Result<(Message<'_>, crate::Sender<'_>), Error> {
        let (event, sender) = self.conn.render_with_sender(ready);
        message_of(event).map(|message| (message, sender))
    }

    /// The next message, if one is ready now (skipping everything else as
    /// [`next_message`](Self::next_message) does).
    pub fn next_ready(&mut self) -> Option<Decided> {
        match self.next_message() {
            Next::Message(ready) => Some(ready),
            Next::Ended(_) | Next::Wait => None,
        }
    }

    /// The event receive step: the next event, or the end (held until taken), or nothing.
    pub fn next_event(&mut self) -> NextEvent {
        if let Some(closed) = self.ended {
            return NextEvent::Ended(closed);
        }
        if let Some(ready) = self.conn.decide() {
            if let Some(closed) = ready.closed() {
                self.ended = Some(closed);
                return NextEvent::Ended(closed);
            }
            return NextEvent::Event(ready);
        }
        if self.conn.closed().is_some() {
            return NextEvent::Over;
        }
        NextEvent::Wait
    }

    /// Takes the end held by [`NextEvent::Ended`], once the transport is finished: the
    /// `Closed` event to deliver.
    pub fn take_ended(&mut self) -> Option<Closed> {
        self.ended.take()
    }

    /// The result of an end, as a receive reports it: `Ok(None)` after a clean closing
    /// handshake (whatever the transport did after it), the transport's failure if it
    /// failed, else the `Closed` of the failure.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Closed`], as said.
    pub fn outcome<T>(&self, closed: Closed) -> Result<Option<T>, Error> {
        if closed.is_clean() {
            return Ok(None);
        }
        match &self.failure {
            Some(failure) => Err(failure.error()),
            None => Err(Error::Closed(closed)),
        }
    }

    /// [`outcome`](Self::outcome) for an owned receive.
    ///
    /// # Errors
    ///
    /// As [`outcome`](Self::outcome).
    pub fn owned_outcome(&self, closed: Closed) -> Result<Option<OwnedMessage>, Error> {
        self.outcome(closed)
    }

    // ----- the opening handshake ---------------------------------------------------------

    /// The server's handshake step: once the request arrived, `answer` (taken from the
    /// option) decides; [`Answer::apply`] gives it to the connection.
    pub fn accept_step<F>(&mut self, answer: &mut Option<F>) -> Handshake<bool>
    where
        F: FnOnce(&Request<'_>) -> Answer,
    {
        loop {
            let decided = match self.conn.poll_event() {
                Some(Event::Request(request)) => Ok(match answer.take() {
                    Some(f) => f(&request),
                    None => Answer::respond(500, std::vec::Vec::new()),
                }),
                Some(Event::Closed(closed)) => Err(closed),
                Some(_) => continue,
                None => return Handshake::Wait,
            };
            return match decided {
                Ok(answer) => Handshake::Done(answer.apply(&mut self.conn)),
                Err(closed) => Handshake::Failed(handshake_error(closed)),
            };
        }
    }

    /// The client's handshake step: the server's `101`, its refusal, or an invalid answer.
    pub fn connect_step(&mut self) -> Handshake<OwnedResponse> {
        loop {
            return match self.conn.poll_event() {
                Some(Event::Accepted(response)) => Handshake::Done(response.to_owned_response()),
                Some(Event::Rejected(response)) => {
                    Handshake::Failed(Error::Rejected(Box::new(response.to_owned_response())))
                }
                Some(Event::Closed(closed)) => Handshake::Failed(handshake_error(closed)),
                Some(_) => continue,
                None => Handshake::Wait,
            };
        }
    }

    /// Right after the handshake: a connection with nothing buffered gives its buffers back,
    /// so that an idle connection holds no heap beyond its state (they grow again with the
    /// first message).
    pub fn settle_idle(&mut self) {
        if !self.conn.wants_write() {
            self.conn.release_buffers();
        }
    }
}

/// Whether an I/O error means "nothing yet" rather than a failure: a read or write timeout
/// (set to serve a deadline), or an interruption.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// What a rendered message event becomes for a receive: the message, or (text that is not
/// UTF-8) the failure it caused.
#[inline]
fn message_of(event: Event<'_>) -> Result<Message<'_>, Error> {
    match event {
        Event::Message(message) => Ok(message),
        Event::Closed(closed) => Err(Error::Closed(closed)),
        // A message `Decided` renders as a message or as its failure.
        _ => Err(Error::Closed(Closed {
            code: CloseCode::INTERNAL_ERROR,
            cause: CloseCause::Failed(ProtocolError::Internal),
        })),
    }
}

/// The handshake error a `Closed` during the handshake carries.
fn handshake_error(closed: Closed) -> Error {
    match closed.cause {
        CloseCause::Handshake(e) => Error::Handshake(e),
        _ => Error::Closed(closed),
    }
}

/// A connection whose handshake was done elsewhere; a client draws its masking keys from a
/// seed of the operating system.
///
/// # Errors
///
/// [`Error::Io`] when a client finds no random source.
pub fn upgraded(role: Role, config: Config, leftover: &[u8]) -> Result<Connection, Error> {
    Ok(match role {
        Role::Server => Connection::upgraded_server(config, leftover),
        Role::Client => Connection::upgraded_client(config, os_seed()?, leftover),
    })
}

/// A seed from the operating system's random source, for a client's masking keys.
///
/// # Errors
///
/// [`Error::Io`] when the operating system has no random source.
pub fn os_seed() -> Result<Seed, Error> {
    Seed::from_os().map_err(|e| Error::Io(io::Error::other(e)))
}

/// A transport failure, kept so that every later call the application makes reports it.
#[derive(Debug, Clone)]
struct Failure {
    kind: io::ErrorKind,
    message: String,
}

impl Failure {
    /// The error to report again (an `io::Error` cannot be cloned: same kind, same text).
    fn error(&self) -> Error {
        Error::Io(io::Error::new(self.kind, self.message.clone()))
    }
}
