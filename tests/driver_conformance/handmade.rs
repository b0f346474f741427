//! A driver written here from the crate's public API alone (`driver::Session` and
//! `Connection`), as a user would write one for another runtime: a blocking `TcpStream`
//! whose timeouts serve the connection's deadlines. It runs the whole table like the
//! shipped drivers, which shows that the public contract is complete.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wsmachine::driver::{Answer, Error, Handshake, Next, NextEvent, OwnedMessage, Session};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{CloseCode, Config, Connection, Role, Seed, Timestamp};

use crate::rows::{closed, echo_of, Got, Receive, Report, Script};

struct Handmade {
    session: Session,
    stream: TcpStream,
    origin: Instant,
}

impl Handmade {
    fn open(stream: TcpStream, role: Role, config: Config) -> Result<Handmade, Error> {
        let origin = Instant::now();
        let conn = match role {
            Role::Server => Connection::server(config),
            Role::Client => {
                let seed = Seed::new([9; 32]);
                Connection::client(config, &ClientRequest::new("x", "/"), seed).unwrap()
            }
        };
        let mut ws = Handmade {
            session: Session::new(conn, Timestamp::ZERO),
            stream,
            origin,
        };
        let mut answer = Some(Answer::default_for);
        loop {
            let done = match role {
                Role::Server => match ws.session.accept_step(&mut answer) {
                    Handshake::Wait => false,
                    Handshake::Done(upgraded) => {
                        assert!(upgraded);
                        true
                    }
                    Handshake::Failed(e) => {
                        // A refusal's answer (a 403, a 400) goes out before the transport.
                        ws.write_out();
                        return Err(e);
                    }
                },
                Role::Client => match ws.session.connect_step() {
                    Handshake::Wait => false,
                    Handshake::Done(_) => true,
                    Handshake::Failed(e) => return Err(e),
                },
            };
            if done {
                ws.write_out();
                return Ok(ws);
            }
            ws.turn();
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::since(self.origin, Instant::now())
    }

    /// Read and write timeouts until the connection's next deadline.
    fn set_timeouts(&self) {
        let wait = self.session.connection().poll_timeout().map(|at| {
            at.saturating_duration_since(self.now())
                .max(Duration::from_millis(1))
        });
        let _ = self.stream.set_read_timeout(wait);
        let _ = self.stream.set_write_timeout(wait);
    }

    /// Output out (each write until the next deadline), flushed, and the half-close.
    fn write_out(&mut self) {
        while self.session.wants_write() && !self.session.is_done() {
            self.set_timeouts();
            let written = self.stream.write(self.session.connection().output());
            let now = self.now();
            self.session.on_write(written, now);
        }
        if self.session.failure().is_ok() && !self.session.connection().wants_write() {
            let flushed = self.stream.flush();
            self.session.on_flush(flushed);
        }
        if self.session.should_shutdown() {
            let _ = self.stream.shutdown(std::net::Shutdown::Write);
            self.session.on_shutdown();
        }
    }

    /// One turn: output out, then input in until the next deadline, the time told.
    fn turn(&mut self) {
        self.write_out();
        if self.session.is_done() {
            return;
        }
        if !self.session.wants_read() {
            if let Some(at) = self.session.connection().poll_timeout() {
                std::thread::sleep(at.saturating_duration_since(self.now()));
            }
            let now = self.now();
            self.session.tick(now);
            return;
        }
        self.set_timeouts();
        let buf = self.session.read_buf();
        if buf.is_empty() {
            return;
        }
        let read = self.stream.read(buf);
        let now = self.now();
        self.session.on_read(read, now);
    }

    /// Drives an ended connection until its transport may be closed.
    fn finish(&mut self) {
        while !self.session.is_done() {
            while self.session.connection_mut().poll_event().is_some() {}
            let stuck =
                !self.session.wants_read() && self.session.connection().poll_timeout().is_none();
            self.turn();
            if stuck && !self.session.is_done() {
                return;
            }
        }
    }

    fn receive(&mut self, how: Receive) -> Got {
        if how == Receive::Event {
            loop {
                match self.session.next_event() {
                    NextEvent::Event(ready) => {
                        let got = Got::event(self.session.connection_mut().render(ready));
                        self.write_out();
                        return got;
                    }
                    NextEvent::Ended(_) => {
                        self.finish();
                        let end = self.session.take_ended().map(closed);
                        return Got::End(end.unwrap_or_default());
                    }
                    NextEvent::Over => {
                        self.finish();
                        return Got::End("none after Closed".into());
                    }
                    NextEvent::Wait => self.turn(),
                }
            }
        }
        loop {
            match self.session.next_message() {
                Next::Message(ready) => {
                    let message = if how == Receive::With {
                        let rendered = self.session.render_message_with_sender(ready);
                        rendered.map(|(m, _sender)| OwnedMessage::from(m))
                    } else {
                        self.session.render_message(ready).map(OwnedMessage::from)
                    };
                    self.write_out();
                    return Got::of(message.map(Some));
                }
                Next::Ended(closed) => {
                    self.finish();
                    return Got::of(self.session.owned_outcome(closed));
                }
                Next::Wait => self.turn(),
            }
        }
    }

    fn command(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<(), wsmachine::SendError>,
    ) -> Result<(), Error> {
        self.session.command(f)?;
        self.write_out();
        self.session.failure()
    }
}

pub fn whole(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    let mut ws = match Handmade::open(stream, role, config) {
        Ok(ws) => ws,
        Err(e) => return Report::refused(&e),
    };
    let started = Instant::now();
    let mut report = Report::default();
    match script {
        Script::ReceiveUntilEnd(how) => while report.got(ws.receive(how)) {},
        Script::Echo(how) => loop {
            let got = ws.receive(how);
            if let Got::Message(m) = &got {
                let sent = ws.command(|c| match echo_of(m) {
                    wsmachine::Message::Text(t) => c.send_text(t),
                    wsmachine::Message::Binary(b) => c.send_binary(b),
                });
                report.note(0, sent);
            }
            if !report.got(got) {
                break;
            }
        },
        Script::CloseThenReceive(how) => {
            let closed = ws.command(|c| c.close(CloseCode::NORMAL, "bye"));
            report.note(0, closed);
            while report.got(ws.receive(how)) {}
        }
        Script::Broadcast(message) => {
            for i in 0.. {
                if !report.note(i, ws.command(|c| c.send_prepared(&message))) {
                    break;
                }
            }
        }
        Script::SendLoop(size) => {
            let data = vec![7u8; size];
            for i in 0.. {
                if !report.note(i, ws.command(|c| c.send_binary(&data))) {
                    break;
                }
            }
        }
        Script::SendAfter(wait, count) => {
            std::thread::sleep(wait);
            for i in 0..count {
                report.note(i, ws.command(|c| c.send_text("tick")));
            }
        }
        Script::Idle(wait) => std::thread::sleep(wait),
        Script::CancelledReceives(..) | Script::CancelledSends(..) => {
            unreachable!("async rows only")
        }
    }
    report.elapsed = started.elapsed();
    report
}
