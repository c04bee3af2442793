//! A cloud with its device port on 127.0.0.1:0 and simulated cores connected in-process
//! through the real protocol. Keys are made once per test binary (RSA generation is slow).

use std::collections::BTreeSet;
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

/// For device tests under `#[tokio::test(start_paused = true)]`, which wait for device
/// timeouts and slow devices without spending real time. While the runtime waits on a
/// socket, tokio's paused clock jumps to the earliest timer, even when the peer's bytes are
/// already there; this 1 ms ticker keeps the earliest timer at most 1 ms away, so bytes in
/// flight cost about 1 ms of the test's time and only a real wait (a 400 ms device timeout,
/// a 300 ms answer delay) moves the clock far, in 1 ms steps that take no real time.
pub fn pace_paused_clock() {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(1));
        loop {
            tick.tick().await;
        }
    });
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
        let defs = &device.spec().defs;
        let mut functions: Vec<String> = defs.functions.iter().map(|f| f.name.clone()).collect();
        functions.sort_unstable();
        // The registry keeps variables in a map, so in name order.
        let variables: BTreeSet<String> = defs.variables.iter().map(|v| v.name.clone()).collect();
        let subscriptions = defs.subscriptions.len();
        let handle = device.spawn(self.connect_options());
        // Ready once the cloud has this session's Describe and subscriptions (woken by the
        // registry's changes, no polling).
        let devices = self.state.devices();
        let ready = devices.wait_until(|reg| {
            let d = reg.get(&id).filter(|d| d.online)?;
            let mut fns = d.functions.clone();
            fns.sort_unstable();
            let subscribed = reg.subscriptions(&id).len() >= subscriptions;
            (fns == functions && d.variables.keys().eq(&variables) && subscribed).then_some(())
        });
        tokio::time::timeout(std::time::Duration::from_secs(30), ready)
            .await
            .expect("the device online, described and subscribed in time");
        handle
    }

    /// Waits (30 s at most) until the registry's device `id` satisfies `ready`; woken by
    /// each registry change, no polling.
    pub async fn wait_device(
        &self,
        id: &str,
        what: &str,
        ready: impl Fn(&spark_mock_server::devices::DeviceInfo) -> bool,
    ) -> spark_mock_server::devices::DeviceInfo {
        let devices = self.state.devices();
        match tokio::time::timeout(
            std::time::Duration::from_secs(30),
            devices.wait_for(id, ready),
        )
        .await
        {
            Ok(d) => d,
            Err(_) => panic!("{id} not {what} within 30 s: {:?}", devices.get(id)),
        }
    }
}
