//! Properties of the deadlines, over arbitrary scripts of input, sends and clock advances:
//! each connection ends with exactly one `Closed`; after `handle_timeout(now)` the next
//! deadline is never in the past; no deadline fires before its condition holds; and with a
//! peer that answers, keepalive never fails a connection.

mod common;

use std::time::Duration;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{
    Accept, CloseCause, CloseCode, Config, Connection, HandshakeError, OwnedEvent, State, Timestamp,
};

const HANDSHAKE: Duration = Duration::from_secs(10);
const CLOSE: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_secs(20);
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
enum Op {
    /// Move up to `n` bytes one way (true: client to server).
    Deliver(bool, usize),
    Text(bool, String),
    Ping(bool),
    Close(bool),
    /// Advance the clock by this many milliseconds and tell both sides.
    Advance(u64),
    /// End of stream for one side.
    Eof(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 0usize..300).prop_map(|(c, n)| Op::Deliver(c, n)),
        2 => (any::<bool>(), "[a-z]{0,12}").prop_map(|(c, t)| Op::Text(c, t)),
        1 => any::<bool>().prop_map(Op::Ping),
        1 => any::<bool>().prop_map(Op::Close),
        5 => prop_oneof![0u64..2_000, 0u64..25_000, 9_990u64..10_010, 19_990u64..20_010]
            .prop_map(Op::Advance),
        1 => any::<bool>().prop_map(Op::Eof),
    ]
}

/// One side and what the test knows about its timing.
struct Side {
    conn: Connection,
    events: Vec<OwnedEvent>,
    eof: bool,
    /// The last time bytes from the peer were seen arriving (its received count moved).
    heard: Timestamp,
    received: u64,
    /// When the side was first seen closing (a close sent or received) or closed.
    closing_since: Option<Timestamp>,
    was_open: bool,
}

impl Side {
    fn new(conn: Connection) -> Side {
        Side {
            conn,
            events: Vec::new(),
            eof: false,
            heard: Timestamp::ZERO,
            received: 0,
            closing_since: None,
            was_open: false,
        }
    }

    /// Drains events (accepting upgrades) and checks each `Closed` against its deadline.
    fn drain(&mut self, now: Timestamp) -> Result<(), TestCaseError> {
        while let Some(event) = self.conn.poll_event() {
            let event = event.into_owned();
            if let OwnedEvent::Request(r) = &event {
                if r.websocket {
                    self.conn.accept(Accept::new()).unwrap();
                }
            }
            if let OwnedEvent::Closed(c) = &event {
                self.check_closed(c, now)?;
            }
            self.events.push(event);
            prop_assert!(self.events.len() < 100_000);
        }
        self.observe(now);
        Ok(())
    }

    /// No deadline fires before its condition holds.
    fn check_closed(&self, c: &wsmachine::Closed, now: Timestamp) -> Result<(), TestCaseError> {
        match c.cause {
            CloseCause::Handshake(HandshakeError::Timeout) => {
                prop_assert!(!self.was_open);
                prop_assert!(
                    now >= Timestamp::ZERO + HANDSHAKE,
                    "handshake timeout at {:?}",
                    now
                );
            }
            CloseCause::KeepaliveTimeout => {
                prop_assert!(self.was_open);
                prop_assert!(
                    now >= self.heard + INTERVAL + TIMEOUT,
                    "keepalive failure at {:?}, peer heard at {:?}",
                    now,
                    self.heard
                );
            }
            CloseCause::Abnormal if !self.eof => {
                // Only the close deadline ends a connection abnormally without an end of
                // stream.
                let since = self.closing_since.unwrap_or(Timestamp::MAX);
                prop_assert!(
                    now >= since + CLOSE,
                    "close deadline at {:?} since {:?}",
                    now,
                    since
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn observe(&mut self, now: Timestamp) {
        let state = self.conn.state();
        self.was_open |= state == State::Open;
        if matches!(state, State::Closing | State::Closed) && self.closing_since.is_none() {
            self.closing_since = Some(now);
        }
    }

    fn tick(&mut self, now: Timestamp) -> Result<(), TestCaseError> {
        let received = self.conn.stats().received.bytes;
        if received != self.received {
            self.received = received;
            self.heard = now;
        }
        self.conn.handle_timeout(now);
        if let Some(next) = self.conn.poll_timeout() {
            prop_assert!(next > now, "poll_timeout {:?} not after {:?}", next, now);
        }
        self.drain(now)
    }

    fn closed_count(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, OwnedEvent::Closed(_)))
            .count()
    }
}

fn config() -> Config {
    Config::new()
        .with_handshake_timeout(Some(HANDSHAKE))
        .with_close_timeout(Some(CLOSE))
        .with_keepalive(Some(INTERVAL), Some(TIMEOUT))
}

fn apply(sides: &mut [Side; 2], now: &mut Timestamp, op: &Op) -> Result<(), TestCaseError> {
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
            if !to.eof {
                let taken = to.conn.receive(&from.conn.output()[..k]);
                from.conn.consume_output(taken);
            }
            // Bytes are read, then the time is told (the driver contract).
            to.tick(*now)?;
        }
        Op::Text(c, t) => {
            let _ = sides[idx(*c)].conn.send_text(t);
        }
        Op::Ping(c) => {
            let _ = sides[idx(*c)].conn.ping(b"app");
        }
        Op::Close(c) => {
            let _ = sides[idx(*c)].conn.close(CloseCode::NORMAL, "");
            sides[idx(*c)].observe(*now);
        }
        Op::Advance(ms) => {
            *now = *now + Duration::from_millis(*ms);
            for side in sides.iter_mut() {
                side.tick(*now)?;
            }
        }
        Op::Eof(c) => {
            let side = &mut sides[idx(*c)];
            side.conn.receive_eof();
            side.eof = true;
            side.drain(*now)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Arbitrary scripts with clock advances, handshake included: after every report of the
    /// time the next deadline is later; every `Closed` caused by a deadline comes no earlier
    /// than its deadline; and once time runs far enough (or the transport ends), each side
    /// has exactly one `Closed`, last.
    #[test]
    fn deadlines_keep_their_word(ops in vec(op(), 0..60)) {
        let request = ClientRequest::new("example.com", "/");
        let mut sides = [
            Side::new(Connection::client(config(), &request, SEED).unwrap()),
            Side::new(Connection::server(config())),
        ];
        let mut now = Timestamp::ZERO;
        for side in sides.iter_mut() {
            side.tick(now)?;
        }
        for op in &ops {
            apply(&mut sides, &mut now, op)?;
            for side in &sides {
                prop_assert!(side.closed_count() <= 1, "{:?}", side.events);
            }
        }
        // Time runs on: every deadline passes (handshake, keepalive, then close).
        for _ in 0..8 {
            apply(&mut sides, &mut now, &Op::Advance(30_000))?;
        }
        for side in sides.iter_mut() {
            prop_assert_eq!(side.closed_count(), 1, "{:?}", side.events);
            prop_assert!(matches!(side.events.last(), Some(OwnedEvent::Closed(_))));
            // The transport is done with: after the close deadline at the latest.
            prop_assert!(side.conn.is_drained(), "{:?}", side.events);
            side.conn.receive_eof();
            side.drain(now)?;
            prop_assert_eq!(side.closed_count(), 1);
        }
    }

    /// With a peer that answers (everything exchanged whenever time passes), keepalive never
    /// fails a connection, however quiet it is otherwise, and measures the latency.
    #[test]
    fn keepalive_never_fails_an_answering_peer(
        steps in vec((0u64..INTERVAL.as_millis() as u64 * 3, prop::option::of("[a-z]{0,8}")), 1..80),
    ) {
        let config = Config::new().with_keepalive(Some(INTERVAL), Some(TIMEOUT));
        let mut p = Pair::new(config, config);
        let mut now = Timestamp::ZERO;
        p.client.handle_timeout(now);
        p.server.handle_timeout(now);
        for (ms, text) in &steps {
            if let Some(t) = text {
                p.client.send_text(t).unwrap();
            }
            // Time passes in small steps (at most half the timeout), each followed by an
            // exchange: the peer always answers within the timeout.
            let mut left = *ms;
            while left > 0 {
                let step = left.min(TIMEOUT.as_millis() as u64 / 2);
                left -= step;
                now = now + Duration::from_millis(step);
                p.client.handle_timeout(now);
                p.server.handle_timeout(now);
                p.run();
                p.client.handle_timeout(now);
                p.server.handle_timeout(now);
            }
        }
        for events in [&p.client_events, &p.server_events] {
            prop_assert!(!events.iter().any(|e| matches!(e, OwnedEvent::Closed(_))), "{:?}", events);
        }
    }
}
