//! permessage-deflate (RFC 7692, feature `deflate`): negotiation, and compression with a
//! bounded decompressor.
//!
//! Compression uses `flate2` with its pure-Rust `zlib-rs` backend, which honours window bits
//! (the default miniz backend ignores them). Raw deflate; each message ends with a sync flush
//! whose trailing `00 00 ff ff` is removed on send and restored on receipt (§7.2.1, §7.2.2).
//!
//! Inflation uses `miniz_oxide` (safe Rust), stopping at every deflate block boundary, so
//! that a message is checked to end where §7.2.1 says: the restored tail must complete an
//! empty stored block, producing nothing, and leave the stream on a block boundary. Data that
//! ends inside a stored block (the tail would become content), inside a Huffman block (a
//! truncated message), or right after a complete block (the tail would open a block that
//! swallows the next message) fails with 1007, in both delivery modes. A message may also
//! end right after a final block (BFINAL), and data after a final block starts a new stream
//! with the same window (§7.2.3.4). The decompressed size of a message is bounded by
//! `Config::max_message_size` in both delivery modes, and so are its deflate blocks (64 plus
//! one per KiB of the limit), which cost the decoder work whatever they hold.
//!
//! # Limitations
//!
//! - zlib cannot compress with an 8-bit window: a server that limits this client to 8 bits
//!   fails the handshake, and a client asking this server for 8 bits has that offer declined.
//! - The block-boundary check cannot see the five padding bits after a stored block's
//!   header, which deflate ignores: a sender that sets them is not caught (nothing it sends
//!   is changed by them).
//!
//! # Memory per connection
//!
//! Measured with a counting allocator (zlib-rs, memory level 8; `tests/zlib_heap.rs`): a
//! compressor takes `4 * 2^window_bits + 243 KiB` (371 KiB at 15 bits, 259 KiB at 12,
//! 245 KiB at 9; the 64 Ki-entry hash table alone is 128 KiB). A decompressor is 58 KiB at
//! every window size: miniz_oxide's tables (10 KiB) and an output buffer holding the last
//! 32 KiB (deflate's largest window) and 16 KiB of room.
//!
//! - **Without context takeover** (the default, both ways) nothing carries over from one
//!   message to the next, so a connection takes a compressor (decompressor) when a message
//!   starts and gives it back, reset, when the message ends, for the next message of any
//!   connection in the process. Between messages a connection holds none; the process holds
//!   one per message in progress, plus up to 8 idle ones of each kind
//!   ([`release_idle_states`], [`idle_states_memory`]). Steady traffic allocates nothing.
//! - **With context takeover** each connection keeps its own from its first compressed
//!   message on: about 420 KiB at 15 bits, for as long as the connection lives.
//!
//! A connection that never uses compression pays nothing either way;
//! `Connection::memory` reports what a connection holds.

//!
//! A handshake done by another HTTP stack, both sides (a [`Connection`](crate::Connection)
//! does all of this itself in [`accept`](crate::Connection::accept) and for a client):
//!
//! ```
//! use wsmachine::extensions::{deflate, parse};
//! let client = deflate::DeflateConfig::new().with_peer_no_context_takeover(true);
//! let offer = deflate::client_offer(&client); // the request's Sec-WebSocket-Extensions
//! assert!(offer.starts_with(deflate::NAME));
//! let server = deflate::DeflateConfig::new().validated();
//! let offers = parse(&offer).filter_map(Result::ok);
//! let (server_params, answer) = deflate::server_accept(&server, offers).unwrap();
//! assert!(server_params.no_context_takeover); // the client asked for it
//! let response = parse(&answer).next().unwrap().unwrap();
//! let client_params = deflate::client_accept(&client, &response).unwrap();
//! assert!(client_params.peer_no_context_takeover);
//! assert_eq!(client_params.peer_window_bits, server_params.window_bits);
//! ```
//!
//! Every item here is used in this example or in [`DeflateConfig`]'s.
use alloc::string::String;
use core::fmt::Write as _;

use crate::extensions::Extension;

mod codec;
mod inflater;
mod pool;

pub use pool::{DeflatePool, KEEP_IDLE};

pub(crate) use codec::Deflater;
pub(crate) use inflater::{InflateError, Inflater};

/// The extension token (example in the [module docs](self)).
pub const NAME: &str = "permessage-deflate";

/// What to offer (client) and what to accept (server) for permessage-deflate.
///
/// "Local" is this endpoint's compressor, "peer" the other side's. For a client, local
/// parameters are the `client_*` ones of RFC 7692 and peer parameters the `server_*` ones; for
/// a server the other way round.
///
/// ```
/// use wsmachine::extensions::deflate::DeflateConfig;
/// use wsmachine::Config;
/// // The defaults: no context takeover either way, so compression state is shared by the
/// // connections one message at a time, and none is held between messages.
/// let shared = Config::new().with_deflate(DeflateConfig::new());
/// // Each connection keeps its contexts (about 430 KiB), so that short messages resembling
/// // earlier ones compress better; a smaller window, a faster level, a higher threshold.
/// let own = Config::new().with_deflate(
///     DeflateConfig::new()
///         .with_no_context_takeover(false)
///         .with_peer_no_context_takeover(false)
///         .with_max_window_bits(10)
///         .with_peer_max_window_bits(10)
///         .with_level(1)
///         .with_threshold(64),
/// );
/// # let _ = (shared, own);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Largest LZ77 window this endpoint compresses with, 9 to 15 bits (zlib cannot compress
    /// raw deflate with 8). Default 15 (32 KiB).
    pub max_window_bits: u8,
    /// Largest window to ask the peer to compress with, 9 to 15 bits. It saves the peer's
    /// compressor memory, not ours: the decompressor keeps 32 KiB of history whatever the
    /// window. RFC 7692 allows 8, but zlib-based peers, this one
    /// included, cannot compress with it, so it is never asked for. Default 15.
    pub peer_max_window_bits: u8,
    /// Reset the compression context after every message. Default on: the compressor is
    /// then shared by every connection of the process, one message at a time (see
    /// [`release_idle_states`]), instead of about 370 KiB held by each connection. Off, each
    /// connection keeps its own, and small messages that repeat earlier ones compress better.
    pub no_context_takeover: bool,
    /// Ask the peer to reset its context after every message. Default on, for the same
    /// reason: the decompressor (58 KiB) is then shared too.
    pub peer_no_context_takeover: bool,
    /// Compression level, 0 (store) to 9 (best). Default 6.
    pub level: u32,
    /// Messages shorter than this are sent uncompressed. Default 32 bytes.
    pub threshold: usize,
    /// The pool the compressors and decompressors of the directions without context
    /// takeover are shared through. Default the process-wide one
    /// ([`DeflatePool::process`]).
    pub pool: &'static DeflatePool,
}

impl DeflateConfig {
    /// The defaults listed on each field (example on [`DeflateConfig`]).
    #[must_use]
    pub const fn new() -> DeflateConfig {
        DeflateConfig {
            max_window_bits: 15,
            peer_max_window_bits: 15,
            no_context_takeover: true,
            peer_no_context_takeover: true,
            level: 6,
            threshold: 32,
            pool: DeflatePool::PROCESS,
        }
    }

    /// Sets [`pool`](Self::pool) (example on [`DeflatePool`]).
    #[must_use]
    pub const fn with_pool(mut self, pool: &'static DeflatePool) -> DeflateConfig {
        self.pool = pool;
        self
    }

    /// Sets [`max_window_bits`](Self::max_window_bits) (clamped to 9..=15).
    /// Example on [`DeflateConfig`].
    #[must_use]
    pub const fn with_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.max_window_bits = clamp_bits(bits);
        self
    }

    /// Sets [`peer_max_window_bits`](Self::peer_max_window_bits) (clamped to 9..=15).
    /// Example on [`DeflateConfig`].
    #[must_use]
    pub const fn with_peer_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.peer_max_window_bits = clamp_bits(bits);
        self
    }

    /// Sets [`no_context_takeover`](Self::no_context_takeover).
    /// Example on [`DeflateConfig`].
    #[must_use]
    pub const fn with_no_context_takeover(mut self, on: bool) -> DeflateConfig {
        self.no_context_takeover = on;
        self
    }

    /// Sets [`peer_no_context_takeover`](Self::peer_no_context_takeover).
    /// Example on [`DeflateConfig`].
    #[must_use]
    pub const fn with_peer_no_context_takeover(mut self, on: bool) -> DeflateConfig {
        self.peer_no_context_takeover = on;
        self
    }

    /// Sets [`level`](Self::level) (at most 9).
    /// Example on [`DeflateConfig`].
    #[must_use]
    pub const fn with_level(mut self, level: u32) -> DeflateConfig {
        self.level = if level > 9 { 9 } else { level };
        self
    }

    /// Sets [`threshold`](Self::threshold).
    /// Example on [`DeflateConfig`].
    #[must_use]
    pub const fn with_threshold(mut self, bytes: usize) -> DeflateConfig {
        self.threshold = bytes;
        self
    }
}

impl DeflateConfig {
    /// This policy with window bits clamped to 9..=15 and the level to at most 9 (the fields
    /// are public; a connection uses the clamped values). Example in the [module docs](self).
    #[must_use]
    pub const fn validated(mut self) -> DeflateConfig {
        self.max_window_bits = clamp_bits(self.max_window_bits);
        self.peer_max_window_bits = clamp_bits(self.peer_max_window_bits);
        self.level = if self.level > 9 { 9 } else { self.level };
        self
    }
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig::new()
    }
}

/// Window bits as this crate uses them: 9 to 15 (zlib cannot compress with 8).
const fn clamp_bits(bits: u8) -> u8 {
    if bits < 9 {
        9
    } else if bits > 15 {
        15
    } else {
        bits
    }
}

/// The parameters both sides agreed on (example in the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The window this endpoint compresses with.
    pub window_bits: u8,
    /// The largest window the peer compresses with.
    pub peer_window_bits: u8,
    /// This endpoint resets its compression context after every message.
    pub no_context_takeover: bool,
    /// The peer resets its context after every message.
    pub peer_no_context_takeover: bool,
}

/// The parameters of one offer or response element, checked for the RFC 7692 grammar:
/// known names only, no duplicates, window bits 8 to 15 (§7.1).
#[derive(Default, Debug)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// `Some(None)`: present without a value.
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

fn parse_bits(value: Option<&str>) -> Result<Option<u8>, ()> {
    // §7.1.2.1: 1*DIGIT without leading zeros (after unquoting), 8 to 15.
    match value.map(str::as_bytes) {
        None => Ok(None),
        Some(&[d @ b'8'..=b'9']) => Ok(Some(d - b'0')),
        Some(&[b'1', d @ b'0'..=b'5']) => Ok(Some(10 + d - b'0')),
        Some(_) => Err(()),
    }
}

fn parse(ext: &Extension<'_>) -> Result<Parsed, ()> {
    let mut p = Parsed::default();
    for param in ext.params() {
        let value = param.value.as_deref();
        match param.name {
            "server_no_context_takeover" if !p.server_no_context_takeover && value.is_none() => {
                p.server_no_context_takeover = true;
            }
            "client_no_context_takeover" if !p.client_no_context_takeover && value.is_none() => {
                p.client_no_context_takeover = true;
            }
            "server_max_window_bits" if p.server_max_window_bits.is_none() => {
                p.server_max_window_bits = Some(parse_bits(value)?);
            }
            "client_max_window_bits" if p.client_max_window_bits.is_none() => {
                p.client_max_window_bits = Some(parse_bits(value)?);
            }
            _ => return Err(()),
        }
    }
    Ok(p)
}

/// The client's offer (§7.1), a `Sec-WebSocket-Extensions` value: the configured parameters,
/// then, when they ask something of the server, a plain offer to fall back on. Example in the
/// [module docs](self).
pub fn client_offer(config: &DeflateConfig) -> String {
    let mut offer = String::from(NAME);
    // The fields are public: keep what is offered in range whatever was set.
    let (ours, peers) = (
        clamp_bits(config.max_window_bits),
        clamp_bits(config.peer_max_window_bits),
    );
    // Always announce support for a limited client window: the server may then pick one.
    if ours < 15 {
        let _ = write!(offer, "; client_max_window_bits={ours}");
    } else {
        offer.push_str("; client_max_window_bits");
    }
    let mut asks = false;
    if peers < 15 {
        let _ = write!(offer, "; server_max_window_bits={peers}");
        asks = true;
    }
    if config.no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    if config.peer_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
        asks = true;
    }
    if asks {
        let _ = write!(offer, ", {NAME}; client_max_window_bits");
    }
    offer
}

/// Server side (§7.1): accepts the first acceptable offer; returns the agreed parameters and
/// the response element. Offers with unknown or repeated parameters or invalid values are
/// declined, as are offers asking for an 8-bit server window (zlib cannot compress with it).
///
/// `Connection::accept` does this itself; this is for stacks that answer the upgrade on
/// their own (then pass the parameters to `Connection::set_deflate`). Example in the
/// [module docs](self).
pub fn server_accept<'a>(
    config: &DeflateConfig,
    offers: impl Iterator<Item = Extension<'a>>,
) -> Option<(DeflateParams, String)> {
    for offer in offers.filter(|e| e.name().eq_ignore_ascii_case(NAME)) {
        let Ok(p) = parse(&offer) else { continue };
        let requested = p.server_max_window_bits.flatten();
        if p.server_max_window_bits == Some(None) {
            // §7.1.2.1: in an offer, server_max_window_bits needs a value.
            continue;
        }
        let window = config.max_window_bits.min(requested.unwrap_or(15));
        if window < 9 {
            continue;
        }
        let no_context_takeover = config.no_context_takeover || p.server_no_context_takeover;
        let peer_no_context_takeover =
            config.peer_no_context_takeover || p.client_no_context_takeover;
        let peer_window = match p.client_max_window_bits {
            Some(offered) => config
                .peer_max_window_bits
                .clamp(9, 15)
                .min(offered.unwrap_or(15)),
            // The client cannot limit its window: accept its full window.
            None => 15,
        };
        let mut response = String::from(NAME);
        if no_context_takeover {
            response.push_str("; server_no_context_takeover");
        }
        if requested.is_some() || window < 15 {
            let _ = write!(response, "; server_max_window_bits={window}");
        }
        if peer_no_context_takeover {
            response.push_str("; client_no_context_takeover");
        }
        if peer_window < 15 {
            let _ = write!(response, "; client_max_window_bits={peer_window}");
        }
        let params = DeflateParams {
            window_bits: window,
            peer_window_bits: peer_window,
            no_context_takeover,
            peer_no_context_takeover,
        };
        return Some((params, response));
    }
    None
}

/// Client side (§7.1): checks the server's response element against what we offered with
/// [`client_offer`]. `Connection` does this itself; this is for stacks that run the
/// handshake on their own (then pass the parameters to `Connection::set_deflate`).
/// Example in the [module docs](self).
///
/// # Errors
///
/// `Err(())` for a response the client must fail the connection on: unknown or repeated
/// parameters, values out of range, a client window below 9 bits.
#[allow(clippy::result_unit_err)]
pub fn client_accept(
    config: &DeflateConfig,
    response: &Extension<'_>,
) -> Result<DeflateParams, ()> {
    let p = parse(response)?;
    // With a fallback offer in the request the response may answer either offer, so any
    // valid value is accepted here; both are within what we can decode and use.
    let peer_window = match p.server_max_window_bits {
        Some(Some(bits)) => bits,
        // A response carries a value (§7.1.2.1).
        Some(None) => return Err(()),
        None => 15,
    };
    let window = match p.client_max_window_bits {
        // The server limits our window: use at most that (zlib cannot go below 9 bits).
        Some(Some(bits)) if bits >= 9 => bits.min(config.max_window_bits),
        Some(_) => return Err(()),
        None => config.max_window_bits,
    };
    Ok(DeflateParams {
        window_bits: window,
        peer_window_bits: peer_window,
        no_context_takeover: config.no_context_takeover || p.client_no_context_takeover,
        peer_no_context_takeover: p.server_no_context_takeover,
    })
}

/// Frees the compressors and decompressors the process-wide pool keeps for reuse
/// ([`DeflatePool::release_idle`] on [`DeflatePool::process`]).
///
/// In a direction without context takeover, a connection holds a compressor (or
/// decompressor) only while a message is compressed (or inflated), and gives it back when the
/// message ends, reset, for the next message of any connection in the process. Up to 8 idle
/// ones of each kind are kept; this frees them, after a burst of traffic for instance. The
/// next message builds a new one.
///
/// ```
/// use wsmachine::extensions::deflate::{idle_states_memory, release_idle_states};
/// release_idle_states();
/// assert_eq!(idle_states_memory(), 0);
/// ```
pub fn release_idle_states() {
    DeflatePool::process().release_idle();
}

/// The heap held by the idle compressors and decompressors the process-wide pool keeps (see
/// [`release_idle_states`], whose example shows it), modelled as `Connection::memory` is:
/// about `4 * 2^bits + 243 KiB` per compressor and 58 KiB per decompressor.
#[must_use]
pub fn idle_states_memory() -> usize {
    DeflatePool::process().idle_memory()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(value: &str) -> Extension<'_> {
        crate::extensions::parse(value).next().unwrap().unwrap()
    }

    /// The default policy resets both contexts after every message (so that compression
    /// state is shared, not held per connection): a server says so in every answer
    /// (RFC 7692 §7.1.1.1 lets it add `server_no_context_takeover`, §7.1.1.2
    /// `client_no_context_takeover`), and a client asks for both, with a plain offer to fall
    /// back on.
    #[test]
    fn default_policy_answers_without_context_takeover() {
        let c = DeflateConfig::new();
        let accept = |offer: &str| {
            server_accept(&c, crate::extensions::parse(offer).filter_map(Result::ok)).map(
                |(params, r)| {
                    (
                        params.no_context_takeover,
                        params.peer_no_context_takeover,
                        r,
                    )
                },
            )
        };
        let both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        // Chrome's and Firefox's offer, and the plain one.
        for offer in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate",
        ] {
            assert_eq!(
                accept(offer),
                Some((true, true, both.to_string())),
                "{offer}"
            );
        }
        assert_eq!(
            client_offer(&c),
            "permessage-deflate; client_max_window_bits; client_no_context_takeover; \
             server_no_context_takeover, permessage-deflate; client_max_window_bits"
        );
    }

    #[test]
    fn server_negotiation_table() {
        // With context takeover both ways (the policy before sharing was the default).
        let c = DeflateConfig::new()
            .with_no_context_takeover(false)
            .with_peer_no_context_takeover(false);
        let accept = |offer: &str| {
            server_accept(&c, crate::extensions::parse(offer).filter_map(Result::ok))
                .map(|(_, r)| r)
        };
        assert_eq!(
            accept("permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=10").as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        assert_eq!(
            accept("permessage-deflate; client_no_context_takeover; server_no_context_takeover")
                .as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        // Duplicates, unknown parameters, bad values: declined; the next offer is taken.
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=10; server_max_window_bits=11"),
            None
        );
        assert_eq!(accept("permessage-deflate; foo"), None);
        assert_eq!(
            accept("permessage-deflate; client_max_window_bits=16"),
            None
        );
        assert_eq!(accept("permessage-deflate; server_max_window_bits"), None);
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=08"),
            None
        );
        assert_eq!(accept("permessage-deflate; server_max_window_bits=8"), None);
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=8, permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            accept("x-other, permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn client_checks_the_response() {
        let c = DeflateConfig::new();
        assert!(client_accept(&c, &ext("permessage-deflate")).is_ok());
        let p = client_accept(
            &c,
            &ext("permessage-deflate; client_max_window_bits=10; server_no_context_takeover"),
        )
        .unwrap();
        assert_eq!((p.window_bits, p.peer_no_context_takeover), (10, true));
        assert!(client_accept(&c, &ext("permessage-deflate; client_max_window_bits")).is_err());
        assert!(client_accept(&c, &ext("permessage-deflate; client_max_window_bits=8")).is_err());
        assert!(client_accept(&c, &ext("permessage-deflate; x=1")).is_err());
        assert!(client_accept(&c, &ext("permessage-deflate; server_max_window_bits=7")).is_err());
        let small = DeflateConfig::new().with_peer_max_window_bits(10);
        assert_eq!(
            client_accept(&small, &ext("permessage-deflate; server_max_window_bits=9"))
                .unwrap()
                .peer_window_bits,
            9
        );
    }
}
