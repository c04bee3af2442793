//! The HTTP listener: accepts connections and serves the router on each, with the limits
//! `axum::serve` cannot set.
//!
//! - `activity`: what a connection is doing; closes it when idle between requests
//!   (`--idle-timeout`) or slow to send a request head (`--header-timeout`). Answers still
//!   streaming (event streams) are never idle. The body deadline (`--body-timeout`) lives
//!   where bodies are read, `api::request`, so it can answer 408.
//! - `connection`: one connection on hyper's HTTP/1, with the remote address as
//!   `ConnectInfo` and graceful shutdown.
//! - `backoff`: the pause after a failed `accept` (out of descriptors).

mod activity;
mod backoff;
mod connection;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use activity::Deadlines;
use backoff::Backoff;
use connection::Shared;

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// connection finish its request in flight and returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    config: &Config,
    shutdown: impl Future<Output = ()>,
) {
    let deadlines = Deadlines {
        header: config.header_timeout,
        idle: config.idle_timeout,
    };
    let (stop_tx, stop) = watch::channel(false);
    let shared = Shared {
        app,
        deadlines,
        stop,
    };
    // Each connection task holds a receiver; `closed()` resolves once all are gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut backoff = Backoff::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if backoff::concerns_one_connection(&e) => continue,
            Err(e) => {
                let wait = backoff.next();
                tracing::error!("cannot accept HTTP connections: {e}; retrying in {wait:?}");
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        backoff.reset();
        // No Nagle delay: event streams and small JSON answers go out as soon as written.
        let _ = tcp.set_nodelay(true);
        let (shared, open) = (shared.clone(), open_rx.clone());
        tokio::spawn(async move {
            connection::serve(tcp, remote, shared).await;
            drop(open);
        });
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(open_rx);
    open_tx.closed().await;
}
