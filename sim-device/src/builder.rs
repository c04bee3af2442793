//! Building a device in code, for Rust tests:
//!
//! ```no_run
//! # async fn demo(opts: spark_mock_sim::ConnectOptions) -> Result<(), spark_mock_sim::SimError> {
//! use std::time::Duration;
//! use spark_mock_sim::SimDevice;
//!
//! let device = SimDevice::builder("53ff6f065067544840551187")
//!     .name("kitchen")
//!     .function("led", |arg| if arg == "on" { 1 } else { 0 })
//!     .variable_int("temp", || 42)
//!     .publish("temperature", Duration::from_secs(10), "t=${temp}")
//!     .build()?;
//! let handle = device.spawn(opts);
//! handle.wait_online().await?;
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use spark_mock_protocol::messages::{VarType, VarValue, DEFAULT_TTL};
use spark_mock_protocol::{DeviceId, DeviceKey};

use crate::device::SimDevice;
use crate::model::{Behaviour, FunctionDef, VarSource, VariableDef};
use crate::rng::{id_from_seed, seed_from_str};
use crate::spec::{
    BuildError, ConnectionBehaviour, Definitions, DeviceSpec, KeySource, Mode, PublishDef, Scope,
    SubscriptionDef,
};

/// Collects a device definition; [`SimDeviceBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct SimDeviceBuilder {
    id: Result<DeviceId, BuildError>,
    name: Option<String>,
    owner: Option<String>,
    mode: Mode,
    seed: Option<u64>,
    key: KeySource,
    defs: Definitions,
    connection: ConnectionBehaviour,
}

impl SimDevice {
    /// A builder for the device with this 24-hex id.
    pub fn builder(id: &str) -> SimDeviceBuilder {
        let id = id
            .parse()
            .map_err(
                |e: spark_mock_protocol::device_id::DeviceIdError| BuildError::BadId {
                    id: id.to_owned(),
                    reason: e.to_string(),
                },
            );
        SimDeviceBuilder::new(id)
    }

    /// A builder for the device whose id and values derive from `seed`.
    pub fn builder_seeded(seed: u64) -> SimDeviceBuilder {
        SimDeviceBuilder::new(Ok(id_from_seed(seed))).seed(seed)
    }
}

impl SimDeviceBuilder {
    fn new(id: Result<DeviceId, BuildError>) -> Self {
        Self {
            id,
            name: None,
            owner: None,
            mode: Mode::Core,
            seed: None,
            key: KeySource::PerDevice,
            defs: Definitions::default(),
            connection: ConnectionBehaviour::default(),
        }
    }

    /// The name given when provisioning.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The user who claims the device when provisioning.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Core (default) or Photon wire behaviour.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Seed of the value generators (default: derived from the id).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Uses this key (default: per-device key from the key store, or a
    /// throwaway one).
    pub fn key(self, key: DeviceKey) -> Self {
        self.key_source(KeySource::Given(Arc::new(key)))
    }

    /// Chooses the key source.
    pub fn key_source(mut self, key: KeySource) -> Self {
        self.key = key;
        self
    }

    /// A function implemented by a closure (argument → int32 return).
    pub fn function(self, name: &str, f: impl Fn(&str) -> i32 + Send + Sync + 'static) -> Self {
        self.function_def(FunctionDef::new(name, Behaviour::Custom(Arc::new(f))))
    }

    /// A function with a built-in behaviour.
    pub fn function_behaviour(self, name: &str, behaviour: Behaviour) -> Self {
        self.function_def(FunctionDef::new(name, behaviour))
    }

    /// A function definition (e.g. with a delay).
    pub fn function_def(mut self, def: FunctionDef) -> Self {
        self.defs.functions.push(def);
        self
    }

    /// A bool variable read from a closure.
    pub fn variable_bool(self, name: &str, f: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.custom(name, VarType::Bool, move || VarValue::Bool(f()))
    }

    /// An int32 variable read from a closure.
    pub fn variable_int(self, name: &str, f: impl Fn() -> i32 + Send + Sync + 'static) -> Self {
        self.custom(name, VarType::Int, move || VarValue::Int(f()))
    }

    /// A double variable read from a closure.
    pub fn variable_double(self, name: &str, f: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        self.custom(name, VarType::Double, move || VarValue::Double(f()))
    }

    /// A string variable read from a closure.
    pub fn variable_string(
        self,
        name: &str,
        f: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.custom(name, VarType::String, move || {
            VarValue::String(f().into_bytes())
        })
    }

    fn custom(
        self,
        name: &str,
        ty: VarType,
        f: impl Fn() -> VarValue + Send + Sync + 'static,
    ) -> Self {
        self.variable(VariableDef::new(name, ty, VarSource::Custom(Arc::new(f))))
    }

    /// A variable definition (any kind).
    pub fn variable(mut self, def: VariableDef) -> Self {
        self.defs.variables.push(def);
        self
    }

    /// A public periodic publish with the default TTL.
    pub fn publish(self, name: &str, every: Duration, template: &str) -> Self {
        self.publish_def(PublishDef {
            name: name.to_owned(),
            interval: every,
            data: template.to_owned(),
            private: false,
            ttl: DEFAULT_TTL,
        })
    }

    /// A periodic publish definition.
    pub fn publish_def(mut self, def: PublishDef) -> Self {
        self.defs.publishes.push(def);
        self
    }

    /// Subscribes to everyone's events starting with `prefix`.
    pub fn subscribe(self, prefix: &str) -> Self {
        self.subscribe_def(SubscriptionDef {
            prefix: prefix.to_owned(),
            scope: Scope::All,
            set_variable: None,
        })
    }

    /// A subscription definition.
    pub fn subscribe_def(mut self, def: SubscriptionDef) -> Self {
        self.defs.subscriptions.push(def);
        self
    }

    /// Replaces the connection behaviour.
    pub fn connection(mut self, c: ConnectionBehaviour) -> Self {
        self.connection = c;
        self
    }

    /// Edits the connection behaviour in place.
    pub fn with_connection(mut self, f: impl FnOnce(&mut ConnectionBehaviour)) -> Self {
        f(&mut self.connection);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<SimDevice, BuildError> {
        let id = self.id?;
        SimDevice::from_spec(DeviceSpec {
            id,
            name: self.name,
            owner: self.owner,
            mode: self.mode,
            seed: self.seed.unwrap_or_else(|| seed_from_str(&id.to_hex())),
            key: self.key,
            defs: Arc::new(self.defs),
            connection: self.connection,
        })
    }
}
