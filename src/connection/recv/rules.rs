//! The frame rules: the one place that decides whether a received frame is acceptable, and
//! how it is delivered.
//!
//! Every path that looks at a frame header asks [`FrameRules::classify`]: the general decoder,
//! the poll-time fast path for whole messages, and the small-message lane that `receive`
//! fills ahead of the events. So the rules of §5.1 (masking), §5.2 (RSV bits, opcodes), §5.4
//! (fragmentation), RFC 7692 §6 (RSV1 for compressed messages) and the configured limits are
//! written once.

use crate::config::{Config, Delivery};
use crate::error::ProtocolError;
use crate::event::MessageKind;
use crate::frame::{FrameHeader, OpCode};
use crate::role::Role;

/// The data message being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageState {
    pub(crate) kind: MessageKind,
    /// Frames so far, this one included.
    pub(crate) frames: usize,
    /// Payload bytes so far (compressed bytes for a compressed message).
    pub(crate) len: u64,
    /// Assembled in the message buffer (else: a single frame read in place, or streamed).
    pub(crate) buffered: bool,
    /// Compressed with permessage-deflate (RSV1 on its first frame).
    pub(crate) compressed: bool,
}

/// What a frame is, once it passed the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A close, ping or pong frame (its length and FIN were checked by the header parser,
    /// §5.5).
    Control,
    /// A text, binary or continuation frame; `message` is the message with this frame
    /// counted. `whole`: a one-frame, uncompressed message within every limit, in assembled
    /// delivery, which can be handed out straight from the input buffer once its payload is
    /// there.
    Data { message: MessageState, whole: bool },
}

/// The frame rules of one connection: the configuration, the role and the negotiated
/// extensions, folded once into the values every frame is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameRules {
    /// Frames must be masked (we are the server, §5.1); else they must not be.
    masked: bool,
    /// permessage-deflate was negotiated: RSV1 marks a compressed message.
    deflate: bool,
    /// Whole messages are delivered (`Delivery::Assembled`): the message limits apply.
    assembled: bool,
    max_frame: u64,
    max_message: u64,
    /// Applies to assembled delivery only: streaming passes a message of any number of
    /// frames with bounded memory (each frame costs its own bytes, nothing more).
    max_fragments: usize,
    /// What `small_max` finds, kept: the small-message lane asks for it on every read.
    small_max: Option<u8>,
}

impl FrameRules {
    pub(crate) fn new(role: Role, config: &Config) -> FrameRules {
        let assembled = config.delivery == Delivery::Assembled;
        let mut rules = FrameRules {
            masked: role.is_server(),
            deflate: false,
            assembled,
            max_frame: config.max_frame_size as u64,
            max_message: config.max_message_size as u64,
            max_fragments: if assembled {
                config.max_fragments.max(1)
            } else {
                usize::MAX
            },
            small_max: None,
        };
        rules.small_max = rules.small_max();
        rules
    }

    /// permessage-deflate was negotiated: RSV1 may mark the first frame of a message.
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    pub(crate) fn allow_compression(&mut self) {
        self.deflate = true;
        self.small_max = self.small_max();
    }

    /// The header length of a frame with a payload under 126 bytes: 2, plus a masking key
    /// when frames must carry one.
    #[inline]
    pub(crate) const fn short_header_len(&self) -> usize {
        if self.masked {
            6
        } else {
            2
        }
    }

    /// Classifies `h` against the rules and the message in progress (`None`: between
    /// messages). The one function that decides whether a frame is acceptable.
    ///
    /// # Errors
    ///
    /// The [`ProtocolError`] the connection fails with, checked in this order: RSV bits,
    /// masking, frame size, fragment sequence, fragment count, message size.
    #[inline(always)]
    pub(crate) fn classify(
        &self,
        h: &FrameHeader,
        message: Option<&MessageState>,
    ) -> Result<Class, ProtocolError> {
        // RSV1 marks the first frame of a compressed message, and only that (RFC 7692 §6).
        let compressed = match h.rsv {
            0 => false,
            0b100 if self.deflate && matches!(h.opcode, OpCode::Text | OpCode::Binary) => true,
            bits => return Err(ProtocolError::UnexpectedRsvBits(bits)),
        };
        if h.mask.is_some() != self.masked {
            return Err(if self.masked {
                ProtocolError::UnmaskedClientFrame
            } else {
                ProtocolError::MaskedServerFrame
            });
        }
        let kind = match h.opcode {
            OpCode::Text => MessageKind::Text,
            OpCode::Binary => MessageKind::Binary,
            OpCode::Continuation => return self.continuation(h, message),
            OpCode::Close | OpCode::Ping | OpCode::Pong => return Ok(Class::Control),
        };
        if h.payload_len > self.max_frame {
            return Err(ProtocolError::FrameTooLarge);
        }
        if message.is_some() {
            return Err(ProtocolError::ExpectedContinuation);
        }
        if self.assembled && h.payload_len > self.max_message {
            return Err(ProtocolError::MessageTooLarge);
        }
        let whole = self.assembled && h.fin && !compressed;
        Ok(Class::Data {
            message: MessageState {
                kind,
                frames: 1,
                len: h.payload_len,
                buffered: self.assembled && (!h.fin || compressed),
                compressed,
            },
            whole,
        })
    }

    #[inline]
    fn continuation(
        &self,
        h: &FrameHeader,
        message: Option<&MessageState>,
    ) -> Result<Class, ProtocolError> {
        if h.payload_len > self.max_frame {
            return Err(ProtocolError::FrameTooLarge);
        }
        let Some(m) = message else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        let next = MessageState {
            frames: m.frames.saturating_add(1),
            len: m.len.saturating_add(h.payload_len),
            ..*m
        };
        if next.frames > self.max_fragments {
            return Err(ProtocolError::TooManyFragments);
        }
        // The size summed across fragments; for a compressed message this bounds the
        // compressed bytes, and inflating checks the decompressed size as it goes.
        if self.assembled && next.len > self.max_message {
            return Err(ProtocolError::MessageTooLarge);
        }
        Ok(Class::Data {
            message: next,
            whole: false,
        })
    }

    /// The lane's question, from the first two bytes of a frame alone: the payload length
    /// and kind of a whole message of at most 125 bytes, if `classify` makes it one.
    #[inline(always)]
    pub(crate) fn small_whole(&self, b0: u8, b1: u8) -> Option<(usize, MessageKind)> {
        let len = b1 & 0x7F;
        // 126 and 127 announce an extended length: not a small frame.
        if len > 125 {
            return None;
        }
        // A reserved opcode is refused by the header parser before any rule; it is simply
        // not a small whole message.
        let opcode = OpCode::from_u8(b0 & 0x0F)?;
        match self.classify(&small_header(b0, opcode, b1), None) {
            Ok(Class::Data {
                message,
                whole: true,
            }) => Some((usize::from(len), message.kind)),
            _ => None,
        }
    }

    /// The longest payload of at most 125 bytes that `classify` takes as a whole message
    /// (a FIN binary frame, masked as required), or `None` if there is none: the limits only
    /// bound lengths from above, so every shorter payload qualifies too. Found by asking
    /// `classify` itself, so that a new rule reaches the lane without being written twice.
    fn small_max(&self) -> Option<u8> {
        let mask = if self.masked { 0x80 } else { 0 };
        let whole = |len: u8| self.small_whole(0x82, mask | len).is_some();
        if !whole(0) {
            return None;
        }
        // The largest `len` in 0..=125 with `whole(len)`: a binary search.
        let (mut ok, mut bad) = (0u8, 126u8);
        while bad - ok > 1 {
            let mid = ok + (bad - ok) / 2;
            if whole(mid) {
                ok = mid;
            } else {
                bad = mid;
            }
        }
        Some(ok)
    }
}

/// The header of a frame with a payload under 126 bytes, from its first two bytes (only the
/// presence of a masking key matters to the rules).
#[inline(always)]
fn small_header(b0: u8, opcode: OpCode, b1: u8) -> FrameHeader {
    FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode,
        mask: (b1 & 0x80 != 0).then_some([0; 4]),
        payload_len: u64::from(b1 & 0x7F),
    }
}

/// What the lane learnt from `classify` about one first byte and mask bit, kept across
/// reads: a stream of small messages repeats them, so `classify` runs once per change of
/// kind, not once per read. Reset whenever the rules change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LaneMemo {
    /// The first byte and mask bit last classified (`u16::MAX`: none).
    seen: u16,
    kind: Option<MessageKind>,
}

impl Default for LaneMemo {
    fn default() -> LaneMemo {
        LaneMemo {
            seen: u16::MAX,
            kind: None,
        }
    }
}

/// The lane's per-frame test within one `receive` or `commit_read` call:
/// [`FrameRules::small_whole`], with `classify` asked once per distinct first byte and mask
/// bit ([`LaneMemo`]) and the length compared with [`FrameRules::small_max`].
pub(crate) struct SmallFrames {
    max_len: u8,
    memo: LaneMemo,
}

impl SmallFrames {
    /// `None` when no frame can be a small whole message (streaming delivery, limits).
    #[inline]
    pub(crate) fn new(rules: &FrameRules, memo: LaneMemo) -> Option<SmallFrames> {
        if !rules.assembled {
            return None;
        }
        Some(SmallFrames {
            max_len: rules.small_max?,
            memo,
        })
    }

    /// What was learnt, to keep for the next read.
    #[inline]
    pub(crate) fn memo(&self) -> LaneMemo {
        self.memo
    }

    /// The payload length of the frame that starts `rest` and whether it is text, if it is a
    /// small whole message under `rules` (the rules `new` was given; its payload may still
    /// be incomplete).
    #[inline(always)]
    pub(crate) fn frame(&mut self, rules: &FrameRules, rest: &[u8]) -> Option<(usize, bool)> {
        let &[b0, b1] = rest.first_chunk::<2>()?;
        let len = b1 & 0x7F;
        if len > self.max_len {
            return None;
        }
        let key = u16::from(b0) << 8 | u16::from(b1 & 0x80);
        if key != self.memo.seen {
            self.memo = LaneMemo {
                seen: key,
                kind: rules.small_whole(b0, b1 & 0x80).map(|(_, kind)| kind),
            };
        }
        let kind = self.memo.kind?;
        Some((usize::from(len), kind == MessageKind::Text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OpCode::*;

    fn header(fin: bool, rsv: u8, opcode: OpCode, masked: bool, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask: masked.then_some([1, 2, 3, 4]),
            payload_len: len,
        }
    }

    fn started(kind: MessageKind, frames: usize, len: u64, buffered: bool) -> MessageState {
        MessageState {
            kind,
            frames,
            len,
            buffered,
            compressed: false,
        }
    }

    fn server(config: Config) -> FrameRules {
        FrameRules::new(Role::Server, &config)
    }

    /// One line per rule: the header, the message in progress, and the verdict.
    #[test]
    fn rule_table() {
        use ProtocolError as E;
        let small = Config::new()
            .with_max_frame_size(100)
            .with_max_message_size(150)
            .with_max_fragments(3);
        let text1 = started(MessageKind::Text, 1, 60, true);
        let text3 = started(MessageKind::Text, 3, 60, true);
        let whole = |kind, len| {
            Ok(Class::Data {
                message: started(kind, 1, len, false),
                whole: true,
            })
        };
        let rows: &[(
            FrameHeader,
            Option<MessageState>,
            Result<Class, ProtocolError>,
        )] = &[
            // §5.1: masking by role.
            (
                header(true, 0, Text, true, 5),
                None,
                whole(MessageKind::Text, 5),
            ),
            (
                header(true, 0, Text, false, 5),
                None,
                Err(E::UnmaskedClientFrame),
            ),
            (
                header(true, 0, Ping, false, 5),
                None,
                Err(E::UnmaskedClientFrame),
            ),
            // §5.2: RSV bits without an extension, on any frame.
            (
                header(true, 0b100, Text, true, 5),
                None,
                Err(E::UnexpectedRsvBits(4)),
            ),
            (
                header(true, 0b010, Ping, true, 0),
                None,
                Err(E::UnexpectedRsvBits(2)),
            ),
            (
                header(true, 0b001, Binary, true, 0),
                None,
                Err(E::UnexpectedRsvBits(1)),
            ),
            // Limits: frame size, then message size.
            (
                header(true, 0, Binary, true, 100),
                None,
                whole(MessageKind::Binary, 100),
            ),
            (
                header(true, 0, Binary, true, 101),
                None,
                Err(E::FrameTooLarge),
            ),
            // §5.4: sequence.
            (
                header(false, 0, Text, true, 60),
                None,
                Ok(Class::Data {
                    message: text1,
                    whole: false,
                }),
            ),
            (
                header(true, 0, Continuation, true, 1),
                None,
                Err(E::UnexpectedContinuation),
            ),
            (
                header(true, 0, Binary, true, 1),
                Some(text1),
                Err(E::ExpectedContinuation),
            ),
            (
                header(true, 0, Ping, true, 1),
                Some(text1),
                Ok(Class::Control),
            ),
            (
                header(false, 0, Continuation, true, 40),
                Some(text1),
                Ok(Class::Data {
                    message: started(MessageKind::Text, 2, 100, true),
                    whole: false,
                }),
            ),
            // The size summed across fragments, and the fragment count.
            (
                header(true, 0, Continuation, true, 91),
                Some(text1),
                Err(E::MessageTooLarge),
            ),
            (
                header(true, 0, Continuation, true, 0),
                Some(text3),
                Err(E::TooManyFragments),
            ),
            (
                header(true, 0, Continuation, true, 101),
                Some(text1),
                Err(E::FrameTooLarge),
            ),
        ];
        let rules = server(small);
        for (i, (h, m, expected)) in rows.iter().enumerate() {
            assert_eq!(rules.classify(h, m.as_ref()), *expected, "row {i}: {h:?}");
        }
    }

    #[test]
    fn client_side_rejects_masked_frames() {
        let rules = FrameRules::new(Role::Client, &Config::new());
        assert_eq!(
            rules.classify(&header(true, 0, Text, true, 1), None),
            Err(ProtocolError::MaskedServerFrame)
        );
        assert!(matches!(
            rules.classify(&header(true, 0, Text, false, 1), None),
            Ok(Class::Data { whole: true, .. })
        ));
    }

    /// RFC 7692 §6: with permessage-deflate, RSV1 on the first data frame only.
    #[test]
    fn rsv1_only_with_deflate_and_on_first_data_frames() {
        let mut rules = server(Config::new());
        rules.allow_compression();
        let Ok(Class::Data { message, whole }) =
            rules.classify(&header(true, 0b100, Text, true, 5), None)
        else {
            panic!("compressed text refused")
        };
        assert!(message.compressed && message.buffered && !whole);
        for op in [Ping, Close, Continuation] {
            let m = started(MessageKind::Text, 1, 1, true);
            assert_eq!(
                rules.classify(&header(true, 0b100, op, true, 0), Some(&m)),
                Err(ProtocolError::UnexpectedRsvBits(4)),
                "{op:?}"
            );
        }
    }

    /// Streaming delivery: no whole messages, no message size or fragment count limits.
    #[test]
    fn streaming_has_no_message_limits() {
        let rules = server(
            Config::new()
                .with_delivery(Delivery::Streaming)
                .with_max_message_size(10)
                .with_max_fragments(1),
        );
        let m = started(MessageKind::Binary, 10_000, 1 << 40, false);
        assert_eq!(
            rules.classify(&header(false, 0, Continuation, true, 1000), Some(&m)),
            Ok(Class::Data {
                message: started(MessageKind::Binary, 10_001, (1 << 40) + 1000, false),
                whole: false
            })
        );
        assert!(matches!(
            rules.classify(&header(true, 0, Text, true, 100), None),
            Ok(Class::Data { whole: false, .. })
        ));
        assert_eq!(rules.small_whole(0x81, 0x85), None);
    }

    /// The lane's cached test answers exactly as `small_whole` for every pair of first bytes,
    /// whatever came before it in the run.
    #[test]
    fn small_frames_agree_with_small_whole() {
        for config in [
            Config::new(),
            Config::new().with_max_frame_size(10),
            Config::new().with_max_message_size(0),
            Config::new()
                .with_max_frame_size(125)
                .with_max_message_size(126),
        ] {
            for role in [Role::Server, Role::Client] {
                let rules = FrameRules::new(role, &config);
                let mut lane = SmallFrames::new(&rules, LaneMemo::default());
                for b0 in (0..=255u8).rev() {
                    for b1 in 0..=255u8 {
                        let expected = rules
                            .small_whole(b0, b1)
                            .map(|(len, kind)| (len, kind == MessageKind::Text));
                        let got = lane.as_mut().and_then(|l| l.frame(&rules, &[b0, b1]));
                        assert_eq!(got, expected, "{config:?} {role:?} {b0:#x} {b1:#x}");
                    }
                }
            }
        }
    }

    /// The lane asks the same function: every first-two-bytes combination agrees with a
    /// full classification of the same header.
    #[test]
    fn small_whole_agrees_with_classify() {
        for config in [
            Config::new(),
            Config::new().with_max_frame_size(10),
            Config::new().with_max_message_size(20),
        ] {
            for role in [Role::Server, Role::Client] {
                let rules = FrameRules::new(role, &config);
                for b0 in 0..=255u8 {
                    for b1 in 0..=255u8 {
                        let len = u64::from(b1 & 0x7F);
                        let expected = OpCode::from_u8(b0 & 0x0F).and_then(|opcode| {
                            let h = FrameHeader {
                                fin: b0 & 0x80 != 0,
                                rsv: (b0 >> 4) & 7,
                                opcode,
                                mask: (b1 & 0x80 != 0).then_some([9; 4]),
                                payload_len: len,
                            };
                            match rules.classify(&h, None) {
                                Ok(Class::Data {
                                    message,
                                    whole: true,
                                }) if len <= 125 => Some((len as usize, message.kind)),
                                _ => None,
                            }
                        });
                        assert_eq!(rules.small_whole(b0, b1), expected, "{b0:#x} {b1:#x}");
                    }
                }
            }
        }
    }
}
