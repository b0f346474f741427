//! The peer: the other end of a driver's connection, controlled byte by byte over loopback
//! TCP (sending what it likes, reading what the driver writes, stopping reading, ending its
//! side mid-frame, resetting the connection).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{decode_frames, raw_frame, switching_response, Decoded, CLOSE};
use crate::rows::{Report, Row, Script};
use wsmachine::{Config, Role};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The peer's end of a driver's connection, upgraded.
pub struct Peer {
    pub stream: TcpStream,
    /// The driver is the server: the peer masks its frames (§5.3).
    masks: bool,
}

/// A driver running `script` in `role` on one connection, and the peer's end of it, upgraded
/// (the peer answered or sent the handshake). The report arrives on the receiver when the
/// script ends.
pub fn start(
    row: &Row,
    role: Role,
    config: Config,
    script: Script,
) -> (Peer, mpsc::Receiver<Report>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let serve = row.serve;
    let driver = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = tx.send(serve(stream, role, config, script));
    });
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    if role == Role::Server {
        stream.write_all(REQUEST).unwrap();
        let head = read_head(&mut stream);
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}: {}",
            row.name,
            String::from_utf8_lossy(&head)
        );
    } else {
        let head = read_head(&mut stream);
        stream.write_all(&switching_response(&head)).unwrap();
    }
    drop(driver);
    (
        Peer {
            stream,
            masks: role == Role::Server,
        },
        rx,
    )
}

/// A driver as the server, with `config`, answering `request` (which the peer sends) and
/// then running `script` if it upgraded: the peer's stream, the head of the driver's
/// answer, and the receiver of the report.
pub fn answer(
    row: &Row,
    config: Config,
    request: &[u8],
    script: Script,
) -> (TcpStream, Vec<u8>, mpsc::Receiver<Report>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let serve = row.serve;
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = tx.send(serve(stream, Role::Server, config, script));
    });
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let head = read_head(&mut stream);
    (stream, head, rx)
}

/// Reads an HTTP head, byte by byte (nothing past it).
fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "the driver ended the handshake"
        );
        head.push(byte[0]);
    }
    head
}

/// How the peer's reading ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// End of stream.
    Eof,
    /// A reset, or another read error.
    Error,
    /// Nothing more within the time limit.
    Timeout,
}

impl Peer {
    /// A frame as this peer must send it: masked when the driver is the server.
    pub fn frame(&self, b0: u8, payload: &[u8]) -> Vec<u8> {
        raw_frame(b0, payload, self.masks.then_some([0x37, 0xfa, 0x21, 0x3d]))
    }

    /// Sends a frame.
    pub fn send(&mut self, b0: u8, payload: &[u8]) {
        let frame = self.frame(b0, payload);
        self.stream.write_all(&frame).unwrap();
    }

    /// Reads everything the driver writes until the transport ends; answers a close frame
    /// with one and closes its side, so that the driver can finish at once.
    pub fn read_to_end(&mut self, limit: Duration) -> (Vec<Decoded>, End) {
        self.read_until(limit, |_| false)
    }

    /// As [`read_to_end`](Self::read_to_end), but stops early (with `End::Timeout`) once
    /// `enough` says the frames read so far suffice.
    pub fn read_until(
        &mut self,
        limit: Duration,
        enough: impl Fn(&[Decoded]) -> bool,
    ) -> (Vec<Decoded>, End) {
        let deadline = Instant::now() + limit;
        let mut bytes = Vec::new();
        let mut answered = false;
        let mut chunk = vec![0u8; 1 << 16];
        let end = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break End::Timeout;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => break End::Eof,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break End::Timeout
                }
                Err(_) => break End::Error,
            }
            let frames = complete_frames(&bytes);
            if enough(&frames) {
                break End::Timeout;
            }
            if !answered && frames.iter().any(|f| f.opcode == CLOSE) {
                answered = true;
                let close = self.frame(0x88, &[]);
                let _ = self.stream.write_all(&close);
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
            }
        };
        (complete_frames(&bytes), end)
    }

    /// Resets the connection: SO_LINGER 0, then close.
    pub fn reset(self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        self.stream.set_nonblocking(true).unwrap();
        let stream = tokio::net::TcpStream::from_std(self.stream).unwrap();
        stream.set_zero_linger().unwrap();
        drop(stream);
    }
}

/// The whole frames at the front of `bytes` (a frame cut by the transport's end is left out).
fn complete_frames(bytes: &[u8]) -> Vec<Decoded> {
    let mut whole = 0;
    while let Some(len) = frame_len(&bytes[whole..]) {
        whole += len;
    }
    decode_frames(&bytes[..whole])
}

/// The length of the whole frame at the front of `bytes`, if it is all there.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let b1 = *bytes.get(1)?;
    let masked = if b1 & 0x80 != 0 { 4 } else { 0 };
    let (header, len) = match b1 & 0x7f {
        126 => (
            4,
            usize::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
        ),
        127 => (
            10,
            usize::try_from(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)).ok()?,
        ),
        n => (2, usize::from(n)),
    };
    let total = header + masked + len;
    (bytes.len() >= total).then_some(total)
}

/// The close code of the first close frame among `frames`.
pub fn close_code(frames: &[Decoded]) -> Option<u16> {
    frames
        .iter()
        .find(|f| f.opcode == CLOSE)
        .and_then(|f| f.payload.get(..2))
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
}
