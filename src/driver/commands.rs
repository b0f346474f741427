//! The send commands of every connection wrapper (the async [`WebSocket`](super::WebSocket)
//! and [`Writer`](super::Writer), the blocking ones), written once: each wrapper has one
//! `command` method (queue a command on the connection, then write it out as that driver
//! does) and this macro gives it the rest.

/// Gives a wrapper the send commands (`send`, `send_text`, `send_binary`, `send_prepared`,
/// `send_fragment`, `ping`, `pong`, `close`) over its
/// `command(&mut self, data: bool, f: impl FnOnce(&mut Connection) -> Result<(), SendError>)`
/// (`data`: a data frame, which waits for room below the high-water mark where the driver
/// has one). `async` or `blocking`; then where the examples are.
macro_rules! send_commands {
    (async, $example:literal) => {
        $crate::driver::send_commands!(@ [async] [.await] $example);
    };
    (blocking, $example:literal) => {
        $crate::driver::send_commands!(@ [] [] $example);
    };
    (@ [$($async:tt)*] [$($await:tt)*] $example:literal) => {
        /// Sends a message (see the type's docs for when a send waits, and for cancelling).
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// [`Error::Send`](crate::driver::Error::Send) with the connection's refusal
        /// ([`SendError::Closing`](crate::SendError::Closing) after a close, ...);
        /// [`Error::Io`](crate::driver::Error::Io) once the transport failed.
        pub $($async)* fn send(
            &mut self,
            message: $crate::Message<'_>,
        ) -> Result<(), $crate::driver::Error> {
            match message {
                $crate::Message::Text(text) => self.command(true, |c| c.send_text(text)) $($await)*,
                $crate::Message::Binary(data) => {
                    self.command(true, |c| c.send_binary(data)) $($await)*
                }
            }
        }

        /// Sends a text message ([`Connection::send_text`](crate::Connection::send_text)).
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`send`](Self::send).
        pub $($async)* fn send_text(&mut self, text: &str) -> Result<(), $crate::driver::Error> {
            self.command(true, |c| c.send_text(text)) $($await)*
        }

        /// Sends a binary message
        /// ([`Connection::send_binary`](crate::Connection::send_binary)).
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`send`](Self::send).
        pub $($async)* fn send_binary(&mut self, data: &[u8]) -> Result<(), $crate::driver::Error> {
            self.command(true, |c| c.send_binary(data)) $($await)*
        }

        /// Sends a [`PreparedMessage`](crate::PreparedMessage), encoded once for many
        /// connections ([`Connection::send_prepared`](crate::Connection::send_prepared)): its
        /// shared frame is written from the message's bytes, with no copy.
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`send`](Self::send).
        pub $($async)* fn send_prepared(
            &mut self,
            message: &$crate::PreparedMessage,
        ) -> Result<(), $crate::driver::Error> {
            self.command(true, |c| c.send_prepared(message)) $($await)*
        }

        /// Sends one fragment of a message (§5.4); `fin` ends it
        /// ([`Connection::send_fragment`](crate::Connection::send_fragment)).
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`send`](Self::send).
        pub $($async)* fn send_fragment(
            &mut self,
            kind: $crate::MessageKind,
            data: &[u8],
            fin: bool,
        ) -> Result<(), $crate::driver::Error> {
            self.command(true, |c| c.send_fragment(kind, data, fin)) $($await)*
        }

        /// Sends a ping; its pong measures
        /// [`Connection::latency`](crate::Connection::latency). Control frames do not wait for
        /// the high-water mark.
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`send`](Self::send).
        pub $($async)* fn ping(&mut self, payload: &[u8]) -> Result<(), $crate::driver::Error> {
            self.command(false, |c| c.ping(payload)) $($await)*
        }

        /// Sends an unsolicited pong (a one-way heartbeat).
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`send`](Self::send).
        pub $($async)* fn pong(&mut self, payload: &[u8]) -> Result<(), $crate::driver::Error> {
            self.command(false, |c| c.pong(payload)) $($await)*
        }

        /// Starts the closing handshake (§7). Keep receiving: messages the peer sent before
        /// its answer still arrive, and a receive returns `Ok(None)` once the handshake
        /// completed and the transport ended (at the close deadline at the latest).
        #[doc = concat!("Example ", $example, ".")]
        ///
        /// # Errors
        ///
        /// As [`Connection::close`](crate::Connection::close);
        /// [`Error::Io`](crate::driver::Error::Io).
        pub $($async)* fn close(
            &mut self,
            code: $crate::CloseCode,
            reason: &str,
        ) -> Result<(), $crate::driver::Error> {
            self.command(false, |c| c.close(code, reason)) $($await)*
        }
    };
}

pub(crate) use send_commands;
