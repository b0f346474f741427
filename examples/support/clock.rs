//! The driver's side of the core's deadlines: a clock with a fixed origin, telling a
//! connection the time after every read and when its deadline comes, and turning
//! `poll_timeout()` into an instant to arm a timer for.

#![allow(dead_code)]

use std::time::Instant;

use wsmachine::{Connection, Timestamp};

/// A clock counting from when it was made.
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    /// The time now, as the connection counts it.
    pub fn now(&self) -> Timestamp {
        Timestamp::since(self.origin, Instant::now())
    }

    /// Tells the connection the time (after a read, when the timer fires).
    pub fn tick(&self, conn: &mut Connection) {
        conn.handle_timeout(self.now());
    }

    /// When the connection next wants to be told the time.
    pub fn deadline(&self, conn: &Connection) -> Option<Instant> {
        conn.poll_timeout().map(|t| t.to_std(self.origin))
    }
}
