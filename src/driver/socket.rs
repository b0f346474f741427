//! The async driver over any runtime: a [`WebSocket`] drives a [`Connection`] over a
//! [`Transport`] (a stream and a clock), with the connection's deadlines, backpressure and
//! every receive and send step written once for every runtime. `wsmachine::tokio` and
//! `wsmachine::futures_io` are this type over their runtimes' streams; implement
//! [`Transport`] for another runtime's stream and the same driver runs over it.

use core::future::poll_fn;

use super::engine::Io;
use super::split::{self, Reader, Writer};
use super::transport::Transport;
use super::{Answer, Error, Handshake, Next, NextEvent, OwnedMessage, DEFAULT_HIGH_WATER};
use crate::driver;
use crate::handshake::client::ClientRequest;
use crate::{Config, Connection, Delivery, Event, Message, OwnedResponse, Role, Sender};

/// A WebSocket connection over a [`Transport`] `T` (a runtime's stream and clock). The
/// runtimes' modules name it for their streams: `wsmachine::tokio::WebSocket<S>` is
/// `WebSocket<TokioIo<S>>`, with that module's constructors; the examples there show every
/// method.
#[derive(Debug)]
pub struct WebSocket<T> {
    pub(crate) io: Io<T>,
}

impl<T: Transport> WebSocket<T> {
    /// A server over `transport` with `config`: reads the request and lets `answer` decide,
    /// as the runtimes' `accept_with` do (`wsmachine::tokio::WebSocket::accept_with`). Not
    /// cancel-safe.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the request is invalid (answered with its status) or the
    /// handshake deadline passed; [`Error::Io`].
    pub async fn accept_transport<F>(
        transport: T,
        config: Config,
        answer: F,
    ) -> Result<Option<WebSocket<T>>, Error>
    where
        F: FnOnce(&crate::Request<'_>) -> Answer,
    {
        let mut io = Io::new(Connection::server(config), transport, DEFAULT_HIGH_WATER);
        let mut answer = Some(answer);
        loop {
            match io.session.accept_step(&mut answer) {
                Handshake::Wait => drive(&mut io).await?,
                Handshake::Done(true) => {
                    // The `101` goes out now: a server that writes nothing until later (a
                    // broadcast source) must not keep its client waiting for it.
                    flush_and_shut(&mut io).await;
                    io.session.failure()?;
                    io.session.settle_idle();
                    driver::trace_upgraded(io.conn());
                    return Ok(Some(WebSocket { io }));
                }
                Handshake::Done(false) => {
                    flush_and_shut(&mut io).await;
                    return Ok(None);
                }
                Handshake::Failed(error) => {
                    flush_and_shut(&mut io).await;
                    return Err(error);
                }
            }
        }
    }

    /// A client over `transport`: sends `request` and waits for the `101`, with a masking
    /// seed from the operating system, as the runtimes' `connect` do. Not cancel-safe.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] for another status (with its headers and body),
    /// [`Error::Handshake`] for an invalid response or the handshake deadline,
    /// [`Error::Io`] (also when the operating system has no random source).
    pub async fn connect_transport(
        transport: T,
        request: &ClientRequest<'_>,
        config: Config,
    ) -> Result<(WebSocket<T>, OwnedResponse), Error> {
        let conn =
            Connection::client(config, request, driver::os_seed()?).map_err(Error::Handshake)?;
        let mut io = Io::new(conn, transport, DEFAULT_HIGH_WATER);
        loop {
            match io.session.connect_step() {
                Handshake::Wait => drive(&mut io).await?,
                Handshake::Done(response) => {
                    io.session.settle_idle();
                    driver::trace_upgraded(io.conn());
                    return Ok((WebSocket { io }, response));
                }
                Handshake::Failed(error) => {
                    flush_and_shut(&mut io).await;
                    return Err(error);
                }
            }
        }
    }

    /// A connection whose handshake was done elsewhere, over `transport`: `leftover` holds
    /// bytes read past the handshake. A client draws its masking keys from a seed of the
    /// operating system.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a client finds no random source.
    pub fn from_upgraded_transport(
        transport: T,
        role: Role,
        config: Config,
        leftover: &[u8],
    ) -> Result<WebSocket<T>, Error> {
        let io = Io::new(
            driver::upgraded(role, config, leftover)?,
            transport,
            DEFAULT_HIGH_WATER,
        );
        driver::trace_upgraded(io.conn());
        Ok(WebSocket { io })
    }

    /// The transport (a runtime's adapter around its stream).
    #[must_use]
    pub fn transport(&self) -> &T {
        &self.io.transport
    }

    /// Sets the output above which sends wait and no input is read
    /// ([`DEFAULT_HIGH_WATER`] unless set).
    /// Example on [`WebSocket`].
    pub fn set_high_water(&mut self, bytes: usize) {
        self.io.high_water = bytes;
    }

    /// The connection, for its getters (`subprotocol`, `stats`, `latency`, `state`, ...; some
    /// in the example on [`Connection::stats`]).
    #[must_use]
    pub fn connection(&self) -> &Connection {
        self.io.conn()
    }

    /// The next message, borrowed from the connection until the next call: no copy. Pings
    /// are answered and skipped. `Ok(None)` once the connection closed cleanly and its
    /// transport is finished. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// For [`Delivery::Streaming`], receive with [`recv_event`](Self::recv_event).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the connection ended otherwise (a protocol violation, a
    /// deadline, the transport ending early), once the transport is finished: a failure's
    /// close frame has been written by then. [`Error::Io`] when the transport failed, on this
    /// and every later call. [`Error::StreamingDelivery`].
    pub async fn recv(&mut self) -> Result<Option<Message<'_>>, Error> {
        if self.io.conn().config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        loop {
            match self.io.session.next_message() {
                // Returns: the borrow the message holds ends the loop.
                Next::Message(ready) => return self.io.session.render_message(ready).map(Some),
                Next::Ended(closed) => {
                    finish(&mut self.io).await;
                    return self.io.session.outcome(closed);
                }
                Next::Wait => drive(&mut self.io).await?,
            }
        }
    }

    /// The next message, handed borrowed to `reply` together with a [`Sender`] that queues
    /// frames on this connection: an echo (or any answer built from the message) without
    /// copying it. Waits first while output is above the high-water mark. What `reply`
    /// queued goes out with the next call (so that the answers to messages that arrived
    /// together go out in one write); in a receive loop that is the next `recv_with`, else
    /// call [`flush`](Self::flush). Returns what `reply` returned; `Ok(None)` as
    /// [`recv`](Self::recv). Cancel-safe (`reply` runs in the poll that completes).
    ///
    /// ```no_run
    /// # async fn echo(ws: &mut wsmachine::tokio::WebSocket<tokio::net::TcpStream>) -> Result<(), wsmachine::driver::Error> {
    /// use wsmachine::Message;
    /// while let Some(sent) = ws
    ///     .recv_with(|message, out| match message {
    ///         Message::Text(text) => out.send_text(text),
    ///         Message::Binary(data) => out.send_binary(data),
    ///     })
    ///     .await?
    /// {
    ///     sent?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_with<R>(
        &mut self,
        reply: impl FnOnce(Message<'_>, &mut Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        if self.io.conn().config().delivery == Delivery::Streaming {
            return Err(Error::StreamingDelivery);
        }
        // Backpressure first: no new message while too much output waits.
        room(&mut self.io).await?;
        loop {
            match self.io.session.next_message() {
                Next::Message(ready) => {
                    // What `reply` queued goes out with the next call, together with the
                    // answers to messages already here: one write for a batch.
                    let (message, mut sender) =
                        self.io.session.render_message_with_sender(ready)?;
                    return Ok(Some(reply(message, &mut sender)));
                }
                Next::Ended(closed) => {
                    finish(&mut self.io).await;
                    return self.io.session.outcome(closed);
                }
                Next::Wait => drive(&mut self.io).await?,
            }
        }
    }

    /// The next message, copied: for keeping, or sending to another task. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_owned(&mut self) -> Result<Option<OwnedMessage>, Error> {
        Ok(self.recv().await?.map(OwnedMessage::from))
    }

    /// The next event of any kind: messages, streamed fragments ([`Delivery::Streaming`]),
    /// pings and pongs, the peer's close frame, and last `Closed`; `None` after that, once
    /// the transport is finished. Cancel-safe.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream cannot be read at all; a failed connection (a transport
    /// failure included) is its `Closed` event, returned once the transport is finished (so
    /// a failure's close frame has been written when the application sees it).
    pub async fn recv_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        loop {
            // The end is reported once its transport is finished, so that a failure's close
            // frame is written before the application can drop the connection. The session
            // holds it meanwhile (a cancelled call loses nothing).
            match self.io.session.next_event() {
                NextEvent::Event(ready) => return Ok(Some(self.io.conn_mut().render(ready))),
                NextEvent::Ended(_) => {
                    finish(&mut self.io).await;
                    return Ok(self.io.session.take_ended().map(Event::Closed));
                }
                NextEvent::Over => {
                    finish(&mut self.io).await;
                    return Ok(None);
                }
                NextEvent::Wait => drive(&mut self.io).await?,
            }
        }
    }

    crate::driver::send_commands!(async, "on [`WebSocket`]");

    /// Queues a command (the send commands'): waits for room below the high-water mark for a
    /// data frame, then queues it and starts writing it, all in the poll that completes: a
    /// cancelled send sent nothing.
    async fn command(
        &mut self,
        data: bool,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        queue(&mut self.io, data, f).await
    }

    /// Writes all pending output. Cancel-safe: what was written stays written.
    /// Example on [`WebSocket`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.io.poll_flush_out(cx)).await
    }

    /// Splits the connection into a receiving and a sending half for two tasks.
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     ws: wsmachine::tokio::WebSocket<tokio::net::TcpStream>,
    /// # ) -> Result<(), wsmachine::driver::Error> {
    /// let (mut reader, mut writer) = ws.split();
    /// // The writer in a task of its own (a relay, a ticker); the reader here.
    /// let ticker = tokio::spawn(async move { writer.send_text("tick").await });
    /// while let Some(message) = reader.recv_owned().await? {
    ///     println!("{message:?}");
    /// }
    /// # let _ = ticker;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn split(self) -> (Reader<T>, Writer<T>) {
        split::split(self.io)
    }
}

/// Waits until something moved on `io` (bytes either way, a deadline). Only for callers
/// that found nothing ready in the connection.
async fn drive<T: Transport>(io: &mut Io<T>) -> Result<(), Error> {
    poll_fn(|cx| io.poll_io(cx)).await.map_err(Error::Io)
}

/// Waits until output moved on `io` (or a deadline fired), reading nothing.
async fn drive_out<T: Transport>(io: &mut Io<T>) -> Result<(), Error> {
    poll_fn(|cx| io.poll_out(cx)).await.map_err(Error::Io)
}

/// Queues a command on `io` (after waiting for room below the high-water mark when
/// `data`), then starts writing it; all in the poll that completes, so that a cancelled call
/// queued nothing.
async fn queue<T, F>(io: &mut Io<T>, data: bool, command: F) -> Result<(), Error>
where
    T: Transport,
    F: FnOnce(&mut Connection) -> Result<(), crate::SendError>,
{
    let mut command = Some(command);
    poll_fn(|cx| io.poll_command(cx, data, &mut command)).await
}

/// Waits while output is above the high-water mark (moving bytes meanwhile).
async fn room<T: Transport>(io: &mut Io<T>) -> Result<(), Error> {
    while io.conn().output_len() > io.high_water && !io.is_done() {
        drive_out(io).await?;
    }
    Ok(())
}

/// Writes what is left and half-closes (an answered request, a failed handshake).
async fn flush_and_shut<T: Transport>(io: &mut Io<T>) {
    while io.session.wants_write() && !io.is_done() {
        if drive_out(io).await.is_err() {
            return;
        }
    }
}

/// Drives a connection that ended until its transport is finished too (the peer's end of
/// stream, or the close deadline), discarding what still arrives.
async fn finish<T: Transport>(io: &mut Io<T>) {
    while !io.is_done() {
        while io.conn_mut().poll_event().is_some() {}
        if drive(io).await.is_err() {
            return;
        }
    }
}
