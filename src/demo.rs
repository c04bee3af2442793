//! The demo's two simulated cores, owned by the demo user: a coffee machine and a garden,
//! each with functions, variables of every type and a periodic event, connected in-process
//! through the device port like any other core.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spark_mock_server::seed::SeedDevice;
use spark_mock_server::AppState;
use spark_mock_sim::{
    Behaviour, ConnectOptions, DeviceHandle, DeviceKey, KeySource, SimDevice, VarSource, VarType,
    VarValue, VariableDef,
};

use crate::serve::DEMO_USER;

pub const COFFEE_ID: &str = "5ee0de7000000000000c0ffe";
pub const GARDEN_ID: &str = "5ee0de700000000000a2de70";

fn coffee() -> spark_mock_sim::SimDeviceBuilder {
    SimDevice::builder(COFFEE_ID)
        .name("coffee")
        .seed(1)
        .function("brew", |arg| if arg.is_empty() { -1 } else { 1 })
        .function_behaviour("lamp", Behaviour::Toggle(Some("lamp".into())))
        .variable(VariableDef::new(
            "temperature",
            VarType::Double,
            VarSource::RandomWalk {
                start: 21.5,
                min: 18.0,
                max: 26.0,
                step: 0.3,
            },
        ))
        .variable(VariableDef::new(
            "cups",
            VarType::Int,
            VarSource::Counter {
                start: 0.0,
                step: 1.0,
            },
        ))
        .variable(VariableDef::constant("lamp", VarValue::Bool(false)))
        .variable(VariableDef::new(
            "status",
            VarType::String,
            VarSource::Pick(
                ["idle", "brewing", "cleaning"]
                    .map(|s| VarValue::String(s.into()))
                    .to_vec(),
            ),
        ))
        .publish(
            "coffee/temperature",
            Duration::from_secs(10),
            "${temperature}",
        )
}

fn garden() -> spark_mock_sim::SimDeviceBuilder {
    SimDevice::builder(GARDEN_ID)
        .name("garden")
        .seed(2)
        .function_behaviour("water", Behaviour::ArgLength)
        .function_behaviour("valve", Behaviour::Toggle(Some("valve".into())))
        .variable(VariableDef::new(
            "moisture",
            VarType::Int,
            VarSource::Sine {
                min: 20.0,
                max: 80.0,
                period: Duration::from_secs(120),
            },
        ))
        .variable(VariableDef::constant("valve", VarValue::Bool(false)))
        .publish("garden/moisture", Duration::from_secs(15), "${moisture}")
}

/// The demo's cores, built with one fresh key, before the cloud starts: the seed registers
/// them (so `POST /__mock/reset` registers them again and they reconnect), and [`Cores::start`]
/// connects them once the device port listens.
pub struct Cores {
    /// One key for both: generating a 1024-bit RSA key takes a moment.
    key: Arc<DeviceKey>,
    devices: Vec<SimDevice>,
}

impl Cores {
    pub async fn new() -> anyhow::Result<Cores> {
        let key = Arc::new(
            tokio::task::spawn_blocking(|| DeviceKey::generate(&mut rand::rngs::OsRng)).await??,
        );
        let devices = [coffee(), garden()]
            .into_iter()
            .map(|b| b.key_source(KeySource::Given(key.clone())).build())
            .collect::<Result<_, _>>()?;
        Ok(Cores { key, devices })
    }

    /// The seed's part: each core's id, key, owner (the demo user) and name.
    pub fn seed_devices(&self) -> anyhow::Result<Vec<SeedDevice>> {
        let pem = self.key.public_pem()?;
        Ok(self
            .devices
            .iter()
            .map(|d| SeedDevice {
                id: d.spec().id.to_string(),
                public_key_pem: pem.clone(),
                owner: Some(DEMO_USER.to_string()),
                name: d.spec().name.clone(),
            })
            .collect())
    }

    /// Connects the cores to `device_addr`; they live as long as their handles.
    pub async fn start(
        self,
        state: &AppState,
        device_addr: SocketAddr,
    ) -> anyhow::Result<Vec<DeviceHandle>> {
        let server_key = state.server_key().await?;
        Ok(self
            .devices
            .into_iter()
            .map(|d| {
                d.spawn(ConnectOptions::new(
                    device_addr,
                    server_key.public_key().clone(),
                ))
            })
            .collect())
    }
}
