//! The blocking rows: the blocking driver, whole and split (a reader thread beside the
//! writer where the script sends).

use std::net::TcpStream;
use std::time::Instant;

use wsmachine::blocking::{Hooks, Reader, WebSocket};
use wsmachine::driver::{Answer, Error, OwnedMessage};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{CloseCode, Config, Role};

use crate::rows::{echo_of, Got, Receive, Report, Script};

fn open(stream: TcpStream, role: Role, config: Config) -> Result<WebSocket<TcpStream>, Error> {
    match role {
        Role::Server => WebSocket::accept_with(stream, Hooks::tcp(), config, Answer::default_for)
            .map(|ws| ws.expect("an upgrade")),
        Role::Client => {
            WebSocket::connect(stream, Hooks::tcp(), &ClientRequest::new("x", "/"), config)
                .map(|(ws, _)| ws)
        }
    }
}

fn receive(ws: &mut WebSocket<TcpStream>, how: Receive) -> Got {
    match how {
        Receive::Borrowed => Got::of(ws.recv()),
        Receive::Owned => Got::of(ws.recv_owned()),
        Receive::With => Got::of(ws.recv_with(|m, _| OwnedMessage::from(m))),
        Receive::Event => Got::of_event(ws.recv_event()),
    }
}

fn receive_half(reader: &mut Reader<TcpStream>, how: Receive) -> Got {
    match how {
        Receive::Owned => Got::of(reader.recv_owned()),
        Receive::Borrowed | Receive::With => {
            Got::of(reader.recv_with(|m, _| OwnedMessage::from(m)))
        }
        Receive::Event => Got::of_event_with(reader.recv_event_with(Got::event)),
    }
}

pub fn whole(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    let mut ws = match open(stream, role, config) {
        Ok(ws) => ws,
        Err(e) => return Report::refused(&e),
    };
    let started = Instant::now();
    let mut report = Report::default();
    match script {
        Script::ReceiveUntilEnd(how) => while report.got(receive(&mut ws, how)) {},
        Script::Echo(how) => loop {
            let got = receive(&mut ws, how);
            if let Got::Message(m) = &got {
                let sent = ws.send(echo_of(m));
                report.note(0, sent);
            }
            if !report.got(got) {
                break;
            }
        },
        Script::CloseThenReceive(how) => {
            let closed = ws.close(CloseCode::NORMAL, "bye");
            report.note(0, closed);
            while report.got(receive(&mut ws, how)) {}
        }
        Script::Broadcast(message) => {
            for i in 0.. {
                if !report.note(i, ws.send_prepared(&message)) {
                    break;
                }
            }
        }
        Script::SendLoop(size) => {
            let data = vec![7u8; size];
            for i in 0.. {
                if !report.note(i, ws.send_binary(&data)) {
                    break;
                }
            }
        }
        Script::SendAfter(wait, count) => {
            std::thread::sleep(wait);
            for i in 0..count {
                report.note(i, ws.send_text("tick"));
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

pub fn split(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    let ws = match open(stream, role, config) {
        Ok(ws) => ws,
        Err(e) => return Report::refused(&e),
    };
    let (mut reader, mut writer) = ws.split().unwrap();
    let started = Instant::now();
    let mut report = Report::default();
    // Where the writer works, a reader thread keeps receiving meanwhile: the two halves in
    // use at once.
    let receive_all = |mut reader: Reader<TcpStream>| {
        std::thread::spawn(move || while let Ok(Some(_)) = reader.recv_owned() {})
    };
    match script {
        Script::ReceiveUntilEnd(how) => while report.got(receive_half(&mut reader, how)) {},
        Script::Echo(how) => loop {
            let got = receive_half(&mut reader, how);
            if let Got::Message(m) = &got {
                let sent = writer.send(echo_of(m));
                report.note(0, sent);
            }
            if !report.got(got) {
                break;
            }
        },
        Script::CloseThenReceive(how) => {
            let closed = writer.close(CloseCode::NORMAL, "bye");
            report.note(0, closed);
            while report.got(receive_half(&mut reader, how)) {}
        }
        Script::Broadcast(message) => {
            let _receiving = receive_all(reader);
            for i in 0.. {
                if !report.note(i, writer.send_prepared(&message)) {
                    break;
                }
            }
        }
        Script::SendLoop(size) => {
            let _receiving = receive_all(reader);
            let data = vec![7u8; size];
            for i in 0.. {
                if !report.note(i, writer.send_binary(&data)) {
                    break;
                }
            }
        }
        Script::SendAfter(wait, count) => {
            let _receiving = receive_all(reader);
            std::thread::sleep(wait);
            for i in 0..count {
                report.note(i, writer.send_text("tick"));
            }
        }
        Script::Idle(wait) => {
            std::thread::sleep(wait);
            drop((reader, writer));
        }
        Script::CancelledReceives(..) | Script::CancelledSends(..) => {
            unreachable!("async rows only")
        }
    }
    report.elapsed = started.elapsed();
    report
}
