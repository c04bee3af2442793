//! A cloud with its device port on 127.0.0.1:0 and simulated cores connected in-process
//! through the real protocol. Keys are made once per test binary (RSA generation is slow).

use std::sync::{Arc, OnceLock};

use spark_mock_protocol::{DeviceKey, ServerKey};
use spark_mock_server::Config;
use spark_mock_sim::{ConnectOptions, DeviceHandle, KeySource, SimDevice, SimDeviceBuilder};
use tokio::net::TcpListener;

use super::helpers::TestApp;

pub fn server_key() -> Arc<ServerKey> {
    static KEY: OnceLock<Arc<ServerKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(ServerKey::generate(&mut rand::rngs::OsRng).expect("server key")))
        .clone()
}

pub fn device_key() -> Arc<DeviceKey> {
    static KEY: OnceLock<Arc<DeviceKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(DeviceKey::generate(&mut rand::rngs::OsRng).expect("device key")))
        .clone()
}

/// Starts a server with a device port (both on port 0) and the shared server key.
pub async fn spawn_cloud(config: Config) -> TestApp {
    let config = Config {
        server_key: Some(server_key()),
        ..config
    };
    let state = spark_mock_server::AppState::new(config).expect("state");
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let devices = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind devices");
    let addr = http.local_addr().expect("addr");
    // Known before the server task runs, so devices can connect at once.
    state.set_device_addr(Some(devices.local_addr().expect("device addr")));
    tokio::spawn(spark_mock_server::run_with_devices(
        http,
        Some(devices),
        state.clone(),
    ));
    TestApp::from_parts(format!("http://{addr}"), state)
}

impl TestApp {
    /// How devices reach this cloud.
    pub fn connect_options(&self) -> ConnectOptions {
        let addr = self.state.device_addr().expect("device port");
        ConnectOptions::new(addr, server_key().public_key().clone())
    }

    /// Registers `builder`'s device for `owner` (its key, its name) and connects it; returns
    /// once it is online.
    pub async fn add_device(&self, builder: SimDeviceBuilder, owner: Option<&str>) -> DeviceHandle {
        let device: SimDevice = builder
            .key_source(KeySource::Given(device_key()))
            .build()
            .expect("device");
        let id = device.spec().id.to_string();
        let name = device.spec().name.clone();
        let pem = device_key().public_pem().expect("pem");
        self.state.devices().provision(&id, &pem);
        self.state.devices().upsert(&id, |d| {
            d.owner = owner.map(str::to_string);
            d.name = name;
        });
        let handle = device.spawn(self.connect_options());
        tokio::time::timeout(std::time::Duration::from_secs(30), handle.wait_online())
            .await
            .expect("online in time")
            .expect("online");
        // The registry has the Describe once the device is online on both sides.
        for _ in 0..200 {
            if self
                .state
                .devices()
                .get(&id)
                .is_some_and(|d| d.online && !(d.functions.is_empty() && d.variables.is_empty()))
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        handle
    }
}
