//! `[device.connection]`: reconnect backoff, keepalive, late answers,
//! scheduled drops and offline periods.

use std::time::Duration;

use toml::Spanned;

use super::{fail, Fail};
use crate::config::raw::RawConnection;
use crate::spec::ConnectionBehaviour;

/// Seconds as a duration: finite and not negative.
pub(super) fn secs(v: Option<f64>, at: usize, what: &str) -> Result<Option<Duration>, Fail> {
    v.map(|s| {
        Duration::try_from_secs_f64(s)
            .or_else(|_| fail(at, format!("{what} must be a number of seconds >= 0")))
    })
    .transpose()
}

pub(super) fn connection(c: Option<&Spanned<RawConnection>>) -> Result<ConnectionBehaviour, Fail> {
    let mut b = ConnectionBehaviour::default();
    let Some(c) = c else { return Ok(b) };
    let at = c.span().start;
    let r = c.get_ref();
    let ms = Duration::from_millis;
    b.backoff_min = r.backoff_min_ms.map_or(b.backoff_min, ms);
    b.backoff_max = r.backoff_max_ms.map_or(b.backoff_max, ms);
    if b.backoff_min > b.backoff_max {
        return fail(at, "backoff_min_ms must not exceed backoff_max_ms");
    }
    b.keepalive = secs(r.keepalive_s, at, "keepalive_s")?.unwrap_or(b.keepalive);
    b.ping_timeout = secs(r.ping_timeout_s, at, "ping_timeout_s")?.unwrap_or(b.ping_timeout);
    if b.keepalive.is_zero() || b.ping_timeout.is_zero() {
        return fail(at, "keepalive_s and ping_timeout_s must be > 0");
    }
    b.answer_delay = r.answer_delay_ms.map_or(b.answer_delay, ms);
    b.drop_after = secs(r.drop_after_s, at, "drop_after_s")?;
    b.offline_after = secs(r.offline_after_s, at, "offline_after_s")?;
    b.offline_for = secs(r.offline_for_s, at, "offline_for_s")?.unwrap_or(b.offline_for);
    b.time_sync = r.time_sync.unwrap_or(false);
    b.disconnect_on_long_arg = r.disconnect_on_long_arg.unwrap_or(false);
    Ok(b)
}
