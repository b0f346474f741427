//! RFC 6455 §5.5.1 and §7: the closing handshake, close codes, and abnormal ends.

mod common;

use common::*;
use wsmachine::{
    CloseCause, CloseCode, Config, Connection, OwnedEvent, ProtocolError, SendError, State,
};

fn close_frames(bytes: &[u8]) -> Vec<(Option<u16>, Vec<u8>)> {
    decode_frames(bytes)
        .into_iter()
        .filter(|f| f.opcode == CLOSE)
        .map(|f| {
            if f.payload.len() >= 2 {
                (
                    Some(u16::from_be_bytes([f.payload[0], f.payload[1]])),
                    f.payload[2..].to_vec(),
                )
            } else {
                (None, f.payload.clone())
            }
        })
        .collect()
}

/// §5.5.1: an endpoint that receives a close frame sends a close frame in response, echoing
/// the status code; the server then closes the TCP connection first (§7.1.1).
#[test]
fn server_echoes_close_and_shuts_down_first() {
    let mut s = server_open(Config::new());
    let events = feed(&mut s, &cframe(true, CLOSE, &close_payload(1000, "bye")));
    assert_eq!(
        events[0],
        OwnedEvent::CloseReceived {
            code: CloseCode::NORMAL,
            reason: "bye".into()
        }
    );
    let c = closed(&events);
    assert_eq!(
        (c.code, c.cause),
        (CloseCode::NORMAL, CloseCause::ClosedByPeer)
    );
    assert!(
        !s.should_shutdown_write(),
        "output must be written before the half-close"
    );
    let out = take_output(&mut s);
    assert_eq!(close_frames(&out), vec![(Some(1000), b"bye".to_vec())]);
    assert!(
        !decode_frames(&out)[0].masked,
        "§5.1: server frames are never masked"
    );
    assert!(s.should_shutdown_write());
    assert_eq!(s.state(), State::Closed);
}

/// §7.1.1: the client, after the closing handshake, waits for the server to close TCP.
#[test]
fn client_echoes_close_and_waits_for_the_server_to_close() {
    let mut c = client_open(Config::new());
    let events = feed(&mut c, &sframe(true, CLOSE, &close_payload(1001, "going")));
    assert!(closed(&events).is_clean());
    let out = take_output(&mut c);
    let frames = decode_frames(&out);
    assert!(frames[0].masked, "§5.1: client frames are always masked");
    assert_eq!(close_frames(&out), vec![(Some(1001), b"going".to_vec())]);
    assert!(!c.should_shutdown_write());
    assert!(
        c.close_expected(),
        "the client arms a timer for the server's TCP close"
    );
    c.receive_eof();
    assert!(
        c.poll_event().is_none(),
        "EOF after Closed produces nothing"
    );
    assert!(!c.close_expected());
}

/// §5.5.1: a close frame with an empty payload is answered with an empty close frame and
/// reported as 1005 (no status, §7.4.1).
#[test]
fn empty_close_is_answered_with_empty_close() {
    let mut s = server_open(Config::new());
    let events = feed(&mut s, &cframe(true, CLOSE, b""));
    assert_eq!(
        events[0],
        OwnedEvent::CloseReceived {
            code: CloseCode::NO_STATUS,
            reason: String::new()
        }
    );
    assert_eq!(closed(&events).code, CloseCode::NO_STATUS);
    assert_eq!(close_frames(&take_output(&mut s)), vec![(None, vec![])]);
}

/// §5.5.1: a close payload of one byte cannot hold a status code: protocol error, 1002.
#[test]
fn one_byte_close_payload_fails_with_1002() {
    let mut s = server_open(Config::new());
    let events = feed(&mut s, &cframe(true, CLOSE, &[0x03]));
    let c = closed(&events);
    assert_eq!(c.code, CloseCode::PROTOCOL_ERROR);
    assert_eq!(
        c.cause,
        CloseCause::Failed(ProtocolError::CloseFrameTooShort)
    );
    assert_eq!(close_frames(&take_output(&mut s))[0].0, Some(1002));
}

/// §7.4: codes that may not appear in a close frame fail the connection with 1002.
#[test]
fn invalid_close_codes_fail_with_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let mut s = server_open(Config::new());
        let events = feed(&mut s, &cframe(true, CLOSE, &close_payload(code, "")));
        let c = closed(&events);
        assert_eq!(
            c.cause,
            CloseCause::Failed(ProtocolError::InvalidCloseCode(code)),
            "code {code}"
        );
        assert_eq!(
            close_frames(&take_output(&mut s))[0].0,
            Some(1002),
            "code {code}"
        );
    }
}

/// §7.4.1, §7.4.2: defined and registered codes (1000-1003, 1007-1014) and the 3000-4999
/// ranges are accepted and echoed.
#[test]
fn valid_close_codes_are_echoed() {
    let codes = [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ];
    for code in codes {
        let mut s = server_open(Config::new());
        let events = feed(&mut s, &cframe(true, CLOSE, &close_payload(code, "r")));
        assert!(closed(&events).is_clean(), "code {code}");
        assert_eq!(
            close_frames(&take_output(&mut s)),
            vec![(Some(code), b"r".to_vec())]
        );
    }
}

/// §5.5.1: the close reason is UTF-8; invalid data fails with 1007.
#[test]
fn invalid_close_reason_fails_with_1007() {
    let mut payload = close_payload(1000, "");
    payload.extend_from_slice(&[0xce, 0xba, 0xff]);
    let mut s = server_open(Config::new());
    let c = closed(&feed(&mut s, &cframe(true, CLOSE, &payload)));
    assert_eq!(
        c.cause,
        CloseCause::Failed(ProtocolError::InvalidCloseReason)
    );
    assert_eq!(close_frames(&take_output(&mut s))[0].0, Some(1007));
}

/// §5.5.1: after sending a close frame, the endpoint sends no more data frames; the send
/// errors are the distinguishable `Closing`, not a misuse error.
#[test]
fn nothing_is_sent_after_our_close() {
    let mut s = server_open(Config::new());
    s.close(CloseCode::GOING_AWAY, "restart").unwrap();
    assert_eq!(s.state(), State::Closing);
    assert!(s.close_expected());
    let before = s.output().len();
    assert_eq!(s.send_text("x"), Err(SendError::Closing));
    assert_eq!(s.send_binary(b"x"), Err(SendError::Closing));
    assert_eq!(s.ping(b""), Err(SendError::Closing));
    assert_eq!(s.close(CloseCode::NORMAL, ""), Err(SendError::Closing));
    assert_eq!(s.output().len(), before, "failed commands queue nothing");
    assert_eq!(
        close_frames(&take_output(&mut s)),
        vec![(Some(1001), b"restart".to_vec())]
    );
}

/// §7.1.2: data that the peer sent before it saw our close is still delivered; the peer's
/// close completes the handshake, initiated by us.
#[test]
fn data_after_our_close_is_delivered_until_the_peers_close() {
    let mut s = server_open(Config::new());
    s.close(CloseCode::NORMAL, "").unwrap();
    let mut input = cframe(true, TEXT, b"late");
    input.extend(cframe(true, CLOSE, &close_payload(1000, "")));
    let events = feed(&mut s, &input);
    assert_eq!(events[0], OwnedEvent::Text("late".into()));
    let c = closed(&events);
    assert_eq!(c.cause, CloseCause::ClosedLocally);
    assert!(s.should_shutdown_write() || s.wants_write());
    // Only our one close frame went out: the peer's close is not answered twice.
    assert_eq!(close_frames(&take_output(&mut s)).len(), 1);
}

/// §5.5.1, §7.1.3: after receiving a close frame, no further data is processed.
#[test]
fn input_after_the_peers_close_is_discarded() {
    let mut s = server_open(Config::new());
    let mut input = cframe(true, CLOSE, &close_payload(1000, ""));
    input.extend(cframe(true, TEXT, b"ignored"));
    input.extend(cframe(true, PING, b"ignored"));
    let events = feed(&mut s, &input);
    assert_eq!(
        kinds(&events),
        vec!["close-received 1000", "closed 1000 ClosedByPeer"]
    );
    assert_eq!(feed(&mut s, &cframe(true, TEXT, b"more")), vec![]);
    assert_eq!(
        decode_frames(&take_output(&mut s)).len(),
        1,
        "only the close reply"
    );
}

/// §7.1.3: both sides may start closing at the same time; both end cleanly.
#[test]
fn simultaneous_close_ends_cleanly_on_both_sides() {
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.close(CloseCode::NORMAL, "c").unwrap();
    p.server.close(CloseCode::GOING_AWAY, "s").unwrap();
    p.run();
    let c = closed(&p.client_events);
    let s = closed(&p.server_events);
    assert_eq!(
        (c.cause, c.code),
        (CloseCause::ClosedLocally, CloseCode::GOING_AWAY)
    );
    assert_eq!(
        (s.cause, s.code),
        (CloseCause::ClosedLocally, CloseCode::NORMAL)
    );
    assert!(p.server.should_shutdown_write());
}

/// §7.1.5: a transport that ends without a closing handshake is an abnormal closure, 1006.
#[test]
fn eof_without_close_is_abnormal_1006() {
    let mut s = server_open(Config::new());
    let _ = feed(&mut s, &cframe(true, TEXT, b"hi"));
    s.receive_eof();
    let events = drain(&mut s);
    let c = closed(&events);
    assert_eq!(
        (c.code, c.cause),
        (CloseCode::ABNORMAL, CloseCause::Abnormal)
    );
    assert!(!c.is_clean());
    assert!(
        s.output().is_empty(),
        "nothing is sent to a transport that is gone"
    );
}

/// §7.1.5: buffered input is still delivered before the abnormal end.
#[test]
fn eof_delivers_buffered_messages_first() {
    let mut s = server_open(Config::new());
    assert!(s.receive(&cframe(true, TEXT, b"first")) > 0);
    s.receive_eof();
    let events = drain(&mut s);
    assert_eq!(events[0], OwnedEvent::Text("first".into()));
    assert_eq!(closed(&events).code, CloseCode::ABNORMAL);
}

/// §7.1.5: an EOF after we sent close but before the peer answered is abnormal too.
#[test]
fn eof_while_waiting_for_the_close_reply_is_abnormal() {
    let mut c = client_open(Config::new());
    c.close(CloseCode::NORMAL, "").unwrap();
    c.receive_eof();
    let c = closed(&drain(&mut c));
    assert_eq!(
        (c.code, c.cause),
        (CloseCode::ABNORMAL, CloseCause::Abnormal)
    );
}

/// §7.1.7: failing the connection queues a close frame and asks both roles to close the
/// transport; input that follows is discarded.
#[test]
fn failure_queues_close_and_shuts_down_in_both_roles() {
    let mut s = server_open(Config::new());
    let events = feed(&mut s, &frame(true, TEXT, b"unmasked", None));
    assert_eq!(closed(&events).code, CloseCode::PROTOCOL_ERROR);
    assert_eq!(close_frames(&take_output(&mut s))[0].0, Some(1002));
    assert!(s.should_shutdown_write());
    assert_eq!(feed(&mut s, &cframe(true, TEXT, b"x")), vec![]);

    let mut c = client_open(Config::new());
    let events = feed(&mut c, &cframe(true, TEXT, b"masked"));
    assert_eq!(
        closed(&events).cause,
        CloseCause::Failed(ProtocolError::MaskedServerFrame)
    );
    assert_eq!(close_frames(&take_output(&mut c))[0].0, Some(1002));
    assert!(c.should_shutdown_write());
}

/// §7.4: 1005, 1006 and 1015 are reserved for local reporting and can never be sent; a
/// reason is at most 123 bytes (a control payload is at most 125, §5.5).
#[test]
fn unsendable_codes_and_long_reasons_are_refused() {
    let mut s = server_open(Config::new());
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
        assert_eq!(
            s.close(CloseCode(code), ""),
            Err(SendError::CloseCodeNotSendable(code))
        );
    }
    assert_eq!(
        s.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::ReasonTooLong)
    );
    assert!(s.output().is_empty());
    assert_eq!(s.state(), State::Open);
    s.close(CloseCode::NORMAL, &"x".repeat(123)).unwrap();
    let frames = close_frames(&take_output(&mut s));
    assert_eq!(frames[0].1.len(), 123);
}

/// §5.5.1: an endpoint may delay its close reply, e.g. to finish sending; with automatic
/// replies off the application replies, and only then is the connection closed.
#[test]
fn close_reply_can_be_sent_by_the_application() {
    let mut s = server_open(Config::new().with_auto_close_reply(false));
    let events = feed(&mut s, &cframe(true, CLOSE, &close_payload(1000, "")));
    assert_eq!(kinds(&events), vec!["close-received 1000"]);
    assert_eq!(s.state(), State::Closing);
    assert!(s.output().is_empty());
    s.send_text("last words").unwrap();
    s.close(CloseCode::NORMAL, "").unwrap();
    let c = closed(&drain(&mut s));
    assert_eq!(c.cause, CloseCause::ClosedByPeer);
    let frames = decode_frames(&take_output(&mut s));
    assert_eq!(
        frames.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        vec![TEXT, CLOSE]
    );
}

/// §7.1.5: once a close frame arrived, the connection close code is its code, even when the
/// transport ends before the (delayed) reply; the handshake did not complete, so the close is
/// not clean. Without a close frame it is 1006.
#[test]
fn eof_after_unanswered_close_reports_the_peer_code() {
    let mut s = server_open(Config::new().with_auto_close_reply(false));
    let events = feed(&mut s, &cframe(true, CLOSE, &close_payload(1001, "away")));
    assert_eq!(kinds(&events), vec!["close-received 1001"]);
    s.receive_eof();
    let c = closed(&drain(&mut s));
    assert_eq!(c.code, CloseCode::GOING_AWAY);
    assert_eq!(c.cause, CloseCause::Abnormal);
    assert!(!c.is_clean());

    let mut s = server_open(Config::new().with_auto_close_reply(false));
    feed(&mut s, &cframe(true, CLOSE, &[]));
    s.receive_eof();
    assert_eq!(closed(&drain(&mut s)).code, CloseCode::NO_STATUS);

    let mut s = server_open(Config::new());
    s.close(CloseCode::NORMAL, "").unwrap();
    s.receive_eof();
    let c = closed(&drain(&mut s));
    assert_eq!(
        (c.code, c.cause),
        (CloseCode::ABNORMAL, CloseCause::Abnormal)
    );
}

/// §7: exactly one `Closed`, and nothing after it, whatever arrives later.
#[test]
fn closed_is_reported_exactly_once() {
    let mut s = server_open(Config::new());
    let mut events = feed(&mut s, &cframe(true, CLOSE, &close_payload(1000, "")));
    events.extend(feed(&mut s, &cframe(true, CLOSE, &close_payload(1000, ""))));
    s.receive_eof();
    events.extend(drain(&mut s));
    assert!(closed(&events).is_clean());
    assert_eq!(s.send_text("x"), Err(SendError::Closed));
}

/// §7.1.6 / §5.4: a close frame may arrive in the middle of a fragmented message; the
/// unfinished message is dropped and the close completes cleanly.
#[test]
fn close_inside_a_fragmented_message_closes_cleanly() {
    let mut s = server_open(Config::new());
    let mut input = cframe(false, TEXT, b"part");
    input.extend(cframe(true, CLOSE, &close_payload(1000, "")));
    let events = feed(&mut s, &input);
    assert_eq!(
        kinds(&events),
        vec!["close-received 1000", "closed 1000 ClosedByPeer"]
    );
}

/// §7.1.4: a client closing first sees `close_expected` until the server's TCP close.
#[test]
fn client_initiated_close_round_trip() {
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.close(CloseCode::NORMAL, "done").unwrap();
    assert!(p.client.close_expected());
    p.run();
    assert_eq!(closed(&p.client_events).cause, CloseCause::ClosedLocally);
    assert_eq!(closed(&p.server_events).cause, CloseCause::ClosedByPeer);
    assert!(p.server.should_shutdown_write());
    assert!(!p.client.should_shutdown_write());
    p.eof_both();
    assert!(!p.client.close_expected());
    let _: &Connection = &p.client;
}

/// A send that crosses the end of the connection before the application saw `Closed` is the
/// benign race (`Closing`); after `Closed` was delivered, `Closed`.
#[test]
fn send_errors_distinguish_the_race_from_use_after_close() {
    let mut s = server_open(Config::new());
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(1000, ""))) > 0);
    let _ = s.poll_event(); // CloseReceived: the reply is queued, Closed not yet delivered
    assert_eq!(s.send_text("x"), Err(SendError::Closing));
    let _ = drain(&mut s);
    assert_eq!(s.send_text("x"), Err(SendError::Closed));
}

/// End of stream right behind the request: the request is still delivered (input before the
/// end is decoded), then the connection ends; it can no longer be accepted.
#[test]
fn request_then_eof_delivers_the_request_then_closed() {
    let mut server = Connection::server(Config::new());
    assert_eq!(server.receive(REQUEST), REQUEST.len());
    server.receive_eof();
    assert!(matches!(
        server.poll_event(),
        Some(wsmachine::Event::Request(_))
    ));
    let events = drain(&mut server);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(closed(&events).code, CloseCode::ABNORMAL);
    assert_eq!(
        server.accept(wsmachine::Accept::new()),
        Err(SendError::Closed)
    );
}

/// §5.5.1: with automatic replies off, the application owes the close reply after
/// `CloseReceived`; the connection says so, and asks for a close timer meanwhile (an
/// application that never replies must not hold the connection forever).
#[test]
fn owed_close_reply_is_visible_and_asks_for_a_timer() {
    let mut s = server_open(Config::new().with_auto_close_reply(false));
    assert!(!s.is_close_reply_owed() && !s.close_expected());
    assert!(s.receive(&cframe(true, CLOSE, &close_payload(1001, "away"))) > 0);
    assert!(matches!(
        s.poll_event(),
        Some(wsmachine::Event::CloseReceived(_))
    ));
    assert!(s.is_close_reply_owed());
    assert!(
        s.close_expected(),
        "a close timer is wanted while the reply is owed"
    );
    assert!(take_output(&mut s).is_empty(), "no automatic reply");
    s.close(CloseCode(1001), "").unwrap();
    assert!(!s.is_close_reply_owed());
    let frames = decode_frames(&take_output(&mut s));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, CLOSE);
}

/// §5.5.2: a ping is answered until the peer's close frame arrives, also while our own close
/// waits for its answer. With `auto_pong` off, the application's `pong` must be accepted then.
#[test]
fn manual_pong_is_accepted_after_our_close_was_sent() {
    let mut s = server_open(Config::new().with_auto_pong(false));
    s.close(CloseCode::NORMAL, "").unwrap();
    let _ = take_output(&mut s);
    assert!(s.receive(&cframe(true, PING, b"still there?")) > 0);
    assert_eq!(
        s.poll_event(),
        Some(wsmachine::Event::Ping(b"still there?"))
    );
    assert_eq!(s.pong(b"still there?"), Ok(()));
    let frames = decode_frames(&take_output(&mut s));
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].opcode, frames[0].payload.as_slice()),
        (PONG, &b"still there?"[..])
    );
    // Data and pings stay refused (§5.5.1).
    assert_eq!(s.ping(b""), Err(SendError::Closing));
    assert_eq!(s.send_text("x"), Err(SendError::Closing));
}

/// Which side closed first follows the order in which the close frames met the connection
/// (ours queued, the peer's arrived), never whether the application had polled the peer's
/// before calling `close`: the same inputs and commands give the same cause.
#[test]
fn closed_first_is_decided_by_arrival_not_by_polling() {
    let peer_close = cframe(true, CLOSE, &close_payload(1000, "peer"));
    // The peer's close arrives; the application polls it before closing.
    let mut polled = server_open(Config::new());
    assert!(polled.receive(&peer_close) > 0);
    let events = drain(&mut polled);
    assert_eq!(closed(&events).cause, CloseCause::ClosedByPeer);
    // The same, but the application closes before polling: the peer still closed first.
    let mut unpolled = server_open(Config::new());
    assert!(unpolled.receive(&peer_close) > 0);
    unpolled.close(CloseCode::GOING_AWAY, "me").unwrap();
    let events = drain(&mut unpolled);
    assert_eq!(closed(&events).cause, CloseCause::ClosedByPeer);
    // The other order: our close first, then the peer's arrives.
    let mut ours = server_open(Config::new());
    ours.close(CloseCode::GOING_AWAY, "me").unwrap();
    assert!(ours.receive(&peer_close) > 0);
    assert_eq!(closed(&drain(&mut ours)).cause, CloseCause::ClosedLocally);
    // Part of the peer's close frame is not its arrival.
    let mut partial = server_open(Config::new());
    assert!(partial.receive(&peer_close[..3]) > 0);
    partial.close(CloseCode::GOING_AWAY, "me").unwrap();
    assert!(partial.receive(&peer_close[3..]) > 0);
    assert_eq!(
        closed(&drain(&mut partial)).cause,
        CloseCause::ClosedLocally
    );
}
