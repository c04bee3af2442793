//! Simulated Spark Cores for spark-mock: one or many devices that speak the
//! real Core protocol (RSA handshake, AES session, CoAP) over TCP 5683,
//! described in a TOML file or built in code for tests.
//!
//! Layout, from the definition of a device to a running fleet:
//!
//! - [`rng`]: a small stable PRNG (SplitMix64), ids derived from seeds.
//! - [`model`]: functions (behaviours or closures) and variables (kinds or
//!   closures) with the Core's limits, and [`model::Model`], the per-device
//!   runtime state that answers calls, reads and `${var}` templates.
//! - [`spec`]: everything else that describes one device ([`DeviceSpec`]):
//!   publishes, subscriptions, connection behaviour, mode, key choice, and
//!   the validation shared by the TOML loader and the builder.
//! - [`config`]: the TOML format (serde, `deny_unknown_fields`), `count`
//!   expansion, errors that name the file and line.
//! - [`builder`]: [`SimDevice::builder`] for Rust tests, with closures.
//! - [`keys`]: the key directory ([`KeyStore`]): cached per-device keys, a
//!   shared fleet key, generation off the async threads.
//! - [`provision`]: the HTTP calls to spark-mock (`/__mock/device-server`,
//!   `/__mock/devices`).
//! - [`device`]: one device's task: key, provisioning, the reconnect loop
//!   with backoff and offline periods; [`ConnectOptions`].
//! - `session`, `conn` and `answers` (private): one TCP connection:
//!   handshake and the read/timer loop; Hello, keepalive pings, publishes,
//!   subscriptions and delayed replies; the answer to each server message;
//!   `ota`, the device's side of an OTA update.
//!   `backoff`: reconnect delays with seeded jitter.
//! - [`firmware`]: what a core makes of a file flashed over the air (a
//!   devices-file fragment for it becomes its new firmware; anything else is
//!   stored and changes nothing).
//! - [`handle`]: [`DeviceHandle`], [`DeviceStatus`] and [`SimEvent`], what a
//!   test or the CLI observes.
//! - [`fleet`]: many devices at once, with bounded handshakes and progress.

mod answers;
mod backoff;
pub mod builder;
pub mod config;
mod conn;
pub mod device;
pub mod firmware;
pub mod fleet;
pub mod handle;
pub mod keys;
pub mod model;
mod ota;
pub mod provision;
pub mod rng;
mod session;
mod session_ctx;
pub mod spec;

pub use builder::SimDeviceBuilder;
pub use config::{ConfigError, FleetConfig};
pub use device::{ConnectOptions, SimDevice};
pub use firmware::Flashed;
pub use fleet::{Fleet, FleetCounters};
pub use handle::{DeviceHandle, DeviceState, DeviceStatus, SimEvent};
pub use keys::{KeyStore, KeyStoreError};
pub use model::{Behaviour, FunctionDef, VarSource, VariableDef};
pub use provision::{DeviceServerInfo, ProvisionError, Provisioner};
pub use spark_mock_protocol::messages::{VarType, VarValue};
pub use spark_mock_protocol::{DeviceId, DeviceKey, RsaPublicKey};
pub use spec::{
    BuildError, ConnectionBehaviour, DeviceSpec, KeySource, Mode, PublishDef, Scope,
    SubscriptionDef,
};

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The TOML file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A device definition broke a rule (limits, references, ranges).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The key directory.
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    /// Talking to the cloud's HTTP API.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// The device task ended before reaching the awaited state.
    #[error("device {id} stopped ({state:?}): {reason}")]
    Stopped {
        /// The device.
        id: DeviceId,
        /// Its final state.
        state: DeviceState,
        /// The last error it reported, if any.
        reason: String,
    },
}
