//! The server's one shutdown signal. [`AppState`](crate::AppState) owns it; the HTTP
//! listener, the device port and its connections, event streams, the webhook task and the
//! background saver all wait on it, so one [`Shutdown::trigger`] (Ctrl-C in the CLI, a
//! dropped [`TriggerOnDrop`] in tests) stops everything, and a failing device port stops
//! the API the same way.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// A cheap, cloneable handle: every clone triggers and sees the same shutdown. Once
/// triggered it stays triggered.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Shutdown {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Starts the shutdown; later calls do nothing more.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the shutdown is triggered (at once if it already was). Owns what it
    /// needs, so it can be stored in a stream or handed to `with_graceful_shutdown`; pin one
    /// outside a `select!` loop rather than making one per turn.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means every handle is gone: nobody can trigger it any more, so
            // there is nothing left to wait for.
            let _ = rx.wait_for(|triggered| *triggered).await;
        }
    }

    /// A guard that triggers the shutdown when dropped: ties a server's life to a value (a
    /// test's handle to it, say).
    pub fn trigger_on_drop(&self) -> TriggerOnDrop {
        TriggerOnDrop(self.clone())
    }
}

/// Triggers its [`Shutdown`] when dropped; see [`Shutdown::trigger_on_drop`].
#[derive(Debug)]
#[must_use = "dropping the guard triggers the shutdown at once"]
pub struct TriggerOnDrop(Shutdown);

impl Drop for TriggerOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn every_clone_sees_one_trigger() {
        let a = Shutdown::new();
        let b = a.clone();
        let waiting = tokio::spawn(b.wait());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished() && !b.is_triggered());
        a.trigger();
        let woke = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert!(matches!(woke, Ok(Ok(()))), "the waiter did not wake");
        assert!(b.is_triggered());
        // A waiter made after the trigger resolves at once.
        tokio::time::timeout(Duration::from_millis(1), b.wait())
            .await
            .expect("already triggered");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_stays_pending_until_triggered() {
        let s = Shutdown::new();
        let early = tokio::time::timeout(Duration::from_secs(3600), s.wait()).await;
        assert!(early.is_err(), "resolved without a trigger");
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_guard_triggers() {
        let s = Shutdown::new();
        let guard = s.trigger_on_drop();
        assert!(!s.is_triggered());
        drop(guard);
        assert!(s.is_triggered());
        tokio::time::timeout(Duration::from_millis(1), s.wait())
            .await
            .expect("triggered by the guard");
    }
}
