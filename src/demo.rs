//! The demo's two simulated cores, owned by the demo user: a coffee machine and a garden,
//! each with functions, variables of every type and a periodic event, connected in-process
//! through the device port like any other core.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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

/// Registers both cores for the demo user and connects them to `device_addr`.
pub async fn start(state: &AppState, device_addr: SocketAddr) -> anyhow::Result<Vec<DeviceHandle>> {
    let server_key = state.server_key().await?;
    let key = Arc::new(
        tokio::task::spawn_blocking(|| DeviceKey::generate(&mut rand::rngs::OsRng)).await??,
    );
    let pem = key.public_pem()?;
    let mut handles = Vec::new();
    for builder in [coffee(), garden()] {
        let device = builder.key_source(KeySource::Given(key.clone())).build()?;
        let id = device.spec().id.to_string();
        let name = device.spec().name.clone();
        state.devices().provision(&id, &pem);
        state.devices().upsert(&id, |d| {
            d.owner = Some(DEMO_USER.to_string());
            d.name = name;
        });
        handles.push(device.spawn(ConnectOptions::new(
            device_addr,
            server_key.public_key().clone(),
        )));
    }
    Ok(handles)
}
