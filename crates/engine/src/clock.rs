//! The engine's clock, injected so that schedules, timestamps and expression functions such
//! as `Now()` are deterministic in tests, and its ticker, which paces what runs beside a
//! cycle (renewing the job's lease) without the engine owning a timer.

use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

/// Where the engine reads the time from.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// Waits between the lease renewals of a running cycle. The binary sleeps on its runtime's
/// timer; tests tick by hand, so that no test depends on how fast the machine is.
#[async_trait]
pub trait Ticker: Send + Sync {
    /// Returns once `period` has passed.
    async fn wait(&self, period: time::Duration);
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
