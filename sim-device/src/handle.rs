//! What the outside sees of a running device: its [`DeviceStatus`] (a watch
//! channel), a stream of [`SimEvent`]s (a broadcast channel), and the
//! [`DeviceHandle`] that stops it. `Reporter` is the device task's side.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use spark_mock_protocol::DeviceId;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::firmware::Flashed;
use crate::fleet::FleetCounters;
use crate::SimError;

/// Where a device is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Loading its key and provisioning.
    Starting,
    /// Connecting or handshaking (also between attempts).
    Connecting,
    /// Hello sent; answering the server.
    Online,
    /// Deliberately offline (`offline_after_s`).
    Offline,
    /// Shut down.
    Stopped,
    /// Gave up (bad key, permanent provisioning error).
    Failed,
}

/// A device's state, how many sessions it has had, and its last error.
#[derive(Debug, Clone)]
pub struct DeviceStatus {
    /// Current state.
    pub state: DeviceState,
    /// Sessions that reached Hello.
    pub sessions: u64,
    /// The last connection or provisioning error.
    pub last_error: Option<String>,
    /// The last file flashed over the air.
    pub last_flash: Option<Flashed>,
}

/// Something a device did or received (also logged through `tracing`).
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// Hello sent; `session` counts from 1.
    Online { session: u64 },
    /// The connection ended.
    Disconnected { reason: String },
    /// The cloud's Signal: rainbow on or off.
    Signal { on: bool },
    /// A function call; `result` is `None` for a hanging function.
    FunctionCalled {
        name: String,
        arg: String,
        result: Option<i32>,
    },
    /// A variable read and the value sent.
    VariableRead { name: String },
    /// An event delivered to the device that matched a subscription.
    EventReceived { name: String, data: String },
    /// A periodic publish.
    Published { name: String, data: String },
    /// The server's time reply.
    Time { unix: u32 },
    /// An OTA update finished (the device then reconnects): the file's length and CRC-32,
    /// and whether it was a devices-file fragment for this device, now running.
    OtaDone {
        bytes: usize,
        crc32: u32,
        applied: bool,
    },
}

/// Controls one running device. Dropping it stops the device.
#[derive(Debug)]
pub struct DeviceHandle {
    id: DeviceId,
    status: watch::Receiver<DeviceStatus>,
    events: broadcast::Sender<SimEvent>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl DeviceHandle {
    pub(crate) fn new(
        id: DeviceId,
        status: watch::Receiver<DeviceStatus>,
        events: broadcast::Sender<SimEvent>,
        shutdown: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            id,
            status,
            events,
            shutdown,
            task: Some(task),
        }
    }

    /// The device id.
    pub fn id(&self) -> DeviceId {
        self.id
    }

    /// The current status.
    pub fn status(&self) -> DeviceStatus {
        self.status.borrow().clone()
    }

    /// Events from now on (subscribe before triggering what you wait for).
    pub fn events(&self) -> broadcast::Receiver<SimEvent> {
        self.events.subscribe()
    }

    /// Waits until the device is online.
    pub async fn wait_online(&self) -> Result<(), SimError> {
        self.wait(|s| s.state == DeviceState::Online).await
    }

    /// Waits until the device has had `n` sessions and is online.
    pub async fn wait_sessions(&self, n: u64) -> Result<(), SimError> {
        self.wait(|s| s.sessions >= n && s.state == DeviceState::Online)
            .await
    }

    async fn wait(&self, want: impl Fn(&DeviceStatus) -> bool) -> Result<(), SimError> {
        let mut rx = self.status.clone();
        let done = |s: &DeviceStatus| {
            want(s) || matches!(s.state, DeviceState::Stopped | DeviceState::Failed)
        };
        let status = match rx.wait_for(done).await {
            Ok(s) => s.clone(),
            Err(_) => self.status(),
        };
        if want(&status) {
            return Ok(());
        }
        Err(SimError::Stopped {
            id: self.id,
            state: status.state,
            reason: status.last_error.unwrap_or_else(|| "stopped".into()),
        })
    }

    /// Asks the device to stop, without waiting.
    pub fn stop(&self) {
        self.shutdown.send_replace(true);
    }

    /// Stops the device and waits for its task to end.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DeviceHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The device task's side of the channels, plus the fleet's counters.
pub(crate) struct Reporter {
    pub status: watch::Sender<DeviceStatus>,
    pub events: broadcast::Sender<SimEvent>,
    pub counters: Option<Arc<FleetCounters>>,
}

impl Reporter {
    /// Moves to `state`, keeping the fleet's online/failed counts right.
    pub fn state(&self, state: DeviceState) {
        let mut old = state;
        self.status.send_modify(|s| {
            old = s.state;
            s.state = state;
            if state == DeviceState::Online {
                s.sessions += 1;
            }
        });
        if let Some(c) = &self.counters {
            let online = |s| s == DeviceState::Online;
            if online(state) && !online(old) {
                c.online.fetch_add(1, Ordering::Relaxed);
            } else if online(old) && !online(state) {
                c.online.fetch_sub(1, Ordering::Relaxed);
            }
            if state == DeviceState::Failed && old != DeviceState::Failed {
                c.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records an error.
    pub fn error(&self, e: impl ToString) {
        let e = e.to_string();
        self.status.send_modify(|s| s.last_error = Some(e));
    }

    /// Records the last file flashed.
    pub fn flashed(&self, f: Flashed) {
        self.status.send_modify(|s| s.last_flash = Some(f));
    }

    /// The session count.
    pub fn sessions(&self) -> u64 {
        self.status.borrow().sessions
    }

    /// Publishes an event (dropped when nobody listens).
    pub fn emit(&self, event: SimEvent) {
        let _ = self.events.send(event);
    }
}
