mod common;
use common::*;
use wsmachine::{CloseCode, Config, OwnedEvent};

#[test]
fn pair_exchanges_messages_and_closes() {
    let mut p = Pair::new(Config::new(), Config::new());
    p.client.send_text("hi").unwrap();
    p.server.send_binary(&[1, 2, 3]).unwrap();
    p.run();
    assert_eq!(p.server_events, vec![OwnedEvent::Text("hi".into())]);
    assert_eq!(p.client_events, vec![OwnedEvent::Binary(vec![1, 2, 3])]);
    p.client.close(CloseCode::NORMAL, "").unwrap();
    p.run();
    assert!(closed(&p.server_events).is_clean());
    assert!(closed(&p.client_events).is_clean());
}

#[test]
fn server_unmasks_client_frames_split_anywhere() {
    let msg = cframe(true, TEXT, b"Hello, world! this is longer than eight bytes");
    for split in 0..msg.len() {
        let mut s = server_open(Config::new());
        let mut ev = feed(&mut s, &msg[..split]);
        ev.extend(feed(&mut s, &msg[split..]));
        assert_eq!(
            ev,
            vec![OwnedEvent::Text(
                "Hello, world! this is longer than eight bytes".into()
            )],
            "split {split}"
        );
    }
    let mut s = server_open(Config::new());
    assert_eq!(feed_bytewise(&mut s, &msg).len(), 1);
}
