//! `spark-mock sim`: runs the simulated devices of a TOML file against a
//! cloud (spark-mock by default, or the original local cloud with
//! `--server-key` and `--device-server`), until Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use spark_mock_sim::keys::load_server_key_file;
use spark_mock_sim::provision::{resolve, resolve_host_port, DeviceServerInfo};
use spark_mock_sim::{ConnectOptions, Fleet, FleetConfig, KeySource, KeyStore, Provisioner};
use tracing::info;

/// How long `sim` waits for the cloud to answer at start-up.
const CLOUD_WAIT: Duration = Duration::from_secs(30);

#[derive(Args, Debug, Clone)]
pub struct SimOpts {
    /// The devices file (TOML; see sim-device/README.md).
    #[arg(env = "SPARK_MOCK_SIM_FILE")]
    pub file: PathBuf,
    /// The cloud's HTTP address: the server key and the device port come from its
    /// `/__mock/device-server`, and devices are registered and claimed through `/__mock/devices`.
    #[arg(
        long,
        env = "SPARK_MOCK_CLOUD",
        default_value = "http://127.0.0.1:8080"
    )]
    pub cloud: String,
    /// The device port as HOST:PORT (default: what the cloud reports; with --server-key, the
    /// cloud's host on port 5683).
    #[arg(long, env = "SPARK_MOCK_DEVICE_SERVER")]
    pub device_server: Option<String>,
    /// The server's public key (PEM or DER, 2048-bit). The cloud is then not asked for anything
    /// and nothing is provisioned: for the original local cloud, copy `<key dir>/<id>.pub.pem`
    /// into its `core_keys/`.
    #[arg(long, env = "SPARK_MOCK_SERVER_KEY")]
    pub server_key: Option<PathBuf>,
    /// Where device keys are cached (default: the file's `[fleet] key_dir`, else `sim-keys/`
    /// beside the devices file).
    #[arg(long, env = "SPARK_MOCK_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// One shared key (`<key dir>/shared.pem`) for every device without an explicit key: the
    /// fast way to start a big fleet the first time.
    #[arg(long, env = "SPARK_MOCK_SHARED_KEY")]
    pub shared_key: bool,
    /// Do not register and claim devices through the cloud.
    #[arg(long, env = "SPARK_MOCK_NO_PROVISION")]
    pub no_provision: bool,
    /// The token of spark-mock's admin API (`X-Admin-Token`), needed when the cloud is not on
    /// loopback.
    #[arg(long, env = "SPARK_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Concurrent connects + handshakes (default: the file's `[fleet] max_connecting`, 64).
    #[arg(long, env = "SPARK_MOCK_MAX_CONNECTING")]
    pub max_connecting: Option<usize>,
}

pub async fn run(opts: SimOpts) -> anyhow::Result<()> {
    let cfg = FleetConfig::from_file(&opts.file)?;
    anyhow::ensure!(
        !cfg.devices.is_empty(),
        "{} defines no devices",
        opts.file.display()
    );
    let mut devices = cfg.devices;
    if opts.shared_key {
        for d in &mut devices {
            if matches!(d.key, KeySource::PerDevice) {
                d.key = KeySource::Shared;
            }
        }
    }
    let file_dir = opts.file.parent().unwrap_or(Path::new("."));
    let key_dir = (opts.key_dir.clone())
        .or(cfg.key_dir)
        .unwrap_or_else(|| file_dir.join("sim-keys"));
    let provisioner = Provisioner::new(&opts.cloud)?.with_admin_token(opts.admin_token.clone());
    let (addr, server_key, provision) = match &opts.server_key {
        Some(path) => {
            let key = load_server_key_file(path)?;
            let addr = match &opts.device_server {
                Some(s) => resolve_host_port(s).await?,
                None => resolve(provisioner.host(), 5683).await?,
            };
            (addr, key, false)
        }
        None => {
            let info = wait_for_cloud(&provisioner, &opts.cloud).await?;
            let addr = match &opts.device_server {
                Some(s) => resolve_host_port(s).await?,
                None => info.address,
            };
            (addr, (*info.server_key).clone(), !opts.no_provision)
        }
    };
    let mut connect = ConnectOptions::new(addr, server_key);
    connect.key_store = Some(Arc::new(KeyStore::new(&key_dir)));
    if provision {
        connect.provisioner = Some(Arc::new(provisioner));
    }
    let provisioning = if provision {
        format!("provisioned through {}", opts.cloud)
    } else {
        "not provisioned".to_owned()
    };
    info!(
        "simulating {} devices against {addr} (keys in {}, {provisioning})",
        devices.len(),
        key_dir.display()
    );
    let max_connecting = opts.max_connecting.unwrap_or(cfg.max_connecting);
    let fleet = Fleet::spawn(
        devices,
        connect,
        max_connecting,
        Some(Duration::from_secs(1)),
    )?;
    shutdown_signal().await?;
    info!("stopping {} devices", fleet.len());
    fleet.shutdown().await;
    Ok(())
}

/// Asks the cloud for the device server, retrying while it starts up.
async fn wait_for_cloud(p: &Provisioner, cloud: &str) -> anyhow::Result<DeviceServerInfo> {
    let started = Instant::now();
    let mut said = false;
    loop {
        match p.device_server().await {
            Ok(info) => return Ok(info),
            Err(e) if e.is_permanent() || started.elapsed() > CLOUD_WAIT => {
                return Err(e).with_context(|| {
                    format!("cannot get the device server from {cloud} (is spark-mock serving there? against another cloud, pass --server-key and --device-server)")
                });
            }
            Err(e) => {
                if !said {
                    info!("waiting for the cloud at {cloud}: {e}");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
