//! Progress after end of stream: whatever state a connection is in, once the transport has
//! ended (`receive_eof`), draining `poll_event` reaches exactly one `Event::Closed` within a
//! bounded number of calls, then returns `None` for good. A driver loop that stops reading at
//! end of stream can therefore always prove it makes progress: it never waits for an event
//! that cannot come (the bug where a server whose request awaited an answer spun forever).

mod common;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Accept, CloseCode, Config, Connection, Delivery, MessageKind, OwnedEvent};

/// What the server application does with a request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Accept,
    /// A subprotocol the client did not offer: `accept` fails, the request still waits.
    AcceptUnoffered,
    Respond,
    /// Leave it waiting.
    Ignore,
}

#[derive(Clone, Debug)]
enum Op {
    /// Move up to `n` bytes of one side's output to the other (true: client to server).
    Deliver(bool, usize),
    /// Drain one side's events; the server answers requests as given.
    Poll(bool, Answer),
    Text(bool, String),
    Fragment(bool, Vec<u8>, bool),
    Ping(bool, Vec<u8>),
    Close(bool, u16),
    /// Bytes that are not what the peer would send.
    Garbage(bool, Vec<u8>),
    Release(bool),
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => Just(Answer::Accept),
        1 => Just(Answer::AcceptUnoffered),
        1 => Just(Answer::Respond),
        1 => Just(Answer::Ignore),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 0usize..400).prop_map(|(c, n)| Op::Deliver(c, n)),
        4 => (any::<bool>(), answer()).prop_map(|(c, a)| Op::Poll(c, a)),
        2 => (any::<bool>(), "[a-zé]{0,20}").prop_map(|(c, t)| Op::Text(c, t)),
        2 => (any::<bool>(), vec(any::<u8>(), 0..20), any::<bool>())
            .prop_map(|(c, d, fin)| Op::Fragment(c, d, fin)),
        1 => (any::<bool>(), vec(any::<u8>(), 0..10)).prop_map(|(c, p)| Op::Ping(c, p)),
        1 => (any::<bool>(), prop::sample::select(vec![1000u16, 1001, 4000]))
            .prop_map(|(c, code)| Op::Close(c, code)),
        1 => (any::<bool>(), vec(any::<u8>(), 1..12)).prop_map(|(c, g)| Op::Garbage(c, g)),
        1 => any::<bool>().prop_map(Op::Release),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(Delivery::Assembled), Just(Delivery::Streaming)],
    )
        .prop_map(|(auto_close, auto_pong, delivery)| {
            Config::new()
                .with_auto_close_reply(auto_close)
                .with_auto_pong(auto_pong)
                .with_delivery(delivery)
                .with_max_handshake_bytes(600)
        })
}

struct Side {
    conn: Connection,
    events: Vec<OwnedEvent>,
}

impl Side {
    fn poll(&mut self, answer: Answer) {
        // Bounded: a script's input is a few kilobytes, each event consumes input.
        for _ in 0..10_000 {
            let Some(event) = self.conn.poll_event() else {
                return;
            };
            let event = event.into_owned();
            if let OwnedEvent::Request(r) = &event {
                match answer {
                    Answer::Accept if r.websocket => {
                        self.conn.accept(Accept::new()).unwrap();
                    }
                    Answer::AcceptUnoffered => {
                        assert!(self
                            .conn
                            .accept(Accept::new().with_subprotocol("none"))
                            .is_err());
                    }
                    Answer::Respond | Answer::Accept => {
                        self.conn.respond(404, &[], b"no").unwrap();
                    }
                    Answer::Ignore => {}
                }
            }
            self.events.push(event);
        }
        panic!("poll_event never returned None");
    }

    fn closed_count(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, OwnedEvent::Closed(_)))
            .count()
    }
}

fn apply(sides: &mut [Side; 2], op: &Op) {
    let idx = |c: bool| usize::from(!c);
    match op {
        Op::Deliver(c, n) => {
            let [client, server] = sides;
            let (from, to) = if *c {
                (client, server)
            } else {
                (server, client)
            };
            let k = (*n).min(from.conn.output().len());
            let taken = to.conn.receive(&from.conn.output()[..k]);
            from.conn.consume_output(taken);
        }
        Op::Poll(c, answer) => sides[idx(*c)].poll(*answer),
        Op::Text(c, t) => {
            let _ = sides[idx(*c)].conn.send_text(t);
        }
        Op::Fragment(c, d, fin) => {
            let _ = sides[idx(*c)]
                .conn
                .send_fragment(MessageKind::Binary, d, *fin);
        }
        Op::Ping(c, p) => {
            let _ = sides[idx(*c)].conn.ping(p);
        }
        Op::Close(c, code) => {
            let _ = sides[idx(*c)].conn.close(CloseCode(*code), "");
        }
        Op::Garbage(c, g) => {
            let _ = sides[idx(*c)].conn.receive(g);
        }
        Op::Release(c) => sides[idx(*c)].conn.release_buffers(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// From every state a script reaches (handshake in progress, a request waiting for its
    /// answer or refused by `accept`, a rejection being read, open, closing either way,
    /// failed), after `receive_eof` the connection reports exactly one `Closed` in its whole
    /// life within a bounded number of polls, then only `None`; the end is visible in
    /// `is_closed()`.
    #[test]
    fn eof_in_any_state_reaches_exactly_one_closed(
        client_config in config(),
        server_config in config(),
        ops in vec(op(), 0..40),
        which in 0u8..3,
    ) {
        let request = ClientRequest::new("example.com", "/");
        let mut sides = [
            Side {
                conn: Connection::client(client_config, &request, SEED).unwrap(),
                events: Vec::new(),
            },
            Side { conn: Connection::server(server_config), events: Vec::new() },
        ];
        for op in &ops {
            apply(&mut sides, op);
        }
        for (i, side) in sides.iter_mut().enumerate() {
            if which != 2 && usize::from(which) != i {
                continue;
            }
            side.conn.receive_eof();
            // Bound: one event per buffered byte at most, plus the Closed.
            let bound = side.conn.memory().input + 2;
            let mut polls = 0;
            while let Some(event) = side.conn.poll_event() {
                side.events.push(event.into_owned());
                polls += 1;
                prop_assert!(polls <= bound, "more than {} events after EOF", bound);
            }
            prop_assert_eq!(side.closed_count(), 1, "{:?}", side.events);
            prop_assert!(matches!(side.events.last(), Some(OwnedEvent::Closed(_))));
            prop_assert!(side.conn.is_closed());
            for _ in 0..3 {
                prop_assert!(side.conn.poll_event().is_none());
            }
        }
    }
}
