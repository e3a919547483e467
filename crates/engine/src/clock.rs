//! The engine's clock, injected so that schedules, timestamps and expression functions such
//! as `Now()` are deterministic in tests.

use std::sync::Mutex;

use time::OffsetDateTime;

/// Where the engine reads the time from.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that shows one instant until it is set or advanced.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<OffsetDateTime>,
}

impl FixedClock {
    pub fn new(now: OffsetDateTime) -> Self {
        FixedClock {
            now: Mutex::new(now),
        }
    }

    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // An instant cannot be left half-written, so a poisoned lock still holds a valid one.
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::new(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        clock.advance(time::Duration::minutes(40));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:40 UTC));
        clock.set(datetime!(2027-06-01 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2027-06-01 12:00 UTC));
    }
}
