//! The particle cloud's documented rate limits (cloud-api.md §7), counted per source IP in
//! fixed 5-minute windows on the mock's clock. Off unless switched on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

use crate::clock::deadline;

/// What a request counts against, besides the all-routes limit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `POST /oauth/token`: 100 per 5 min, and a 30-minute lockout after 10 failures in a row.
    OAuthToken,
    /// One of the documented 100-per-5-min routes, named by method and path pattern.
    Route(&'static str),
    /// Opening an event stream: 100 per 5 min.
    EventStream,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// Too many requests in the window.
    Rate,
    /// Locked out after repeated failed logins, until the given time.
    Lockout(DateTime<Utc>),
    /// Too many simultaneous event streams.
    Streams,
}

pub const WINDOW_SECS: i64 = 300;
pub const ALL_ROUTES: u32 = 10_000;
pub const PER_ROUTE: u32 = 100;
pub const MAX_FAILURES: u32 = 10;
pub const LOCKOUT_SECS: i64 = 1800;
pub const MAX_STREAMS: usize = 100;

#[derive(Default)]
struct Counters {
    /// (ip, bucket) → (window start, count); bucket `None` is the all-routes limit.
    windows: HashMap<(IpAddr, Option<Bucket>), (DateTime<Utc>, u32)>,
    failures: HashMap<IpAddr, (u32, Option<DateTime<Utc>>)>,
    streams: HashMap<IpAddr, usize>,
}

#[derive(Clone, Default)]
pub struct RateLimiter {
    counters: Arc<Mutex<Counters>>,
}

/// Holds one simultaneous event-stream slot; gives it back when dropped.
pub struct StreamSlot {
    limiter: RateLimiter,
    ip: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut c = self.limiter.counters.lock();
        if let Some(n) = c.streams.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
        }
    }
}

impl RateLimiter {
    /// Counts a request; `Err` if it is over a limit.
    pub fn check(
        &self,
        ip: IpAddr,
        bucket: Option<Bucket>,
        now: DateTime<Utc>,
    ) -> Result<(), Limited> {
        let mut c = self.counters.lock();
        if bucket == Some(Bucket::OAuthToken) {
            if let Some((_, Some(until))) = c.failures.get(&ip) {
                if *until > now {
                    return Err(Limited::Lockout(*until));
                }
            }
        }
        let mut hit = |key: (IpAddr, Option<Bucket>), limit: u32| {
            let w = c.windows.entry(key).or_insert((now, 0));
            if now - w.0 >= Duration::seconds(WINDOW_SECS) {
                *w = (now, 0);
            }
            w.1 += 1;
            w.1 <= limit
        };
        let all_ok = hit((ip, None), ALL_ROUTES);
        let bucket_ok = match bucket {
            Some(b) => hit((ip, Some(b)), PER_ROUTE),
            None => true,
        };
        if all_ok && bucket_ok {
            Ok(())
        } else {
            Err(Limited::Rate)
        }
    }

    /// Records the outcome of a login attempt: 10 failures in a row lock the IP out.
    pub fn login_result(&self, ip: IpAddr, success: bool, now: DateTime<Utc>) {
        let mut c = self.counters.lock();
        let entry = c.failures.entry(ip).or_insert((0, None));
        if success {
            *entry = (0, None);
        } else {
            entry.0 += 1;
            if entry.0 >= MAX_FAILURES {
                *entry = (0, Some(deadline(now, Duration::seconds(LOCKOUT_SECS))));
            }
        }
    }

    /// Takes a simultaneous-stream slot for `ip`.
    pub fn open_stream(&self, ip: IpAddr) -> Result<StreamSlot, Limited> {
        let mut c = self.counters.lock();
        let n = c.streams.entry(ip).or_insert(0);
        if *n >= MAX_STREAMS {
            return Err(Limited::Streams);
        }
        *n += 1;
        Ok(StreamSlot {
            limiter: self.clone(),
            ip,
        })
    }

    pub fn reset(&self) {
        *self.counters.lock() = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn per_route_limit_resets_with_the_window() {
        let rl = RateLimiter::default();
        let t0 = Utc::now();
        for _ in 0..PER_ROUTE {
            assert_eq!(rl.check(ip(), Some(Bucket::OAuthToken), t0), Ok(()));
        }
        assert_eq!(
            rl.check(ip(), Some(Bucket::OAuthToken), t0),
            Err(Limited::Rate)
        );
        let later = t0 + Duration::seconds(WINDOW_SECS);
        assert_eq!(rl.check(ip(), Some(Bucket::OAuthToken), later), Ok(()));
    }

    #[test]
    fn ten_failed_logins_lock_out_for_thirty_minutes() {
        let rl = RateLimiter::default();
        let t0 = Utc::now();
        for _ in 0..9 {
            rl.login_result(ip(), false, t0);
        }
        assert_eq!(rl.check(ip(), Some(Bucket::OAuthToken), t0), Ok(()));
        rl.login_result(ip(), false, t0);
        assert!(matches!(
            rl.check(ip(), Some(Bucket::OAuthToken), t0),
            Err(Limited::Lockout(_))
        ));
        let after = t0 + Duration::seconds(LOCKOUT_SECS + 1);
        assert_eq!(rl.check(ip(), Some(Bucket::OAuthToken), after), Ok(()));
    }

    #[test]
    fn stream_slots_come_back_when_dropped() {
        let rl = RateLimiter::default();
        let slots: Vec<_> = (0..MAX_STREAMS)
            .map(|_| rl.open_stream(ip()).unwrap())
            .collect();
        assert!(rl.open_stream(ip()).is_err());
        drop(slots);
        assert!(rl.open_stream(ip()).is_ok());
    }
}
