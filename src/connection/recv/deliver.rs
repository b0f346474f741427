//! Delivery: turning decoded data frames into what the application sees. A whole message
//! is handed out straight from the input buffer; fragmented messages, and text frames that
//! arrive in pieces, are assembled in the message buffer while being validated, so each
//! byte is validated exactly once and invalid UTF-8 fails the connection as soon as it
//! arrives (§8.1); streaming delivery hands out pieces as they come. [`render`] makes the
//! event from what is ready.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::buffer::{ByteBuf, COPY_PIECE};
use crate::close::CloseFrame;
use crate::connection::recv::decode::Flow;
use crate::connection::recv::rules::MessageState;
use crate::connection::recv::{FrameState, Inbound, Owed, Ready, RecvState, Stage};
use crate::connection::send::Outbound;
use crate::error::ProtocolError;
use crate::event::{Event, Fragment, Message, MessageKind, Request, Response};
use crate::handshake::Span;
use crate::utf8::{self, Utf8Error, Utf8Validator};

/// The buffer messages are assembled in; a `String` for text, so that validated pieces are
/// appended as `&str` and the whole needs no second validation.
#[derive(Debug)]
pub(crate) enum MessageBuf {
    Bytes(Vec<u8>),
    Text(String),
}

impl MessageBuf {
    pub(super) fn start(&mut self, kind: MessageKind) {
        let taken = core::mem::replace(self, MessageBuf::Bytes(Vec::new()));
        let mut bytes = match taken {
            MessageBuf::Bytes(b) => b,
            MessageBuf::Text(s) => s.into_bytes(),
        };
        bytes.clear();
        *self = match kind {
            // An empty Vec is valid UTF-8: this keeps the allocation and checks nothing (were
            // it to fail, only the allocation would be lost, never data).
            MessageKind::Text => MessageBuf::Text(String::from_utf8(bytes).unwrap_or_default()),
            MessageKind::Binary => MessageBuf::Bytes(bytes),
        };
    }

    /// Appends a piece of the message; text is validated on the way. Growth doubles, but
    /// never beyond `limit` (the message size limit), so the buffer stays within it.
    pub(super) fn append(
        &mut self,
        chunk: &[u8],
        utf8: &mut Utf8Validator,
        limit: usize,
    ) -> Result<(), Utf8Error> {
        let (len, cap) = match self {
            MessageBuf::Text(s) => (s.len(), s.capacity()),
            MessageBuf::Bytes(b) => (b.len(), b.capacity()),
        };
        let needed = len + chunk.len();
        let extra = if needed > cap {
            cap.saturating_mul(2).max(needed).min(limit.max(needed)) - len
        } else {
            0
        };
        match self {
            MessageBuf::Text(s) => {
                s.reserve_exact(extra);
                let v = utf8.feed(chunk)?;
                s.push_str(v.joined);
                push_str_in_pieces(s, v.body);
            }
            MessageBuf::Bytes(b) => {
                b.reserve_exact(extra);
                extend_in_pieces(b, chunk);
            }
        }
        Ok(())
    }

    pub(crate) fn view(&self) -> Message<'_> {
        match self {
            MessageBuf::Text(s) => Message::Text(s),
            MessageBuf::Bytes(b) => Message::Binary(b),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        match self {
            MessageBuf::Text(s) => s.capacity(),
            MessageBuf::Bytes(b) => b.capacity(),
        }
    }

    /// Empties the buffer after a message was delivered. The allocation is kept for the next
    /// message unless it is beyond `retain` and far larger than the message just delivered
    /// (traffic got smaller): steady large messages do not reallocate, and one large message
    /// does not pin its memory once small ones follow.
    pub(super) fn clear(&mut self, retain: usize) {
        let len = self.view().as_bytes().len();
        if self.capacity() > retain && self.capacity() / 8 > len {
            *self = MessageBuf::Bytes(Vec::new());
        } else {
            match self {
                MessageBuf::Text(s) => s.clear(),
                MessageBuf::Bytes(b) => b.clear(),
            }
        }
    }
}

/// `s.push_str(text)`, in pieces (see `buffer::COPY_PIECE`: whole copies of more than 2 KiB
/// can run at 3 GB/s), cut on code point boundaries.
fn push_str_in_pieces(s: &mut String, mut text: &str) {
    while text.len() > COPY_PIECE {
        let mut at = COPY_PIECE;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let (piece, rest) = text.split_at(at);
        s.push_str(piece);
        text = rest;
    }
    s.push_str(text);
}

/// `b.extend_from_slice(bytes)`, in pieces (see `buffer::COPY_PIECE`).
fn extend_in_pieces(b: &mut Vec<u8>, bytes: &[u8]) {
    for piece in bytes.chunks(COPY_PIECE) {
        b.extend_from_slice(piece);
    }
}

impl Inbound {
    #[inline(never)]
    pub(super) fn assemble(&mut self, mut frame: FrameState, out: &mut Outbound) -> Flow {
        let Some(mut message) = self.st.message else {
            return Flow::More;
        };
        if message.compressed {
            return self.assemble_compressed(frame, message, out);
        }
        let avail = self.buf.len();
        if !message.buffered {
            if avail as u64 >= frame.left {
                let start = self.buf.start();
                let range = start..start + frame.left as usize;
                self.st.owed = Owed::Input(frame.left as usize);
                self.st.frame = None;
                self.st.message = None;
                self.st.stats.message(frame.left);
                return Flow::Ready(match message.kind {
                    MessageKind::Text => Ready::Text(range),
                    MessageKind::Binary => Ready::Binary(range),
                });
            }
            if message.kind == MessageKind::Binary {
                // Wait for the whole frame in the input buffer: no copy, no validation.
                return Flow::More;
            }
            // Text arriving in pieces: validate each piece as it comes (fail fast, §8.1) while
            // assembling, so that no byte is validated twice.
            message.buffered = true;
            self.st.message = Some(message);
            self.msg.start(message.kind);
        }
        let n = (avail as u64).min(frame.left) as usize;
        if n > 0 {
            let Some(chunk) = self.buf.bytes().get(..n) else {
                return Flow::Ready(Ready::Closed(self.st.internal("piece past the input", out)));
            };
            if self
                .msg
                .append(chunk, &mut self.utf8, self.st.config.max_message_size)
                .is_err()
            {
                return Flow::Ready(Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)));
            }
            self.buf.consume(n);
            frame.left -= n as u64;
        }
        self.frame_assembled(frame, message, out)
    }

    /// After a piece of an assembled message was taken: wait for the rest of the frame, go on
    /// to the next frame, or deliver the message when its final frame is complete.
    pub(super) fn frame_assembled(
        &mut self,
        frame: FrameState,
        message: MessageState,
        out: &mut Outbound,
    ) -> Flow {
        if frame.left > 0 {
            self.st.frame = Some(frame);
            return Flow::More;
        }
        self.st.frame = None;
        if !frame.fin {
            return Flow::Again;
        }
        if message.kind == MessageKind::Text && self.utf8.finish().is_err() {
            return Flow::Ready(Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)));
        }
        self.st.message = None;
        self.st.owed = Owed::Message;
        // The delivered size: decompressed for compressed messages.
        self.st
            .stats
            .message(self.msg.view().as_bytes().len() as u64);
        Flow::Ready(Ready::Assembled)
    }

    #[inline(never)]
    pub(super) fn stream(&mut self, mut frame: FrameState, out: &mut Outbound) -> Flow {
        let Some(message) = self.st.message else {
            return Flow::More;
        };
        if message.compressed {
            return self.stream_compressed(frame, message, out);
        }
        let avail = (self.buf.len() as u64).min(frame.left) as usize;
        let start = self.buf.start();
        let mut n = avail;
        if message.kind == MessageKind::Text {
            let Some(chunk) = self.buf.bytes().get(..avail) else {
                return Flow::Ready(Ready::Closed(self.st.internal("piece past the input", out)));
            };
            // Hold back pieces that would deliver no complete code point: feed them now.
            let Some(len) = self.utf8.next_piece_len(chunk) else {
                if self.utf8.feed(chunk).is_err() {
                    return Flow::Ready(Ready::Closed(
                        self.st.fail(ProtocolError::InvalidUtf8, out),
                    ));
                }
                self.buf.consume(avail);
                frame.left -= avail as u64;
                if frame.left > 0 {
                    self.st.frame = Some(frame);
                    return Flow::More;
                }
                if !frame.fin {
                    self.st.frame = None;
                    return Flow::Again;
                }
                // The message ends inside a code point.
                return Flow::Ready(Ready::Closed(self.st.fail(ProtocolError::InvalidUtf8, out)));
            };
            n = len;
        }
        frame.left -= n as u64;
        let done = frame.left == 0;
        let fin = done && frame.fin;
        self.st.frame = if done { None } else { Some(frame) };
        if fin {
            self.st.message = None;
            self.st.stats.message(message.len);
        }
        if n == 0 && !fin {
            return if done { Flow::Again } else { Flow::More };
        }
        self.st.owed = Owed::Input(n);
        Flow::Ready(Ready::stream(message.kind, start..start + n, fin, false))
    }
}

impl Inbound {
    /// A compressed message, assembled: inflate each piece as it arrives, checking the
    /// decompressed size against the limit while inflating (a bomb stops at the limit) and
    /// validating text on the way.
    #[inline(never)]
    pub(super) fn assemble_compressed(
        &mut self,
        mut frame: FrameState,
        message: MessageState,
        out: &mut Outbound,
    ) -> Flow {
        let n = (self.buf.len() as u64).min(frame.left) as usize;
        let last = frame.fin && n as u64 == frame.left;
        if n > 0 || last {
            let limit = self.st.config.max_message_size;
            let Inbound {
                buf,
                msg,
                utf8,
                compression,
                st,
                ..
            } = self;
            let Some(input) = buf.bytes().get(..n) else {
                return Flow::Ready(Ready::Closed(st.internal("piece past the input", out)));
            };
            if let Err(e) = compression.inflate_message(input, last, limit, &mut |chunk| {
                msg.append(chunk, utf8, limit)
            }) {
                return Flow::Ready(Ready::Closed(st.fail(e, out)));
            }
            buf.consume(n);
            frame.left -= n as u64;
        }
        self.frame_assembled(frame, message, out)
    }

    /// A compressed message, streamed: inflate into a bounded piece buffer and deliver the
    /// pieces one event at a time, so memory stays bounded whatever the ratio.
    #[inline(never)]
    pub(super) fn stream_compressed(
        &mut self,
        mut frame: FrameState,
        message: MessageState,
        out: &mut Outbound,
    ) -> Flow {
        let (pending, complete) = self.compression.pending();
        if !pending.is_empty() || complete {
            let len = pending.len();
            let mut n = len;
            if message.kind == MessageKind::Text {
                let Some(piece_len) = self.utf8.next_piece_len(pending) else {
                    if complete || self.utf8.feed(pending).is_err() {
                        return Flow::Ready(Ready::Closed(
                            self.st.fail(ProtocolError::InvalidUtf8, out),
                        ));
                    }
                    self.compression.take_pending(len);
                    return Flow::Again;
                };
                n = piece_len;
            }
            let start = self.compression.pending_start();
            let fin = complete && n == len;
            self.compression.take_pending(n);
            if fin {
                self.st.frame = None;
                self.st.message = None;
                self.st.stats.message(message.len);
            }
            if n == 0 && !fin {
                return Flow::Again;
            }
            return Flow::Ready(Ready::stream(message.kind, start..start + n, fin, true));
        }
        if self.compression.has_failed() {
            // Corrupt data, found after the output before it was delivered: fail here, before
            // anything that follows in the stream.
            return Flow::Ready(Ready::Closed(
                self.st.fail(ProtocolError::InflateFailed, out),
            ));
        }
        if frame.left == 0 && !frame.fin {
            self.st.frame = None;
            return Flow::Again;
        }
        let avail = (self.buf.len() as u64).min(frame.left) as usize;
        let last = frame.fin && avail as u64 == frame.left;
        let Some(input) = self.buf.bytes().get(..avail) else {
            return Flow::Ready(Ready::Closed(self.st.internal("piece past the input", out)));
        };
        let limit = self.st.config.max_message_size;
        let used = match self.compression.inflate_piece(input, last, limit) {
            Ok(used) => used,
            Err(e) => return Flow::Ready(Ready::Closed(self.st.fail(e, out))),
        };
        self.buf.consume(used);
        frame.left -= used as u64;
        self.st.frame = Some(frame);
        let (pending, complete) = self.compression.pending();
        if !pending.is_empty() || complete || used > 0 {
            return Flow::Again;
        }
        Flow::More
    }
}

/// Validates the text at `range` of the input buffer, whose bytes before `range.start` are
/// consumed (the frame header at least).
///
/// `core::str::from_utf8` checks ASCII a word at a time only from an 8-byte aligned address,
/// and a payload behind a 2- or 6-byte header rarely is. For short texts (where the SIMD
/// validator hands over to `core` anyway) the consumed bytes just before the payload are
/// overwritten with spaces up to the previous aligned address and validated along with it:
/// ASCII cannot change the validity of what follows, and the spaces are sliced off again.
fn validate_in_place(buf: &mut ByteBuf, range: Range<usize>) -> Result<&str, utf8::Utf8Error> {
    let len = range.end.saturating_sub(range.start);
    let misalign = (buf.data().as_ptr() as usize).wrapping_add(range.start) % 8;
    let pad = if (len < 64 || cfg!(not(feature = "simd"))) && misalign <= range.start {
        misalign
    } else {
        0
    };
    if pad > 0 {
        // At most 7 bytes, all consumed: one 8-byte store where the buffer has room before
        // `range.start` (a loop or `fill` here compiles to a call to memset).
        let data = buf.data_mut();
        match range
            .start
            .checked_sub(8)
            .and_then(|from| data.get_mut(from..range.start))
        {
            Some(word) => word.copy_from_slice(&[b' '; 8]),
            None => {
                if let Some(gap) = data.get_mut(range.start - pad..range.start) {
                    gap.fill(b' ');
                }
            }
        }
    }
    // The range was produced by the decoder within the buffer; were it not, the message is
    // refused rather than cut.
    let bytes = buf
        .data()
        .get(range.start - pad..range.end)
        .ok_or(utf8::Utf8Error)?;
    let text = if pad > 0 {
        core::str::from_utf8(bytes).map_err(|_| utf8::Utf8Error)?
    } else {
        utf8::validate(bytes)?
    };
    // `pad` bytes of ASCII spaces: always a boundary.
    text.get(pad..).ok_or(utf8::Utf8Error)
}

/// A whole text message from the input buffer, validated here (once).
#[inline]
pub(crate) fn render_text<'a>(
    inb: &'a mut Inbound,
    out: &mut Outbound,
    range: Range<usize>,
) -> Event<'a> {
    let Inbound { buf, st, .. } = inb;
    render_text_parts(buf, st, out, range)
}

#[inline]
fn render_text_parts<'a>(
    buf: &'a mut ByteBuf,
    st: &mut RecvState,
    out: &mut Outbound,
    range: Range<usize>,
) -> Event<'a> {
    match validate_in_place(buf, range) {
        Ok(text) => Event::Message(Message::Text(text)),
        // Validated when it was decided (`Inbound::decide`); safe Rust makes the `&str` by
        // validating again.
        Err(_) => Event::Closed(st.internal("decided text is not UTF-8", out)),
    }
}

/// Turns a ready item into an event borrowing the input side. Failures found here (text that
/// is not UTF-8) update only the state, never the buffers the event would borrow.
pub(crate) fn render<'a>(inb: &'a mut Inbound, out: &mut Outbound, ready: Ready) -> Event<'a> {
    let Inbound {
        buf,
        utf8: validator,
        msg,
        st,
        stage,
        compression,
        ..
    } = inb;
    if let Ready::Text(r) = ready {
        return render_text_parts(buf, st, out, r);
    }
    // Ranges come from the decoder, within the buffer; a range that is not is an internal
    // error, never a shorter payload.
    let data = buf.data();
    let Some(bytes) = (match &ready {
        Ready::Binary(r) | Ready::Ping(r) | Ready::Pong(r) => data.get(r.clone()),
        Ready::CloseReceived { reason, .. } => data.get(reason.clone()),
        Ready::StreamText { range, piece, .. } | Ready::StreamBinary { range, piece, .. } => {
            if *piece {
                compression.piece(range.clone())
            } else {
                data.get(range.clone())
            }
        }
        _ => Some(&[][..]),
    }) else {
        return Event::Closed(st.internal("payload range past the buffer", out));
    };
    let head = match stage {
        Stage::Handshake(opening) => Some(&**opening),
        Stage::Frames => None,
    };
    match ready {
        // Handled before `data` borrows the buffer; the lane by its own renderer.
        Ready::Text(_) => Event::Closed(st.internal("text rendered twice", out)),
        Ready::Lane => Event::Closed(st.internal("lane rendered as decoded", out)),
        Ready::Binary(_) => Event::Message(Message::Binary(bytes)),
        Ready::Assembled => Event::Message(msg.view()),
        // Fed to the validator when it was decided (`Inbound::decide`).
        Ready::StreamText { fin, joined, .. } => {
            let text = if joined {
                validator.last_joined()
            } else {
                utf8::validate(bytes)
            };
            match text {
                Ok(text) => Event::Fragment(Fragment::Text { text, fin }),
                Err(_) => Event::Closed(st.internal("decided text is not UTF-8", out)),
            }
        }
        Ready::StreamBinary { fin, .. } => Event::Fragment(Fragment::Binary { bytes, fin }),
        Ready::Ping(_) => Event::Ping(bytes),
        Ready::Pong(_) => Event::Pong(bytes),
        Ready::CloseReceived { code, .. } => match core::str::from_utf8(bytes) {
            // Validated when the frame was decoded.
            Ok(reason) => Event::CloseReceived(CloseFrame { code, reason }),
            Err(_) => Event::Closed(st.internal("close reason changed", out)),
        },
        Ready::Closed(closed) => Event::Closed(closed),
        Ready::Request => match head {
            Some(o) => Event::Request(Request {
                bytes: buf.bytes(),
                head: &o.head,
                websocket: o.is_websocket(),
            }),
            None => Event::Closed(st.internal("request without a head", out)),
        },
        Ready::Accepted => match head {
            Some(o) => Event::Accepted(Response {
                bytes: buf.bytes(),
                head: &o.head,
                body: Span::default(),
            }),
            None => Event::Closed(st.internal("response without a head", out)),
        },
        Ready::Rejected => match head {
            Some(o) => Event::Rejected(Response {
                bytes: buf.bytes(),
                head: &o.head,
                body: o.body,
            }),
            None => Event::Closed(st.internal("response without a head", out)),
        },
    }
}
