//! The frame codec (§5.2): parse and encode frame headers.
//!
//! Pure functions over byte slices: no state, no allocation. A header that is not complete yet
//! parses to [`Status::Partial`] ("feed me more"), which is not an error. Rules that hold for
//! every frame whatever the connection state (reserved opcodes, control frame size and
//! fragmentation, length encoding) are checked here; rules that depend on the connection
//! (masking direction, RSV bits, fragmentation sequence, size limits) are checked by the
//! connection.
//!
//! ```
//! use wsmachine::frame::{FrameHeader, OpCode, Status};
//! // §5.7: a single-frame unmasked text message "Hello".
//! let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
//! let Ok(Status::Complete((header, len))) = FrameHeader::parse(&bytes) else { panic!() };
//! assert_eq!((header.opcode, header.fin, header.payload_len, len), (OpCode::Text, true, 5, 2));
//! let mut out = [0u8; wsmachine::frame::MAX_HEADER_LEN];
//! let n = header.encode(&mut out);
//! assert_eq!(&out[..n], &bytes[..2]);
//! assert_eq!(FrameHeader::parse(&bytes[..1]), Ok(Status::Partial));
//! assert!(OpCode::from_u8(0x9).is_some_and(OpCode::is_control));
//! assert_eq!((OpCode::Pong.as_u8(), OpCode::from_u8(3)), (0xA, None));
//! // Building a header: a binary frame of 300 bytes needs the 16-bit length.
//! let header = wsmachine::frame::EncodedHeader::new(&FrameHeader::new(OpCode::Binary, true, 300));
//! assert_eq!(header.as_bytes(), [0x82, 126, 0x01, 0x2c]);
//! assert!(header.as_bytes().len() <= wsmachine::frame::MAX_HEADER_LEN);
//! assert_eq!(FrameHeader::new(OpCode::Binary, true, 300).encoded_len(), 4);
//! ```
//!
//! Every item here is covered by this example; the masking functions have their own.

mod mask;

pub use mask::{apply_mask, apply_mask_copy, apply_mask_reference};
pub(crate) use mask::{mask_copy_blocks, mask_copy_small, mask_small, KEY_REPEAT};

use crate::error::ProtocolError;

/// The longest possible frame header: 2 bytes, an 8-byte length and a 4-byte mask key
/// (example in the [module docs](self)).
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry, §5.5 (see
/// [`OpCode::is_control`], example in the [module docs](self)).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The encoded size of a header for `payload_len` bytes, with or without a mask key.
#[inline]
pub(crate) const fn header_len(payload_len: u64, masked: bool) -> usize {
    let len = match payload_len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    };
    if masked {
        len + 4
    } else {
        len
    }
}

/// The size of a header whose second byte (mask bit and 7-bit length) is `b1`.
#[inline]
pub(crate) const fn header_len_from_b1(b1: u8) -> usize {
    let len = match b1 & 0x7F {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    if b1 & 0x80 != 0 {
        len + 4
    } else {
        len
    }
}

/// Frame opcodes defined by RFC 6455 (§5.2). Reserved values are rejected when parsing.
/// Example in the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: a continuation of a fragmented message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: a close frame (§5.5.1).
    Close,
    /// `0x9`: a ping (§5.5.2).
    Ping,
    /// `0xA`: a pong (§5.5.3).
    Pong,
}

impl OpCode {
    /// Decodes a 4-bit opcode; `None` for the reserved values 3-7 and 11-15 (example in the
    /// [module docs](self)).
    #[must_use]
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value (example in the [module docs](self)).
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Control opcodes (close, ping, pong) have the high bit of the opcode set, §5.5 (example
    /// in the [module docs](self)).
    #[must_use]
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// The outcome of parsing something that may not have fully arrived yet (example in the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// Parsing finished.
    Complete(T),
    /// More bytes are needed; call again with a longer slice.
    Partial,
}

/// A decoded frame header, §5.2 (example in the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final frame of a message.
    pub fin: bool,
    /// RSV1, RSV2 and RSV3 as the low three bits (`0b100` is RSV1).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present exactly when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header with FIN as given, no RSV bits and no mask (example in the
    /// [module docs](self)).
    #[must_use]
    pub const fn new(opcode: OpCode, fin: bool, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Parses a header from the start of `buf`.
    /// Example in the [module docs](self).
    ///
    /// Returns the header and its length in bytes, or [`Status::Partial`] if `buf` holds only
    /// part of it. Fails as soon as the bytes seen are invalid, even if the header is not
    /// complete: a reserved opcode or a bad control frame fails after two bytes.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::ReservedOpcode`], [`ProtocolError::FragmentedControlFrame`],
    /// [`ProtocolError::ControlFrameTooLong`] (§5.5), [`ProtocolError::LengthTopBitSet`] and
    /// [`ProtocolError::NonMinimalLength`] (§5.2).
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        let Some((&[b0, b1], rest)) = buf.split_first_chunk::<2>() else {
            return Ok(Status::Partial);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        let Some(opcode) = OpCode::from_u8(b0 & 0x0F) else {
            return Err(ProtocolError::ReservedOpcode(b0 & 0x0F));
        };
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let (payload_len, rest) = match len7 {
            126 => {
                let Some((len, rest)) = rest.split_first_chunk::<2>() else {
                    return Ok(Status::Partial);
                };
                let len = u16::from_be_bytes(*len);
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (u64::from(len), rest)
            }
            127 => {
                let Some((len, rest)) = rest.split_first_chunk::<8>() else {
                    return Ok(Status::Partial);
                };
                let len = u64::from_be_bytes(*len);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthTopBitSet);
                }
                if len <= 0xFFFF {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, rest)
            }
            n => (u64::from(n), rest),
        };
        let (mask, rest) = if b1 & 0x80 != 0 {
            let Some((key, rest)) = rest.split_first_chunk::<4>() else {
                return Ok(Status::Partial);
            };
            (Some(*key), rest)
        } else {
            (None, rest)
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Status::Complete((header, buf.len() - rest.len())))
    }

    /// The number of bytes [`encode`](Self::encode) writes for this header.
    /// Example in the [module docs](self).
    #[must_use]
    #[inline]
    pub const fn encoded_len(&self) -> usize {
        header_len(self.payload_len, self.mask.is_some())
    }

    /// Encodes the header into `out` with the minimal length encoding and returns the number
    /// of bytes written (example in the [module docs](self)).
    ///
    /// The header is written as given: the caller keeps control frames within 125 bytes and
    /// `payload_len` below 2^63.
    #[inline]
    #[must_use = "the header is only the first bytes of `out`"]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                let [a, b] = (n as u16).to_be_bytes();
                out[2] = a;
                out[3] = b;
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        match (self.mask, out.get_mut(len..len + 4)) {
            (Some(key), Some(dst)) => {
                dst.copy_from_slice(&key);
                len + 4
            }
            _ => len,
        }
    }
}

/// An encoded frame header, for writing a payload that is not copied into the connection
/// (see [`Connection::encode_unbuffered`](crate::Connection::encode_unbuffered)).
/// Example in the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// Encodes `header` (example in the [module docs](self)).
    #[must_use]
    pub fn new(header: &FrameHeader) -> EncodedHeader {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let len = header.encode(&mut bytes) as u8;
        EncodedHeader { bytes, len }
    }

    /// The header's bytes (example in the [module docs](self)).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_len_from_b1_matches_encoding() {
        for masked in [false, true] {
            for len7 in 0..=127u8 {
                let payload = match len7 {
                    126 => 300,
                    127 => 70_000,
                    n => u64::from(n),
                };
                let b1 = len7 | if masked { 0x80 } else { 0 };
                let encoded = EncodedHeader::new(&FrameHeader {
                    mask: masked.then_some([1, 2, 3, 4]),
                    ..FrameHeader::new(OpCode::Binary, true, payload)
                });
                assert_eq!(
                    header_len_from_b1(b1),
                    encoded.as_bytes().len(),
                    "b1 {b1:#x}"
                );
            }
        }
    }

    fn parse_ok(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::parse(bytes) {
            Ok(Status::Complete(h)) => h,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_prefix_of_a_valid_header_is_partial() {
        let bytes = [0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
        for n in 0..bytes.len() {
            assert_eq!(
                FrameHeader::parse(&bytes[..n]),
                Ok(Status::Partial),
                "prefix {n}"
            );
        }
        let (h, len) = parse_ok(&bytes);
        assert_eq!(len, 14);
        assert_eq!(h.payload_len, 1 << 32);
        assert_eq!(h.mask, Some([1, 2, 3, 4]));
    }

    #[test]
    fn reserved_opcode_fails_after_two_bytes() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op, 0x80]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn encode_uses_minimal_lengths() {
        for (len, expected) in [(0u64, 2), (125, 2), (126, 4), (0xFFFF, 4), (0x10000, 10)] {
            let h = FrameHeader::new(OpCode::Binary, true, len);
            let mut out = [0; MAX_HEADER_LEN];
            let n = h.encode(&mut out);
            assert_eq!(n, expected);
            assert_eq!(n, h.encoded_len());
            assert_eq!(parse_ok(&out[..n]), (h, n));
        }
    }
}
