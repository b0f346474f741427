//! The `Sec-WebSocket-Extensions` header grammar (§9.1).
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" ( token | quoted-string ) ]
//! ```
//!
//! [`parse`] walks a header value and yields each extension with its parameters, allocating
//! only to unescape a quoted value that holds a backslash; a quoted value must be a token once
//! unescaped (§9.1).
//!
//! ```
//! use wsmachine::extensions::parse;
//! let value = "permessage-deflate; client_max_window_bits, x-foo; a=\"1\"";
//! let exts: Vec<_> = parse(value).collect::<Result<_, _>>().unwrap();
//! assert_eq!(exts[0].name(), "permessage-deflate");
//! let params: Vec<_> = exts[0].params().collect();
//! assert_eq!(params[0].name, "client_max_window_bits");
//! assert_eq!(params[0].value, None);
//! assert_eq!(exts[1].params().next().unwrap().value.as_deref(), Some("1"));
//! // A malformed value is an error from that point on.
//! assert!(parse("x-foo; =1").any(|e| e.is_err()));
//! ```
//!
//! The items of this module are all used in this example.

#[cfg(feature = "deflate")]
pub mod deflate;

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

/// The header value does not follow the `Sec-WebSocket-Extensions` grammar (example in the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionSyntaxError;

impl fmt::Display for ExtensionSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed Sec-WebSocket-Extensions header")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ExtensionSyntaxError {}

/// Whether `b` is a `tchar` (RFC 7230 §3.2.6).
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// One extension from the header: its name and its raw parameter text (example in the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    name: &'a str,
    /// The text after the name: `; a=1; b` (already checked against the grammar).
    params: &'a str,
}

impl<'a> Extension<'a> {
    /// The extension token, such as `permessage-deflate` (example in the [module docs](self)).
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The parameters in order (example in the [module docs](self)).
    pub fn params(&self) -> Params<'a> {
        Params {
            rest: self.params.as_bytes(),
            text: self.params,
        }
    }
}

/// One `name[=value]` parameter (example in the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name.
    pub name: &'a str,
    /// The value, unquoted; `None` when the parameter has no value.
    pub value: Option<Cow<'a, str>>,
}

/// Iterator over the parameters of an [`Extension`].
/// Example in the [module docs](self).
#[derive(Clone, Debug)]
pub struct Params<'a> {
    rest: &'a [u8],
    text: &'a str,
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        // The text was validated by `parse`, so this walk only splits it.
        let mut lexer = Lexer {
            bytes: self.rest,
            text: self.text,
            pos: 0,
        };
        lexer.skip_ows();
        if !lexer.eat(b';') {
            return None;
        }
        let param = lexer.param().ok()?;
        self.text = self.text.get(lexer.pos..).unwrap_or("");
        self.rest = self.text.as_bytes();
        Some(param)
    }
}

/// Parses a `Sec-WebSocket-Extensions` value into extensions, in order (example in the
/// [module docs](self)).
///
/// Each item is `Err` if the header is malformed from that point on; iteration stops after an
/// error. Empty list elements (`a, , b`) are skipped as RFC 7230 §7 allows.
pub fn parse(value: &str) -> Extensions<'_> {
    Extensions {
        text: value,
        done: false,
    }
}

/// Iterator returned by [`parse`].
/// Example in the [module docs](self).
#[derive(Clone, Debug)]
pub struct Extensions<'a> {
    text: &'a str,
    done: bool,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Result<Extension<'a>, ExtensionSyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut lexer = Lexer {
            bytes: self.text.as_bytes(),
            text: self.text,
            pos: 0,
        };
        loop {
            lexer.skip_ows();
            if lexer.at_end() {
                self.done = true;
                return None;
            }
            if !lexer.eat(b',') {
                break;
            }
        }
        let result = lexer.extension();
        match result {
            Ok(ext) => {
                lexer.skip_ows();
                if !lexer.at_end() && !lexer.eat(b',') {
                    self.done = true;
                    return Some(Err(ExtensionSyntaxError));
                }
                self.text = self.text.get(lexer.pos..).unwrap_or("");
                Some(Ok(ext))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<&'a str, ExtensionSyntaxError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        match self.text.get(start..self.pos) {
            Some(t) if !t.is_empty() => Ok(t),
            _ => Err(ExtensionSyntaxError),
        }
    }

    /// A quoted string; returns its unescaped content, which must be a token (§9.1).
    fn quoted(&mut self) -> Result<Cow<'a, str>, ExtensionSyntaxError> {
        // Opening quote already checked by the caller.
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return Err(ExtensionSyntaxError),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                }
                Some(_) => self.pos += 1,
            }
        }
        let inner = self.text.get(start..self.pos).ok_or(ExtensionSyntaxError)?;
        self.pos += 1;
        let value: Cow<'a, str> = if escaped {
            let mut s = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                s.push(if c == '\\' {
                    chars.next().ok_or(ExtensionSyntaxError)?
                } else {
                    c
                });
            }
            Cow::Owned(s)
        } else {
            Cow::Borrowed(inner)
        };
        if is_token(value.as_bytes()) {
            Ok(value)
        } else {
            Err(ExtensionSyntaxError)
        }
    }

    fn param(&mut self) -> Result<Param<'a>, ExtensionSyntaxError> {
        self.skip_ows();
        let name = self.token()?;
        self.skip_ows();
        if !self.eat(b'=') {
            return Ok(Param { name, value: None });
        }
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            Cow::Borrowed(self.token()?)
        };
        Ok(Param {
            name,
            value: Some(value),
        })
    }

    fn extension(&mut self) -> Result<Extension<'a>, ExtensionSyntaxError> {
        let name = self.token()?;
        let params_start = self.pos;
        loop {
            let save = self.pos;
            self.skip_ows();
            if !self.eat(b';') {
                self.pos = save;
                break;
            }
            self.param()?;
        }
        let params = self
            .text
            .get(params_start..self.pos)
            .ok_or(ExtensionSyntaxError)?;
        Ok(Extension { name, params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn names(v: &str) -> Result<Vec<&str>, ExtensionSyntaxError> {
        parse(v).map(|e| e.map(|e| e.name())).collect()
    }

    #[test]
    fn grammar_table() {
        assert_eq!(names("a"), Ok(alloc::vec!["a"]));
        assert_eq!(names(" a , b ;x ; y=1,c"), Ok(alloc::vec!["a", "b", "c"]));
        assert_eq!(names("a,,b"), Ok(alloc::vec!["a", "b"]));
        assert_eq!(names(""), Ok(alloc::vec![]));
        assert!(names("a;").is_err());
        assert!(names("a; b=").is_err());
        assert!(names("a; b=\"x y\"").is_err()); // quoted value must be a token
        assert!(names("a; b=\"unterminated").is_err());
        assert!(names("a b").is_err());
        assert!(names("a; b=\"1,2\"").is_err());
    }

    #[test]
    fn params_unquote() {
        let ext = parse("x; a=\"1\"; b=\"\\2\"; c").next().unwrap().unwrap();
        let params: Vec<_> = ext.params().collect();
        assert_eq!(params.len(), 3);
        assert_eq!(params[0].value.as_deref(), Some("1"));
        assert_eq!(params[1].value.as_deref(), Some("2"));
        assert_eq!(params[2].name, "c");
        assert_eq!(params[2].value, None);
    }
}
