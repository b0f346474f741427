//! Frame by frame decoding: parse a header, ask the frame rules what it is, then hand the
//! frame to delivery; control frames and their automatic replies are handled here.

use crate::close::CloseFrame;
use crate::connection::recv::rules::Class;
use crate::connection::recv::{end_of_stream, on_close, FrameState, Inbound, Owed, Ready};
use crate::connection::send::Outbound;
use crate::event::{CloseCause, MessageKind};
use crate::frame::{FrameHeader, OpCode, Status};

/// Outcome of one decoding step.
pub(super) enum Flow {
    Ready(Ready),
    /// Need more input.
    More,
    /// Progress was made; step again.
    Again,
}

impl Inbound {
    /// The fast path of [`Connection::poll_event`](crate::Connection::poll_event): a whole
    /// one-frame data message next in the buffer. Anything else returns `None` with nothing
    /// changed but what the previous event owed; the general decoder then decides the same
    /// way through the same rules.
    #[inline]
    pub(crate) fn fast_message(
        &mut self,
        phase: crate::connection::lifecycle::Phase,
    ) -> Option<Ready> {
        self.settle(phase);
        // No header (at least 2 bytes) at hand, or a frame or message in progress.
        if self.buf.len() < 2 || !self.st.idle() {
            return None;
        }
        self.lane.reached(self.buf.start());
        let Ok(Status::Complete((header, len))) = FrameHeader::parse(self.buf.bytes()) else {
            return None;
        };
        match self.st.rules.classify(&header, None) {
            Ok(Class::Data {
                message,
                whole: true,
            }) => self.whole_message(message.kind, header.payload_len, len),
            _ => None,
        }
    }

    /// A whole message (classified so) whose header of `len` bytes starts the buffer:
    /// delivered in place when its payload is all there (header consumed, payload owed to
    /// the event), else `None` with nothing changed.
    #[inline(always)]
    fn whole_message(&mut self, kind: MessageKind, payload: u64, len: usize) -> Option<Ready> {
        if ((self.buf.len() - len) as u64) < payload {
            return None;
        }
        self.buf.consume(len);
        let st = &mut self.st;
        st.stats.frames += 1;
        st.stats.message(payload);
        let start = self.buf.start();
        let range = start..start + payload as usize;
        st.owed = Owed::Input(payload as usize);
        Some(match kind {
            MessageKind::Text => Ready::Text(range),
            MessageKind::Binary => Ready::Binary(range),
        })
    }

    /// Decodes frames until something is ready or more input is needed.
    pub(crate) fn advance_frames(&mut self, out: &mut Outbound) -> Option<Ready> {
        loop {
            match self.step(out) {
                Flow::Ready(ready) => return Some(ready),
                Flow::Again => {}
                Flow::More => {
                    if out.link.eof() {
                        return end_of_stream(out, CloseCause::Abnormal);
                    }
                    return None;
                }
            }
        }
    }

    fn step(&mut self, out: &mut Outbound) -> Flow {
        let Some(frame) = self.st.frame else {
            return self.next_header(out);
        };
        if frame.opcode.is_control() {
            return self.control(frame, out);
        }
        if self.st.config.delivery == crate::config::Delivery::Assembled {
            self.assemble(frame, out)
        } else {
            self.stream(frame, out)
        }
    }

    /// Parses and classifies the next header; a whole message is delivered at once.
    fn next_header(&mut self, out: &mut Outbound) -> Flow {
        self.lane.reached(self.buf.start());
        let (header, len) = match FrameHeader::parse(self.buf.bytes()) {
            Ok(Status::Complete(parsed)) => parsed,
            Ok(Status::Partial) => return Flow::More,
            Err(e) => return Flow::Ready(Ready::Closed(self.st.fail(e, out))),
        };
        let message = match self.st.rules.classify(&header, self.st.message.as_ref()) {
            Ok(Class::Control) => None,
            Ok(Class::Data { message, whole }) => {
                if whole {
                    if let Some(ready) = self.whole_message(message.kind, header.payload_len, len) {
                        return Flow::Ready(ready);
                    }
                }
                Some(message)
            }
            Err(e) => return Flow::Ready(Ready::Closed(self.st.fail(e, out))),
        };
        self.buf.consume(len);
        self.st.stats.frames += 1;
        self.st.frame = Some(FrameState {
            opcode: header.opcode,
            fin: header.fin,
            left: header.payload_len,
        });
        if let Some(message) = message {
            if message.frames == 1 && message.buffered {
                // The first frame of a message assembled in the message buffer.
                self.msg.start(message.kind);
            }
            self.st.message = Some(message);
        }
        Flow::Again
    }

    #[inline(never)]
    fn control(&mut self, frame: FrameState, out: &mut Outbound) -> Flow {
        // Control payloads are at most 125 bytes (the header parser checked): wait for the
        // whole frame.
        let len = frame.left as usize;
        let start = self.buf.start();
        let range = start..start + len;
        let Some(payload) = self
            .buf
            .data()
            .get(range.clone())
            .filter(|_| self.buf.len() >= len)
        else {
            return Flow::More;
        };
        self.st.owed = Owed::Input(len);
        self.st.frame = None;
        Flow::Ready(match frame.opcode {
            OpCode::Ping => {
                self.st.stats.pings += 1;
                if self.st.config.auto_pong {
                    out.queue_pong(payload);
                }
                Ready::Ping(range)
            }
            OpCode::Pong => {
                self.st.stats.pongs += 1;
                out.link.deadlines_mut().pong(payload);
                Ready::Pong(range)
            }
            _ => match CloseFrame::parse(payload) {
                Err(e) => Ready::Closed(self.st.fail(e, out)),
                Ok(close) => {
                    let code = close.code;
                    let reason_start = if len >= 2 { start + 2 } else { start };
                    on_close(&self.st, close, out);
                    Ready::CloseReceived {
                        code,
                        reason: reason_start..start + len,
                    }
                }
            },
        })
    }
}
