//! spark-mock's cloud: a faithful local stand-in for the Spark / Particle cloud.
//!
//! Layout:
//! - [`config`]: profiles (`spark-2014`, `particle`), token policies, start-up settings.
//! - [`clock`]: the one injectable source of time; every expiry reads it.
//! - [`domain`]: plain Rust, no HTTP and no [`AppState`]: users and clients, tokens with
//!   their history, the three token policies ([`PolicyKind`]), and the token endpoint's
//!   grants, one function per grant type, given the rules in force and the account database.
//! - [`devices`]: the device registry; [`devices::call`], the one home of a function call
//!   or variable read (name lookup, argument limit, faults, timeout, typed errors) for the
//!   API and the console; and the device port (the Spark Core protocol on TCP 5683).
//! - [`events`]: the event bus behind SSE streams and device subscriptions.
//! - [`faults`]: injected device and route faults, for `/__mock/faults` (device faults are
//!   applied in [`devices::call`]).
//! - [`journal`]: the last N API requests, for `/__mock/requests`.
//! - [`listener`]: the HTTP accept loop: header and idle timeouts, the connection cap.
//! - [`openapi`]: the OpenAPI 3.1 description of every route, per profile, served at
//!   `/__mock/openapi.json`.
//! - [`persist`]: the snapshot and the append-only journal behind `--state-dir`.
//! - [`ratelimit`]: the particle cloud's documented rate limits (off by default).
//! - [`seed`]: the TOML seed file.
//! - [`state`]: [`AppState`], the shared state behind every route.
//! - [`webhooks`]: webhooks (particle profile): templates, matching, and the delivery task.
//! - [`api`]: the HTTP layer, by resource (`oauth`, `access_tokens`, `users`, `clients`,
//!   `devices`, `calls`, `admin`), with every profile-specific shape, and each era's grant
//!   rules, in `api::profile`.
//! - [`web`]: the Build web IDE at `/build` and the live console at `/`.
//! - [`run`]: serve the API on a listener until a shutdown future resolves;
//!   [`run_with_devices`]: the same plus the device port, stopped by the same shutdown.

pub mod api;
pub mod clock;
pub mod config;
pub mod devices;
pub mod domain;
pub mod error;
pub mod events;
pub mod faults;
pub mod journal;
pub mod listener;
pub mod openapi;
pub mod persist;
pub mod ratelimit;
pub mod seed;
pub mod state;
pub mod web;
pub mod webhooks;

use std::future::Future;

use tokio::net::TcpListener;

pub use api::app;
pub use clock::Clock;
pub use config::{ClientCheck, Config, PolicyKind, Profile};
pub use state::AppState;

/// Serves the HTTP API on `listener` until `shutdown` resolves, then drains in-flight
/// requests. Slow, idle and surplus connections are handled as `listener` describes.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state.clone());
    let flusher = tokio::spawn(flush_in_background(state.clone()));
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
    };
    listener::serve(listener, app, state.config(), shutdown).await;
    flusher.abort();
    if let Err(e) = state.persist().await {
        tracing::error!("final save failed: {e}");
    }
    Ok(())
}

/// Why [`run_with_devices`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("HTTP server: {0}")]
    Http(#[from] std::io::Error),
    #[error(transparent)]
    Devices(#[from] devices::DevicePortError),
}

/// Serves the HTTP API on `http` and, when given, the device port on `devices`, until
/// `shutdown` resolves; then both stop (devices publish `offline`, HTTP drains). If the
/// device port fails (e.g. an unreadable server key), the HTTP server stops too.
pub async fn run_with_devices(
    http: TcpListener,
    devices: Option<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let Some(devices) = devices else {
        return Ok(run(http, state, shutdown).await?);
    };
    // Published now, not when the task first runs, so `/__mock/device-server` knows it at once.
    state.set_device_addr(devices.local_addr().ok());
    let (failed, on_failure) = tokio::sync::oneshot::channel::<()>();
    let mut stop = state.shutdown_watch();
    let port = tokio::spawn(devices::serve_devices(devices, state.clone(), async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    let watcher = tokio::spawn(async move {
        let r = port.await;
        if !matches!(r, Ok(Ok(()))) {
            let _ = failed.send(());
        }
        r
    });
    let shutdown = async move {
        let device_port_failed = async {
            if on_failure.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = shutdown => {}
            _ = device_port_failed => tracing::error!("the device port failed; stopping"),
        }
    };
    let http_result = run(http, state.clone(), shutdown).await;
    state.begin_shutdown();
    match watcher.await {
        Ok(Ok(r)) => r?,
        // Cancelled: the runtime itself is going away (the process is exiting).
        Ok(Err(join)) | Err(join) if join.is_cancelled() => {
            tracing::debug!("the device port task was cancelled at exit");
        }
        Ok(Err(join)) | Err(join) => {
            tracing::error!("the device port task failed: {join}");
        }
    }
    Ok(http_result?)
}

/// Saves what requests do not save themselves (token uses, device-port changes) once a
/// second, when something changed; forgets long-dead tokens once a minute.
async fn flush_in_background(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        state.maintain();
        if state.dirty() {
            if let Err(e) = state.persist().await {
                tracing::error!("background save failed: {e}");
            }
        }
    }
}
