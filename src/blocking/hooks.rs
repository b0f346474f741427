//! What the blocking driver needs of a stream beyond `Read + Write`: its timeouts and its
//! half-close, as plain functions.

use core::time::Duration;
use std::io;
use std::net::TcpStream;

/// Sets a stream's read and write timeouts, `None`: block (example on [`Hooks`]).
pub type SetTimeouts<S> = fn(&S, Option<Duration>) -> io::Result<()>;

/// Closes a stream's write side (example on [`Hooks`]).
pub type Shutdown<S> = fn(&mut S) -> io::Result<()>;

/// What the driver needs of a stream beyond `Read + Write`, as plain functions (so that they
/// can be given for any stream, a TLS wrapper included).
///
/// ```
/// use std::net::{Shutdown, TcpStream};
/// use wsmachine::blocking::Hooks;
///
/// /// A stand-in for a TLS stream over TCP.
/// struct Tls {
///     tcp: TcpStream,
/// }
/// let hooks = Hooks::<Tls> {
///     timeouts: Some(|s, t| {
///         s.tcp.set_read_timeout(t)?;
///         s.tcp.set_write_timeout(t)
///     }),
///     shutdown: Some(|s| s.tcp.shutdown(Shutdown::Write)),
/// };
/// assert!(hooks.timeouts.is_some());
/// assert!(Hooks::<Tls>::none().shutdown.is_none());
/// assert!(Hooks::<TcpStream>::tcp().timeouts.is_some());
/// ```
#[derive(Debug)]
pub struct Hooks<S> {
    /// Sets the timeout of blocking reads and writes (`None`: block). Without it the
    /// connection's deadlines act only when bytes or the end of stream arrive.
    pub timeouts: Option<SetTimeouts<S>>,
    /// Closes the write side (a TCP `FIN`; a TLS `close_notify`).
    pub shutdown: Option<Shutdown<S>>,
}

impl<S> Clone for Hooks<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Hooks<S> {}

impl<S> Hooks<S> {
    /// No timeouts, no half-close: for streams that have neither (example on [`Hooks`]).
    #[must_use]
    pub const fn none() -> Hooks<S> {
        Hooks {
            timeouts: None,
            shutdown: None,
        }
    }
}

impl Hooks<TcpStream> {
    /// A `TcpStream`'s read and write timeouts and `shutdown(Write)` (example on [`Hooks`]).
    #[must_use]
    pub const fn tcp() -> Hooks<TcpStream> {
        fn timeouts(s: &TcpStream, t: Option<Duration>) -> io::Result<()> {
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)
        }
        fn shutdown(s: &mut TcpStream) -> io::Result<()> {
            s.shutdown(std::net::Shutdown::Write)
        }
        Hooks {
            timeouts: Some(timeouts),
            shutdown: Some(shutdown),
        }
    }
}
