//! An in-process cloud with its device port, a user and connected cores, for the HTTP
//! benchmarks.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use spark_mock_server::seed::{Seed, SeedToken, SeedUser};
use spark_mock_server::{AppState, Config, Profile, TriggerOnDrop};
use spark_mock_sim::{ConnectOptions, DeviceHandle, DeviceKey, KeySource, SimDevice};
use tokio::net::TcpListener;

pub const USER: &str = "bench@spark-mock.local";
/// A seeded token so the load needs no login.
pub const TOKEN: &str = "be0c0000000000000000000000000000000000be";

pub struct Cloud {
    pub base: String,
    pub state: AppState,
    pub devices: Vec<DeviceHandle>,
    _stop: TriggerOnDrop,
}

/// Starts a particle-profile cloud with `n` connected cores `bench0…`, each with a function
/// `echo` (returns the argument's length) and an int variable `temp`.
pub async fn start(n: usize) -> anyhow::Result<Cloud> {
    let key = tokio::task::spawn_blocking(|| {
        spark_mock_protocol::ServerKey::generate(&mut rand::rngs::OsRng)
    })
    .await??;
    let device_key = Arc::new(
        tokio::task::spawn_blocking(|| DeviceKey::generate(&mut rand::rngs::OsRng)).await??,
    );
    let config = Config {
        server_key: Some(Arc::new(key)),
        password_iterations: 1,
        device_timeout: Duration::from_secs(10),
        ..Config::for_profile(Profile::Particle)
    };
    let state = AppState::with_seed(config, &seed())?;
    let (base, stop) = serve(&state).await?;
    let devices = connect_cores(&state, n, device_key).await?;
    wait_described(&state, n).await;
    Ok(Cloud {
        base,
        state,
        devices,
        _stop: stop,
    })
}

/// The bench user with its seeded, never-expiring token.
fn seed() -> Seed {
    Seed {
        users: vec![SeedUser {
            username: USER.into(),
            password: "bench".into(),
            first_name: None,
            last_name: None,
            tokens: vec![SeedToken {
                token: Some(TOKEN.into()),
                client: "particle".into(),
                expires_in: Some(0),
            }],
            ..SeedUser::default()
        }],
        ..Seed::default()
    }
}

/// Serves the API and the device port on loopback port 0 until the guard is dropped;
/// returns the API's base URL.
async fn serve(state: &AppState) -> anyhow::Result<(String, TriggerOnDrop)> {
    let http = TcpListener::bind("127.0.0.1:0").await?;
    let dev = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", http.local_addr()?);
    state.set_device_addr(Some(dev.local_addr()?));
    let stop = state.shutdown().trigger_on_drop();
    tokio::spawn(spark_mock_server::run_with_devices(
        http,
        Some(dev),
        state.clone(),
    ));
    Ok((base, stop))
}

/// Provisions `n` cores owned by the bench user (one shared key) and waits until each is
/// online.
async fn connect_cores(
    state: &AppState,
    n: usize,
    device_key: Arc<DeviceKey>,
) -> anyhow::Result<Vec<DeviceHandle>> {
    let server_pub = state.server_key().await?.public_key().clone();
    let addr = state.device_addr().context("device port")?;
    let pem = device_key.public_pem()?;
    let mut devices = Vec::new();
    for i in 0..n {
        let id = format!("{:024x}", 0xbe00 + i);
        state.devices().provision(&id, &pem);
        state.devices().upsert(&id, |d| {
            d.owner = Some(USER.into());
            d.name = Some(format!("bench{i}"));
        });
        let device = SimDevice::builder(&id)
            .name(format!("bench{i}"))
            .key_source(KeySource::Given(device_key.clone()))
            .function("echo", |arg| arg.len() as i32)
            .variable_int("temp", || 42)
            .build()?;
        let mut opts = ConnectOptions::new(addr, server_pub.clone());
        opts.quiet = true;
        devices.push(device.spawn(opts));
    }
    for d in &devices {
        tokio::time::timeout(Duration::from_secs(60), d.wait_online()).await??;
    }
    Ok(devices)
}

/// Waits (up to about 10 s) until the cloud has every core's Describe, so the first
/// call does not wait for it.
async fn wait_described(state: &AppState, n: usize) {
    for _ in 0..1000 {
        let ready = state
            .devices()
            .owned_by(USER)
            .iter()
            .filter(|d| d.online && !d.functions.is_empty())
            .count();
        if ready == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An HTTP client for load: keep-alive connections, no proxy.
pub fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .no_proxy()
        .build()?)
}
