//! One device's task: get its key, provision it, then connect, serve the
//! session, and reconnect with backoff (or stay offline for a while) until
//! shut down. Each device is one tokio task, so a fleet of 10,000 is cheap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spark_mock_protocol::io::DEFAULT_STEP_TIMEOUT;
use spark_mock_protocol::{DeviceKey, RsaPublicKey};
use tokio::sync::{broadcast, watch, Semaphore};
use tracing::{info, warn};

use crate::backoff::Backoff;
use crate::fleet::FleetCounters;
use crate::handle::{DeviceHandle, DeviceState, DeviceStatus, Reporter, SimEvent};
use crate::keys::{generate_key, KeyStore, KeyStoreError};
use crate::model::Model;
use crate::provision::{Provisioner, Registration};
use crate::session::{self, Ended};
use crate::spec::{DeviceSpec, KeySource};

/// Where and how devices connect; cheap to clone, shared by a fleet.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The device port (`host:5683`).
    pub device_server: SocketAddr,
    /// The server's RSA-2048 public key.
    pub server_key: Arc<RsaPublicKey>,
    /// The key directory; without it, per-device keys are throwaway.
    pub key_store: Option<Arc<KeyStore>>,
    /// Registers and claims each device before it connects.
    pub provisioner: Option<Arc<Provisioner>>,
    /// Bounds concurrent connects + handshakes (a fleet shares one).
    pub handshake_limit: Option<Arc<Semaphore>>,
    /// Timeout of each handshake step and of the TCP connect.
    pub step_timeout: Duration,
    /// Log connects and disconnects at DEBUG instead of INFO (big fleets).
    pub quiet: bool,
    /// The fleet's online/failed counters.
    pub counters: Option<Arc<FleetCounters>>,
    /// Connect from this local address (e.g. `127.0.0.2`: the same device on another
    /// network); `None` lets the OS choose.
    pub local_addr: Option<std::net::IpAddr>,
}

impl ConnectOptions {
    /// Options for a device server and its key, nothing else.
    pub fn new(device_server: SocketAddr, server_key: RsaPublicKey) -> Self {
        Self {
            device_server,
            server_key: Arc::new(server_key),
            key_store: None,
            provisioner: None,
            handshake_limit: None,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            quiet: false,
            counters: None,
            local_addr: None,
        }
    }
}

/// A device ready to run: a validated [`DeviceSpec`].
#[derive(Debug, Clone)]
pub struct SimDevice {
    spec: DeviceSpec,
}

impl SimDevice {
    /// Wraps a spec, checking its definitions.
    pub fn from_spec(spec: DeviceSpec) -> Result<Self, crate::BuildError> {
        spec.defs.validate()?;
        Ok(Self { spec })
    }

    /// The spec.
    pub fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    /// Starts the device's task. Must be called inside a tokio runtime.
    pub fn spawn(self, opts: ConnectOptions) -> DeviceHandle {
        let initial = DeviceStatus {
            state: DeviceState::Starting,
            sessions: 0,
            last_error: None,
            last_flash: None,
        };
        let (status_tx, status_rx) = watch::channel(initial);
        let (events, _) = broadcast::channel(64);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let reporter = Reporter {
            status: status_tx,
            events: events.clone(),
            counters: opts.counters.clone(),
        };
        let id = self.spec.id;
        let task = tokio::spawn(run(self.spec, opts, reporter, shutdown_rx));
        DeviceHandle::new(id, status_rx, events, shutdown_tx, task)
    }
}

/// Waits until shutdown is asked for (or the handle is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn run(
    mut spec: DeviceSpec,
    opts: ConnectOptions,
    rep: Reporter,
    mut shutdown: watch::Receiver<bool>,
) {
    let label = spec.label();
    let mut backoff = Backoff::new(&spec.connection, spec.seed);
    let start = async {
        let key = resolve_key(&spec.key, &spec, &opts).await?;
        provision(&spec, &key, &opts, &rep, &mut backoff).await?;
        Ok::<_, String>(key)
    };
    let key = tokio::select! {
        k = start => k,
        () = stopped(&mut shutdown) => return rep.state(DeviceState::Stopped),
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            warn!(device = %label, "giving up: {e}");
            rep.error(e);
            return rep.state(DeviceState::Failed);
        }
    };
    let mut model = Model::new(Arc::clone(&spec.defs), spec.seed);
    let mut ota_done = false;
    loop {
        rep.state(DeviceState::Connecting);
        let ctx = session::Ctx {
            spec: &spec,
            opts: &opts,
            key: &key,
            rep: &rep,
            label: &label,
        };
        let ended = tokio::select! {
            r = session::run(&ctx, &mut model, &mut backoff, ota_done) => r,
            () = stopped(&mut shutdown) => Ok(Ended::Shutdown),
        };
        ota_done = false;
        let (pause, reason) = match ended {
            Ok(Ended::Shutdown) => break,
            Ok(Ended::Dropped) => (
                Duration::ZERO,
                "dropped the connection (drop_after_s)".into(),
            ),
            Ok(Ended::Offline(d)) => {
                rep.state(DeviceState::Offline);
                (d, format!("going offline for {d:?} (offline_after_s)"))
            }
            Ok(Ended::Reboot(defs)) => {
                ota_done = true;
                if let Some(defs) = defs {
                    spec.defs = defs;
                    model = Model::new(Arc::clone(&spec.defs), spec.seed);
                }
                (Duration::ZERO, "rebooting after OTA".into())
            }
            Err(e) => {
                rep.error(&e);
                let pause = backoff.next();
                (pause, format!("{e}; reconnecting in {pause:?}"))
            }
        };
        if opts.quiet {
            tracing::debug!(device = %label, "{reason}");
        } else {
            info!(device = %label, "{reason}");
        }
        rep.emit(SimEvent::Disconnected { reason });
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stopped(&mut shutdown) => break,
        }
    }
    rep.state(DeviceState::Stopped);
}

async fn resolve_key(
    source: &KeySource,
    spec: &DeviceSpec,
    opts: &ConnectOptions,
) -> Result<Arc<DeviceKey>, String> {
    let r: Result<_, KeyStoreError> = match (source, &opts.key_store) {
        (KeySource::Given(k), _) => Ok(Arc::clone(k)),
        (KeySource::PerDevice, Some(store)) => store.device_key(&spec.id).await,
        (KeySource::Shared, Some(store)) => store.shared_key().await,
        (KeySource::PerDevice, None) => generate_key().await,
        (KeySource::Shared, None) => return Err("a shared key needs a key directory".into()),
    };
    r.map_err(|e| e.to_string())
}

/// Registers the device, retrying with backoff until it works or the error
/// is permanent.
async fn provision(
    spec: &DeviceSpec,
    key: &DeviceKey,
    opts: &ConnectOptions,
    rep: &Reporter,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let Some(p) = &opts.provisioner else {
        return Ok(());
    };
    let pem = key.public_pem().map_err(|e| e.to_string())?;
    let id = spec.id.to_hex();
    let reg = Registration {
        id: &id,
        public_key_pem: &pem,
        owner: spec.owner.as_deref(),
        name: spec.name.as_deref(),
    };
    loop {
        match p.register(&reg).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_permanent() => return Err(format!("provisioning failed: {e}")),
            Err(e) => {
                let pause = backoff.next();
                tracing::debug!(device = %spec.label(), "provisioning: {e}; retrying in {pause:?}");
                rep.error(&e);
                tokio::time::sleep(pause).await;
            }
        }
    }
}
