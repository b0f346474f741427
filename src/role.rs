//! Which end of the connection this endpoint is.

/// The role of an endpoint: it decides masking (§5.1, §5.3) and who closes TCP first (§7.1.1).
/// Example on [`Connection::stats`](crate::Connection::stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Opens the connection, masks every frame it sends, expects unmasked frames.
    Client,
    /// Accepts the connection, never masks, requires every received frame to be masked.
    Server,
}

impl Role {
    /// Returns `true` for [`Role::Client`].
    /// Example on [`Connection::stats`](crate::Connection::stats).
    #[must_use]
    pub const fn is_client(self) -> bool {
        matches!(self, Role::Client)
    }

    /// Returns `true` for [`Role::Server`].
    /// Example on [`Connection::stats`](crate::Connection::stats).
    #[must_use]
    pub const fn is_server(self) -> bool {
        matches!(self, Role::Server)
    }
}
