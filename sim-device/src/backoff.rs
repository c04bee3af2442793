//! Reconnect and provisioning backoff.

use std::time::Duration;

use crate::rng::SimRng;
use crate::spec::ConnectionBehaviour;

/// Exponential backoff with seeded jitter (50–100 % of the step), so a
/// fleet that loses its server does not come back in lockstep.
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    rng: SimRng,
}

impl Backoff {
    pub(crate) fn new(c: &ConnectionBehaviour, seed: u64) -> Self {
        Self {
            min: c.backoff_min,
            max: c.backoff_max.max(c.backoff_min),
            attempt: 0,
            rng: SimRng::new(seed ^ 0xbac0_ff00),
        }
    }

    /// The next delay.
    pub(crate) fn next(&mut self) -> Duration {
        let step = self
            .min
            .saturating_mul(1 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        step.mul_f64(0.5 + self.rng.next_f64() / 2.0)
    }

    /// Back to the first step (after a session came up).
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}
