//! The scenario's simulated cores (spark-mock-sim): registered and claimed through
//! `/__mock/devices`, connected to the device port `/__mock/device-server` names, and
//! "ready" once the cloud lists them online with their Describe. Offline and back through
//! the fault API; another Wi-Fi network is a reconnect from another loopback address.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use spark_mock_sim::{
    ConnectOptions, DeviceHandle, DeviceSpec, KeySource, KeyStore, Provisioner, SimDevice,
};

use crate::format::{OfflineFault, Scenario};
use crate::http::Http;

/// Longest wait for a device to come online (first runs generate its key).
const READY_PATIENCE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);

struct Sim {
    name: String,
    id: String,
    spec: DeviceSpec,
    handle: Option<DeviceHandle>,
    local: Option<IpAddr>,
    fault: Option<u64>,
}

pub(crate) struct Sims {
    sims: Vec<Sim>,
    store: Arc<KeyStore>,
    opts: Option<ConnectOptions>,
    admin_token: Option<String>,
}

impl Sims {
    pub fn new(sc: &Scenario, key_dir: &Path, admin_token: Option<String>) -> Self {
        let sims = sc
            .devices
            .iter()
            .map(|d| {
                let mut spec = d.spec.clone();
                let c = &mut spec.connection;
                c.backoff_min = c.backoff_min.min(Duration::from_millis(50));
                c.backoff_max = c.backoff_max.min(Duration::from_secs(1));
                Sim {
                    name: d.name.clone(),
                    id: d.id.clone(),
                    spec,
                    handle: None,
                    local: None,
                    fault: None,
                }
            })
            .collect();
        Sims {
            sims,
            store: Arc::new(KeyStore::new(key_dir)),
            opts: None,
            admin_token,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sims.is_empty()
    }

    fn find(&mut self, name: &str) -> Result<&mut Sim, String> {
        self.sims
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("no device \"{name}\""))
    }

    pub fn id(&self, name: &str) -> Option<&str> {
        self.sims
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.id.as_str())
    }

    pub fn handle(&self, name: &str) -> Option<&DeviceHandle> {
        self.sims.iter().find(|s| s.name == name)?.handle.as_ref()
    }

    /// Asks the cloud where its device port is, then starts every device and waits until the
    /// cloud sees them all.
    pub async fn start(&mut self, http: &Http) -> Result<(), String> {
        let provisioner = Provisioner::new(http.base())
            .map_err(|e| e.to_string())?
            .with_admin_token(self.admin_token.clone());
        let info = provisioner
            .device_server()
            .await
            .map_err(|e| e.to_string())?;
        let mut opts = ConnectOptions::new(info.address, (*info.server_key).clone());
        opts.key_store = Some(Arc::clone(&self.store));
        opts.provisioner = Some(Arc::new(provisioner));
        opts.step_timeout = Duration::from_secs(10);
        opts.quiet = true;
        self.opts = Some(opts);
        self.load_keys().await?;
        for i in 0..self.sims.len() {
            self.spawn(i)?;
        }
        self.wait_all(http).await
    }

    /// Loads (or makes, once) every device's key before any device starts: runs in the same
    /// process share the key directory, and two of them must not write the same key file.
    async fn load_keys(&mut self) -> Result<(), String> {
        static KEYS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = KEYS.lock().await;
        for sim in &mut self.sims {
            let key = match &sim.spec.key {
                KeySource::PerDevice => self.store.device_key(&sim.spec.id).await,
                KeySource::Shared => self.store.shared_key().await,
                KeySource::Given(_) => continue,
            };
            sim.spec.key = KeySource::Given(key.map_err(|e| format!("device {}: {e}", sim.name))?);
        }
        Ok(())
    }

    fn spawn(&mut self, i: usize) -> Result<(), String> {
        let mut opts = self.opts.clone().ok_or("devices were not started")?;
        let sim = &mut self.sims[i];
        opts.local_addr = sim.local;
        let device = SimDevice::from_spec(sim.spec.clone()).map_err(|e| e.to_string())?;
        sim.handle = Some(device.spawn(opts));
        Ok(())
    }

    /// Waits until every device is online on both sides.
    pub async fn wait_all(&self, http: &Http) -> Result<(), String> {
        for sim in &self.sims {
            if let Some(h) = &sim.handle {
                match tokio::time::timeout(READY_PATIENCE, h.wait_online()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(format!("device {}: {e}", sim.name)),
                    Err(_) => return Err(format!("device {} did not come online", sim.name)),
                }
            }
            if sim.fault.is_none() {
                wait_listed(http, &sim.id, true, needs_describe(&sim.spec)).await?;
            }
        }
        Ok(())
    }

    /// Restarts every device (the server moved to other ports).
    pub async fn respawn_all(&mut self, http: &Http) -> Result<(), String> {
        for sim in &mut self.sims {
            if let Some(h) = sim.handle.take() {
                h.shutdown().await;
            }
        }
        self.start(http).await
    }

    /// Takes a device away through the fault API; returns the fault's id.
    pub async fn offline(
        &mut self,
        name: &str,
        fault: OfflineFault,
        http: &Http,
    ) -> Result<u64, String> {
        let sim = self.find(name)?;
        let kind = match fault {
            OfflineFault::Offline => "offline",
            OfflineFault::NoAnswer => "no_answer",
        };
        let body = serde_json::json!({"device": sim.id, "fault": kind});
        let r = http.admin("POST", "/__mock/faults", Some(body)).await?;
        let id = (r.body.get("id").or_else(|| r.body.pointer("/fault/id")))
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("POST /__mock/faults answered {}: {}", r.status, r.text))?;
        sim.fault = Some(id);
        if fault == OfflineFault::Offline {
            wait_listed(http, &sim.id.clone(), false, false).await?;
        }
        Ok(id)
    }

    /// Removes the device's fault and waits until it is back, with its Describe.
    pub async fn online(&mut self, name: &str, http: &Http) -> Result<Option<u64>, String> {
        let sim = self.find(name)?;
        let fault = sim.fault.take();
        if let Some(id) = fault {
            let r = http
                .admin("DELETE", &format!("/__mock/faults/{id}"), None)
                .await?;
            if !(200..300).contains(&r.status) {
                return Err(format!("DELETE /__mock/faults/{id} answered {}", r.status));
            }
        }
        let (id, describe) = (sim.id.clone(), needs_describe(&sim.spec));
        wait_listed(http, &id, true, describe).await?;
        Ok(fault)
    }

    /// Stops the device and connects it again from `from`.
    pub async fn reconnect(&mut self, name: &str, from: IpAddr, http: &Http) -> Result<(), String> {
        let i = self
            .sims
            .iter()
            .position(|s| s.name == name)
            .ok_or("no such device")?;
        let sim = &mut self.sims[i];
        if let Some(h) = sim.handle.take() {
            h.shutdown().await;
        }
        let id = sim.id.clone();
        wait_listed(http, &id, false, false).await?;
        self.sims[i].local = Some(from);
        self.spawn(i)?;
        let sim = &self.sims[i];
        if let Some(h) = &sim.handle {
            match tokio::time::timeout(READY_PATIENCE, h.wait_online()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("device {name}: {e}")),
                Err(_) => return Err(format!("device {name} did not come back online")),
            }
        }
        wait_listed(http, &id, true, needs_describe(&sim.spec)).await?;
        Ok(())
    }

    pub async fn shutdown(&mut self) {
        for sim in &mut self.sims {
            if let Some(h) = sim.handle.take() {
                h.shutdown().await;
            }
        }
    }
}

fn needs_describe(spec: &DeviceSpec) -> bool {
    !(spec.defs.functions.is_empty() && spec.defs.variables.is_empty())
}

/// The device's `/__mock/devices` entry.
pub(crate) async fn entry(http: &Http, id: &str) -> Result<Option<Value>, String> {
    let list = http.admin_json("/__mock/devices").await?;
    Ok(list
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|d| d.get("id").and_then(Value::as_str) == Some(id))
        })
        .cloned())
}

/// Polls `/__mock/devices` until the device is (or is not) online, with its Describe when
/// `describe`.
async fn wait_listed(http: &Http, id: &str, online: bool, describe: bool) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + READY_PATIENCE;
    loop {
        if let Some(d) = entry(http, id).await? {
            let is_online = d.get("online") == Some(&Value::Bool(online));
            let empty = |k: &str| match d.get(k) {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                _ => true,
            };
            if is_online && !(describe && empty("functions") && empty("variables")) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let state = if online { "online" } else { "offline" };
            return Err(format!("the cloud never listed device {id} as {state}"));
        }
        tokio::time::sleep(POLL).await;
    }
}
