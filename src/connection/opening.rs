//! The opening handshake (§4) as a connection drives it: reading the request or response
//! head incrementally, validating it, and answering.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::connection::lifecycle::{Phase, Step};
use crate::connection::recv::{end_of_stream, Inbound, Owed, Ready, Stage};
use crate::connection::send::Outbound;
use crate::error::{HandshakeError, SendError};
use crate::event::CloseCause;
use crate::handshake::{
    client, find_head_end, protocol_offered, server, values, AcceptKey, Head, Span,
};

/// How a server accepts an upgrade request: the subprotocol it chooses and extra headers.
///
/// ```
/// use wsmachine::Accept;
/// let accept = Accept::new().with_subprotocol("chat").with_headers(&[("X-Server", "demo")]);
/// # let _ = accept;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accept<'a> {
    pub(crate) subprotocol: Option<&'a str>,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    /// Negotiate permessage-deflate when configured and offered.
    pub(crate) compression: bool,
}

impl<'a> Accept<'a> {
    /// Accept with no subprotocol and no extra headers (example on [`Accept`]).
    #[must_use]
    pub const fn new() -> Accept<'a> {
        Accept {
            subprotocol: None,
            headers: &[],
            compression: true,
        }
    }

    /// Declines permessage-deflate for this connection even when configured and offered
    /// (example on [`Accept`]).
    #[must_use]
    pub const fn without_compression(mut self) -> Accept<'a> {
        self.compression = false;
        self
    }

    /// Chooses one of the subprotocols the client offered, §4.2.2 (example on [`Accept`]).
    #[must_use]
    pub const fn with_subprotocol(mut self, protocol: &'a str) -> Accept<'a> {
        self.subprotocol = Some(protocol);
        self
    }

    /// Adds headers to the `101` response: cookies, server name (example on [`Accept`]).
    #[must_use]
    pub const fn with_headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Accept<'a> {
        self.headers = headers;
        self
    }
}

impl Default for Accept<'_> {
    fn default() -> Self {
        Accept::new()
    }
}

/// What the handshake needs to remember.
#[derive(Debug, Default)]
pub(crate) struct Opening {
    /// Input bytes already searched for the end of the head.
    scanned: usize,
    pub(crate) head: Head,
    /// The `Sec-WebSocket-Accept` value. Client: the one our key calls for. Server: the one
    /// an upgrade answers the request with, present only when the request is a valid
    /// WebSocket upgrade.
    accept: Option<AcceptKey>,
    /// Client: the `Sec-WebSocket-Protocol` value sent.
    offered_protocols: Vec<u8>,
    /// Client: the `Sec-WebSocket-Extensions` value sent.
    offered_extensions: Vec<u8>,
    /// Client: the refusal body, relative to the head's start.
    pub(crate) body: Span,
    body_wanted: Option<usize>,
}

impl Opening {
    /// Server: the request is a valid WebSocket upgrade.
    pub(crate) fn is_websocket(&self) -> bool {
        self.accept.is_some()
    }

    pub(crate) fn server() -> Box<Opening> {
        Box::default()
    }

    pub(crate) fn client(
        accept: AcceptKey,
        protocols: Vec<u8>,
        extensions: Vec<u8>,
    ) -> Box<Opening> {
        Box::new(Opening {
            accept: Some(accept),
            offered_protocols: protocols,
            offered_extensions: extensions,
            ..Opening::default()
        })
    }
}

/// Client: the permessage-deflate parameters of a `101` response, if the server accepted it.
#[cfg(feature = "deflate")]
fn client_deflate(
    policy: &crate::extensions::deflate::DeflateConfig,
    head: &Head,
    data: &[u8],
) -> Result<Option<crate::extensions::deflate::DeflateParams>, HandshakeError> {
    use crate::extensions::deflate::{client_accept, NAME};
    let mut accepted = None;
    for ext in crate::event::header_extensions(head.headers(data)) {
        let ext = ext.map_err(|_| HandshakeError::UnexpectedExtension)?;
        if ext.name().eq_ignore_ascii_case(NAME) {
            // One permessage-deflate element at most, valid for what we offered (§7.1).
            if accepted.is_some() {
                return Err(HandshakeError::UnexpectedExtension);
            }
            accepted =
                Some(client_accept(policy, &ext).map_err(|_| HandshakeError::UnexpectedExtension)?);
        }
    }
    Ok(accepted)
}

impl Inbound {
    /// The handshake state, while the input holds an HTTP head.
    fn opening(&mut self) -> Option<&mut Opening> {
        match &mut self.stage {
            Stage::Handshake(opening) => Some(opening),
            Stage::Frames => None,
        }
    }

    /// Looks for a complete head in the new input; fails when it outgrows the limit.
    /// `Ok(None)`: not complete yet.
    fn find_head(
        opening: &mut Opening,
        data: &[u8],
        limit: usize,
    ) -> Result<Option<usize>, HandshakeError> {
        match find_head_end(data, opening.scanned) {
            Some(len) if len <= limit => Ok(Some(len)),
            Some(_) => Err(HandshakeError::HeadTooLarge),
            None if data.len() > limit => Err(HandshakeError::HeadTooLarge),
            None => {
                opening.scanned = data.len();
                Ok(None)
            }
        }
    }

    /// The handshake failed: a server queues the error response (§4.2.2, §4.4); both roles
    /// close the transport.
    fn fail_handshake(&mut self, out: &mut Outbound, error: HandshakeError) -> Option<Ready> {
        self.end_handshake(out, error);
        out.link.take_closed().map(Ready::Closed)
    }

    /// [`fail_handshake`](Self::fail_handshake), the `Closed` event left for the next poll.
    pub(crate) fn end_handshake(&mut self, out: &mut Outbound, error: HandshakeError) {
        if out.role().is_server() {
            let mut response = Vec::new();
            server::write_error(&mut response, error, self.st.config.accept_legacy_versions);
            out.push_raw(&response);
        }
        out.apply(Step::HandshakeFailed(error));
    }

    /// A handshake phase without its state: cannot happen (the state is made with the
    /// connection and dropped only when the phase moves on).
    fn no_opening(&mut self, out: &mut Outbound) -> Option<Ready> {
        Some(Ready::Closed(
            self.st.internal("handshake state missing", out),
        ))
    }

    /// Waits for a complete head: its length, or what to report instead.
    fn complete_head(&mut self, out: &mut Outbound) -> Result<usize, Option<Ready>> {
        let limit = self.st.config.max_handshake_bytes;
        let Stage::Handshake(opening) = &mut self.stage else {
            return Err(self.no_opening(out));
        };
        match Self::find_head(opening, self.buf.bytes(), limit) {
            Ok(Some(len)) => Ok(len),
            Ok(None) if out.link.eof() => Err(end_of_stream(
                out,
                CloseCause::Handshake(HandshakeError::Incomplete),
            )),
            Ok(None) => Err(None),
            Err(e) => Err(self.fail_handshake(out, e)),
        }
    }

    /// Server: waits for the request head and classifies it (§4.2.1).
    pub(crate) fn advance_request(&mut self, out: &mut Outbound) -> Option<Ready> {
        let len = match self.complete_head(out) {
            Ok(len) => len,
            Err(ready) => return ready,
        };
        let data = self.buf.bytes().get(..len).unwrap_or_default();
        let head = match Head::parse_request(data, self.st.config.max_headers) {
            Ok(head) => head,
            Err(e) => return self.fail_handshake(out, e),
        };
        let accept = match server::validate_request(
            head.first.get_str(data),
            head.minor_version,
            head.headers(data),
            self.st.config.accept_legacy_versions,
        ) {
            Ok(upgrade) => upgrade.map(|u| u.accept_key()),
            Err(e) => return self.fail_handshake(out, e),
        };
        // A browser's upgrade from an origin the policy refuses never reaches the
        // application (RFC 6455 §10.2): 403. Plain HTTP requests are the application's.
        if accept.is_some() {
            if let Err(e) = self.st.config.origin_policy.check(head.headers(data)) {
                return self.fail_handshake(out, e);
            }
        }
        let Some(opening) = self.opening() else {
            return self.no_opening(out);
        };
        opening.head = head;
        opening.accept = accept;
        out.apply(Step::RequestHead);
        Some(Ready::Request)
    }

    /// Server: the application accepts the upgrade (§4.2.2).
    pub(crate) fn accept(
        &mut self,
        out: &mut Outbound,
        accept: &Accept<'_>,
    ) -> Result<(), SendError> {
        check_answerable(out)?;
        let Stage::Handshake(opening) = &self.stage else {
            return Err(SendError::NoPendingRequest);
        };
        let accept_key = opening.accept.ok_or(SendError::NotWebSocketRequest)?;
        let data = self
            .buf
            .bytes()
            .get(..opening.head.len)
            .ok_or(SendError::NoPendingRequest)?;
        let headers = opening.head.headers(data);
        if let Some(chosen) = accept.subprotocol {
            if !protocol_offered(headers.clone(), chosen) {
                return Err(SendError::SubprotocolNotOffered);
            }
        }
        // permessage-deflate: accept the first acceptable offer, per the configured policy.
        #[cfg(feature = "deflate")]
        let deflate = match (self.st.config.deflate, accept.compression) {
            (Some(policy), true) => crate::extensions::deflate::server_accept(
                &policy,
                crate::event::header_extensions(headers.clone()).filter_map(Result::ok),
            )
            .map(|(params, response)| (policy, params, response)),
            _ => None,
        };
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut extra: Vec<(&str, &str)> = accept.headers.to_vec();
        #[cfg(feature = "deflate")]
        if let Some((_, _, value)) = &deflate {
            extra.push(("Sec-WebSocket-Extensions", value));
        }
        let mut response = Vec::new();
        server::write_accept(&mut response, &accept_key, accept.subprotocol, &extra)?;
        let head_len = opening.head.len;
        #[cfg(feature = "deflate")]
        if let Some((policy, params, _)) = deflate {
            self.enable_deflate(out, params, &policy);
        }
        out.push_raw(&response);
        out.apply(Step::Accept);
        self.protocol = accept.subprotocol.map(Box::from);
        // The buffer moves: whatever `read_buf` offered is void.
        self.st.offered = 0;
        self.buf.consume(head_len);
        self.stage = Stage::Frames;
        // Frames the client sent right behind its request are decoded from here on.
        self.start_frames(self.buf.len());
        self.buf.maybe_shrink(self.st.config.min_read_size);
        Ok(())
    }

    /// Server: the application answers with an HTTP response and the connection ends.
    pub(crate) fn respond(
        &mut self,
        out: &mut Outbound,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), SendError> {
        check_answerable(out)?;
        let mut response = Vec::new();
        server::write_response(&mut response, status, headers, body)?;
        out.push_raw(&response);
        out.apply(Step::Respond);
        Ok(())
    }

    /// Client: waits for the response head and validates it (§4.1).
    pub(crate) fn advance_response(&mut self, out: &mut Outbound) -> Option<Ready> {
        let len = match self.complete_head(out) {
            Ok(len) => len,
            Err(ready) => return ready,
        };
        let data = self.buf.bytes().get(..len).unwrap_or_default();
        let head = match Head::parse_response(data, self.st.config.max_headers) {
            Ok(head) => head,
            Err(e) => return self.fail_handshake(out, e),
        };
        let Stage::Handshake(opening) = &mut self.stage else {
            return self.no_opening(out);
        };
        if head.status != 101 {
            let length = values(head.headers(data), "content-length")
                .next()
                .and_then(|v| core::str::from_utf8(crate::handshake::trim_ows(v)).ok())
                .and_then(|v| v.parse::<usize>().ok());
            opening.body_wanted = length;
            opening.head = head;
            out.apply(Step::Refused);
            return self.advance_rejection(out);
        }
        // A client's opening always holds its key's answer; without one nothing could match.
        let Some(accept) = opening.accept else {
            return self.fail_handshake(out, HandshakeError::AcceptMismatch);
        };
        let switched = client::validate_response(
            head.status,
            head.headers(data),
            &accept,
            &opening.offered_protocols,
            &opening.offered_extensions,
        );
        match switched {
            Err(e) => self.fail_handshake(out, e),
            Ok(switched) => {
                #[cfg(feature = "deflate")]
                let deflate = match self.st.config.deflate {
                    Some(policy) => match client_deflate(&policy, &head, data) {
                        Ok(params) => params.map(|params| (params, policy)),
                        Err(e) => return self.fail_handshake(out, e),
                    },
                    None => None,
                };
                self.protocol = switched.subprotocol.map(Box::from);
                opening.head = head;
                #[cfg(feature = "deflate")]
                if let Some((params, policy)) = deflate {
                    self.enable_deflate(out, params, &policy);
                }
                out.apply(Step::Switched);
                // The head stays until the `Accepted` event is done with it; frames the server
                // sent in the same read follow it and are decoded from now on.
                self.st.owed = Owed::Head(len);
                self.start_frames(self.buf.len() - len);
                Some(Ready::Accepted)
            }
        }
    }

    /// Client: collects the body of a refusal, up to `Content-Length`, the end of the stream,
    /// or the handshake size limit.
    pub(crate) fn advance_rejection(&mut self, out: &mut Outbound) -> Option<Ready> {
        let limit = self.st.config.max_handshake_bytes;
        let have_total = self.buf.len();
        let Some(opening) = self.opening() else {
            return self.no_opening(out);
        };
        let head_len = opening.head.len;
        let have = have_total.saturating_sub(head_len);
        let wanted = opening.body_wanted.unwrap_or(limit).min(limit);
        // The body ends at its length, the end of the stream, or the handshake deadline.
        if have < wanted && !out.link.eof() && !out.link.handshake_expired() {
            return None;
        }
        opening.body = Span {
            start: head_len,
            end: head_len + have.min(wanted),
        };
        let status = opening.head.status;
        out.apply(Step::RefusalRead(status));
        Some(Ready::Rejected)
    }
}

/// Whether a request waits for `accept` or `respond`.
fn check_answerable(out: &Outbound) -> Result<(), SendError> {
    match out.link.phase() {
        Phase::AwaitingAnswer => Ok(()),
        Phase::Closed => Err(SendError::Closed),
        _ => Err(SendError::NoPendingRequest),
    }
}
