//! Connection statistics: cheap counters, always on.

/// Counters for one direction of a connection (example on
/// [`Connection::stats`](crate::Connection::stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Bytes: received from the transport, or written out to it (handshake included; for
    /// [`encode_unbuffered`](crate::Connection::encode_unbuffered), header and payload).
    pub bytes: u64,
    /// Frames, control frames included.
    pub frames: u64,
    /// Complete data messages.
    pub messages: u64,
    /// Ping frames.
    pub pings: u64,
    /// Pong frames.
    pub pongs: u64,
    /// The payload size of the largest data message.
    pub largest_message: u64,
}

impl DirectionStats {
    #[inline]
    pub(crate) fn message(&mut self, len: u64) {
        self.messages += 1;
        if len > self.largest_message {
            self.largest_message = len;
        }
    }
}

/// What a connection has received and sent so far; see
/// [`Connection::stats`](crate::Connection::stats).
/// Example on [`Connection::stats`](crate::Connection::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// From the peer.
    pub received: DirectionStats,
    /// To the peer (frames and messages when queued, bytes when written out).
    pub sent: DirectionStats,
    /// The round-trip time of the last answered ping (keepalive or the application's), as
    /// [`Connection::latency`](crate::Connection::latency).
    pub latency: Option<core::time::Duration>,
}

impl core::fmt::Display for Stats {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (r, s) = (&self.received, &self.sent);
        write!(
            f,
            "received {} B, {} frames, {} messages (largest {} B), {} pings, {} pongs; \
             sent {} B, {} frames, {} messages (largest {} B), {} pings, {} pongs",
            r.bytes,
            r.frames,
            r.messages,
            r.largest_message,
            r.pings,
            r.pongs,
            s.bytes,
            s.frames,
            s.messages,
            s.largest_message,
            s.pings,
            s.pongs
        )?;
        if let Some(rtt) = self.latency {
            write!(f, "; latency {rtt:?}")?;
        }
        Ok(())
    }
}

/// Heap bytes a connection holds, per buffer (example on
/// [`Connection::stats`](crate::Connection::stats)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Memory {
    /// The input buffer, and the text of small messages decoded ahead of their events (at
    /// most `Config::max_read_size` + 128 bytes, kept for the next reads like the input
    /// buffer).
    pub input: usize,
    /// The buffer fragmented messages are assembled in.
    pub message: usize,
    /// The output buffer.
    pub output: usize,
    /// permessage-deflate state: the compressor's and decompressor's heap as measured for
    /// zlib-rs (`tests/zlib_heap.rs` pins the figures), plus their buffers.
    pub compression: usize,
    /// Of `compression`, the states this connection holds from its
    /// [`DeflatePool`](crate::extensions::deflate::DeflatePool) (a direction without context
    /// takeover holds one only while a message is compressed or inflated, and gives it
    /// back when the message ends). Counted in `compression`, not again in the total.
    pub from_pool: usize,
}

impl Memory {
    /// The sum of all buffers (example on [`Connection::stats`](crate::Connection::stats)).
    #[must_use]
    pub const fn total(&self) -> usize {
        self.input + self.message + self.output + self.compression
    }
}
