//! What an accept loop (HTTP or the device port) does when `accept` fails.

use std::future::Future;
use std::time::Duration;

/// How long to wait after `accept` fails for want of resources (EMFILE, ENFILE, ENOBUFS):
/// 5 ms, doubling up to 1 s, as Go's `net/http` does. Retrying at once would spin on a
/// core until a descriptor frees up; sleeping long would leave new clients waiting.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
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

/// The next accepted connection. A failure that concerns one connection is skipped at once;
/// any other (out of descriptors) is logged and retried after the next `backoff` pause, on
/// tokio's clock. Cancel-safe: callers race it against the shutdown.
pub(crate) async fn accept<T, F, Fut>(mut accept: F, backoff: &mut Backoff, what: &str) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::io::Result<T>>,
{
    loop {
        match accept().await {
            Ok(accepted) => {
                backoff.reset();
                return accepted;
            }
            Err(e) if concerns_one_connection(&e) => continue,
            Err(e) => {
                let wait = backoff.next();
                tracing::error!("cannot accept {what} connections: {e}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Errors that concern only the connection being accepted (it was reset before we took
/// it): the next `accept` may work at once.
fn concerns_one_connection(e: &std::io::Error) -> bool {
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

    /// Time is paused: the pauses are measured on tokio's clock, not slept.
    #[tokio::test(start_paused = true)]
    async fn accept_pauses_after_resource_errors_only_and_resets_on_success() {
        use std::io::{Error, ErrorKind};
        use tokio::time::Instant;
        let out_of_files = || Error::other("Too many open files");
        let mut script = std::collections::VecDeque::from([
            Err(out_of_files()),
            Err(out_of_files()),
            Err(Error::from(ErrorKind::ConnectionAborted)),
            Err(out_of_files()),
            Ok("first"),
            Err(out_of_files()),
            Ok("second"),
        ]);
        let start = Instant::now();
        let mut tried_at = Vec::new();
        let mut next = || {
            tried_at.push(start.elapsed().as_millis());
            std::future::ready(script.pop_front().unwrap_or(Ok("extra")))
        };
        let mut b = Backoff::default();
        assert_eq!(accept(&mut next, &mut b, "test").await, "first");
        assert_eq!(accept(&mut next, &mut b, "test").await, "second");
        // 5, 10 (an aborted connection is retried at once), 20; after a success, 5 again.
        assert_eq!(tried_at, [0, 5, 15, 15, 35, 35, 40]);
    }
}
