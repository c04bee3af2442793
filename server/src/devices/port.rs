//! The device port (TCP 5683 by default): accepts connections, up to
//! `--max-device-connections` at once, and gives each its own tokio task
//! (`connection::handle`). No connection waits on another: a slow handshake, garbage bytes or
//! a device that stops reading only ever hold up their own task. A failed `accept` (out of
//! descriptors) is retried after a growing pause rather than in a spin.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::devices::connection;
use crate::devices::keys::KeyFileError;
use crate::listener::backoff::{self, Backoff};
use crate::state::AppState;

/// How long connections get to say goodbye (publish `offline`) at shutdown.
const DRAIN: Duration = Duration::from_secs(5);

/// Why the device port could not run.
#[derive(Debug, thiserror::Error)]
pub enum DevicePortError {
    #[error("server key: {0}")]
    Key(#[from] KeyFileError),
    #[error("device port: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the device protocol on `listener` until the state's [`Shutdown`] is triggered,
/// then closes every connection (each publishes its `offline` event) and returns.
///
/// The server key is loaded or generated first (see [`AppState::server_key`]); devices that
/// connect meanwhile wait in the listen backlog. The port's address is put in the state
/// (for `/__mock/device-server`) when this future first runs; a caller that spawns it and
/// needs the address at once sets it first with [`AppState::set_device_addr`].
///
/// At most `Config::device_max_connections` connections are served at once: at the cap the
/// loop stops accepting, so the next device waits in the listen backlog (its TCP connect
/// succeeds, its handshake starts) until a connection closes.
///
/// [`Shutdown`]: crate::shutdown::Shutdown
pub async fn serve_devices(listener: TcpListener, state: AppState) -> Result<(), DevicePortError> {
    let addr = listener.local_addr()?;
    state.set_device_addr(Some(addr));
    let stopped = state.shutdown().wait();
    tokio::pin!(stopped);
    let key = tokio::select! {
        k = state.server_key() => k,
        () = &mut stopped => {
            state.set_device_addr(None);
            return Ok(());
        }
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            state.set_device_addr(None);
            return Err(e.into());
        }
    };
    tracing::info!("device port listening on {addr}");
    let max = state
        .config()
        .device_max_connections
        .clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let mut backoff = Backoff::default();
    let mut at_cap = false;
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            () = &mut stopped => break,
            (permit, (stream, remote)) = next(&listener, &slots, max, &mut backoff, &mut at_cap) => {
                tasks.spawn(connection::handle(stream, remote, state.clone(), key.clone(), permit));
            }
            // Reap finished connections so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            "device port: {} connections did not close in time",
            tasks.len()
        );
        tasks.shutdown().await;
    }
    state.set_device_addr(None);
    Ok(())
}

/// A free connection slot, then the next connection. Cancel-safe: a slot taken by a
/// cancelled call goes back.
async fn next(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
    max: usize,
    backoff: &mut Backoff,
    at_cap: &mut bool,
) -> (OwnedSemaphorePermit, (TcpStream, SocketAddr)) {
    let permit = match slots.clone().try_acquire_owned() {
        Ok(permit) => {
            *at_cap = false;
            permit
        }
        Err(_) => {
            if !*at_cap {
                tracing::warn!(
                    "{max} device connections open (--max-device-connections): new ones \
                     wait until some close"
                );
                *at_cap = true;
            }
            match slots.clone().acquire_owned().await {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => return std::future::pending().await,
            }
        }
    };
    let accepted = backoff::accept(|| listener.accept(), backoff, "device").await;
    (permit, accepted)
}
