//! Time as an input: the core never reads a clock. A driver tells a connection the time with
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout) and asks when to do so
//! next with [`Connection::poll_timeout`](crate::Connection::poll_timeout), both in
//! [`Timestamp`]s: durations since an origin the driver chooses (the moment it made the
//! connection, the start of the process, a tick counter of an embedded timer).

use core::fmt;
use core::ops::Add;
use core::time::Duration;

/// A point in time, as the time elapsed since an origin the driver chooses, with nanosecond
/// resolution (for 584 years). `no_std`: it is a plain number; under `std`,
/// [`Timestamp::since`] and [`Timestamp::to_std`] convert from and to
/// `std::time::Instant` with a fixed origin.
///
/// ```
/// use core::time::Duration;
/// use wsmachine::Timestamp;
/// let t = Timestamp::from_duration(Duration::from_millis(1500));
/// assert_eq!(t + Duration::from_millis(500), Timestamp::from_duration(Duration::from_secs(2)));
/// assert_eq!(t.saturating_duration_since(Timestamp::ZERO), Duration::from_millis(1500));
/// assert_eq!((t.as_nanos(), t.as_duration()), (1_500_000_000, Duration::from_millis(1500)));
/// assert_eq!(Timestamp::from_nanos(1_500_000_000), t);
/// assert_eq!(Timestamp::MAX.saturating_add(Duration::from_secs(1)), Timestamp::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The origin (example on [`Timestamp`]).
    pub const ZERO: Timestamp = Timestamp(0);

    /// The latest representable time; durations past it saturate here (example on [`Timestamp`]).
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// The time `since` after the origin (saturating at [`Timestamp::MAX`]).
    /// Example on [`Timestamp`].
    #[must_use]
    pub const fn from_duration(since: Duration) -> Timestamp {
        let nanos = since.as_nanos();
        if nanos > u64::MAX as u128 {
            Timestamp::MAX
        } else {
            Timestamp(nanos as u64)
        }
    }

    /// The time `nanos` nanoseconds after the origin (example on [`Timestamp`]).
    #[must_use]
    pub const fn from_nanos(nanos: u64) -> Timestamp {
        Timestamp(nanos)
    }

    /// The time elapsed since the origin (example on [`Timestamp`]).
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Nanoseconds since the origin (example on [`Timestamp`]).
    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to this one, or zero if `earlier` is later (example on [`Timestamp`]).
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// This time plus `d`, saturating at [`Timestamp::MAX`].
    /// Example on [`Timestamp`].
    #[must_use]
    pub const fn saturating_add(self, d: Duration) -> Timestamp {
        let nanos = d.as_nanos();
        let add = if nanos > u64::MAX as u128 {
            u64::MAX
        } else {
            nanos as u64
        };
        Timestamp(self.0.saturating_add(add))
    }

    /// `now` as a time since `origin` (zero if `now` is earlier).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wsmachine::Timestamp;
    /// let origin = Instant::now();
    /// let t = Timestamp::since(origin, origin + Duration::from_secs(3));
    /// assert_eq!(t.as_duration(), Duration::from_secs(3));
    /// assert_eq!(t.to_std(origin), origin + Duration::from_secs(3));
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn since(origin: std::time::Instant, now: std::time::Instant) -> Timestamp {
        Timestamp::from_duration(now.saturating_duration_since(origin))
    }

    /// This time as a `std::time::Instant`, counted from `origin`, for arming a timer (example
    /// on [`since`](Self::since)).
    /// Saturates at the latest instant the platform can represent.
    #[cfg(feature = "std")]
    #[must_use]
    pub fn to_std(self, origin: std::time::Instant) -> std::time::Instant {
        let mut d = self.as_duration();
        loop {
            if let Some(t) = origin.checked_add(d) {
                return t;
            }
            // Far beyond any real deadline: halve until representable.
            d /= 2;
        }
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturating, as [`saturating_add`](Timestamp::saturating_add).
    fn add(self, d: Duration) -> Timestamp {
        self.saturating_add(d)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:?})", self.as_duration())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates_instead_of_overflowing() {
        assert_eq!(Timestamp::from_duration(Duration::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(
            Timestamp::from_nanos(5).saturating_duration_since(Timestamp::from_nanos(9)),
            Duration::ZERO
        );
    }
}
