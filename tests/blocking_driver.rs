//! The blocking driver (`wsmachine::blocking`) over loopback TCP: a whole conversation and a
//! clean close in both roles, a page and an upgrade on one port, and the connection's
//! deadlines honoured through the socket's timeouts (keepalive dropping a silent peer).
#![cfg(feature = "std")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use wsmachine::blocking::{Hooks, WebSocket};
use wsmachine::driver::{Answer, Error, OwnedMessage};
use wsmachine::{CloseCause, CloseCode, Config, Message};

/// An echo server on an ephemeral port, a thread per connection.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            std::thread::spawn(move || -> Result<(), Error> {
                let mut ws = WebSocket::accept(stream)?;
                while let Some(message) = ws.recv_owned()? {
                    ws.send(message.as_message())?;
                }
                Ok(())
            });
        }
    });
    url
}

#[test]
fn echo_conversation_and_clean_close() {
    let url = echo_server();
    let mut ws = wsmachine::blocking::connect(&url).unwrap();
    ws.send_text("hello").unwrap();
    assert_eq!(ws.recv().unwrap(), Some(Message::Text("hello")));
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.recv_owned().unwrap(), Some(OwnedMessage::Binary(big)));
    ws.ping(b"rtt").unwrap();
    ws.send_text("after").unwrap();
    assert_eq!(ws.recv().unwrap(), Some(Message::Text("after")));
    assert!(ws.connection().latency().is_some());
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(ws.recv().unwrap(), None);
    let closed = ws.connection().closed().unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::NORMAL, CloseCause::ClosedLocally)
    );
}

#[test]
fn server_initiated_clean_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = WebSocket::accept(stream).unwrap();
        ws.send_text("bye soon").unwrap();
        ws.close(CloseCode::GOING_AWAY, "maintenance").unwrap();
        assert_eq!(ws.recv().unwrap(), None);
        ws.connection().closed().unwrap()
    });
    let mut client = wsmachine::blocking::connect(&url).unwrap();
    assert_eq!(client.recv().unwrap(), Some(Message::Text("bye soon")));
    assert_eq!(client.recv().unwrap(), None);
    let closed = client.connection().closed().unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::GOING_AWAY, CloseCause::ClosedByPeer)
    );
    let closed = server.join().unwrap();
    assert_eq!(
        (closed.code, closed.cause),
        (CloseCode::GOING_AWAY, CloseCause::ClosedLocally)
    );
}

#[test]
fn http_answer_and_upgrade_on_one_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            std::thread::spawn(move || {
                let answer = |req: &wsmachine::Request<'_>| {
                    if req.is_websocket() {
                        Answer::accept()
                    } else {
                        Answer::respond(200, b"page".to_vec())
                    }
                };
                if let Ok(Some(mut ws)) =
                    WebSocket::accept_with(stream, Hooks::tcp(), Config::new(), answer)
                {
                    while let Ok(Some(m)) = ws.recv_owned() {
                        let _ = ws.send(m.as_message());
                    }
                }
            });
        }
    });
    let mut page = TcpStream::connect(addr).unwrap();
    page.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    page.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    page.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("page"),
        "{answer}"
    );
    let mut ws = wsmachine::blocking::connect(&format!("ws://{addr}/")).unwrap();
    ws.send_text("echo").unwrap();
    assert_eq!(ws.recv().unwrap(), Some(Message::Text("echo")));
}

/// A client that upgrades and then neither reads nor answers: the server's keepalive fails
/// it with 1011 after interval + timeout, through the socket's read timeout.
#[test]
fn keepalive_drops_a_silent_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let d = Some(Duration::from_millis(300));
        let config = Config::new().with_keepalive(d, d).with_close_timeout(d);
        let mut ws = WebSocket::accept_with(stream, Hooks::tcp(), config, Answer::default_for)
            .unwrap()
            .unwrap();
        let started = Instant::now();
        let result = ws.recv().map(|m| m.is_some());
        (result, started.elapsed())
    });
    let mut peer = TcpStream::connect(addr).unwrap();
    peer.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let (result, waited) = server.join().unwrap();
    match result {
        Err(Error::Closed(closed)) => assert_eq!(
            (closed.code, closed.cause),
            (CloseCode::INTERNAL_ERROR, CloseCause::KeepaliveTimeout)
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    drop(peer);
}

/// Prepared messages through the blocking driver: large ones (written straight from the
/// shared frame, in as many writes as the socket takes) interleaved with ordinary sends and
/// pings; the client, which reads only after the server sent everything, receives all of
/// them in order, byte for byte.
#[test]
fn prepared_messages_arrive_in_order_with_other_sends() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let big: Vec<u8> = (0..3 << 20).map(|i| (i % 253) as u8).collect();
    let shared = wsmachine::PreparedMessage::binary(&big);
    let small = wsmachine::PreparedMessage::text("small and shared");
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = WebSocket::accept(stream).unwrap();
        for i in 0..4 {
            ws.send_prepared(&shared).unwrap();
            ws.ping(b"p").unwrap();
            ws.send_text(&format!("plain {i}")).unwrap();
            ws.send_prepared(&small).unwrap();
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        while ws.recv().unwrap().is_some() {}
    });
    let mut ws = wsmachine::blocking::connect(&url).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..4 {
        assert_eq!(
            ws.recv_owned().unwrap(),
            Some(OwnedMessage::Binary(big.clone()))
        );
        assert_eq!(
            ws.recv_owned().unwrap(),
            Some(OwnedMessage::Text(format!("plain {i}")))
        );
        assert_eq!(
            ws.recv_owned().unwrap(),
            Some(OwnedMessage::Text("small and shared".into()))
        );
    }
    assert_eq!(ws.recv().unwrap(), None);
    server.join().unwrap();
}
