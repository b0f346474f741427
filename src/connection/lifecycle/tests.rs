//! The lifecycle table: rendered from [`Link::apply`] and checked against the module docs,
//! every refused step refused without a change, and the effects the rest of the connection
//! relies on.

use super::Phase::*;
use super::*;
use crate::close::CloseCode;

const PHASES: [Phase; 8] = [
    ReadingRequest,
    AwaitingAnswer,
    ReadingResponse,
    ReadingRejection,
    Open,
    CloseSent,
    CloseReceived,
    Closed,
];

/// One step of each kind, with sample arguments.
fn steps() -> [Step; 17] {
    [
        Step::RequestHead,
        Step::Accept,
        Step::Respond,
        Step::Switched,
        Step::Refused,
        Step::RefusalRead(403),
        Step::HandshakeExpired,
        Step::HandshakeFailed(HandshakeError::Timeout),
        Step::SendClose { idle: false },
        Step::SendClose { idle: true },
        Step::CloseArrived,
        Step::ReceiveClose(CloseCode::NORMAL),
        Step::Fail(ProtocolError::InvalidUtf8),
        Step::KeepaliveFailed,
        Step::Eof,
        Step::TransportEnded(CloseCause::Abnormal),
        Step::TransportLost,
    ]
}

/// A link of `server`'s role brought to `phase` the way a connection gets there.
fn link_in(phase: Phase, server: bool) -> Link {
    let config = Config::new();
    let start = if server {
        ReadingRequest
    } else {
        ReadingResponse
    };
    let mut link = Link::new(start, server, &config);
    let opening: &[Step] = if server {
        &[Step::RequestHead, Step::Accept]
    } else {
        &[Step::Switched]
    };
    let path: Vec<Step> = match phase {
        ReadingRequest | ReadingResponse => vec![],
        AwaitingAnswer => vec![Step::RequestHead],
        ReadingRejection => vec![Step::Refused],
        Open => opening.to_vec(),
        CloseSent => [opening, &[Step::SendClose { idle: false }]].concat(),
        CloseReceived => [opening, &[Step::ReceiveClose(CloseCode::GOING_AWAY)]].concat(),
        Closed => [opening, &[Step::Fail(ProtocolError::InvalidUtf8)]].concat(),
    };
    for step in path {
        assert!(link.apply(step).is_ok(), "{step:?} on the way to {phase:?}");
    }
    assert_eq!(link.phase(), phase);
    link
}

/// The phases a role goes through.
fn phases_of(server: bool) -> impl Iterator<Item = Phase> {
    PHASES.into_iter().filter(move |phase| match phase {
        ReadingRequest | AwaitingAnswer => server,
        ReadingResponse | ReadingRejection => !server,
        _ => true,
    })
}

fn step_name(step: Step) -> String {
    match step {
        Step::RefusalRead(status) => format!("RefusalRead({status})"),
        Step::HandshakeFailed(error) => format!("HandshakeFailed({error:?})"),
        Step::SendClose { idle: false } => "SendClose".into(),
        Step::SendClose { idle: true } => "SendClose (idle)".into(),
        Step::ReceiveClose(code) => format!("ReceiveClose({})", code.0),
        Step::Fail(error) => format!("Fail({error:?})"),
        Step::TransportEnded(cause) => format!("TransportEnded({cause:?})"),
        other => format!("{other:?}"),
    }
}

fn effects_text(fx: &Effects) -> String {
    let mut parts = Vec::new();
    if let Some((code, _)) = fx.close_frame {
        parts.push(format!("frame {}", code.0));
    }
    if fx.shutdown {
        parts.push("shut".into());
    }
    if fx.closes_transport {
        parts.push("drop".into());
    }
    if fx.abandon_output {
        parts.push("abandon".into());
    }
    if let Some(end) = fx.ended {
        parts.push(format!("end {} {:?}", end.code.0, end.cause));
    }
    if fx.close_timer {
        parts.push("close timer".into());
    }
    parts.join(", ")
}

/// The table, as the module docs show it: every accepted step of every phase, for each
/// role (a role's phases only); `Eof` and `CloseArrived`, accepted in every phase and only
/// recorded there, are left out where they change nothing else.
fn render() -> String {
    let mut out = String::from("| role | phase | step | next | effects |\n|---|---|---|---|---|\n");
    for server in [true, false] {
        let role = if server { "server" } else { "client" };
        for phase in phases_of(server) {
            for step in steps() {
                let mut link = link_in(phase, server);
                let Ok(fx) = link.apply(step) else {
                    continue;
                };
                let recorded_only = matches!(step, Step::Eof | Step::CloseArrived)
                    && link.phase() == phase
                    && fx == Effects::default();
                if !recorded_only {
                    out.push_str(&format!(
                        "| {role} | {phase:?} | {} | {:?} | {} |\n",
                        step_name(step),
                        link.phase(),
                        effects_text(&fx)
                    ));
                }
            }
        }
    }
    out
}

/// The table between the markers in the module docs, without the `//! ` prefixes.
fn documented() -> String {
    let source = include_str!("../lifecycle.rs");
    let mut inside = false;
    let mut out = String::new();
    for line in source.lines() {
        let text = line.strip_prefix("//!").unwrap_or(line).trim_start();
        if text.starts_with("<!-- lifecycle table: begin") {
            inside = true;
        } else if text.starts_with("<!-- lifecycle table: end") {
            inside = false;
        } else if inside {
            out.push_str(text);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_documented_table_is_the_one_apply_follows() {
    let rendered = render();
    assert_eq!(
        documented(),
        rendered,
        "the table in src/connection/lifecycle.rs is stale; it should read:\n{rendered}"
    );
}

#[test]
fn a_refused_step_changes_nothing() {
    for server in [true, false] {
        for phase in phases_of(server) {
            for step in steps() {
                let mut link = link_in(phase, server);
                let before = format!("{link:?}");
                if let Err(impossible) = link.apply(step) {
                    assert_eq!(impossible, Impossible { phase, step });
                    assert_eq!(format!("{link:?}"), before, "{phase:?} + {step:?}");
                }
            }
        }
    }
}

#[test]
fn closed_accepts_only_the_transports_end() {
    for step in steps() {
        let mut link = link_in(Closed, true);
        let accepted = link.apply(step).is_ok();
        let expected = matches!(
            step,
            Step::Eof | Step::CloseArrived | Step::TransportEnded(_) | Step::TransportLost
        );
        assert_eq!(accepted, expected, "{step:?}");
        assert_eq!(link.phase(), Closed);
    }
}

#[test]
fn the_end_is_decided_once_and_delivered_once() {
    let mut link = link_in(Open, true);
    let fx = link.apply(Step::Fail(ProtocolError::InvalidUtf8)).unwrap();
    let ended = fx.ended.unwrap();
    assert_eq!(ended.code, CloseCode::INVALID_PAYLOAD);
    // The transport's end after the failure changes neither the outcome nor the event.
    assert_eq!(link.apply(Step::TransportLost).unwrap().ended, None);
    assert_eq!(link.outcome(), Some(ended));
    assert_eq!(link.take_closed(), Some(ended));
    assert_eq!(link.take_closed(), None);
    assert!(link.reported());
}

/// §7.1.1: the server closes TCP first; the client waits for it.
#[test]
fn rfc6455_7_1_1_only_the_server_closes_the_transport_after_the_closing_handshake() {
    for server in [true, false] {
        let mut link = link_in(CloseSent, server);
        let fx = link.apply(Step::ReceiveClose(CloseCode::NORMAL)).unwrap();
        assert_eq!((fx.shutdown, fx.closes_transport), (server, server));
        assert_eq!(link.should_shutdown(), server);
        // The client may close its transport only after the server's end of stream.
        assert_eq!(link.may_close_transport(), server);
        link.apply(Step::Eof).unwrap();
        assert!(link.should_shutdown() && link.may_close_transport());
    }
}

/// Who closed first is decided by arrival (`CloseArrived`), not by decoding.
#[test]
fn who_closed_first_is_a_matter_of_arrival() {
    let cases = [
        (false, false, CloseCause::ClosedLocally),
        (false, true, CloseCause::IdleTimeout),
        (true, false, CloseCause::ClosedByPeer),
        (true, true, CloseCause::ClosedByPeer),
    ];
    for (arrived_first, idle, cause) in cases {
        let mut link = link_in(Open, true);
        if arrived_first {
            link.apply(Step::CloseArrived).unwrap();
        }
        link.apply(Step::SendClose { idle }).unwrap();
        let fx = link.apply(Step::ReceiveClose(CloseCode::NORMAL)).unwrap();
        assert_eq!(
            fx.ended.map(|c| c.cause),
            Some(cause),
            "{arrived_first} {idle}"
        );
    }
}

/// §7.1.5: the transport's end reports the peer's close code if one arrived, else 1006.
#[test]
fn rfc6455_7_1_5_the_end_of_the_transport_reports_the_peers_code_or_1006() {
    let mut link = link_in(CloseReceived, true);
    let fx = link.apply(Step::TransportLost).unwrap();
    assert_eq!(fx.ended.map(|c| c.code), Some(CloseCode::GOING_AWAY));
    let mut link = link_in(Open, false);
    let fx = link
        .apply(Step::TransportEnded(CloseCause::Abnormal))
        .unwrap();
    assert_eq!(fx.ended.map(|c| c.code), Some(CloseCode::ABNORMAL));
}

#[test]
fn public_state_mapping() {
    assert_eq!(ReadingRequest.state(), State::Connecting);
    assert_eq!(Open.state(), State::Open);
    assert_eq!(CloseSent.state(), State::Closing);
    assert_eq!(CloseReceived.state(), State::Closing);
    assert_eq!(Closed.state(), State::Closed);
}
