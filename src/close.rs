//! Close codes and close frame payloads (§5.5.1, §7.4): examples on [`CloseCode`] and
//! [`CloseFrame`].

use core::fmt;

use crate::error::{ProtocolError, SendError};

/// The longest close reason: a control frame payload is at most 125 bytes, 2 of them the code
/// (checked by [`CloseFrame::check_sendable`]).
/// Example on [`CloseFrame`].
pub const MAX_REASON_LEN: usize = 123;

/// A close status code (§7.4).
///
/// A plain `u16` newtype: any value can be represented, and [`is_sendable`](Self::is_sendable)
/// and [`is_receivable`](Self::is_receivable) say which ones may appear on the wire.
/// [`NO_STATUS`](Self::NO_STATUS), [`ABNORMAL`](Self::ABNORMAL) and
/// [`TLS_HANDSHAKE`](Self::TLS_HANDSHAKE) are reported locally only and can never be sent.
///
/// ```
/// use wsmachine::CloseCode;
/// assert!(CloseCode::NORMAL.is_sendable() && CloseCode(4000).is_sendable());
/// assert!(!CloseCode::ABNORMAL.is_sendable() && !CloseCode(999).is_receivable());
/// assert_eq!(u16::from(CloseCode::GOING_AWAY), 1001);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure (example on [`CloseCode`]).
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation) (example on [`CloseCode`]).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol (example on [`CloseCode`]).
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept (example on [`CloseCode`]).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: the close frame carried no status code (local only, never sent) (example on [`CloseCode`]).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection ended without a closing handshake (local only, never sent) (example on [`CloseCode`]).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type, such as invalid UTF-8 in text (example on [`CloseCode`]).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy (example on [`CloseCode`]).
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message is too big to process (example on [`CloseCode`]).
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client needed an extension the server did not negotiate (example on [`CloseCode`]).
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: an unexpected condition inside the server (example on [`CloseCode`]).
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry) (example on [`CloseCode`]).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry) (example on [`CloseCode`]).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response (IANA registry) (example on [`CloseCode`]).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed (local only, never sent) (example on [`CloseCode`]).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may be sent in a close frame (example on [`CloseCode`]).
    ///
    /// Allowed: 1000-1003, 1007-1014 (1012-1014 are registered with IANA after RFC 6455), and
    /// 3000-4999 (registered and private use). Everything else, including the local-only
    /// 1005, 1006 and 1015, is refused (§7.4.1, §7.4.2).
    #[must_use]
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// Whether a received close frame may carry this code; the same set as
    /// [`is_sendable`](Self::is_sendable). Any other code fails the connection with 1002.
    /// Example on [`CloseCode`].
    #[must_use]
    pub const fn is_receivable(self) -> bool {
        self.is_sendable()
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The contents of a close frame: a code and a UTF-8 reason.
///
/// A close frame with an empty payload is represented with [`CloseCode::NO_STATUS`] and an
/// empty reason.
///
/// ```
/// use wsmachine::{CloseCode, CloseFrame};
/// let frame = CloseFrame::parse(b"\x03\xe8bye").unwrap();
/// assert_eq!(frame, CloseFrame { code: CloseCode::NORMAL, reason: "bye" });
/// assert_eq!(frame.payload_len(), 5);
/// assert!(frame.check_sendable().is_ok());
/// assert_eq!(CloseFrame::parse(b"").unwrap().code, CloseCode::NO_STATUS);
/// assert!(CloseFrame::parse(b"\x03").is_err()); // one byte: no code
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code, or [`CloseCode::NO_STATUS`] if the frame carried none.
    pub code: CloseCode,
    /// The reason, at most 123 bytes.
    pub reason: &'a str,
}

impl<'a> CloseFrame<'a> {
    /// Decodes a received close payload, §5.5.1 (example on [`CloseFrame`]).
    ///
    /// # Errors
    ///
    /// [`ProtocolError::CloseFrameTooShort`] for a 1-byte payload,
    /// [`ProtocolError::InvalidCloseCode`] for a code that may not be sent (§7.4), and
    /// [`ProtocolError::InvalidCloseReason`] for a reason that is not UTF-8.
    pub fn parse(payload: &'a [u8]) -> Result<CloseFrame<'a>, ProtocolError> {
        match payload.split_first_chunk::<2>() {
            None if payload.is_empty() => Ok(CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: "",
            }),
            None => Err(ProtocolError::CloseFrameTooShort),
            Some((code, reason)) => {
                let code = CloseCode(u16::from_be_bytes(*code));
                if !code.is_receivable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                let reason =
                    crate::utf8::validate(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
                Ok(CloseFrame { code, reason })
            }
        }
    }

    /// Checks that this frame may be sent: a sendable code and a reason of at most 123 bytes.
    /// [`CloseCode::NO_STATUS`] is refused like every local-only code: only an automatic reply
    /// to an empty close frame sends an empty payload.
    /// Example on [`CloseFrame`].
    ///
    /// # Errors
    ///
    /// [`SendError::CloseCodeNotSendable`] or [`SendError::ReasonTooLong`].
    pub fn check_sendable(&self) -> Result<(), SendError> {
        if !self.code.is_sendable() {
            return Err(SendError::CloseCodeNotSendable(self.code.0));
        }
        if self.reason.len() > MAX_REASON_LEN {
            return Err(SendError::ReasonTooLong);
        }
        Ok(())
    }

    /// The encoded payload length: 0 for an empty close, else 2 plus the reason (example on
    /// [`CloseFrame`]).
    #[must_use]
    pub fn payload_len(&self) -> usize {
        if self.code == CloseCode::NO_STATUS {
            0
        } else {
            2 + self.reason.len()
        }
    }

    /// Writes the payload (code then reason) into `out`; returns the bytes written.
    pub(crate) fn write_payload(&self, out: &mut [u8]) -> usize {
        if self.code == CloseCode::NO_STATUS {
            return 0;
        }
        let mut n = 0;
        for (dst, src) in out.iter_mut().zip(
            self.code
                .0
                .to_be_bytes()
                .iter()
                .chain(self.reason.as_bytes()),
        ) {
            *dst = *src;
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_table() {
        let allowed = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ];
        for code in 0..6000u16 {
            let expected = allowed.contains(&code) || (3000..=4999).contains(&code);
            assert_eq!(CloseCode(code).is_sendable(), expected, "{code}");
        }
    }

    #[test]
    fn empty_payload_means_no_status() {
        let f = CloseFrame::parse(&[]).unwrap();
        assert_eq!(f.code, CloseCode::NO_STATUS);
        assert_eq!(f.payload_len(), 0);
    }
}
