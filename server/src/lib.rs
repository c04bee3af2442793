//! spark-mock's cloud: a faithful local stand-in for the Spark / Particle cloud.
//!
//! The library API: build an [`AppState`] from a [`Config`] (a [`Profile`], a
//! [`PolicyKind`], ...), serve it with [`run`] or [`run_with_devices`] on listeners you bind
//! (port 0 in tests), and stop everything with its [`Shutdown`]. The state also gives direct
//! access to what the admin API shows: the device registry, the event bus, the clock.
//!
//! A cloud with its device port, and a simulated Core that connects to it through the real
//! protocol and answers a function call (`tests/e2e` runs the same steps through
//! `common::devices`):
//!
//! ```
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use spark_mock_protocol::DeviceKey;
//! use spark_mock_server::journal::NoteSlot;
//! use spark_mock_server::{run_with_devices, AppState, Config, Profile};
//! use spark_mock_sim::{ConnectOptions, SimDevice};
//! use tokio::net::TcpListener;
//!
//! let state = AppState::new(Config::for_profile(Profile::Particle))?;
//! let http = TcpListener::bind("127.0.0.1:0").await?;
//! let devices = TcpListener::bind("127.0.0.1:0").await?;
//! let device_port = devices.local_addr()?;
//! // Dropping the guard stops the HTTP server and the device port.
//! let _stop = state.shutdown().trigger_on_drop();
//! tokio::spawn(run_with_devices(http, Some(devices), state.clone()));
//!
//! // A Core does not send its key: the cloud must know it (`spark keys send`, or here).
//! let id = "0123456789abcdef01234567";
//! let key = DeviceKey::generate(&mut rand::rngs::OsRng)?;
//! state.devices().provision(id, &key.public_pem()?);
//! let server_key = state.server_key().await?.public_key().clone();
//! let core = SimDevice::builder(id)
//!     .key(key)
//!     .function("led", |arg| if arg == "on" { 1 } else { 0 })
//!     .build()?
//!     .spawn(ConnectOptions::new(device_port, server_key));
//!
//! // Online, and the cloud has its Describe: the function can be called.
//! let device = state.devices().wait_for(id, |d| d.online && !d.functions.is_empty()).await;
//! let calls = state.device_calls();
//! let led = calls.function(device, "led")?;
//! assert_eq!(led.call("on", &NoteSlot::default()).await?, 1);
//! core.shutdown().await;
//! # Ok(()) }
//! ```
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
//!   `devices`, `calls`, `events`, `webhooks`, `admin`), each giving its routes; the caller
//!   checks as extractors in `api::extract` (`Authed`, `OwnedDevice`); every
//!   profile-specific shape and rule, and each era's grant rules, in `api::profile`.
//! - [`web`]: the Build web IDE at `/build` (its session check is the `SignedIn`
//!   extractor) and the live console at `/`.
//! - [`shutdown`]: the one [`Shutdown`] handle, owned by [`AppState`], that stops the
//!   listener, the device port, event streams and background tasks together.
//! - [`run`]: serve the API on a listener until the state's shutdown is triggered;
//!   [`run_with_devices`]: the same plus the device port, stopped by the same shutdown.

pub(crate) mod api;
pub mod clock;
pub(crate) mod config;
pub mod devices;
pub mod domain;
pub(crate) mod error;
pub mod events;
pub mod faults;
pub mod journal;
pub(crate) mod listener;
pub mod openapi;
pub mod persist;
pub(crate) mod ratelimit;
pub mod seed;
pub(crate) mod shutdown;
pub(crate) mod state;
pub(crate) mod web;
pub(crate) mod webhooks;

use tokio::net::TcpListener;

pub use api::app;
pub use clock::Clock;
pub use config::{ClientCheck, Config, PolicyKind, Profile};
pub use shutdown::{Shutdown, TriggerOnDrop};
pub use state::AppState;

/// Serves the HTTP API on `listener` until the state's [`Shutdown`] is triggered, then
/// drains in-flight requests and saves. Slow, idle and surplus connections are handled as
/// `listener` describes.
pub async fn run(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = app(state.clone());
    let flusher = tokio::spawn(flush_in_background(state.clone()));
    // Webhooks restored from a state directory deliver from the start (the 2014 cloud had
    // none, so a spark-2014 start over a particle directory leaves them be).
    if state.config().profile == Profile::Particle && !state.webhooks().is_empty() {
        webhooks::delivery::start(&state);
    }
    listener::serve(listener, app, state.config(), state.shutdown()).await;
    if let Err(e) = flusher.await {
        tracing::error!("the background saver failed: {e}");
    }
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

/// Serves the HTTP API on `http` and, when given, the device port on `devices`, until the
/// state's [`Shutdown`] is triggered; then both stop (devices publish `offline`, HTTP
/// drains). If the device port fails (e.g. an unreadable server key), it triggers the
/// shutdown, so the HTTP server stops too.
pub async fn run_with_devices(
    http: TcpListener,
    devices: Option<TcpListener>,
    state: AppState,
) -> Result<(), ServeError> {
    let Some(devices) = devices else {
        return Ok(run(http, state).await?);
    };
    // Published now, not when the task first runs, so `/__mock/device-server` knows it at once.
    state.set_device_addr(devices.local_addr().ok());
    let port = tokio::spawn(devices::serve_devices(devices, state.clone()));
    let shutdown = state.shutdown().clone();
    let watcher = tokio::spawn(async move {
        let r = port.await;
        if !matches!(r, Ok(Ok(()))) && !shutdown.is_triggered() {
            tracing::error!("the device port failed; stopping");
            shutdown.trigger();
        }
        r
    });
    let http_result = run(http, state).await;
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
/// second, when something changed; forgets long-dead tokens once a minute. Ends with the
/// shutdown, between saves, so the final save never races a background one.
async fn flush_in_background(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let stopped = state.shutdown().wait();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stopped => return,
        }
        state.maintain();
        if state.dirty() {
            if let Err(e) = state.persist().await {
                tracing::error!("background save failed: {e}");
            }
        }
    }
}
