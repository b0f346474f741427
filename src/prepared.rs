//! [`PreparedMessage`]: a message encoded once and sent to any number of connections.
//!
//! Fan-out (a chat room, a ticker, game state) sends the same message to many connections.
//! Sent with `send_text`/`send_binary`, each connection encodes it again, and with
//! permessage-deflate compresses it again: the cost grows with recipients times size. A
//! prepared message holds the server's wire frame (header and payload, unmasked) once,
//! behind an [`Arc`]; a server connection writes that frame from the shared bytes when its
//! output is empty (it holds a reference to the message meanwhile), and copies it behind
//! what waits otherwise. With permessage-deflate, every connection that resets its
//! compression context after each message (it negotiated no context takeover in its sending
//! direction) shares one compressed encoding per parameter set (window bits, level), built
//! on first use.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::event::MessageKind;
use crate::frame::{EncodedHeader, FrameHeader};

/// A text or binary message encoded once, to send to many connections.
///
/// Cloning is cheap (a reference count): hand a clone to every connection's task. Send it
/// with [`Connection::send_prepared`](crate::Connection::send_prepared),
/// [`Sender::send_prepared`](crate::Sender::send_prepared) or the drivers' `send_prepared`.
///
/// What a connection does with it:
///
/// | connection | what it writes | cost per recipient |
/// |---|---|---|
/// | server, message not compressed, no fragmentation needed | the shared frame | none when its output is empty (the output holds a reference), else one copy |
/// | server, [`outgoing_fragment_size`](crate::Config::outgoing_fragment_size) smaller than the message | its own frame headers around the shared payload | one copy |
/// | client | the shared payload, masked with the connection's own keys while copied (§5.3) | one copy |
/// | permessage-deflate, no context takeover in its sending direction | the shared compressed encoding for its window bits and level | as for the uncompressed frame (the first connection of a parameter set compresses) |
/// | permessage-deflate with context takeover | its own compressed copy (its context is its own) | a compression |
/// | any, handle made with [`without_compression`](Self::without_compression) | the shared uncompressed frame | one copy |
///
/// Sending obeys the same rules as `send_text`/`send_binary`: the same errors while the
/// connection is closing, over its backlog limit or in the middle of a fragmented message,
/// the same threshold for compression, and all of the message's frames are queued at once,
/// so they never interleave with another message's fragments.
///
/// ```
/// use wsmachine::{Config, Connection, PreparedMessage};
/// let mut connections: Vec<Connection> =
///     (0..3).map(|_| Connection::upgraded_server(Config::new(), &[])).collect();
/// let update = PreparedMessage::text("{\"price\": 42}");
/// for conn in &mut connections {
///     // Each connection's output now starts with the shared frame (no copy); a refusal
///     // (closing, backlog full) concerns that connection alone.
///     let _ = conn.send_prepared(&update);
/// }
/// assert_eq!(connections[2].output(), b"\x81\x0d{\"price\": 42}");
/// assert_eq!(connections[2].output().as_ptr(), update.server_frame().as_ptr());
/// ```
#[derive(Clone)]
pub struct PreparedMessage {
    shared: Arc<Shared>,
    /// Whether connections with permessage-deflate may compress it (per handle: a clone made
    /// with `without_compression` shares the same bytes).
    compress: bool,
}

struct Shared {
    kind: MessageKind,
    /// The server's frame: `header_len` header bytes, then the payload.
    plain: Encoded,
    #[cfg(feature = "deflate")]
    deflated: deflated::Cache,
}

/// One encoding of the message as a single unmasked frame.
pub(crate) struct Encoded {
    frame: Box<[u8]>,
    header_len: usize,
}

impl Encoded {
    /// Encodes `payload` as one final frame with `rsv` bits.
    fn new(kind: MessageKind, rsv: u8, payload: &[u8]) -> Encoded {
        let mut header = FrameHeader::new(kind.opcode(), true, payload.len() as u64);
        header.rsv = rsv;
        let header = EncodedHeader::new(&header);
        let head = header.as_bytes();
        let mut frame = Vec::with_capacity(head.len() + payload.len());
        frame.extend_from_slice(head);
        frame.extend_from_slice(payload);
        Encoded {
            frame: frame.into_boxed_slice(),
            header_len: head.len(),
        }
    }

    /// The whole frame, header included.
    pub(crate) fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The frame's payload.
    pub(crate) fn payload(&self) -> &[u8] {
        self.frame.get(self.header_len..).unwrap_or_default()
    }
}

impl PreparedMessage {
    /// A text message.
    ///
    /// ```
    /// use wsmachine::{MessageKind, PreparedMessage};
    /// let msg = PreparedMessage::text("hi");
    /// assert_eq!((msg.kind(), msg.payload(), msg.len()), (MessageKind::Text, &b"hi"[..], 2));
    /// // The frame a server sends: FIN + text, length 2, the payload.
    /// assert_eq!(msg.server_frame(), b"\x81\x02hi");
    /// assert!(!msg.is_empty());
    /// ```
    #[must_use]
    pub fn text(text: &str) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Text, text.as_bytes())
    }

    /// A binary message; see [`text`](Self::text) for an example.
    #[must_use]
    pub fn binary(data: &[u8]) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Binary, data)
    }

    fn new(kind: MessageKind, payload: &[u8]) -> PreparedMessage {
        PreparedMessage {
            shared: Arc::new(Shared {
                kind,
                plain: Encoded::new(kind, 0, payload),
                #[cfg(feature = "deflate")]
                deflated: deflated::Cache::default(),
            }),
            compress: true,
        }
    }

    /// A handle to the same message that connections send uncompressed even where
    /// permessage-deflate was negotiated: the per-message choice for data that does not
    /// compress (already compressed images, random tokens), or to spare connections with
    /// context takeover a compression each.
    ///
    /// ```
    /// use wsmachine::PreparedMessage;
    /// let msg = PreparedMessage::binary(&[0x89; 1000]);
    /// let plain = msg.clone().without_compression(); // the same bytes, shared
    /// assert!(msg.may_compress() && !plain.may_compress());
    /// assert_eq!(plain.server_frame(), msg.server_frame());
    /// ```
    #[must_use]
    pub fn without_compression(mut self) -> PreparedMessage {
        self.compress = false;
        self
    }

    /// Whether connections with permessage-deflate may compress it (see
    /// [`without_compression`](Self::without_compression), with an example).
    #[must_use]
    pub fn may_compress(&self) -> bool {
        self.compress
    }

    /// Text or binary (example: [`text`](Self::text)).
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        self.shared.kind
    }

    /// The message's payload (example: [`text`](Self::text)).
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.shared.plain.payload()
    }

    /// The payload's length in bytes (example: [`text`](Self::text)).
    #[must_use]
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// Whether the payload is empty (see [`len`](Self::len)).
    /// Example on [`text`](Self::text).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.payload().is_empty()
    }

    /// The frame a server sends when it neither compresses nor fragments the message: the
    /// bytes a driver may write directly, without copying them into the connection (example:
    /// [`text`](Self::text); see
    /// [`Connection::send_prepared_unbuffered`](crate::Connection::send_prepared_unbuffered)).
    #[must_use]
    pub fn server_frame(&self) -> &[u8] {
        self.shared.plain.frame()
    }

    pub(crate) fn plain(&self) -> &Encoded {
        &self.shared.plain
    }

    /// One of the shared frames, as the head of a connection's output finds it again: `None`
    /// for a compressed one that was not built (or not in the lock-free slot).
    pub(crate) fn frame_of(&self, which: FrameOf) -> Option<&[u8]> {
        match which {
            FrameOf::Plain => Some(self.server_frame()),
            #[cfg(feature = "deflate")]
            FrameOf::Deflated => self.shared.deflated.first_frame(),
        }
    }

    /// The compressed encoding for connections with these parameters and no context
    /// takeover, compressing on first use; `None` if zlib failed.
    #[cfg(feature = "deflate")]
    pub(crate) fn deflated(&self, key: DeflateKey) -> Option<deflated::Compressed<'_>> {
        self.shared
            .deflated
            .get(key, self.shared.kind, self.payload())
    }
}

impl core::fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.kind())
            .field("len", &self.len())
            .field("compress", &self.compress)
            .finish_non_exhaustive()
    }
}

/// Which shared frame a connection handed out for a direct write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameOf {
    /// The uncompressed frame.
    Plain,
    /// The compressed frame in the first (lock-free) slot.
    #[cfg(feature = "deflate")]
    Deflated,
}

/// The parameters a shared compressed encoding depends on: the sender's window bits and
/// compression level; and the pool its compressor comes from (connections of two pools do
/// not share an encoding: each pool compresses once).
#[cfg(feature = "deflate")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeflateKey {
    pub(crate) window_bits: u8,
    pub(crate) level: u32,
    pub(crate) pool: &'static crate::extensions::deflate::DeflatePool,
}

#[cfg(feature = "deflate")]
pub(crate) use deflated::Compressed;

#[cfg(feature = "deflate")]
mod deflated {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use std::sync::{Mutex, OnceLock};

    use super::{DeflateKey, Encoded};
    use crate::event::MessageKind;
    use crate::extensions::deflate::{DeflateParams, Deflater};

    /// Compressed encodings, one per parameter set. Almost every server sends with one set
    /// (its configured window and level), which is read without a lock; others, if any, sit
    /// behind a mutex.
    #[derive(Default)]
    pub(super) struct Cache {
        first: OnceLock<(DeflateKey, Option<Encoded>)>,
        others: Mutex<Vec<(DeflateKey, Option<Arc<Encoded>>)>>,
    }

    /// A compressed encoding, borrowed from the first slot or shared from the others.
    pub(crate) enum Compressed<'a> {
        First(&'a Encoded),
        Other(Arc<Encoded>),
    }

    impl core::ops::Deref for Compressed<'_> {
        type Target = Encoded;
        fn deref(&self) -> &Encoded {
            match self {
                Compressed::First(e) => e,
                Compressed::Other(e) => e,
            }
        }
    }

    /// Compresses a whole message with a fresh context: exactly what a connection without
    /// context takeover produces, since it resets its context after every message.
    fn compress(key: DeflateKey, kind: MessageKind, payload: &[u8]) -> Option<Encoded> {
        let params = DeflateParams {
            window_bits: key.window_bits,
            peer_window_bits: key.window_bits,
            no_context_takeover: true,
            peer_no_context_takeover: true,
        };
        let mut out = Vec::new();
        let mut deflater = Deflater::take_or_new(&params, key.level, key.pool);
        deflater.compress(payload, &mut out, true).ok()?;
        key.pool.give_deflater(deflater);
        // RSV1 marks a compressed message (RFC 7692 §6).
        Some(Encoded::new(kind, 0b100, &out))
    }

    impl Cache {
        /// The frame in the lock-free slot, once built.
        pub(super) fn first_frame(&self) -> Option<&[u8]> {
            self.first.get()?.1.as_ref().map(Encoded::frame)
        }

        pub(super) fn get(
            &self,
            key: DeflateKey,
            kind: MessageKind,
            payload: &[u8],
        ) -> Option<Compressed<'_>> {
            let (first_key, first) = self
                .first
                .get_or_init(|| (key, compress(key, kind, payload)));
            if *first_key == key {
                return first.as_ref().map(Compressed::First);
            }
            // A poisoned lock only means another thread panicked while compressing; the
            // list itself is always whole.
            let mut others = self
                .others
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = match others.iter().position(|(k, _)| *k == key) {
                Some(i) => others.get(i).and_then(|(_, e)| e.clone()),
                None => {
                    let encoded = compress(key, kind, payload).map(Arc::new);
                    others.push((key, encoded.clone()));
                    encoded
                }
            };
            slot.map(Compressed::Other)
        }
    }
}
