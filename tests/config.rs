//! No configuration can panic or exhaust memory: every `Config` value is clamped into its
//! documented range when a connection is made, and connections built from arbitrary
//! configurations complete a handshake, exchange messages both ways (through `receive` and
//! through `read_buf`/`commit_read`) and close without a panic.

mod common;

use common::*;
use proptest::prelude::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{Accept, CloseCode, Config, Connection, Delivery, Event};

/// A value anywhere in `usize`, with the edges and small values likely.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => Just(0usize),
        2 => Just(usize::MAX),
        1 => Just(usize::MAX / 2),
        1 => Just(isize::MAX as usize),
        3 => 0usize..300,
        2 => 0usize..100_000,
        2 => any::<usize>(),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop::array::uniform10(size()),
        prop::array::uniform4(any::<bool>()),
        (
            any::<bool>(),
            any::<u8>(),
            any::<u8>(),
            any::<u32>(),
            size(),
            any::<[bool; 2]>(),
        ),
    )
        .prop_map(|(sizes, flags, deflate)| {
            let mut c = Config::new();
            c.max_handshake_bytes = sizes[0];
            c.max_headers = sizes[1];
            c.max_frame_size = sizes[2];
            c.max_message_size = sizes[3];
            c.max_fragments = sizes[4];
            c.max_output_backlog = sizes[5];
            c.outgoing_fragment_size = sizes[6];
            c.min_read_size = sizes[7];
            c.max_read_size = sizes[8];
            c.delivery = if flags[0] {
                Delivery::Streaming
            } else {
                Delivery::Assembled
            };
            c.auto_pong = flags[1];
            c.auto_close_reply = flags[2];
            c.accept_legacy_versions = flags[3];
            #[cfg(not(feature = "deflate"))]
            let _ = deflate;
            #[cfg(feature = "deflate")]
            let (on, bits, peer_bits, level, threshold, takeover) = deflate;
            #[cfg(feature = "deflate")]
            if on {
                let mut d = wsmachine::extensions::deflate::DeflateConfig::new();
                d.max_window_bits = bits;
                d.peer_max_window_bits = peer_bits;
                d.level = level;
                d.threshold = threshold;
                d.no_context_takeover = takeover[0];
                d.peer_no_context_takeover = takeover[1];
                c.deflate = Some(d);
            }
            c
        })
}

/// Moves output from one side to the other through `read_buf`/`commit_read` or `receive`,
/// draining events; a bounded number of rounds.
fn pump(from: &mut Connection, to: &mut Connection, zero_copy: bool, events: &mut usize) {
    for _ in 0..64 {
        let out = from.output();
        if out.is_empty() {
            break;
        }
        let n = if zero_copy {
            let buf = to.read_buf();
            let n = buf.len().min(out.len());
            buf[..n].copy_from_slice(&out[..n]);
            to.commit_read(n);
            n
        } else {
            to.receive(out)
        };
        from.consume_output(n);
        while let Some(event) = to.poll_event() {
            *events += 1;
            if let Event::Request(req) = event {
                if req.is_websocket() {
                    let _ = to.accept(Accept::new());
                } else {
                    let _ = to.respond(400, &[], b"");
                }
            }
            assert!(*events < 100_000, "runaway events");
        }
        if n == 0 && to.read_buf().is_empty() {
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Connections from arbitrary configurations (each size from 0 to `usize::MAX`, every
    /// flag, arbitrary deflate parameters) run a whole conversation without a panic, and
    /// the configuration they report is within every documented range.
    #[test]
    fn arbitrary_configs_never_panic(
        client_config in config(),
        server_config in config(),
        zero_copy in any::<bool>(),
        payload in prop::collection::vec(any::<u8>(), 0..3000),
    ) {
        let request = ClientRequest::new("example.com", "/");
        let mut client = Connection::client(client_config, &request, SEED).unwrap();
        let mut server = Connection::server(server_config);
        for conn in [&client, &server] {
            let c = conn.config();
            prop_assert!(c.max_handshake_bytes <= 1 << 20);
            prop_assert!(c.max_headers <= 4096);
            prop_assert!(c.max_frame_size <= Config::MAX_LIMIT);
            prop_assert!(c.max_message_size <= Config::MAX_LIMIT);
            prop_assert!(c.max_fragments >= 1);
            prop_assert!(c.max_output_backlog <= Config::MAX_LIMIT);
            prop_assert!(c.outgoing_fragment_size <= Config::MAX_LIMIT);
            prop_assert!(c.min_read_size >= 1 && c.min_read_size <= c.max_read_size);
            prop_assert!(c.max_read_size <= 16 << 20);
            #[cfg(feature = "deflate")]
            if let Some(d) = c.deflate {
                prop_assert!((9..=15).contains(&d.max_window_bits));
                prop_assert!((9..=15).contains(&d.peer_max_window_bits));
                prop_assert!(d.level <= 9);
            }
            prop_assert_eq!(*c, c.validated());
        }
        let mut events = 0;
        for _ in 0..3 {
            pump(&mut client, &mut server, zero_copy, &mut events);
            pump(&mut server, &mut client, zero_copy, &mut events);
        }
        let text = String::from_utf8_lossy(&payload).into_owned();
        let _ = client.send_text(&text);
        let _ = client.send_binary(&payload);
        let _ = server.send_binary(&payload);
        let _ = client.ping(b"p");
        for _ in 0..3 {
            pump(&mut client, &mut server, zero_copy, &mut events);
            pump(&mut server, &mut client, zero_copy, &mut events);
        }
        let _ = client.close(CloseCode::NORMAL, "bye");
        let _ = server.close(CloseCode::NORMAL, "bye");
        for _ in 0..3 {
            pump(&mut client, &mut server, zero_copy, &mut events);
            pump(&mut server, &mut client, zero_copy, &mut events);
        }
        client.receive_eof();
        server.receive_eof();
        while client.poll_event().is_some() {}
        while server.poll_event().is_some() {}
        prop_assert!(client.is_closed() && server.is_closed());
    }
}

/// The reported failure: huge read sizes panicked at the first `read_buf` after `accept`
/// (the handshake phase was covered, the open phase was not). Reads stay within the clamped
/// maximum and the conversation works.
#[test]
fn huge_read_sizes_work_after_accept() {
    let config = Config::new().with_read_sizes(usize::MAX, usize::MAX);
    assert_eq!(
        (config.min_read_size, config.max_read_size),
        (16 << 20, 16 << 20)
    );
    let mut server = Connection::server(config);
    assert_eq!(server.receive(REQUEST), REQUEST.len());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    let frame = cframe(true, BINARY, b"after accept");
    let buf = server.read_buf();
    assert!(!buf.is_empty() && buf.len() <= 16 << 20);
    buf[..frame.len()].copy_from_slice(&frame);
    server.commit_read(frame.len());
    assert_eq!(
        drain(&mut server),
        vec![wsmachine::OwnedEvent::Binary(b"after accept".to_vec())]
    );
}

/// Setting a field directly bypasses the builders; the connection still clamps it.
#[test]
fn fields_set_directly_are_clamped_by_the_connection() {
    let mut config = Config::new();
    config.min_read_size = 0;
    config.max_read_size = 0;
    config.max_fragments = 0;
    config.max_frame_size = usize::MAX;
    let server = Connection::upgraded_server(config, &[]);
    let c = server.config();
    assert_eq!(
        (c.min_read_size, c.max_read_size, c.max_fragments),
        (1, 1, 1)
    );
    assert_eq!(c.max_frame_size, Config::MAX_LIMIT);
    assert_eq!(Config::new().validated(), Config::new());
}
