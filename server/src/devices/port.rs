//! The device port (TCP 5683 by default): accepts connections and gives each its own tokio
//! task (`connection::handle`). No connection waits on another: a slow handshake, garbage
//! bytes or a device that stops reading only ever hold up their own task.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::devices::connection;
use crate::devices::keys::KeyFileError;
use crate::state::AppState;

/// How long connections get to say goodbye (publish `offline`) at shutdown.
const DRAIN: Duration = Duration::from_secs(5);
/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why the device port could not run.
#[derive(Debug, thiserror::Error)]
pub enum DevicePortError {
    #[error("server key: {0}")]
    Key(#[from] KeyFileError),
    #[error("device port: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the device protocol on `listener` until `shutdown` resolves, then closes every
/// connection (each publishes its `offline` event) and returns.
///
/// The server key is loaded or generated first (see [`AppState::server_key`]); devices that
/// connect meanwhile wait in the listen backlog. The port's address is put in the state
/// (for `/__mock/device-server`) when this future first runs; a caller that spawns it and
/// needs the address at once sets it first with [`AppState::set_device_addr`].
pub async fn serve_devices(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DevicePortError> {
    let addr = listener.local_addr()?;
    state.set_device_addr(Some(addr));
    tokio::pin!(shutdown);
    let key = tokio::select! {
        k = state.server_key() => k,
        _ = &mut shutdown => {
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
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    tasks.spawn(connection::handle(
                        stream,
                        remote,
                        state.clone(),
                        key.clone(),
                        stopped.clone(),
                    ));
                }
                Err(e) => {
                    tracing::warn!("device port: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    stop.send_replace(true);
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
