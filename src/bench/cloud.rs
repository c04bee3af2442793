//! An in-process cloud with its device port, a user and connected cores, for the HTTP
//! benchmarks.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use spark_mock_server::seed::{Seed, SeedToken, SeedUser};
use spark_mock_server::{AppState, Config, Profile};
use spark_mock_sim::{ConnectOptions, DeviceHandle, DeviceKey, KeySource, SimDevice};
use tokio::net::TcpListener;

pub const USER: &str = "bench@spark-mock.local";
/// A seeded token so the load needs no login.
pub const TOKEN: &str = "be0c0000000000000000000000000000000000be";

pub struct Cloud {
    pub base: String,
    pub state: AppState,
    pub devices: Vec<DeviceHandle>,
    _stop: tokio::sync::oneshot::Sender<()>,
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
    let seed = Seed {
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
    };
    let state = AppState::with_seed(config, &seed)?;
    let http = TcpListener::bind("127.0.0.1:0").await?;
    let dev = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", http.local_addr()?);
    state.set_device_addr(Some(dev.local_addr()?));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(spark_mock_server::run_with_devices(
        http,
        Some(dev),
        state.clone(),
        async move {
            let _ = rx.await;
        },
    ));
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
    // Wait until the cloud has every Describe.
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
    Ok(Cloud {
        base,
        state,
        devices,
        _stop: tx,
    })
}

/// An HTTP client for load: keep-alive connections, no proxy.
pub fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .no_proxy()
        .build()?)
}
