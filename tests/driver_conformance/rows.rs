//! The table's rows (every driver and split form) and what a row runs: a [`Script`] for the
//! application on top of the driver, and the [`Report`] of what the calls returned.

use std::net::TcpStream;
use std::time::Duration;

use wsmachine::driver::{Error, OwnedMessage};
use wsmachine::{Closed, Config, Event, Message, PreparedMessage, Role};

use crate::{async_rows, blocking_rows, handmade};

/// A row: a driver (or split form), and whether it is async (cancellation scenarios run on
/// those only: a blocking call has no await point to cancel at).
pub struct Row {
    pub name: &'static str,
    pub serve: Serve,
    pub is_async: bool,
}

/// A driver: opens the connection on `stream` in `role` with `config` (the handshake with
/// the peer), then runs `script` on it, on a thread of its own.
pub type Serve = fn(TcpStream, Role, Config, Script) -> Report;

/// The table. A new driver is one line.
pub const DRIVERS: &[Row] = &[
    Row {
        name: "tokio",
        serve: async_rows::tokio_whole,
        is_async: true,
    },
    Row {
        name: "tokio split",
        serve: async_rows::tokio_split,
        is_async: true,
    },
    Row {
        name: "futures-io (smol)",
        serve: async_rows::smol_whole,
        is_async: true,
    },
    Row {
        name: "futures-io (smol) split",
        serve: async_rows::smol_split,
        is_async: true,
    },
    Row {
        name: "blocking",
        serve: blocking_rows::whole,
        is_async: false,
    },
    Row {
        name: "blocking split",
        serve: blocking_rows::split,
        is_async: false,
    },
    Row {
        name: "hand-written on driver::Session",
        serve: handmade::whole,
        is_async: false,
    },
];

/// How the application on top of the driver receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receive {
    /// `recv`, the borrowed message (a split reader: `recv_with`, its borrowed receive).
    Borrowed,
    /// `recv_owned`.
    Owned,
    /// `recv_with`, replying while the message is borrowed.
    With,
    /// `recv_event` (a split reader: `recv_event_with`), every event.
    Event,
}

pub const RECEIVES: [Receive; 4] = [
    Receive::Borrowed,
    Receive::Owned,
    Receive::With,
    Receive::Event,
];

/// What the application on top of the driver does with its connection.
#[derive(Debug, Clone)]
pub enum Script {
    /// Receives until the receive reports the end, then drops the connection at once.
    ReceiveUntilEnd(Receive),
    /// Receives, and sends each message back, until the end.
    Echo(Receive),
    /// Starts the closing handshake (1000), then receives until the end.
    CloseThenReceive(Receive),
    /// Sends this prepared message again and again until a send fails (while a reader keeps
    /// receiving, where the driver is split), then drops the connection.
    Broadcast(PreparedMessage),
    /// Sends binary messages of this size until a send fails (while a reader keeps
    /// receiving, where the driver is split).
    SendLoop(usize),
    /// Waits, then sends `count` small messages, one after the other, noting each result.
    SendAfter(Duration, usize),
    /// Does nothing for this long after the upgrade, then drops the connection.
    Idle(Duration),
    /// Async drivers: receives this many messages, each receive polled once and dropped
    /// (cancelled) while it is pending, then tried again.
    CancelledReceives(Receive, usize),
    /// Async drivers: sends `count` binary messages of `size` bytes (each starting with its
    /// index, big-endian u32) with a high-water mark of 1 KiB, each send polled once and
    /// dropped while it is pending, then tried again; then flushes.
    CancelledSends(usize, usize),
}

/// What a run of a script saw.
#[derive(Debug, Default)]
pub struct Report {
    /// The errors the calls returned, in order, with the index of the call.
    pub errors: Vec<(usize, String)>,
    /// Calls that succeeded (a receive that returned a message or another event; a send).
    pub ok: usize,
    /// The messages received, in order.
    pub messages: Vec<OwnedMessage>,
    /// How receiving ended: `clean`, or the error (`Closed(code)`, `Io(kind)`).
    pub end: Option<String>,
    /// The indices of the messages whose send completed (`CancelledSends`).
    pub completed: Vec<u32>,
    /// Calls dropped while pending (`CancelledReceives`, `CancelledSends`).
    pub cancelled: usize,
    /// How long the script ran after the upgrade.
    pub elapsed: Duration,
}

impl Report {
    /// The report of a connection whose opening handshake failed with `e`: no script ran.
    pub fn refused(e: &Error) -> Report {
        Report {
            end: Some(describe(e)),
            ..Report::default()
        }
    }

    /// Notes a call's result; whether it succeeded.
    pub fn note<T>(&mut self, i: usize, result: Result<T, Error>) -> bool {
        match result {
            Ok(_) => {
                self.ok += 1;
                true
            }
            Err(e) => {
                self.errors.push((i, describe(&e)));
                false
            }
        }
    }

    /// Notes what a receive got; whether to go on receiving.
    pub fn got(&mut self, got: Got) -> bool {
        match got {
            Got::Message(m) => {
                self.ok += 1;
                self.messages.push(m);
                true
            }
            Got::Other => {
                self.ok += 1;
                true
            }
            Got::End(end) => {
                self.end = Some(end);
                false
            }
        }
    }
}

/// What one receive got, whatever the method.
#[derive(Debug)]
pub enum Got {
    Message(OwnedMessage),
    /// Another event (`recv_event`: a ping, a pong, the peer's close frame).
    Other,
    /// The end: `clean`, or the error.
    End(String),
}

impl Got {
    /// A message receive's result.
    pub fn of<M: Into<OwnedMessage>>(result: Result<Option<M>, Error>) -> Got {
        match result {
            Ok(Some(m)) => Got::Message(m.into()),
            Ok(None) => Got::End("clean".into()),
            Err(e) => Got::End(describe(&e)),
        }
    }

    /// An event receive's result.
    pub fn of_event(result: Result<Option<Event<'_>>, Error>) -> Got {
        match result {
            Ok(Some(Event::Message(m))) => Got::Message(m.into()),
            Ok(Some(Event::Closed(c))) => Got::End(closed(c)),
            Ok(Some(_)) => Got::Other,
            Ok(None) => Got::End("none after Closed".into()),
            Err(e) => Got::End(describe(&e)),
        }
    }

    /// An event receive's result through a closure (`recv_event_with`).
    pub fn of_event_with(result: Result<Option<Got>, Error>) -> Got {
        match result {
            Ok(Some(got)) => got,
            Ok(None) => Got::End("none after Closed".into()),
            Err(e) => Got::End(describe(&e)),
        }
    }

    /// What a closure receiving an event makes of it.
    pub fn event(event: Event<'_>) -> Got {
        Got::of_event(Ok(Some(event)))
    }
}

pub fn closed(c: Closed) -> String {
    if c.is_clean() {
        "clean".into()
    } else {
        format!("Closed({})", c.code.0)
    }
}

pub fn describe(e: &Error) -> String {
    match e {
        Error::Io(io) => format!("Io({:?})", io.kind()),
        Error::Closed(c) => closed(*c),
        other => format!("{other:?}"),
    }
}

/// A message to send back.
pub fn echo_of(m: &OwnedMessage) -> Message<'_> {
    m.as_message()
}

/// The payload of message `i` of `CancelledSends`: its index, then filler.
pub fn numbered(i: u32, size: usize) -> Vec<u8> {
    let mut payload = vec![0xa5u8; size.max(4)];
    payload[..4].copy_from_slice(&i.to_be_bytes());
    payload
}
