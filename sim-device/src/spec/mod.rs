//! [`DeviceSpec`]: everything that describes one simulated device, and the
//! validation (`validate`) shared by the TOML loader and the builder.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use spark_mock_protocol::{DeviceId, DeviceKey};

use crate::model::{FunctionDef, VariableDef};

mod validate;

pub(crate) use validate::{
    check_function, check_name, check_publish, check_subscription, check_variable,
};

/// The longest event name a Core publishes or subscribes to.
pub const MAX_EVENT_NAME_LEN: usize = 63;
/// The largest event TTL (Max-Age is 3 bytes).
pub const MAX_TTL: u32 = 16_777_215;

/// Which firmware generation to imitate on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A Spark Core: 52-byte handshake, 6-byte Hello, `f`/`v` Describe.
    #[default]
    Core,
    /// Photon firmware over TCP: the public key appended to the handshake,
    /// a Hello with platform id 6, `"m"` in Describe.
    Photon,
}

/// Whose events a subscription asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Anyone's (the firehose).
    #[default]
    All,
    /// The owner's devices only (Uri-Query `u`).
    Mine,
}

/// A periodic publish.
#[derive(Debug, Clone)]
pub struct PublishDef {
    /// Event name (≤ 63 bytes).
    pub name: String,
    /// Time between publishes (the first one is one interval after connecting).
    pub interval: Duration,
    /// Data template with `${var}`, `${device.id}`, `${device.name}`.
    pub data: String,
    /// `E` (private) instead of `e`.
    pub private: bool,
    /// TTL in seconds (Max-Age is sent when not 60).
    pub ttl: u32,
}

/// A subscription by event name prefix.
#[derive(Debug, Clone)]
pub struct SubscriptionDef {
    /// Name prefix (≤ 63 bytes, not empty).
    pub prefix: String,
    /// Anyone's events or only the owner's devices'.
    pub scope: Scope,
    /// A variable set from the event data.
    pub set_variable: Option<String>,
}

/// How the device behaves as a network peer.
#[derive(Debug, Clone)]
pub struct ConnectionBehaviour {
    /// First reconnect delay; doubles per failed attempt (with jitter).
    pub backoff_min: Duration,
    /// Reconnect delay cap.
    pub backoff_max: Duration,
    /// Ping after this long without receiving anything (Core: 15 s).
    pub keepalive: Duration,
    /// Drop the connection when a ping gets no answer for this long (10 s).
    pub ping_timeout: Duration,
    /// Delay every answer (Describe, variables, function returns, signal).
    pub answer_delay: Duration,
    /// Drop the TCP connection this long after each connect, then reconnect.
    pub drop_after: Option<Duration>,
    /// Go offline this long after each connect …
    pub offline_after: Option<Duration>,
    /// … for this long.
    pub offline_for: Duration,
    /// Ask the server for the time after Hello.
    pub time_sync: bool,
    /// Like a Core, drop the connection on an argument of 64 bytes or more
    /// (otherwise such a call returns -1).
    pub disconnect_on_long_arg: bool,
}

impl Default for ConnectionBehaviour {
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            keepalive: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(10),
            answer_delay: Duration::ZERO,
            drop_after: None,
            offline_after: None,
            offline_for: Duration::from_secs(10),
            time_sync: false,
            disconnect_on_long_arg: false,
        }
    }
}

/// Which RSA key a device uses.
#[derive(Debug, Clone, Default)]
pub enum KeySource {
    /// Its own key, cached as `<key dir>/<id>.pem` (generated on first use;
    /// a fresh throwaway key when there is no key directory).
    #[default]
    PerDevice,
    /// The key directory's `shared.pem`, one key for many devices.
    Shared,
    /// This key.
    Given(Arc<DeviceKey>),
}

/// Functions, variables, publishes and subscriptions: shared by all the
/// devices a `count` entry expands into.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    /// Cloud functions.
    pub functions: Vec<FunctionDef>,
    /// Cloud variables.
    pub variables: Vec<VariableDef>,
    /// Periodic publishes.
    pub publishes: Vec<PublishDef>,
    /// Subscriptions.
    pub subscriptions: Vec<SubscriptionDef>,
}

/// One simulated device.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    /// Device id.
    pub id: DeviceId,
    /// Name given when provisioning.
    pub name: Option<String>,
    /// The user (username/email) who claims it when provisioning.
    pub owner: Option<String>,
    /// Core or Photon wire behaviour.
    pub mode: Mode,
    /// Seed of the value generators.
    pub seed: u64,
    /// Which key.
    pub key: KeySource,
    /// What it offers and does.
    pub defs: Arc<Definitions>,
    /// How it connects.
    pub connection: ConnectionBehaviour,
}

impl DeviceSpec {
    /// A name for logs: `name (id)` or the id.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.to_string(),
        }
    }
}

/// A device definition that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A device id that is not 24 hex characters.
    #[error("bad device id {id:?}: {reason}")]
    BadId { id: String, reason: String },
    /// More than a Core allows.
    #[error("{count} {what}; a Core has at most {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    /// An empty name.
    #[error("{0} with an empty name")]
    EmptyName(&'static str),
    /// Two names equal after truncation to 12 characters.
    #[error("duplicate {what} name {name:?} (names are truncated to 12 characters)")]
    Duplicate { what: &'static str, name: String },
    /// A reference to a variable that does not exist.
    #[error("{what} refers to unknown variable {name:?}")]
    UnknownVariable { what: String, name: String },
    /// Anything else: ranges, types, lengths.
    #[error("{0}")]
    Invalid(String),
}
