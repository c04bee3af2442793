//! What the accept loop does when `accept` fails.

use std::time::Duration;

/// How long to wait after `accept` fails for want of resources (EMFILE, ENFILE, ENOBUFS):
/// 5 ms, doubling up to 1 s, as Go's `net/http` does. Retrying at once would spin on a
/// core until a descriptor frees up; sleeping long would leave new clients waiting.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    last: Option<Duration>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MOST: Duration = Duration::from_secs(1);

    pub fn next(&mut self) -> Duration {
        let wait = self
            .last
            .map_or(Self::FIRST, |last| (last * 2).min(Self::MOST));
        self.last = Some(wait);
        wait
    }

    /// An `accept` worked: the next failure starts short again.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// Errors that concern only the connection being accepted (it was reset before we took
/// it): the next `accept` may work at once.
pub(super) fn concerns_one_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(5));
    }
}
