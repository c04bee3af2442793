//! The one source of time. Every expiry check reads it, so tests and scenarios move time
//! with `advance` or `set` instead of sleeping.

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use parking_lot::RwLock;

/// A wall clock with an adjustable offset. Cheap to clone; clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<RwLock<Duration>>,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Now, as the mock cloud sees it.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.read()
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.write();
        *offset += by;
    }

    /// Makes `now()` read `at` from this instant on; time keeps running from there.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.offset.write() = at - Utc::now();
    }

    /// How far the clock is from real time.
    pub fn offset(&self) -> Duration {
        *self.offset.read()
    }

    /// Back to real time.
    pub fn reset(&self) {
        *self.offset.write() = Duration::zero();
    }
}

/// ISO-8601 UTC with milliseconds, the cloud's timestamp format (`2014-04-27T02:20:36.177Z`).
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward_without_sleeping() {
        let clock = Clock::new();
        let before = clock.now();
        clock.advance(Duration::days(91));
        let after = clock.now();
        assert!(after - before >= Duration::days(91));
        assert!(after - before < Duration::days(91) + Duration::seconds(5));
    }

    #[test]
    fn set_jumps_to_a_date_and_clones_share_it() {
        let clock = Clock::new();
        let shared = clock.clone();
        let target: DateTime<Utc> = "2014-03-01T12:00:00Z".parse().unwrap();
        clock.set(target);
        let seen = shared.now();
        assert!((seen - target).num_seconds().abs() < 5);
        clock.reset();
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5);
    }

    #[test]
    fn iso_has_millis_and_z() {
        let t: DateTime<Utc> = "2014-04-27T02:20:36.177Z".parse().unwrap();
        assert_eq!(iso_millis(t), "2014-04-27T02:20:36.177Z");
    }
}
