//! The one source of time. Every expiry check reads it, so tests and scenarios move time
//! with `advance` or `set` instead of sleeping.
//!
//! Nothing here panics: moves are checked against [`earliest`] and [`latest`] (the years
//! RFC 3339 can write) and refused with a [`ClockError`]; deadlines computed from the
//! clock's time use [`after`] (checked) or [`deadline`] (saturating).

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use parking_lot::RwLock;

/// Why the clock did not move, or a time could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The move would take the clock outside [`earliest`]..=[`latest`]; the clock is unchanged.
    #[error("the clock must stay between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z")]
    OutOfRange,
    /// A time or duration beyond what spark-mock can represent.
    #[error("that is beyond the range of times spark-mock can represent")]
    Overflow,
}

/// `0000-01-01T00:00:00Z`, the earliest time the clock may be moved to.
pub fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(EARLIEST_SECS, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `9999-12-31T23:59:59Z`, the latest time the clock may be moved to.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(LATEST_SECS, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

const EARLIEST_SECS: i64 = -62_167_219_200;
const LATEST_SECS: i64 = 253_402_300_799;

/// The largest offset a move can leave (the range's width); a saved offset beyond it was
/// not written by spark-mock.
pub const MAX_OFFSET_SECS: i64 = LATEST_SECS - EARLIEST_SECS;

/// `secs` seconds as a duration, checked.
pub fn secs(secs: i64) -> Result<Duration, ClockError> {
    Duration::try_seconds(secs).ok_or(ClockError::Overflow)
}

/// `t + by`, checked: for times a request asked for (a token's `expires_in`).
pub fn after(t: DateTime<Utc>, by: Duration) -> Result<DateTime<Utc>, ClockError> {
    t.checked_add_signed(by).ok_or(ClockError::Overflow)
}

/// `t + by`, or the latest representable time when that is past it: for deadlines the
/// server sets itself (sessions, lockouts, default lifetimes), where "later than can be
/// written" means never.
pub fn deadline(t: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    t.checked_add_signed(by)
        .unwrap_or(if by < Duration::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

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
        deadline(Utc::now(), *self.offset.read())
    }

    /// Moves the clock forward (or back, with a negative duration). Refused, leaving the
    /// clock where it was, when it would read outside [`earliest`]..=[`latest`].
    pub fn advance(&self, by: Duration) -> Result<(), ClockError> {
        let mut offset = self.offset.write();
        let moved = offset.checked_add(&by).ok_or(ClockError::OutOfRange)?;
        let reads = Utc::now()
            .checked_add_signed(moved)
            .ok_or(ClockError::OutOfRange)?;
        in_range(reads)?;
        *offset = moved;
        Ok(())
    }

    /// [`Clock::advance`] by whole seconds.
    pub fn advance_secs(&self, by: i64) -> Result<(), ClockError> {
        self.advance(secs(by).map_err(|_| ClockError::OutOfRange)?)
    }

    /// Makes `now()` read `at` from this instant on; time keeps running from there. Refused
    /// when `at` is outside [`earliest`]..=[`latest`].
    pub fn set(&self, at: DateTime<Utc>) -> Result<(), ClockError> {
        in_range(at)?;
        *self.offset.write() = at - Utc::now();
        Ok(())
    }

    /// Restores an offset saved by an earlier run (`--state-dir`). An offset no move could
    /// have left is refused, so a damaged state file is a start-up error, not a panic.
    pub fn restore_offset_secs(&self, secs: i64) -> Result<(), ClockError> {
        if !(-MAX_OFFSET_SECS..=MAX_OFFSET_SECS).contains(&secs) {
            return Err(ClockError::OutOfRange);
        }
        *self.offset.write() = self::secs(secs)?;
        Ok(())
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

fn in_range(t: DateTime<Utc>) -> Result<(), ClockError> {
    if t < earliest() || t > latest() {
        return Err(ClockError::OutOfRange);
    }
    Ok(())
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
        clock.advance(Duration::days(91)).unwrap();
        let after = clock.now();
        assert!(after - before >= Duration::days(91));
        assert!(after - before < Duration::days(91) + Duration::seconds(5));
    }

    #[test]
    fn set_jumps_to_a_date_and_clones_share_it() {
        let clock = Clock::new();
        let shared = clock.clone();
        let target: DateTime<Utc> = "2014-03-01T12:00:00Z".parse().unwrap();
        clock.set(target).unwrap();
        let seen = shared.now();
        assert!((seen - target).num_seconds().abs() < 5);
        clock.reset();
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5);
    }

    #[test]
    fn moves_out_of_range_are_refused_and_leave_the_clock_alone() {
        let clock = Clock::new();
        assert_eq!(iso_millis(earliest()), "0000-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(latest()), "9999-12-31T23:59:59.000Z");
        clock.set("9999-12-31T00:00:00Z".parse().unwrap()).unwrap();
        let offset = clock.offset();
        // 100 years at a time, as `POST /__mock/clock` allows: the first step is refused.
        for _ in 0..3000 {
            assert_eq!(
                clock.advance_secs(100 * 365 * 86_400),
                Err(ClockError::OutOfRange)
            );
        }
        assert_eq!(clock.offset(), offset);
        for by in [i64::MAX, i64::MIN, i64::MAX / 1000, -(i64::MAX / 1000)] {
            assert_eq!(clock.advance_secs(by), Err(ClockError::OutOfRange), "{by}");
        }
        assert_eq!(clock.advance(Duration::MAX), Err(ClockError::OutOfRange));
        assert_eq!(clock.offset(), offset);
        assert!(
            clock.advance_secs(-86_400).is_ok(),
            "back into range is fine"
        );

        clock.reset();
        assert_eq!(
            clock.set(DateTime::<Utc>::MAX_UTC),
            Err(ClockError::OutOfRange)
        );
        let bc = DateTime::parse_from_rfc3339("0000-01-01T00:00:00+01:00").unwrap();
        assert_eq!(clock.set(bc.to_utc()), Err(ClockError::OutOfRange));
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5);
        clock.set(latest()).unwrap();
        clock.set(earliest()).unwrap();
        assert_eq!(clock.advance_secs(-1), Err(ClockError::OutOfRange));
    }

    #[test]
    fn saved_offsets_are_checked() {
        let clock = Clock::new();
        for bad in [
            i64::MAX,
            i64::MIN,
            MAX_OFFSET_SECS + 1,
            -MAX_OFFSET_SECS - 1,
        ] {
            assert_eq!(
                clock.restore_offset_secs(bad),
                Err(ClockError::OutOfRange),
                "{bad}"
            );
        }
        assert_eq!(clock.offset(), Duration::zero());
        clock.restore_offset_secs(86_400).unwrap();
        assert_eq!(clock.offset(), Duration::days(1));
        // The most a move can leave still reads a time without panicking.
        clock.restore_offset_secs(MAX_OFFSET_SECS).unwrap();
        assert!(clock.now() > latest());
        clock.restore_offset_secs(-MAX_OFFSET_SECS).unwrap();
        assert!(clock.now() < earliest());
    }

    #[test]
    fn deadlines_never_panic() {
        let max = DateTime::<Utc>::MAX_UTC;
        assert_eq!(deadline(max, Duration::days(14)), max);
        assert_eq!(
            deadline(DateTime::<Utc>::MIN_UTC, -Duration::days(1)),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(after(max, Duration::seconds(1)), Err(ClockError::Overflow));
        assert_eq!(secs(i64::MAX), Err(ClockError::Overflow));
        let t = latest();
        assert_eq!(
            after(t, Duration::seconds(1)),
            Ok(deadline(t, Duration::seconds(1)))
        );
    }

    #[test]
    fn iso_has_millis_and_z() {
        let t: DateTime<Utc> = "2014-04-27T02:20:36.177Z".parse().unwrap();
        assert_eq!(iso_millis(t), "2014-04-27T02:20:36.177Z");
    }
}
