//! The HTTP listener: accepts connections and serves the router on each, with the limits
//! `axum::serve` cannot set.
//!
//! - `activity`: what a connection is doing; closes it when idle between requests
//!   (`--idle-timeout`) or slow to send a request head (`--header-timeout`). Answers still
//!   streaming (event streams) are never idle. The body deadline (`--body-timeout`) lives
//!   where bodies are read, `api::request`, so it can answer 408.
//! - `connection`: one connection on hyper's HTTP/1, with the remote address as
//!   `ConnectInfo` and graceful shutdown.
//! - `cap`: the default of `--max-connections`.
//! - `backoff`: the pause after a failed `accept` (out of descriptors); the device port's
//!   accept loop uses it too.
//!
//! Over the cap, connections are still accepted, but each gets one request, due within
//! [`OVERFLOW_HEADER_TIMEOUT`], and only the health check and the admin API answer it (503
//! otherwise): they hold a descriptor for a moment only, so a pile of idle connections cannot
//! make `/server/health` unreachable.

mod activity;
pub(crate) mod backoff;
mod cap;
mod connection;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::config::Config;
use crate::shutdown::Shutdown;
use activity::Deadlines;
use backoff::Backoff;
use connection::{Admission, Shared};

/// How long an over-cap connection has to send its request head (or less, if
/// `--header-timeout` is shorter).
pub const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `shutdown` is triggered; then stops accepting, lets every
/// connection finish its request in flight and returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    config: &Config,
    shutdown: &Shutdown,
) {
    let max = connection_cap(config);
    let slots = Arc::new(Semaphore::new(max));
    let deadlines = Deadlines {
        header: config.header_timeout,
        idle: config.idle_timeout,
    };
    let shared = Shared {
        app,
        profile: config.profile,
        deadlines,
        overflow_deadlines: Deadlines {
            header: deadlines.header.min(OVERFLOW_HEADER_TIMEOUT),
            ..deadlines
        },
        stop: shutdown.clone(),
    };
    // Each connection task holds a receiver; `closed()` resolves once all are gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut backoff = Backoff::default();
    let mut at_cap = false;
    let stopped = shutdown.wait();
    tokio::pin!(stopped);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = backoff::accept(|| listener.accept(), &mut backoff, "HTTP") => accepted,
            () = &mut stopped => break,
        };
        // No Nagle delay: event streams and small JSON answers go out as soon as written.
        let _ = tcp.set_nodelay(true);
        let admission = admit(&slots, max, &mut at_cap);
        let (shared, open) = (shared.clone(), open_rx.clone());
        tokio::spawn(async move {
            connection::serve(tcp, remote, shared, admission).await;
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
}

/// `--max-connections`, or the default; warns when the open-file limit comes first.
fn connection_cap(config: &Config) -> usize {
    let max = config
        .max_connections
        .unwrap_or_else(cap::default_max_connections)
        .clamp(1, Semaphore::MAX_PERMITS);
    if let Some(files) = cap::open_file_limit().filter(|&files| max >= files) {
        tracing::warn!(
            "--max-connections {max} is not below the open-file limit ({files}): idle \
             connections can use up every descriptor before the cap applies"
        );
    }
    max
}

/// A slot under the cap, else an overflow admission; warns once each time the cap is
/// reached (`at_cap` remembers whether it already did).
fn admit(slots: &Arc<Semaphore>, max: usize, at_cap: &mut bool) -> Admission {
    match slots.clone().try_acquire_owned() {
        Ok(permit) => {
            *at_cap = false;
            Admission::Slot { _permit: permit }
        }
        Err(_) => {
            if !*at_cap {
                tracing::warn!(
                    "{max} HTTP connections open (--max-connections): new ones get only \
                     /server/health and /__mock until some close"
                );
                *at_cap = true;
            }
            Admission::Overflow
        }
    }
}
