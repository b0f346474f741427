//! The async rows: the one async driver over tokio and over smol (futures-io), whole and
//! split. The scripts are written once over `driver::WebSocket<T>` for any transport; a
//! runtime gives the connection and its `sleep`.

use std::future::Future;
use std::net::TcpStream;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use wsmachine::driver::{Answer, Error, Transport, WebSocket};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::{CloseCode, Config, Role};

use crate::rows::{echo_of, numbered, Got, Receive, Report, Script};

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn tokio_open(
    stream: TcpStream,
    role: Role,
    config: Config,
) -> Result<wsmachine::tokio::WebSocket<tokio::net::TcpStream>, Error> {
    use wsmachine::tokio::WebSocket;
    stream.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(stream).unwrap();
    match role {
        Role::Server => WebSocket::accept_with(stream, config, Answer::default_for)
            .await
            .map(|ws| ws.expect("an upgrade")),
        Role::Client => WebSocket::connect(stream, &ClientRequest::new("x", "/"), config)
            .await
            .map(|(ws, _)| ws),
    }
}

pub fn tokio_whole(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    tokio_runtime().block_on(async move {
        match tokio_open(stream, role, config).await {
            Ok(ws) => whole(ws, script, tokio::time::sleep).await,
            Err(e) => Report::refused(&e),
        }
    })
}

pub fn tokio_split(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    tokio_runtime().block_on(async move {
        match tokio_open(stream, role, config).await {
            Ok(ws) => split(ws, script, tokio::time::sleep).await,
            Err(e) => Report::refused(&e),
        }
    })
}

async fn smol_open(
    stream: TcpStream,
    role: Role,
    config: Config,
) -> Result<wsmachine::futures_io::WebSocket<smol::net::TcpStream>, Error> {
    use wsmachine::futures_io::WebSocket;
    let stream = smol::net::TcpStream::try_from(stream).unwrap();
    match role {
        Role::Server => WebSocket::accept_with(stream, config, Answer::default_for)
            .await
            .map(|ws| ws.expect("an upgrade")),
        Role::Client => WebSocket::connect(stream, &ClientRequest::new("x", "/"), config)
            .await
            .map(|(ws, _)| ws),
    }
}

async fn smol_sleep(wait: Duration) {
    smol::Timer::after(wait).await;
}

pub fn smol_whole(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    smol::block_on(async move {
        match smol_open(stream, role, config).await {
            Ok(ws) => whole(ws, script, smol_sleep).await,
            Err(e) => Report::refused(&e),
        }
    })
}

pub fn smol_split(stream: TcpStream, role: Role, config: Config, script: Script) -> Report {
    smol::block_on(async move {
        match smol_open(stream, role, config).await {
            Ok(ws) => split(ws, script, smol_sleep).await,
            Err(e) => Report::refused(&e),
        }
    })
}

/// One receive on the whole connection.
async fn receive<T: Transport>(ws: &mut WebSocket<T>, how: Receive) -> Got {
    match how {
        Receive::Borrowed => Got::of(ws.recv().await),
        Receive::Owned => Got::of(ws.recv_owned().await),
        Receive::With => Got::of(
            ws.recv_with(|m, _| wsmachine::driver::OwnedMessage::from(m))
                .await,
        ),
        Receive::Event => Got::of_event(ws.recv_event().await),
    }
}

/// One receive on a reader.
async fn receive_half<T: Transport>(
    reader: &mut wsmachine::driver::Reader<T>,
    how: Receive,
) -> Got {
    match how {
        Receive::Owned => Got::of(reader.recv_owned().await),
        Receive::Borrowed | Receive::With => Got::of(
            reader
                .recv_with(|m, _| wsmachine::driver::OwnedMessage::from(m))
                .await,
        ),
        Receive::Event => Got::of_event_with(reader.recv_event_with(Got::event).await),
    }
}

/// Polls `future` once: its output, or `None` (and it is dropped: cancelled) if pending.
async fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    std::future::poll_fn(|cx| {
        Poll::Ready(match future.as_mut().poll(cx) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        })
    })
    .await
}

async fn whole<T, F, Fut>(mut ws: WebSocket<T>, script: Script, sleep: F) -> Report
where
    T: Transport,
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = Instant::now();
    let mut report = Report::default();
    match script {
        Script::ReceiveUntilEnd(how) => while report.got(receive(&mut ws, how).await) {},
        Script::Echo(how) => loop {
            let got = receive(&mut ws, how).await;
            if let Got::Message(m) = &got {
                let sent = ws.send(echo_of(m)).await;
                report.note(0, sent);
            }
            if !report.got(got) {
                break;
            }
        },
        Script::CloseThenReceive(how) => {
            let closed = ws.close(CloseCode::NORMAL, "bye").await;
            report.note(0, closed);
            while report.got(receive(&mut ws, how).await) {}
        }
        Script::Broadcast(message) => {
            for i in 0.. {
                if !report.note(i, ws.send_prepared(&message).await) {
                    break;
                }
            }
        }
        Script::SendLoop(size) => {
            let data = vec![7u8; size];
            for i in 0.. {
                if !report.note(i, ws.send_binary(&data).await) {
                    break;
                }
            }
        }
        Script::SendAfter(wait, count) => {
            sleep(wait).await;
            for i in 0..count {
                report.note(i, ws.send_text("tick").await);
            }
        }
        Script::Idle(wait) => sleep(wait).await,
        Script::CancelledReceives(how, count) => {
            while report.messages.len() < count {
                match poll_once(receive(&mut ws, how)).await {
                    Some(got) => {
                        if !report.got(got) {
                            break;
                        }
                    }
                    None => {
                        report.cancelled += 1;
                        sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
        Script::CancelledSends(count, size) => {
            ws.set_high_water(1024);
            for i in 0..count as u32 {
                let payload = numbered(i, size);
                loop {
                    match poll_once(ws.send_binary(&payload)).await {
                        Some(Ok(())) => {
                            report.completed.push(i);
                            break;
                        }
                        Some(Err(e)) => panic!("send {i}: {e}"),
                        None => {
                            report.cancelled += 1;
                            sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            }
            report.note(0, ws.flush().await);
        }
    }
    report.elapsed = started.elapsed();
    report
}

async fn split<T, F, Fut>(mut ws: WebSocket<T>, script: Script, sleep: F) -> Report
where
    T: Transport,
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    if matches!(script, Script::CancelledSends(..)) {
        ws.set_high_water(1024);
    }
    let (mut reader, mut writer) = ws.split();
    let started = Instant::now();
    let mut report = Report::default();
    // Where the writer works, the reader keeps receiving meanwhile (as the chat example
    // does), in the same task: the two halves in use at once.
    let receive_all = |mut reader: wsmachine::driver::Reader<T>| async move {
        while let Ok(Some(_)) = reader.recv_owned().await {}
    };
    match script {
        Script::ReceiveUntilEnd(how) => while report.got(receive_half(&mut reader, how).await) {},
        Script::Echo(how) => loop {
            let got = receive_half(&mut reader, how).await;
            if let Got::Message(m) = &got {
                let sent = writer.send(echo_of(m)).await;
                report.note(0, sent);
            }
            if !report.got(got) {
                break;
            }
        },
        Script::CloseThenReceive(how) => {
            let closed = writer.close(CloseCode::NORMAL, "bye").await;
            report.note(0, closed);
            while report.got(receive_half(&mut reader, how).await) {}
        }
        Script::Broadcast(message) => {
            let sending = pin!(async {
                for i in 0.. {
                    if !report.note(i, writer.send_prepared(&message).await) {
                        break;
                    }
                }
            });
            first(sending, pin!(receive_all(reader))).await;
        }
        Script::SendLoop(size) => {
            let data = vec![7u8; size];
            let sending = pin!(async {
                for i in 0.. {
                    if !report.note(i, writer.send_binary(&data).await) {
                        break;
                    }
                }
            });
            first(sending, pin!(receive_all(reader))).await;
        }
        Script::SendAfter(wait, count) => {
            let sending = pin!(async {
                sleep(wait).await;
                for i in 0..count {
                    report.note(i, writer.send_text("tick").await);
                }
            });
            first(sending, pin!(receive_all(reader))).await;
        }
        Script::Idle(wait) => {
            sleep(wait).await;
            drop((reader, writer));
        }
        Script::CancelledReceives(how, count) => {
            while report.messages.len() < count {
                match poll_once(receive_half(&mut reader, how)).await {
                    Some(got) => {
                        if !report.got(got) {
                            break;
                        }
                    }
                    None => {
                        report.cancelled += 1;
                        sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
        Script::CancelledSends(count, size) => {
            for i in 0..count as u32 {
                let payload = numbered(i, size);
                loop {
                    match poll_once(writer.send_binary(&payload)).await {
                        Some(Ok(())) => {
                            report.completed.push(i);
                            break;
                        }
                        Some(Err(e)) => panic!("send {i}: {e}"),
                        None => {
                            report.cancelled += 1;
                            sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            }
            report.note(0, writer.flush().await);
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Runs `main` to its end while polling `beside` too (which may end first).
async fn first<A: Future, B: Future>(mut main: Pin<&mut A>, beside: Pin<&mut B>) {
    let mut beside = Some(beside);
    std::future::poll_fn(|cx| {
        if let Some(b) = beside.as_mut() {
            if b.as_mut().poll(cx).is_ready() {
                beside = None;
            }
        }
        main.as_mut().poll(cx)
    })
    .await;
}
