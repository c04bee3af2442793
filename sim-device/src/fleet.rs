//! Many devices at once: one task each, a shared bound on concurrent
//! connects + handshakes (so the server's accept queue and RSA work are not
//! swamped), shared online/failed counters, and a progress line while the
//! fleet comes up ("connected 3456/10000").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::device::{ConnectOptions, SimDevice};
use crate::handle::DeviceHandle;
use crate::spec::{BuildError, DeviceSpec};

/// Above this many devices, per-device connects/disconnects log at DEBUG.
pub const QUIET_ABOVE: usize = 20;

/// Counts shared by a fleet's devices.
#[derive(Debug, Default)]
pub struct FleetCounters {
    /// Devices online now.
    pub online: AtomicUsize,
    /// Devices that gave up.
    pub failed: AtomicUsize,
}

/// A running fleet.
#[derive(Debug)]
pub struct Fleet {
    handles: Vec<DeviceHandle>,
    counters: Arc<FleetCounters>,
    progress: Option<JoinHandle<()>>,
}

impl Fleet {
    /// Validates and starts every device. `max_connecting` bounds concurrent
    /// connects + handshakes; `progress` is how often to log progress.
    pub fn spawn(
        devices: Vec<DeviceSpec>,
        mut opts: ConnectOptions,
        max_connecting: usize,
        progress: Option<Duration>,
    ) -> Result<Self, BuildError> {
        let devices = devices
            .into_iter()
            .map(SimDevice::from_spec)
            .collect::<Result<Vec<_>, _>>()?;
        let total = devices.len();
        if let Some(limit) = open_files_limit() {
            if limit < total as u64 + 64 {
                warn!("the open-files limit is {limit}, too low for {total} devices; raise it with `ulimit -n {}`", total + 1024);
            }
        }
        let counters = Arc::new(FleetCounters::default());
        opts.counters = Some(Arc::clone(&counters));
        opts.handshake_limit = Some(Arc::new(Semaphore::new(max_connecting.max(1))));
        opts.quiet |= total > QUIET_ABOVE;
        let handles: Vec<_> = devices.into_iter().map(|d| d.spawn(opts.clone())).collect();
        let progress = progress.map(|every| {
            let counters = Arc::clone(&counters);
            let store = opts.key_store.clone();
            tokio::spawn(report(counters, store, total, every))
        });
        Ok(Self {
            handles,
            counters,
            progress,
        })
    }

    /// Number of devices.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the fleet has no devices.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Devices online now.
    pub fn online(&self) -> usize {
        self.counters.online.load(Ordering::Relaxed)
    }

    /// Devices that gave up.
    pub fn failed(&self) -> usize {
        self.counters.failed.load(Ordering::Relaxed)
    }

    /// The devices' handles.
    pub fn handles(&self) -> &[DeviceHandle] {
        &self.handles
    }

    /// Waits until every device is online (or one stopped or failed).
    pub async fn wait_all_online(&self) -> Result<(), crate::SimError> {
        for h in &self.handles {
            h.wait_online().await?;
        }
        Ok(())
    }

    /// Stops every device and waits for them.
    pub async fn shutdown(self) {
        if let Some(p) = &self.progress {
            p.abort();
        }
        for h in &self.handles {
            h.stop();
        }
        for h in self.handles {
            h.shutdown().await;
        }
    }
}

async fn report(
    counters: Arc<FleetCounters>,
    store: Option<Arc<crate::KeyStore>>,
    total: usize,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = None;
    loop {
        tick.tick().await;
        let online = counters.online.load(Ordering::Relaxed);
        let failed = counters.failed.load(Ordering::Relaxed);
        let generated = store.as_ref().map_or(0, |s| s.generated());
        let now = (online, failed, generated);
        if online + failed == total && last == Some(now) {
            continue;
        }
        if online == total && last != Some(now) {
            info!("all {total} devices connected");
        } else if last != Some(now) || online + failed < total {
            let mut line = format!("connected {online}/{total}");
            if failed > 0 {
                line.push_str(&format!(", {failed} failed"));
            }
            if generated > 0 {
                line.push_str(&format!(", {generated} keys generated"));
            }
            info!("{line}");
        }
        last = Some(now);
    }
}

/// The soft open-files limit, where the platform tells (Linux).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
