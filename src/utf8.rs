//! UTF-8 validation for text messages and close reasons (§5.6, §8.1).
//!
//! Text arrives in pieces (frames, and reads that split frames), and a code point may be split
//! across them. [`Utf8Validator`] carries at most three bytes of an unfinished code point from
//! one piece to the next, and fails on the first piece that holds an invalid byte: §8.1 asks to
//! fail the connection as soon as invalid data is seen, not at the end of the message. Each byte
//! is validated once, by `core::str::from_utf8` or, with the `simd` feature, by `simdutf8`, so
//! validation always produces a `&str` without `unsafe` (example on [`Utf8Validator`]).

use core::fmt;

/// The bytes are not valid UTF-8 (example on [`Utf8Validator`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Utf8Error {}

/// Validates a complete string.
#[inline]
pub(crate) fn validate(bytes: &[u8]) -> Result<&str, Utf8Error> {
    #[cfg(feature = "simd")]
    {
        simdutf8::basic::from_utf8(bytes).map_err(|_| Utf8Error)
    }
    #[cfg(not(feature = "simd"))]
    {
        core::str::from_utf8(bytes).map_err(|_| Utf8Error)
    }
}

/// The number of bytes a code point starting with `lead` has, or 1 for anything that cannot
/// start a multi-byte sequence (ASCII, continuation or invalid bytes).
#[inline]
const fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// The length (0 to 3) of a code point at the end of `bytes` that is not complete yet.
///
/// Returns 0 when the last code point is complete, and also for input that is invalid anyway
/// (validation of the whole then reports it).
#[inline]
pub(crate) fn incomplete_suffix_len(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let Some(&b) = bytes.get(bytes.len() - back) else {
            return 0;
        };
        if b & 0xC0 != 0x80 {
            return if sequence_len(b) > back { back } else { 0 };
        }
    }
    0
}

/// Whether `partial` (1 to 3 bytes) can still become a valid code point: the lead byte and
/// the restricted second-byte ranges of RFC 3629 (no overlongs, surrogates or values above
/// U+10FFFF) are checked, so invalid input fails before the code point is complete.
pub(crate) fn is_valid_partial(partial: &[u8]) -> bool {
    let Some((&lead, rest)) = partial.split_first() else {
        return false;
    };
    let second = match lead {
        0xC2..=0xDF => 0x80..=0xBF,
        0xE0 => 0xA0..=0xBF,
        0xE1..=0xEC | 0xEE..=0xEF => 0x80..=0xBF,
        0xED => 0x80..=0x9F,
        0xF0 => 0x90..=0xBF,
        0xF1..=0xF3 => 0x80..=0xBF,
        0xF4 => 0x80..=0x8F,
        _ => return false,
    };
    if rest.len() + 1 >= sequence_len(lead) {
        return false;
    }
    match rest {
        [] => true,
        [b] => second.contains(b),
        [b, c] => second.contains(b) && (0x80..=0xBF).contains(c),
        _ => false,
    }
}

/// What one call to [`Utf8Validator::feed`] validated.
/// Example on [`Utf8Validator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validated<'v, 'c> {
    /// A code point that started in an earlier chunk and was completed by this one (empty if
    /// none). It precedes `body`.
    pub joined: &'v str,
    /// The rest of the chunk up to its last complete code point.
    pub body: &'c str,
    /// Whether the stream now ends at a code point boundary (no bytes are carried).
    pub at_boundary: bool,
}

/// A streaming UTF-8 validator that accepts input split anywhere.
///
/// ```
/// use wsmachine::utf8::Utf8Validator;
/// let text = "héllo wörld €".as_bytes();
/// let mut v = Utf8Validator::new();
/// let mut out = String::new();
/// for piece in text.chunks(3) {
///     let ok = v.feed(piece).unwrap();
///     out.push_str(ok.joined);
///     out.push_str(ok.body);
/// }
/// v.finish().unwrap();
/// assert_eq!(out.as_bytes(), text);
/// assert!(Utf8Validator::new().feed(&[0xC3, 0x28]).is_err()); // fails at the bad byte
/// let mut v = Utf8Validator::new();
/// assert!(!v.feed(&[0xE2, 0x82]).unwrap().at_boundary); // half of "€"
/// assert_eq!((v.is_at_boundary(), v.bytes_needed()), (false, 1));
/// v.reset();
/// assert!(v.is_at_boundary());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// Bytes of the code point that is still incomplete.
    partial: [u8; 4],
    partial_len: u8,
    /// The last code point completed from carried bytes (borrowed by [`Validated::joined`]).
    joined: [u8; 4],
}

impl Utf8Validator {
    /// A validator at a code point boundary (example on [`Utf8Validator`]).
    #[must_use]
    pub const fn new() -> Utf8Validator {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
            joined: [0; 4],
        }
    }

    /// Validates the next chunk of the stream.
    /// Example on [`Utf8Validator`].
    ///
    /// Returns the validated text; an unfinished code point at the end of `chunk` is kept and
    /// completed by later chunks.
    ///
    /// # Errors
    ///
    /// [`Utf8Error`] as soon as the bytes seen so far cannot be valid UTF-8.
    pub fn feed<'v, 'c>(&'v mut self, chunk: &'c [u8]) -> Result<Validated<'v, 'c>, Utf8Error> {
        let mut rest = chunk;
        let mut joined_len = 0;
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = self.bytes_needed();
            let take = need.min(rest.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dst) = self.partial.get_mut(have..have + take) {
                dst.copy_from_slice(head);
            }
            rest = tail;
            let now = have + take;
            self.partial_len = now as u8;
            let bytes = self.partial.get(..now).unwrap_or(&[]);
            if take < need {
                if !is_valid_partial(bytes) {
                    return Err(Utf8Error);
                }
                return Ok(Validated {
                    joined: "",
                    body: "",
                    at_boundary: false,
                });
            }
            self.joined = self.partial;
            joined_len = now;
            self.partial_len = 0;
        }
        let split = rest.len() - incomplete_suffix_len(rest);
        let (body, tail) = rest.split_at(split);
        let body = validate(body)?;
        if !tail.is_empty() {
            if !is_valid_partial(tail) {
                return Err(Utf8Error);
            }
            if let Some(dst) = self.partial.get_mut(..tail.len()) {
                dst.copy_from_slice(tail);
            }
            self.partial_len = tail.len() as u8;
        }
        let joined = match self.joined.get(..joined_len) {
            Some(bytes) => validate(bytes)?,
            None => "",
        };
        Ok(Validated {
            joined,
            body,
            at_boundary: self.partial_len == 0,
        })
    }

    /// The code point the last [`feed`](Self::feed) completed from carried bytes (its
    /// `joined`), again.
    pub(crate) fn last_joined(&self) -> Result<&str, Utf8Error> {
        let len = self.joined.first().map_or(0, |&lead| sequence_len(lead));
        validate(self.joined.get(..len).unwrap_or_default())
    }

    /// Checks that the stream ended at a code point boundary, and resets the validator.
    /// Example on [`Utf8Validator`].
    ///
    /// # Errors
    ///
    /// [`Utf8Error`] if the stream ended inside a code point.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(Utf8Error)
        }
    }

    /// Whether the validator sits between code points, no bytes carried (example on
    /// [`Utf8Validator`]).
    #[must_use]
    pub const fn is_at_boundary(&self) -> bool {
        self.partial_len == 0
    }

    /// How many more bytes the carried code point needs, 0 when none is carried (see
    /// [`is_at_boundary`](Self::is_at_boundary)).
    /// Example on [`Utf8Validator`].
    #[must_use]
    pub fn bytes_needed(&self) -> usize {
        if self.partial_len == 0 {
            return 0;
        }
        self.partial
            .first()
            .map_or(0, |&lead| sequence_len(lead))
            .saturating_sub(usize::from(self.partial_len))
    }

    /// For streaming delivery: how many bytes at the start of `chunk` (the next bytes of the
    /// text) to deliver now, or `None` when it completes no code point, so that delivering it
    /// would hand over no text: feed it and wait for more. While a code point is carried, only
    /// the bytes that complete it are delivered first (they join the carried ones).
    pub(crate) fn next_piece_len(&self, chunk: &[u8]) -> Option<usize> {
        let needed = self.bytes_needed();
        let len = chunk.len();
        if needed > 0 {
            (len >= needed).then_some(needed)
        } else if len > 0 && incomplete_suffix_len(chunk) == len {
            None
        } else {
            Some(len)
        }
    }

    /// Forgets any carried bytes (see [`is_at_boundary`](Self::is_at_boundary)).
    /// Example on [`Utf8Validator`].
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn next_piece_len_holds_back_only_pieces_without_a_code_point() {
        let mut v = Utf8Validator::new();
        // Nothing carried: a whole chunk, unless it is only the start of a code point.
        assert_eq!(v.next_piece_len(b"abc"), Some(3));
        assert_eq!(v.next_piece_len("a\u{20ac}".as_bytes()), Some(4));
        assert_eq!(v.next_piece_len(b""), Some(0));
        assert_eq!(v.next_piece_len(&[0xE2, 0x82]), None);
        assert_eq!(v.next_piece_len(b"a\xE2"), Some(2));
        // Carrying the first byte of the euro sign: only its two missing bytes come first.
        v.feed(&[0xE2]).unwrap();
        assert_eq!(v.next_piece_len(&[0x82]), None);
        assert_eq!(v.next_piece_len(&[0x82, 0xAC, b'x']), Some(2));
    }

    #[test]
    fn partial_rules_follow_rfc3629() {
        assert!(is_valid_partial(&[0xE0, 0xA0]));
        assert!(!is_valid_partial(&[0xE0, 0x9F])); // overlong
        assert!(!is_valid_partial(&[0xED, 0xA0])); // surrogate
        assert!(!is_valid_partial(&[0xF4, 0x90])); // above U+10FFFF
        assert!(!is_valid_partial(&[0xC0])); // overlong lead
        assert!(!is_valid_partial(&[0xF5]));
        assert!(!is_valid_partial(&[0xC3, 0xA9])); // complete, not partial
        assert!(is_valid_partial(&[0xF0, 0x9F, 0x98]));
    }

    #[test]
    fn byte_at_a_time_reassembles() {
        let text = "aé€😀z";
        let mut v = Utf8Validator::new();
        let mut out = String::new();
        for b in text.as_bytes() {
            let r = v.feed(core::slice::from_ref(b)).unwrap();
            out.push_str(r.joined);
            out.push_str(r.body);
        }
        assert!(v.finish().is_ok());
        assert_eq!(out, text);
    }

    #[test]
    fn unfinished_code_point_fails_at_finish() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[b'a', 0xE2, 0x82]).is_ok());
        assert_eq!(v.bytes_needed(), 1);
        assert_eq!(v.finish(), Err(Utf8Error));
    }
}
